"""Reads for protocol deviations: the facts the rules read (`clinical.deviations`) for many
participants in a fixed number of queries, and the deviation lists a monitor sees."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from mmtrial.clinical import deviations as rules
from mmtrial.edc.models import (
    Cycle,
    Deviation,
    DoseAdministration,
    LabResult,
    Participant,
    ResponseAssessment,
    Visit,
)
from mmtrial.edc.models.people import ParticipantStatus
from mmtrial.edc.permissions import Action, scope_to_sites
from mmtrial.edc.selectors.timeline import _optional, calendar_for
from mmtrial.protocol import Protocol
from mmtrial.protocol.loader import load_protocol

__all__ = ["FactsOf", "deviation_facts", "deviation_list", "participant_deviations"]

_NOT_ENROLLED = frozenset({ParticipantStatus.SCREENING, ParticipantStatus.SCREEN_FAILED})


@dataclass(frozen=True)
class FactsOf:
    participant: Participant
    protocol: Protocol
    facts: rules.ParticipantFacts


def _participants(ids: Iterable[int]) -> QuerySet[Participant]:
    live = {"is_deleted": False}
    return (
        Participant.objects.filter(pk__in=list(ids), is_deleted=False)
        .select_related("site", "screening", "end_of_treatment", "death", "response_summary")
        .prefetch_related(
            Prefetch("visits", queryset=Visit.objects.filter(**live), to_attr="dv_visits"),
            Prefetch(
                "cycles",
                queryset=Cycle.objects.filter(**live).order_by("number"),
                to_attr="dv_cycles",
            ),
            Prefetch(
                "labs",
                queryset=LabResult.objects.filter(**live).only(
                    "id", "participant_id", "analyte", "collected_on"
                ),
                to_attr="dv_labs",
            ),
            Prefetch(
                "responses",
                queryset=ResponseAssessment.objects.filter(**live).only(
                    "id", "participant_id", "assessment_date"
                ),
                to_attr="dv_responses",
            ),
        )
        .order_by("pk")
    )


def _criteria(cycle: Cycle) -> tuple[tuple[str, str, bool], ...]:
    checks = (cycle.decision or {}).get("cycle_start_criteria") or []
    return tuple((c.get("id", ""), c.get("text", ""), bool(c.get("met", True))) for c in checks)


def deviation_facts(participant_ids: Iterable[int]) -> list[FactsOf]:
    """Each participant's facts for `clinical.deviations` (7 queries, whatever the number)."""
    people = list(_participants(participant_ids))
    doses: dict[int, list[DoseAdministration]] = {}
    for dose in DoseAdministration.objects.filter(
        cycle__participant_id__in=[p.pk for p in people], is_deleted=False
    ).select_related("cycle"):
        doses.setdefault(dose.cycle.participant_id, []).append(dose)
    out = []
    for participant in people:
        protocol = load_protocol(participant.protocol_version)
        screening = _optional(participant, "screening")
        calendar = calendar_for(
            participant,
            participant.dv_cycles,
            eot=_optional(participant, "end_of_treatment"),
            death=_optional(participant, "death"),
            summary=_optional(participant, "response_summary"),
        )
        planned = (
            [dt.date.fromisoformat(d) for d in calendar["response_assessments"]] if calendar else []
        )
        facts = rules.ParticipantFacts(
            participant_id=participant.pk,
            enrolled=participant.enrolled_on is not None
            and participant.status not in _NOT_ENROLLED,
            enrolled_on=participant.enrolled_on,
            screening=rules.ScreeningFacts(
                id=screening.pk, values=screening.values or {}, answers=screening.answers or {}
            )
            if screening is not None
            else None,
            visits=[
                rules.VisitFacts(
                    id=v.pk,
                    code=v.code,
                    window_start=v.window_start,
                    window_end=v.window_end,
                    actual_date=v.actual_date,
                )
                for v in participant.dv_visits
            ],
            doses=[
                rules.DoseFacts(
                    id=d.pk,
                    drug=d.drug,
                    cycle=d.cycle.number,
                    day=d.day,
                    date=d.date,
                    planned_mg=d.planned_dose_mg,
                    taken_mg=d.taken_dose_mg,
                    status=d.status,
                    reason=d.reason,
                )
                for d in doses.get(participant.pk, [])
            ],
            cycles=[
                rules.CycleFacts(
                    id=c.pk,
                    number=c.number,
                    start_date=c.start_date,
                    status=c.status,
                    criteria=_criteria(c),
                )
                for c in participant.dv_cycles
            ],
            labs=[rules.LabFacts(lab.analyte, lab.collected_on) for lab in participant.dv_labs],
            planned_assessments=planned,
            assessments=[r.assessment_date for r in participant.dv_responses],
        )
        out.append(FactsOf(participant, protocol, facts))
    return out


def deviation_list(
    *,
    user,
    site_id: int | None = None,
    status: str | None = None,
    important: bool | None = None,
) -> QuerySet[Deviation]:
    """The deviations of the sites the user may see, newest first (one query)."""
    queryset = scope_to_sites(
        Deviation.objects.select_related("participant__site"),
        user,
        Action.VIEW,
        site_field="participant__site_id",
    )
    if site_id is not None:
        queryset = queryset.filter(participant__site_id=site_id)
    if status:
        queryset = queryset.filter(status=status)
    if important is not None:
        queryset = queryset.filter(important=important)
    return queryset.order_by("-detected_on", "-id")


def participant_deviations(participant: Participant) -> list[Deviation]:
    """One participant's deviations (the caller has checked the participant is visible)."""
    return list(
        Deviation.objects.filter(participant=participant).order_by("status", "-detected_on", "-id")
    )
