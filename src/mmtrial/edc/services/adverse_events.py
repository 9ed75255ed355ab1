"""Adverse events: term, CTCAE v5 grade 1-5, dates, seriousness, attribution per drug, action.

The dose rules read them at the next cycle start (`treatment.cycle_facts`); nothing is decided
here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mmtrial.edc.models import AdverseEvent
from mmtrial.edc.permissions import Action
from mmtrial.edc.services._records import record_create, record_update
from mmtrial.edc.services.participants import acting, participant_for, protocol_of
from mmtrial.edc.unit_of_work import writes
from mmtrial.errors import InputError, NotFound

__all__ = ["ACTIONS", "ae_record", "ae_update"]

ACTIONS = (
    "none",
    "dose_held",
    "dose_reduced",
    "drug_discontinued",
    "treatment_discontinued",
    "other",
)
AE_NOT_FOUND = "Adverse event {pk} was not found among the records you may see."
_EDITABLE = (
    "term",
    "ctcae_term",
    "grade",
    "start_date",
    "end_date",
    "serious",
    "nonhematologic",
    "with_pain",
    "attribution",
    "action_taken",
    "led_to_discontinuation",
)


def _clean(participant, values: dict[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(_EDITABLE)
    if unknown:
        name = sorted(unknown)[0]
        raise InputError(f"{name}: unknown field", {"field": name})
    cleaned = dict(values)
    if "grade" in cleaned:
        grade = cleaned["grade"]
        if isinstance(grade, bool) or not isinstance(grade, int) or not 1 <= grade <= 5:
            raise InputError(
                f"grade: {grade!r} is not a CTCAE v5 grade (1 to 5)", {"field": "grade"}
            )
    if "attribution" in cleaned:
        attribution = cleaned["attribution"] or {}
        drugs = protocol_of(participant).drugs
        if not isinstance(attribution, dict):
            raise InputError(
                "attribution: give {drug: related true/false}", {"field": "attribution"}
            )
        for drug, related in attribution.items():
            if drug not in drugs:
                raise InputError(
                    f"attribution: unknown drug {drug!r} (known: {', '.join(drugs)})",
                    {"field": "attribution"},
                )
            if not isinstance(related, bool):
                raise InputError(
                    f"attribution.{drug}: must be true (related) or false", {"field": "attribution"}
                )
    if "action_taken" in cleaned and cleaned["action_taken"] not in ("", *ACTIONS):
        raise InputError(
            f"action taken: {cleaned['action_taken']!r} must be one of {', '.join(ACTIONS)}",
            {"field": "action_taken"},
        )
    if "term" in cleaned and not str(cleaned["term"]).strip():
        raise InputError("term: required", {"field": "term"})
    return cleaned


def _check_dates(participant, start: dt.date, end: dt.date | None) -> None:
    if start < participant.consent_date:
        raise InputError(
            f"start date: {start} is before consent ({participant.consent_date})",
            {"field": "start_date"},
        )
    if end is not None and end < start:
        raise InputError(f"end date: {end} is before the start date {start}", {"field": "end_date"})


@acting
@writes
def ae_record(
    *,
    user,
    participant_id: int,
    term: str,
    grade: int,
    start_date: dt.date,
    end_date: dt.date | None = None,
    serious: bool = False,
    attribution: dict[str, bool] | None = None,
    action_taken: str = "none",
    ctcae_term: str = "",
    nonhematologic: bool = True,
    with_pain: bool = False,
    led_to_discontinuation: bool = False,
) -> AdverseEvent:
    """Record an adverse event (first entry: no reason needed)."""
    participant = participant_for(
        user=user, participant_id=participant_id, action=Action.ENTER_DATA
    )
    values = _clean(
        participant,
        dict(
            term=term,
            ctcae_term=ctcae_term,
            grade=grade,
            start_date=start_date,
            end_date=end_date,
            serious=serious,
            nonhematologic=nonhematologic,
            with_pain=with_pain,
            attribution=attribution or {},
            action_taken=action_taken,
            led_to_discontinuation=led_to_discontinuation,
        ),
    )
    _check_dates(participant, start_date, end_date)
    return record_create(AdverseEvent(participant=participant, **values))


@acting
@writes
def ae_update(
    *, user, ae_id: int, expected_version: int, reason: str, **values: Any
) -> AdverseEvent:
    """Change an adverse event (e.g. its end date or grade); a reason for change is required."""
    ae = AdverseEvent.objects.filter(pk=ae_id, is_deleted=False).first()
    if ae is None:
        raise NotFound(AE_NOT_FOUND.format(pk=ae_id), {"id": ae_id})
    try:
        participant = participant_for(
            user=user, participant_id=ae.participant_id, action=Action.EDIT_DATA
        )
    except NotFound:
        raise NotFound(AE_NOT_FOUND.format(pk=ae_id), {"id": ae_id}) from None
    cleaned = _clean(participant, values)
    _check_dates(
        participant, cleaned.get("start_date", ae.start_date), cleaned.get("end_date", ae.end_date)
    )
    ae.participant = participant
    return record_update(ae, expected_version=expected_version, values=cleaned, reason=reason)
