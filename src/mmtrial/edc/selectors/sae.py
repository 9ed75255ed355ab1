"""Reads for the SAE reporting clock: each serious adverse event the user may see, its reports
and its clock (`clinical.sae_clock`), in three queries whatever the number of events."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Prefetch

from mmtrial.clinical.ae_suggestions import ANALYTE_TERMS, AeSuggestion, LabValue, ae_suggestions
from mmtrial.clinical.sae_clock import SaeClock, sae_clock
from mmtrial.clinical.toxicity_terms import ctcae_terms
from mmtrial.edc.models import AdverseEvent, LabResult, Query, SaeReport, SaeReportKind
from mmtrial.edc.models.trust import QueryOrigin
from mmtrial.edc.permissions import Action, scope_to_sites
from mmtrial.protocol import load_protocol

__all__ = ["SaeRow", "ae_lab_suggestions", "ctcae_term_names", "sae_list"]


def ctcae_term_names() -> list[str]:
    """Every CTCAE v5.0 term, alphabetically (the AE form's searchable list)."""
    return sorted(t.term for t in ctcae_terms().values())


def ae_lab_suggestions(*, participant) -> list[AeSuggestion]:
    """Lab-based AE terms suggested from the participant's recorded values (one query)."""
    values = [
        LabValue(analyte, value, unit, collected_on)
        for analyte, value, unit, collected_on in LabResult.objects.filter(
            participant=participant,
            is_deleted=False,
            analyte__in=list(ANALYTE_TERMS),
            value__isnull=False,
        ).values_list("analyte", "value", "unit", "collected_on")
    ]
    return ae_suggestions(values=values, protocol=load_protocol(participant.protocol_version))


@dataclass(frozen=True)
class SaeRow:
    ae: AdverseEvent
    clock: SaeClock | None  # None: no awareness recorded (older records)
    reports: list[SaeReport]
    overdue_query: Query | None


def sae_list(*, user, now: dt.datetime, site_id: int | None = None) -> list[SaeRow]:
    """Serious AEs of the sites the user may see, open clocks first (overdue, then due by
    deadline), then the reported ones."""
    events = AdverseEvent.objects.filter(serious=True, is_deleted=False).select_related(
        "participant__site"
    )
    if user is not None:  # None: a system step (the CLI's sae-check) sees every site
        events = scope_to_sites(events, user, Action.VIEW, site_field="participant__site_id")
    if site_id is not None:
        events = events.filter(participant__site_id=site_id)
    events = events.prefetch_related(
        Prefetch(
            "sae_reports",
            queryset=SaeReport.objects.filter(is_deleted=False).order_by("sent_at", "pk"),
            to_attr="reports",
        )
    ).order_by("aware_at", "pk")
    events = list(events)
    queries = {
        q.object_pk: q
        for q in Query.objects.filter(
            model="adverseevent",
            origin=QueryOrigin.SAE_OVERDUE,
            object_pk__in=[str(ae.pk) for ae in events],
        )
    }
    rows = []
    for ae in events:
        clock = None
        if ae.aware_at is not None:
            initial = next((r for r in ae.reports if r.kind == SaeReportKind.INITIAL), None)
            clock = sae_clock(
                aware_at=ae.aware_at,
                now=now,
                protocol=load_protocol(ae.participant.protocol_version),
                site_tz=ae.participant.site.timezone,
                reported_at=initial.sent_at if initial is not None else None,
            )
        rows.append(SaeRow(ae, clock, ae.reports, queries.get(str(ae.pk))))
    order = {"overdue": 0, "due": 1, "reported_late": 2, "reported_on_time": 3}
    return sorted(
        rows,
        key=lambda r: (
            order[r.clock.state] if r.clock else 4,
            r.clock.deadline if r.clock else now,
        ),
    )
