"""Reads for the CDISC export (`mmtrial export sdtm|adam`): plain rows, streamed by participant.

`export_participants` returns one dict per participant in the package: every participant
enrolled on or before the data cut, and every screen failure whose consent is on or before it
(SDTM DM lists screen failures with ARMNRS; the analysis populations do not). It scopes to the
sites where the user may export (Action.EXPORT; `user=None` = the whole study) in one query.

`export_records(kind, participant_ids=...)` streams one kind of record of the given
participants (the caller passes them in chunks of a few hundred) with `.iterator()`: one query
per kind and chunk, whatever the number of rows, so memory is bounded by the chunk. Rows are
plain dicts ordered by participant, then date, then entry order. Soft-deleted records are never
returned. The data cut is applied by the caller (mmtrial.cdisc), which also derives everything.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q

from mmtrial.edc.models import (
    AdverseEvent,
    Deviation,
    DiseaseAssessment,
    DoseAdministration,
    DrugAccountability,
    FollowUpContact,
    LabResult,
    Participant,
    ResponseAssessment,
    Visit,
)
from mmtrial.edc.models.people import ParticipantStatus
from mmtrial.edc.models.treatment import CycleStatus
from mmtrial.edc.permissions import Action, authorize, scope_to_sites

__all__ = ["EXPORT_KINDS", "export_participants", "export_records"]

_ITERATOR_CHUNK = 2000


def _one(participant: Participant, name: str, fields: Sequence[str]) -> dict[str, Any] | None:
    try:
        record = getattr(participant, name)
    except ObjectDoesNotExist:
        return None
    if record is None or record.is_deleted:
        return None
    return {field: getattr(record, field) for field in fields}


def export_participants(*, user=None, data_cut_date: dt.date | None = None) -> list[dict[str, Any]]:
    """The participants of the package (see the module docstring), ordered by subject then pk."""
    enrolled = Q(enrolled_on__isnull=False)
    failed = Q(status=ParticipantStatus.SCREEN_FAILED)
    if data_cut_date is not None:
        enrolled &= Q(enrolled_on__lte=data_cut_date)
        failed &= Q(consent_date__lte=data_cut_date)
    queryset = Participant.objects.filter(enrolled | failed, is_deleted=False)
    if user is not None:
        authorize(user, Action.EXPORT)
        queryset = scope_to_sites(queryset, user, Action.EXPORT)
    queryset = queryset.select_related("site", "screening", "end_of_treatment", "death")
    rows = []
    for p in queryset.order_by("subject_id", "pk"):
        rows.append(
            {
                "pk": p.pk,
                "subject_id": p.subject_id,
                "screening_number": p.screening_number,
                "site_code": p.site.code,
                "site_timezone": p.site.timezone,
                "sex": p.sex,
                "year_of_birth": p.year_of_birth,
                "race": p.race,
                "ethnicity": p.ethnicity,
                "status": p.status,
                "protocol_version": p.protocol_version,
                "consent_date": p.consent_date,
                "enrolled_on": p.enrolled_on,
                "c1d1_date": p.c1d1_date,
                "screening": _one(p, "screening", ("screened_on", "values", "result", "eligible")),
                "end_of_treatment": _one(
                    p, "end_of_treatment", ("last_dose_date", "reason", "details")
                ),
                "death": _one(p, "death", ("death_date", "cause", "details")),
            }
        )
    return rows


def _labs(ids):
    return (
        LabResult.objects.filter(participant_id__in=ids, is_deleted=False)
        .order_by("participant_id", "collected_on", "pk")
        .values(
            "pk",
            "participant_id",
            "visit_id",
            "analyte",
            "value",
            "value_text",
            "unit",
            "reported_value",
            "reported_unit",
            "collected_on",
            "source",
            "accession",
        )
    )


def _doses(ids):
    return (
        DoseAdministration.objects.filter(
            cycle__participant_id__in=ids,
            is_deleted=False,
            cycle__is_deleted=False,
            cycle__status__in=[CycleStatus.STARTED, CycleStatus.COMPLETED],
        )
        .order_by("cycle__participant_id", "date", "cycle__number", "day", "drug", "pk")
        .values(
            "pk",
            "cycle__participant_id",
            "cycle__number",
            "drug",
            "day",
            "date",
            "status",
            "planned_dose_mg",
            "taken_dose_mg",
            "reason",
        )
    )


def _adverse_events(ids):
    # the order of mmtrial.edc.selectors.analysis (AESEQ follows it, ADAE is joined on it)
    return (
        AdverseEvent.objects.filter(participant_id__in=ids, is_deleted=False)
        .order_by("participant_id", "start_date", "pk")
        .values(
            "pk",
            "participant_id",
            "term",
            "ctcae_term",
            "grade",
            "serious",
            "action_taken",
            "led_to_discontinuation",
            "attribution",
            "start_date",
            "end_date",
            "meddra_code",
            "sae_death",
            "sae_life_threatening",
            "sae_hospitalization",
            "sae_disability",
            "sae_congenital_anomaly",
            "sae_other_important",
            "outcome",
            "actions",
        )
    )


def _visits(ids):
    return (
        Visit.objects.filter(participant_id__in=ids, is_deleted=False, actual_date__isnull=False)
        .order_by("participant_id", "actual_date", "pk")
        .values("pk", "participant_id", "code", "kind", "cycle_number", "day", "actual_date")
    )


def _responses(ids):
    return (
        ResponseAssessment.objects.filter(participant_id__in=ids, is_deleted=False)
        .order_by("participant_id", "assessment_date", "pk")
        .values("participant_id", "assessment_date", "investigator_response", "engine_version")
    )


def _contacts(ids):
    return (
        FollowUpContact.objects.filter(participant_id__in=ids, is_deleted=False)
        .order_by("participant_id", "contact_date", "pk")
        .values("participant_id", "contact_date", "alive", "new_anticancer_therapy")
    )


def _diseases(ids):
    return (
        DiseaseAssessment.objects.filter(participant_id__in=ids, is_deleted=False)
        .order_by("participant_id", "assessed_on", "pk")
        .values("participant_id", "assessed_on")
    )


def _deviations(ids):
    return (
        Deviation.objects.filter(participant_id__in=ids)
        .order_by("participant_id", "pk")
        .values(
            "pk",
            "participant_id",
            "rule",
            "category",
            "important",
            "description",
            "status",
            "detected_on",
            "occurred_on",
        )
    )


def _accountability(ids):
    return (
        DrugAccountability.objects.filter(participant_id__in=ids, is_deleted=False)
        .order_by("participant_id", "cycle_number", "drug", "pk")
        .values(
            "participant_id",
            "cycle_number",
            "drug",
            "unit",
            "dispensed_count",
            "dispensed_on",
            "returned_count",
            "returned_on",
            "lost_count",
            "bottle_id",
        )
    )


EXPORT_KINDS = {
    "labs": _labs,
    "doses": _doses,
    "adverse_events": _adverse_events,
    "visits": _visits,
    "responses": _responses,
    "contacts": _contacts,
    "disease_assessments": _diseases,
    "deviations": _deviations,
    "accountability": _accountability,
}


def export_records(kind: str, *, participant_ids: Sequence[int]) -> Iterator[dict[str, Any]]:
    """Stream the records of one kind (a key of EXPORT_KINDS) of the given participants."""
    try:
        query = EXPORT_KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown export record kind {kind!r}") from None
    rows = query(list(participant_ids)).iterator(chunk_size=_ITERATOR_CHUNK)
    if kind == "doses":
        for row in rows:
            row["participant_id"] = row.pop("cycle__participant_id")
            row["cycle"] = row.pop("cycle__number")
            yield row
        return
    yield from rows
