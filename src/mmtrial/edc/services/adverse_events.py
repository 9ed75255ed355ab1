"""Adverse events: term, CTCAE v5 grade 1-5, dates, seriousness, attribution per drug, action.

The dose rules read them at the next cycle start (`treatment.cycle_facts`); nothing is decided
here. Coding: a `ctcae_term` that is a CTCAE v5.0 term carries its MedDRA LLT code into
`meddra_code`, and its grade must be one the term defines. Seriousness (ICH E2A): when the
criteria are given, the event is serious iff one of them holds, and the site's awareness (a
date and time with its zone) is required: the SAE reporting clock starts from it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from mmtrial.clinical.toxicity_terms import ctcae_term, normalize
from mmtrial.edc.models import AdverseEvent, DoseAdministration
from mmtrial.edc.models.assessments import AeOutcome
from mmtrial.edc.permissions import Action
from mmtrial.edc.services._records import record_create, record_update
from mmtrial.edc.services.participants import acting, participant_for, protocol_of
from mmtrial.edc.unit_of_work import writes
from mmtrial.errors import InputError, NotFound

__all__ = [
    "ACN",
    "ACTIONS",
    "SERIOUSNESS",
    "ae_record",
    "ae_update",
]

# CDISC controlled terminology ACN (action taken with study treatment), per drug.
ACN = (
    "DOSE NOT CHANGED",
    "DOSE REDUCED",
    "DRUG INTERRUPTED",
    "DRUG WITHDRAWN",
    "NOT APPLICABLE",
    "UNKNOWN",
)
# ICH E2A seriousness criteria -> the AdverseEvent flag that stores each.
SERIOUSNESS = {
    "death": "sae_death",
    "life_threatening": "sae_life_threatening",
    "hospitalization": "sae_hospitalization",
    "disability": "sae_disability",
    "congenital_anomaly": "sae_congenital_anomaly",
    "other_important": "sae_other_important",
}
SERIOUS_NEEDS_CRITERION = (
    "serious: name at least one seriousness criterion (death, life-threatening, "
    "hospitalisation, disability, congenital anomaly, other important medical event)"
)
AWARE_AT_REQUIRED = (
    "aware at: give the date and time the site became aware of the serious adverse event"
)
AWARE_AT_NAIVE = "aware at: the date and time needs its time zone"
AWARE_AT_FUTURE = "aware at: {value} is in the future"
AWARE_AT_BEFORE_ONSET = "aware at: {value} is before the event started ({start})"
OUTCOME_UNKNOWN = "outcome: {value!r} is not a CDISC outcome ({known})"
ACTION_UNKNOWN = "actions.{drug}: {value!r} is not a CDISC action taken ({known})"
DOSE_LINK_UNKNOWN = (
    "dose links.{drug}: dose record {pk} is not one of this participant's {drug} doses"
)

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
    "outcome",
    "actions",
    "dose_links",
    "aware_at",
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
    if cleaned.get("ctcae_term"):
        coded = ctcae_term(normalize(cleaned["ctcae_term"]))
        if coded is not None:
            cleaned["meddra_code"] = coded.meddra_code
            if "grade" in cleaned and cleaned["grade"] not in coded.grades:
                defined = ", ".join(str(g) for g in sorted(coded.grades))
                raise InputError(
                    f"grade: CTCAE v5.0 defines no grade {cleaned['grade']} for {coded.term} "
                    f"(its grades: {defined})",
                    {"field": "grade"},
                )
    elif "ctcae_term" in cleaned:
        cleaned["meddra_code"] = ""
    if cleaned.get("outcome") and cleaned["outcome"] not in AeOutcome.values:
        raise InputError.coded(
            OUTCOME_UNKNOWN,
            {"field": "outcome"},
            value=cleaned["outcome"],
            known=", ".join(AeOutcome.values),
        )
    drugs = protocol_of(participant).drugs
    for drug, action in (cleaned.get("actions") or {}).items():
        if drug not in drugs:
            raise InputError(
                f"actions: unknown drug {drug!r} (known: {', '.join(drugs)})", {"field": "actions"}
            )
        if action not in ACN:
            raise InputError.coded(
                ACTION_UNKNOWN, {"field": "actions"}, drug=drug, value=action, known=", ".join(ACN)
            )
    links = cleaned.get("dose_links") or {}
    if links:
        wanted = {int(pk) for pks in links.values() for pk in pks}
        found = dict(
            DoseAdministration.objects.filter(
                pk__in=wanted, cycle__participant=participant, is_deleted=False
            ).values_list("pk", "drug")
        )
        for drug, pks in links.items():
            for pk in pks:
                if found.get(int(pk)) != drug:
                    raise InputError.coded(
                        DOSE_LINK_UNKNOWN, {"field": "dose_links"}, drug=drug, pk=pk
                    )
        cleaned["dose_links"] = {drug: sorted(int(pk) for pk in pks) for drug, pks in links.items()}
    aware_at = cleaned.get("aware_at")
    if aware_at is not None and (aware_at.tzinfo is None or aware_at.utcoffset() is None):
        raise InputError(AWARE_AT_NAIVE, {"field": "aware_at"})
    return cleaned


def _seriousness(values: dict[str, Any], criteria: list[str] | None) -> None:
    """Set the ICH E2A flags and `serious` from `criteria` (None: legacy, `serious` as given)."""
    if criteria is None:
        return
    unknown = set(criteria) - set(SERIOUSNESS)
    if unknown:
        raise InputError(
            f"seriousness: unknown criterion {sorted(unknown)[0]!r} "
            f"(known: {', '.join(SERIOUSNESS)})",
            {"field": "seriousness"},
        )
    if values.get("serious") and not criteria:
        raise InputError(SERIOUS_NEEDS_CRITERION, {"field": "seriousness"})
    for criterion, flag in SERIOUSNESS.items():
        values[flag] = criterion in criteria
    values["serious"] = bool(criteria)
    if values["serious"] and values.get("aware_at") is None:
        raise InputError(AWARE_AT_REQUIRED, {"field": "aware_at"})


def _check_awareness(participant, aware_at: dt.datetime | None, start: dt.date) -> None:
    if aware_at is None:
        return
    if aware_at > timezone.now():
        raise InputError.coded(AWARE_AT_FUTURE, {"field": "aware_at"}, value=aware_at.isoformat())
    local = aware_at.astimezone(ZoneInfo(participant.site.timezone)).date()
    if local < start:
        raise InputError.coded(
            AWARE_AT_BEFORE_ONSET, {"field": "aware_at"}, value=aware_at.isoformat(), start=start
        )


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
    seriousness: list[str] | None = None,
    outcome: str = "",
    actions: dict[str, str] | None = None,
    dose_links: dict[str, list[int]] | None = None,
    aware_at: dt.datetime | None = None,
) -> AdverseEvent:
    """Record an adverse event (first entry: no reason needed).

    `seriousness` lists the ICH E2A criteria met (keys of SERIOUSNESS); given, it decides
    `serious`. `actions` is {drug: ACN term}; `dose_links` {drug: [dose administration ids]}.
    """
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
            outcome=outcome,
            actions=actions or {},
            dose_links=dose_links or {},
            aware_at=aware_at,
        ),
    )
    _seriousness(values, seriousness)
    _check_dates(participant, start_date, end_date)
    _check_awareness(participant, values["aware_at"], start_date)
    return record_create(AdverseEvent(participant=participant, **values))


@acting
@writes
def ae_update(
    *,
    user,
    ae_id: int,
    expected_version: int,
    reason: str,
    seriousness: list[str] | None = None,
    **values: Any,
) -> AdverseEvent:
    """Change an adverse event (e.g. its end date or grade); a reason for change is required."""
    ae = AdverseEvent.objects.filter(pk=ae_id, is_deleted=False).first()
    if ae is None:
        raise NotFound.coded(AE_NOT_FOUND, {"id": ae_id}, pk=ae_id)
    try:
        participant = participant_for(
            user=user, participant_id=ae.participant_id, action=Action.EDIT_DATA
        )
    except NotFound:
        raise NotFound.coded(AE_NOT_FOUND, {"id": ae_id}, pk=ae_id) from None
    if "ctcae_term" not in values and "grade" in values and ae.ctcae_term:
        values = {**values, "ctcae_term": ae.ctcae_term}
    cleaned = _clean(participant, values)
    if seriousness is not None:
        cleaned.setdefault("aware_at", ae.aware_at)
        _seriousness(cleaned, seriousness)
    _check_dates(
        participant, cleaned.get("start_date", ae.start_date), cleaned.get("end_date", ae.end_date)
    )
    if "aware_at" in cleaned or "start_date" in cleaned:
        _check_awareness(
            participant,
            cleaned.get("aware_at", ae.aware_at),
            cleaned.get("start_date", ae.start_date),
        )
    ae.participant = participant
    return record_update(ae, expected_version=expected_version, values=cleaned, reason=reason)
