"""One participant's timeline: calendar, visits, doses, labs, disease assessments, responses,
AEs and queries (and, when asked, the next cycle's dose decision preview).

A fixed number of database queries whatever the number of rows (select_related for the
one-to-one records, one prefetch per list); the calendar is computed in memory by
`clinical.schedule` from the prefetched cycles. Scoped to the user's sites: another site's
participant is NotFound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Prefetch

from mmtrial.clinical import schedule
from mmtrial.edc.models import (
    AdverseEvent,
    AuditEvent,
    Cycle,
    DiseaseAssessment,
    DoseAdministration,
    FollowUpContact,
    LabResult,
    Participant,
    Query,
    ResponseAssessment,
    Visit,
)
from mmtrial.edc.models.treatment import CycleStatus
from mmtrial.edc.permissions import Action, scope_to_sites
from mmtrial.edc.selectors.dose_preview import TREATABLE, DosePreview, dose_preview_for
from mmtrial.errors import NotFound
from mmtrial.protocol.loader import load_protocol

__all__ = [
    "Timeline",
    "calendar_for",
    "participant_change_mark",
    "participant_timeline",
    "participant_visible",
]

NOT_FOUND = "Participant {pid} was not found among the participants you may see."


@dataclass
class Timeline:
    participant: Participant
    calendar: dict[str, Any] | None
    cycles: list[Cycle]
    doses: list[DoseAdministration]
    visits: list[Visit]
    labs: list[LabResult]
    responses: list[ResponseAssessment]
    response_summary: Any
    adverse_events: list[AdverseEvent]
    queries: list[Query]
    follow_up_contacts: list[FollowUpContact] = field(default_factory=list)
    end_of_treatment: Any = None
    death: Any = None
    disease_assessments: list[DiseaseAssessment] = field(default_factory=list)
    dose_preview: DosePreview | None = None


def _optional(participant: Participant, name: str):
    try:
        value = getattr(participant, name)
    except ObjectDoesNotExist:  # no such record yet
        return None
    return None if value is None or getattr(value, "is_deleted", False) else value


def calendar_for(participant, cycles, eot=None, death=None, summary=None) -> dict[str, Any] | None:
    """The participant's calendar (`clinical.schedule`) from records already read: its started
    cycles, end of treatment, death and response summary (progression). None before C1D1."""
    started = [c for c in cycles if c.status in (CycleStatus.STARTED, CycleStatus.COMPLETED)]
    if not started:
        return None
    protocol = load_protocol(participant.protocol_version)
    cycle_model, input_model = schedule.input_models(protocol)
    facts = input_model(
        cycles=[
            cycle_model(
                start_date=c.start_date,
                **{f"{d}_mg": c.planned_doses_mg.get(d) for d in protocol.regimen},
            )
            for c in started
        ],
        project_cycles=1 if eot is None and death is None else 0,
        end_of_treatment_date=eot.last_dose_date if eot else None,
        progression_date=summary.progression_date if summary else None,
        death_date=death.death_date if death else None,
    )
    return schedule.schedule_dict(facts, protocol=protocol)


def participant_timeline(*, user, participant_id: int, with_dose_preview: bool = False) -> Timeline:
    """Everything about one participant, in date order, in a fixed number of queries.

    `with_dose_preview` adds the protocol's decision for the next cycle from the data so far
    (`selectors.dose_preview`, a fixed number of further queries) for a participant who can
    start one.
    """
    alive = {"is_deleted": False}
    queryset = scope_to_sites(
        Participant.objects.filter(**alive).select_related(
            "site", "screening", "response_summary", "end_of_treatment", "death"
        ),
        user,
        Action.VIEW,
    ).prefetch_related(
        Prefetch(
            "cycles",
            queryset=Cycle.objects.filter(**alive).order_by("number"),
            to_attr="timeline_cycles",
        ),
        Prefetch(
            "timeline_cycles__doses",
            queryset=DoseAdministration.objects.filter(**alive).order_by("date", "drug"),
            to_attr="timeline_doses",
        ),
        Prefetch(
            "visits",
            queryset=Visit.objects.filter(**alive).order_by("planned_date", "code"),
            to_attr="timeline_visits",
        ),
        Prefetch(
            "labs",
            queryset=LabResult.objects.filter(**alive).order_by("collected_on", "analyte", "id"),
            to_attr="timeline_labs",
        ),
        Prefetch(
            "responses",
            queryset=ResponseAssessment.objects.filter(**alive).order_by("assessment_date"),
            to_attr="timeline_responses",
        ),
        Prefetch(
            "adverse_events",
            queryset=AdverseEvent.objects.filter(**alive).order_by("start_date", "id"),
            to_attr="timeline_aes",
        ),
        Prefetch(
            "queries",
            queryset=Query.objects.order_by("opened_at", "id"),
            to_attr="timeline_queries",
        ),
        Prefetch(
            "disease_assessments",
            queryset=DiseaseAssessment.objects.filter(**alive).order_by("assessed_on", "id"),
            to_attr="timeline_disease",
        ),
        Prefetch(
            "follow_up_contacts",
            queryset=FollowUpContact.objects.filter(**alive).order_by("contact_date"),
            to_attr="timeline_contacts",
        ),
    )
    participant = queryset.filter(pk=participant_id).first()
    if participant is None:
        raise NotFound.coded(NOT_FOUND, {"id": participant_id}, pid=participant_id)
    cycles = participant.timeline_cycles
    summary = _optional(participant, "response_summary")
    eot = _optional(participant, "end_of_treatment")
    death = _optional(participant, "death")
    doses = sorted((d for c in cycles for d in c.timeline_doses), key=lambda d: (d.date, d.drug))
    preview = None
    if with_dose_preview and participant.status in TREATABLE:
        preview = dose_preview_for(participant, cycles=cycles)
    return Timeline(
        participant=participant,
        calendar=calendar_for(participant, cycles, eot, death, summary),
        cycles=cycles,
        doses=doses,
        visits=participant.timeline_visits,
        labs=participant.timeline_labs,
        responses=participant.timeline_responses,
        response_summary=summary,
        adverse_events=participant.timeline_aes,
        queries=participant.timeline_queries,
        follow_up_contacts=participant.timeline_contacts,
        end_of_treatment=eot,
        death=death,
        disease_assessments=participant.timeline_disease,
        dose_preview=preview,
    )


def participant_visible(*, user, participant_id: int) -> Participant:
    """The participant (with its site) if the user may see it, else NotFound: the one read a
    timeline served from its cache still makes (site isolation is never cached)."""
    participant = (
        scope_to_sites(
            Participant.objects.filter(is_deleted=False).select_related("site"), user, Action.VIEW
        )
        .filter(pk=participant_id)
        .first()
    )
    if participant is None:
        raise NotFound.coded(NOT_FOUND, {"id": participant_id}, pid=participant_id)
    return participant


def participant_change_mark(participant: Participant) -> str:
    """The hash of the participant's latest audit event ("" before any).

    Every change to the participant's records, queries, deviations, locks and signatures
    appends an audit event under its site and subject label in the same transaction (the unit
    of work), so a new mark means the timeline changed. The hash, unlike the event id, also
    chains over every earlier event of the database: a restored or rebuilt database never
    reproduces a mark with different data behind it. One indexed query (site, subject).
    """
    labels = [label for label in (participant.screening_number, participant.subject_id) if label]
    return (
        AuditEvent.objects.filter(site_code=participant.site.code, subject__in=labels)
        .order_by("-id")
        .values_list("hash", flat=True)
        .first()
    ) or ""
