"""Single laboratory results: record, correct, delete; responses follow their sources.

Values are converted to the canonical unit at entry (`edc.lab_analytes`), keeping what was
reported. A change to an M-protein, FLC or IFE value re-derives the participant's IMWG
responses in the same transaction (design rule 4). Central-laboratory files go through
`edc.lab_import` instead.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from mmtrial.edc.lab_analytes import ANALYTES, RESPONSE_ANALYTES, LabValueError, convert
from mmtrial.edc.models import LabResult, Visit
from mmtrial.edc.models.assessments import LabSource
from mmtrial.edc.permissions import Action
from mmtrial.edc.services._records import record_create, record_soft_delete, record_update
from mmtrial.edc.services.participants import acting, participant_for, protocol_of
from mmtrial.edc.services.responses import response_derive
from mmtrial.edc.unit_of_work import writes
from mmtrial.errors import InputError, NotFound, Phrase

__all__ = ["lab_result_delete", "lab_result_for", "lab_result_record", "lab_result_update"]

LAB_NOT_FOUND = "Lab result {pk} was not found among the results you may see."
COLLECTED_BEFORE_CONSENT = (
    "collected on: {date} is before the participant's consent ({consent}); "
    "no study data may be collected before consent."
)
COLLECTED_IN_FUTURE = "collected on: {date} is in the future."
CENTRAL_NEEDS_ACCESSION = "accession: a central-laboratory result needs its accession number."
LAB_VALUE_REFUSED = "{analyte}: {problem}"
LAB_UNIT_REFUSED = "{analyte} unit: {problem}"


def _converted(participant, *, analyte: str, value, unit: str) -> tuple[Decimal | None, str, str]:
    try:
        return convert(
            analyte=analyte, value=str(value), unit=unit or "", protocol=protocol_of(participant)
        )
    except LabValueError as exc:  # named as the user sees it: the analyte (and its unit)
        entry = ANALYTES.get(analyte)
        name = entry.name if entry is not None else "Analyte"
        raise InputError.coded(
            LAB_UNIT_REFUSED if exc.column == "unit" else LAB_VALUE_REFUSED,
            {"field": exc.column},
            analyte=name,
            problem=Phrase(exc.template, exc.params),
        ) from None


def _check_date(participant, collected_on: dt.date, today: dt.date | None) -> None:
    if collected_on < participant.consent_date:
        raise InputError.coded(
            COLLECTED_BEFORE_CONSENT,
            {"field": "collected_on"},
            date=collected_on,
            consent=participant.consent_date,
        )
    if today is not None and collected_on > today:
        raise InputError.coded(COLLECTED_IN_FUTURE, {"field": "collected_on"}, date=collected_on)


def lab_result_for(*, user, lab_result_id: int, action: Action = Action.VIEW) -> LabResult:
    """The lab result if the user may see its participant's site (else NotFound)."""
    lab = LabResult.objects.filter(pk=lab_result_id, is_deleted=False).first()
    if lab is None:
        raise NotFound.coded(LAB_NOT_FOUND, {"id": lab_result_id}, pk=lab_result_id)
    try:
        lab.participant = participant_for(
            user=user, participant_id=lab.participant_id, action=action
        )
    except NotFound:
        raise NotFound.coded(LAB_NOT_FOUND, {"id": lab_result_id}, pk=lab_result_id) from None
    return lab


def _rederive(lab: LabResult, participant) -> None:
    if lab.analyte in RESPONSE_ANALYTES:
        response_derive(participant=participant)


@acting
@writes
def lab_result_record(
    *,
    user,
    participant_id: int,
    analyte: str,
    value: str | Decimal | int | float,
    unit: str,
    collected_on: dt.date,
    source: str = LabSource.LOCAL,
    accession: str = "",
    visit_id: int | None = None,
    today: dt.date | None = None,
) -> LabResult:
    """Record one lab value (first entry: no reason needed)."""
    participant = participant_for(
        user=user, participant_id=participant_id, action=Action.ENTER_DATA
    )
    if source not in LabSource.values:
        raise InputError(f"source: {source!r} must be central or local", {"field": "source"})
    if source == LabSource.CENTRAL and not accession.strip():
        raise InputError(CENTRAL_NEEDS_ACCESSION, {"field": "accession"})
    _check_date(participant, collected_on, today)
    number, text, canonical_unit = _converted(participant, analyte=analyte, value=value, unit=unit)
    visit = None
    if visit_id is not None:
        visit = Visit.objects.filter(pk=visit_id, participant=participant).first()
        if visit is None:  # another participant's visit is not a valid choice
            raise InputError(f"visit: {visit_id} is not a visit of this participant")
    lab = LabResult(
        participant=participant,
        visit=visit,
        analyte=analyte,
        value=number,
        value_text=text,
        unit=canonical_unit,
        reported_value=str(value).strip(),
        reported_unit=(unit or "").strip(),
        collected_on=collected_on,
        source=source,
        accession=accession.strip(),
    )
    if (
        source == LabSource.CENTRAL
        and LabResult.objects.filter(
            source=LabSource.CENTRAL, accession=lab.accession, analyte=analyte
        ).exists()
    ):
        raise InputError(
            f"accession: {lab.accession} already has a {analyte} result; correct that one instead",
            {"field": "accession"},
        )
    record_create(lab)
    _rederive(lab, participant)
    return lab


@acting
@writes
def lab_result_update(
    *,
    user,
    lab_result_id: int,
    expected_version: int,
    reason: str,
    value: str | Decimal | int | float | None = None,
    unit: str | None = None,
    collected_on: dt.date | None = None,
    today: dt.date | None = None,
) -> LabResult:
    """Correct a lab value, unit or collection date (reason for change required)."""
    lab = lab_result_for(user=user, lab_result_id=lab_result_id, action=Action.EDIT_DATA)
    participant = lab.participant
    values = {}
    if value is not None or unit is not None:
        new_value = lab.reported_value if value is None else value
        new_unit = lab.reported_unit if unit is None else unit
        number, text, canonical_unit = _converted(
            participant, analyte=lab.analyte, value=new_value, unit=new_unit
        )
        values.update(
            value=number,
            value_text=text,
            unit=canonical_unit,
            reported_value=str(new_value).strip(),
            reported_unit=(new_unit or "").strip(),
        )
    if collected_on is not None:
        _check_date(participant, collected_on, today)
        values["collected_on"] = collected_on
    updated = record_update(lab, expected_version=expected_version, values=values, reason=reason)
    _rederive(updated, participant)
    return updated


@acting
@writes
def lab_result_delete(*, user, lab_result_id: int, expected_version: int, reason: str) -> LabResult:
    """Soft-delete a lab value with a reason; the record and its history stay."""
    lab = lab_result_for(user=user, lab_result_id=lab_result_id, action=Action.EDIT_DATA)
    participant = lab.participant
    deleted = record_soft_delete(lab, expected_version=expected_version, reason=reason)
    _rederive(deleted, participant)
    return deleted
