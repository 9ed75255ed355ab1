"""IMWG responses: derived from stored source data by `clinical.imwg`, stored with its version.

`response_derive` gathers one participant's contract input (contracts/imwg.md) from the
database, calls `imwg.assess` and writes only the rows whose derived values changed, each change
audited. It runs whenever an M-protein, FLC, IFE or disease-assessment value changes.

Gathering (what this module decides; the categories are the engine's):
- Baseline (dated C1D1): for each of serum M-protein, urine M-protein, kappa and lambda FLC the
  latest value collected on or before C1D1, central laboratory first, then local, then the
  screening value; bone marrow plasma cells and plasmacytoma SPD from the latest disease
  assessment on or before C1D1, then screening.
- Assessments: every date after C1D1 with a central-laboratory M-protein, FLC or IFE value or
  a disease assessment. IFE comes from the central laboratory, else from the disease
  assessment of that date; bone marrow, plasmacytoma and new lesions from the disease
  assessment. Several values of one analyte on one date: the last entered counts.
Before C1D1 nothing is derived (there is no baseline to compare with).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from mmtrial.clinical import imwg
from mmtrial.edc.lab_analytes import RESPONSE_ANALYTES
from mmtrial.edc.models import (
    DiseaseAssessment,
    LabResult,
    Participant,
    ResponseAssessment,
    ResponseSummary,
    Screening,
)
from mmtrial.edc.models.assessments import LabSource
from mmtrial.edc.models.people import ParticipantStatus
from mmtrial.edc.permissions import Action
from mmtrial.edc.services._bulk import records_create_across, records_insert_across
from mmtrial.edc.services._records import record_soft_delete, record_update
from mmtrial.edc.services.participants import acting, participant_for
from mmtrial.edc.services.visits import visits_regenerate
from mmtrial.edc.unit_of_work import writes
from mmtrial.errors import InputError, NotFound

__all__ = [
    "RESPONSES",
    "investigator_response_record",
    "response_derive",
    "response_derive_many",
]

RESPONSES = tuple(imwg.CATEGORY_RANKS)
REDERIVED = "re-derived by {engine} from changed source data"
NO_LONGER_ASSESSED = "re-derived by {engine}: no response data on this date any more"
DISAGREEMENT = (
    "The investigator's response {investigator} on {date} differs from the response derived "
    "from the laboratory and disease data ({derived}). Please review and confirm or correct."
)
NO_DERIVED_RESPONSE = (
    "There is no response assessment on {date}: enter the central laboratory or disease "
    "assessment values of that date first."
)
UNKNOWN_RESPONSE = "response: {value!r} is not an IMWG category ({known})"

_NUMERIC = {
    "serum_m_protein": "serum_m_protein_g_dl",
    "urine_m_protein": "urine_m_protein_mg_24h",
    "kappa_flc": "kappa_flc_mg_l",
    "lambda_flc": "lambda_flc_mg_l",
}
_SOURCE_RANK = {LabSource.CENTRAL: 0, LabSource.LOCAL: 1}


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _baseline(participant, c1d1, labs, diseases, screening_values) -> dict[str, Any]:
    baseline: dict[str, Any] = {"date": c1d1.isoformat()}
    # latest date first, central before local, last entered first
    before = sorted(
        (lab for lab in labs if lab["collected_on"] <= c1d1 and lab["analyte"] in _NUMERIC),
        key=lambda lab: (lab["collected_on"], -_SOURCE_RANK.get(lab["source"], 9), lab["id"]),
        reverse=True,
    )
    for analyte, key in _NUMERIC.items():
        found = next((lab for lab in before if lab["analyte"] == analyte), None)
        if found is not None:
            baseline[key] = _number(found["value"])
        elif screening_values.get(key) is not None:
            baseline[key] = float(screening_values[key])
    for key in ("bone_marrow_plasma_cells_pct", "plasmacytoma_spd_cm2"):
        found = next(
            (
                d
                for d in reversed(diseases)
                if d.assessed_on <= c1d1 and getattr(d, key) is not None
            ),
            None,
        )
        if found is not None:
            baseline[key] = _number(getattr(found, key))
        elif screening_values.get(key) is not None:
            baseline[key] = float(screening_values[key])
    return baseline


def _assessments(c1d1, labs, diseases) -> list[dict[str, Any]]:
    by_date: dict[dt.date, dict[str, Any]] = defaultdict(dict)
    for lab in sorted(labs, key=lambda lab: lab["id"]):  # the last entered wins
        if lab["collected_on"] <= c1d1 or lab["source"] != LabSource.CENTRAL:
            continue
        entry = by_date[lab["collected_on"]]
        if lab["analyte"] in _NUMERIC:
            entry[_NUMERIC[lab["analyte"]]] = _number(lab["value"])
        else:
            entry[lab["analyte"]] = lab["value_text"] or None
    for disease in diseases:
        if disease.assessed_on <= c1d1:
            continue
        entry = by_date[disease.assessed_on]
        for ife in ("serum_ife", "urine_ife"):
            if entry.get(ife) is None and getattr(disease, ife):
                entry[ife] = getattr(disease, ife)
        if disease.bone_marrow_plasma_cells_pct is not None:
            entry["bone_marrow_plasma_cells_pct"] = _number(disease.bone_marrow_plasma_cells_pct)
        if disease.bone_marrow_clonal_cells:
            entry["bone_marrow_clonal_cells"] = disease.bone_marrow_clonal_cells
        if disease.plasmacytoma_spd_cm2 is not None:
            entry["plasmacytoma_spd_cm2"] = _number(disease.plasmacytoma_spd_cm2)
        entry["new_lesion"] = bool(entry.get("new_lesion")) or disease.new_lesion
    return [{"date": day.isoformat(), **by_date[day]} for day in sorted(by_date)]


_CHUNK = 500


def _inputs(participants: list[Participant]) -> dict[int, dict[str, Any] | None]:
    """The contract input of each participant (None before C1D1), in a few queries."""
    treated = [p for p in participants if p.c1d1_date is not None]
    labs: dict[int, list] = defaultdict(list)
    diseases: dict[int, list] = defaultdict(list)
    screening: dict[int, dict] = {}
    ids = [p.pk for p in treated]
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for lab in LabResult.objects.filter(
            participant_id__in=chunk, is_deleted=False, analyte__in=RESPONSE_ANALYTES
        ).values(
            "id", "participant_id", "analyte", "value", "value_text", "collected_on", "source"
        ):
            labs[lab["participant_id"]].append(lab)
        for disease in DiseaseAssessment.objects.filter(
            participant_id__in=chunk, is_deleted=False
        ).order_by("assessed_on", "id"):
            diseases[disease.participant_id].append(disease)
        for pk, values in Screening.objects.filter(
            participant_id__in=chunk, is_deleted=False
        ).values_list("participant_id", "values"):
            screening[pk] = values or {}
    inputs: dict[int, dict[str, Any] | None] = {p.pk: None for p in participants}
    for p in treated:
        inputs[p.pk] = {
            "baseline": _baseline(
                p, p.c1d1_date, labs[p.pk], diseases[p.pk], screening.get(p.pk, {})
            ),
            "assessments": _assessments(p.c1d1_date, labs[p.pk], diseases[p.pk]),
        }
    return inputs


def response_input(participant: Participant) -> dict[str, Any] | None:
    """The contract input (contracts/imwg.md) for one participant, or None before C1D1."""
    return _inputs([participant])[participant.pk]


_DERIVED = ("derived_response", "derived_confirmed", "reasons", "findings", "engine_version")


def _derived_fields(result: imwg.AssessmentResult) -> dict[str, Any]:
    # `reasons` is the engine's English (audit, contract); `findings` the same as codes with
    # values, which pages render in the reader's language. A row stored before `findings`
    # existed differs here, so the next re-derivation (every new lab) fills it in.
    return {
        "derived_response": result.response,
        "derived_confirmed": result.confirmed,
        "reasons": list(result.reasons),
        "findings": result.explanation(),
        "engine_version": imwg.ENGINE_VERSION,
    }


def _open_disagreement_query(row: ResponseAssessment) -> None:
    from mmtrial.edc.models import Query
    from mmtrial.edc.models.trust import QueryOrigin, QueryStatus
    from mmtrial.edc.services.queries import query_open

    if not row.investigator_response or row.investigator_response == row.derived_response:
        return
    already = Query.objects.filter(
        participant_id=row.participant_id,
        model="responseassessment",
        object_pk=str(row.pk),
        origin=QueryOrigin.RESPONSE_DISAGREEMENT,
    ).exclude(status=QueryStatus.CLOSED)
    if already.exists():
        return
    query_open(
        user=None,
        participant=row.participant,
        model="responseassessment",
        object_pk=str(row.pk),
        field="investigator_response",
        text=DISAGREEMENT.format(
            investigator=row.investigator_response,
            date=row.assessment_date.isoformat(),
            derived=row.derived_response,
        ),
        origin=QueryOrigin.RESPONSE_DISAGREEMENT,
    )


@writes
def response_derive(*, participant: Participant) -> ResponseSummary | None:
    """Re-derive one participant's IMWG responses and best response; write only what changed.

    Called by the services that change source data, after their own authorization; returns the
    summary (None before C1D1, when there is no baseline).
    """
    return _derive([participant]).get(participant.pk)


@writes
def response_derive_many(*, participant_ids) -> int:
    """Re-derive each listed participant once (after a lab import); returns how many.

    The same derivation as `response_derive`, read and written in bulk: a few queries for all
    participants, one insert (and one audit event per row) for all new rows.
    """
    ids = sorted(set(participant_ids))
    participants: list[Participant] = []
    for start in range(0, len(ids), _CHUNK):
        participants += Participant.objects.select_related("site").filter(
            pk__in=ids[start : start + _CHUNK]
        )
    _derive(participants)
    return len(participants)


def _derive(participants: list[Participant]) -> dict[int, ResponseSummary]:
    inputs = _inputs(participants)
    treated = {p.pk: p for p in participants if inputs[p.pk] is not None}
    if not treated:
        return {}
    results = imwg.assess_many((pk, inputs[pk]) for pk in treated)
    engine = imwg.ENGINE_VERSION
    context = {"derived_by": "clinical.imwg", "engine_version": engine}
    ids = list(treated)
    existing: dict[int, dict[dt.date, ResponseAssessment]] = defaultdict(dict)
    summaries: dict[int, ResponseSummary] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for row in ResponseAssessment.objects.filter(participant_id__in=chunk):
            existing[row.participant_id][row.assessment_date] = row
        for summary in ResponseSummary.objects.filter(participant_id__in=chunk):
            summaries[summary.participant_id] = summary
    new_rows: list[tuple] = []  # values, not instances: thousands after a lab import
    review: list[ResponseAssessment] = []
    for pk, participant in treated.items():
        rows = existing[pk]
        derived_dates = set()
        for assessment in results[pk].assessments:
            derived_dates.add(assessment.date)
            fields = _derived_fields(assessment)
            row = rows.get(assessment.date)
            if row is None:
                new_rows.append((pk, assessment.date, *(fields[name] for name in _DERIVED)))
                continue
            if row.is_deleted:
                fields["is_deleted"] = False
            if any(getattr(row, name) != value for name, value in fields.items()):
                row.participant = participant
                row = record_update(
                    row,
                    expected_version=row.version,
                    values=fields,
                    reason=REDERIVED.format(engine=engine),
                    context=context,
                )
                row.participant = participant
                review.append(row)
        for day, row in rows.items():
            if day not in derived_dates and not row.is_deleted:
                row.participant = participant
                record_soft_delete(
                    row,
                    expected_version=row.version,
                    reason=NO_LONGER_ASSESSED.format(engine=engine),
                    context=context,
                )
    records_insert_across(
        ResponseAssessment,
        new_rows,
        fields=("participant_id", "assessment_date", *_DERIVED),
        key=("participant_id", "assessment_date"),
        participants=treated,
        context=context,
    )
    for row in review:
        _open_disagreement_query(row)
    return _summaries_write(treated, results, summaries, context)


def _summary_fields(result) -> dict[str, Any]:
    return {
        "followed": list(result.followed),
        "best_overall_response": result.best_overall_response,
        "best_overall_response_date": result.best_overall_response_date,
        "response_date": result.response_date,
        "progression_date": result.progression_date,
        "engine_version": result.engine_version,
    }


def _summaries_write(treated, results, summaries, context) -> dict[int, ResponseSummary]:
    written: dict[int, ResponseSummary] = {}
    new = []
    replanned = []
    for pk, participant in treated.items():
        fields = _summary_fields(results[pk])
        summary = summaries.get(pk)
        if summary is None:
            summary = ResponseSummary(participant=participant, **fields)
            new.append(summary)
            if summary.progression_date is not None:
                replanned.append(participant)
        else:
            before = summary.progression_date
            summary.participant = participant
            summary = record_update(
                summary,
                expected_version=summary.version,
                values=fields,
                reason=REDERIVED.format(engine=results[pk].engine_version),
                context=context,
            )
            if summary.progression_date != before:
                replanned.append(participant)
        written[pk] = summary
    records_create_across(new, participants=treated, context=context)
    for participant in replanned:
        progressed = written[participant.pk].progression_date is not None
        if progressed and participant.status == ParticipantStatus.OFF_TREATMENT:
            # off treatment and now progressed: survival follow-up (protocol section 10)
            participant = record_update(
                participant,
                expected_version=participant.version,
                values={"status": ParticipantStatus.FOLLOW_UP},
                reason="progression derived",
                reason_required=False,
            )
        # follow-up contacts are planned from the progression date
        visits_regenerate(participant=participant, why="progression derived")
    return written


@acting
@writes
def investigator_response_record(
    *,
    user,
    participant_id: int,
    assessment_date: dt.date,
    response: str,
    expected_version: int,
    reason: str = "",
) -> ResponseAssessment:
    """Store the investigator's IMWG category beside the derived one.

    A first entry needs no reason, a change does. When the two differ a query is opened
    automatically (origin `response_disagreement`), unless one is already open on that row.
    """
    participant = participant_for(
        user=user, participant_id=participant_id, action=Action.ENTER_DATA
    )
    if response not in RESPONSES:
        raise InputError.coded(
            UNKNOWN_RESPONSE, {"field": "response"}, value=response, known=", ".join(RESPONSES)
        )
    row = ResponseAssessment.objects.filter(
        participant=participant, assessment_date=assessment_date, is_deleted=False
    ).first()
    if row is None:
        raise NotFound.coded(NO_DERIVED_RESPONSE, {"field": "date"}, date=assessment_date)
    row = record_update(
        row,
        expected_version=expected_version,
        values={"investigator_response": response},
        reason=reason,
        reason_required=bool(row.investigator_response),
    )
    row.participant = participant
    _open_disagreement_query(row)
    return row
