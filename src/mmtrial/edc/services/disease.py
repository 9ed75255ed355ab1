"""Disease assessments entered at the site: IFE, bone marrow, plasmacytoma, new lesions.

Each one is a source of the IMWG derivation: recording or correcting it re-derives the
participant's responses in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from mmtrial.edc.lab_analytes import IFE_VALUES
from mmtrial.edc.models import DiseaseAssessment
from mmtrial.edc.permissions import Action
from mmtrial.edc.services._records import record_create, record_update
from mmtrial.edc.services.participants import acting, participant_for
from mmtrial.edc.services.responses import response_derive
from mmtrial.edc.unit_of_work import writes
from mmtrial.errors import InputError, NotFound

__all__ = ["disease_assessment_record", "disease_assessment_update"]

CLONAL_VALUES = ("present", "absent")
_CHOICES = {
    "serum_ife": IFE_VALUES,
    "urine_ife": IFE_VALUES,
    "bone_marrow_clonal_cells": CLONAL_VALUES,
}
_NUMBERS = {"bone_marrow_plasma_cells_pct": Decimal(100), "plasmacytoma_spd_cm2": None}
FIELDS = (*_CHOICES, *_NUMBERS, "new_lesion")


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(FIELDS)
    if unknown:
        name = sorted(unknown)[0]
        raise InputError(f"{name}: unknown field (known: {', '.join(FIELDS)})", {"field": name})
    cleaned: dict[str, Any] = {}
    for name, value in values.items():
        if name in _CHOICES:
            text = (value or "").strip().lower()
            if text and text not in _CHOICES[name]:
                allowed = " or ".join(_CHOICES[name])
                raise InputError(f"{name}: must be {allowed}, not {value!r}", {"field": name})
            cleaned[name] = text
        elif name in _NUMBERS:
            if value is None or value == "":
                cleaned[name] = None
                continue
            try:
                number = Decimal(str(value))
            except InvalidOperation:
                raise InputError(f"{name}: {value!r} is not a number", {"field": name}) from None
            upper = _NUMBERS[name]
            if number < 0 or (upper is not None and number > upper):
                limit = f" and at most {upper}" if upper is not None else ""
                raise InputError(f"{name}: {value} must be at least 0{limit}", {"field": name})
            cleaned[name] = number
        else:
            if not isinstance(value, bool):
                raise InputError("new_lesion: must be true or false", {"field": name})
            cleaned[name] = value
    return cleaned


@acting
@writes
def disease_assessment_record(
    *, user, participant_id: int, assessed_on: dt.date, **values: Any
) -> DiseaseAssessment:
    """Record a disease assessment (fields: serum_ife, urine_ife, bone_marrow_plasma_cells_pct,
    bone_marrow_clonal_cells, plasmacytoma_spd_cm2, new_lesion) and re-derive responses."""
    participant = participant_for(
        user=user, participant_id=participant_id, action=Action.ENTER_DATA
    )
    if assessed_on < participant.consent_date:
        raise InputError(
            f"assessed on: {assessed_on} is before consent ({participant.consent_date})",
            {"field": "assessed_on"},
        )
    assessment = record_create(
        DiseaseAssessment(participant=participant, assessed_on=assessed_on, **_clean(values))
    )
    response_derive(participant=participant)
    return assessment


@acting
@writes
def disease_assessment_update(
    *, user, assessment_id: int, expected_version: int, reason: str, **values: Any
) -> DiseaseAssessment:
    """Correct a disease assessment (reason for change required) and re-derive responses."""
    assessment = DiseaseAssessment.objects.filter(pk=assessment_id, is_deleted=False).first()
    if assessment is None:
        raise NotFound(f"Disease assessment {assessment_id} was not found.")
    try:
        participant = participant_for(
            user=user, participant_id=assessment.participant_id, action=Action.EDIT_DATA
        )
    except NotFound:
        raise NotFound(f"Disease assessment {assessment_id} was not found.") from None
    updated = record_update(
        assessment, expected_version=expected_version, values=_clean(values), reason=reason
    )
    response_derive(participant=participant)
    return updated
