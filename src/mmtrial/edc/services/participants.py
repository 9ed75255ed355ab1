"""Participants: registration at consent, screening (eligibility), enrollment.

Every service here, and the other service modules through `participant_for`, first finds the
participant among the sites the user may see (anything else is NotFound, whatever the id:
E6 4.3.8(b), compliance E6-4.3.3b-IDOR), then checks the role may do the action at that site.
Eligibility is decided by `mmtrial.clinical.eligibility`; this module only gathers and stores.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from mmtrial.clinical import eligibility, renal
from mmtrial.edc.audit import audit_actor, current_actor
from mmtrial.edc.models import Participant, Screening, Site
from mmtrial.edc.models.people import Ethnicity, ParticipantStatus, Race, Sex
from mmtrial.edc.permissions import Action, authorize, can, scope_to_sites
from mmtrial.edc.services._acting import actor_for
from mmtrial.edc.services._records import record_create, record_update
from mmtrial.edc.unit_of_work import writes
from mmtrial.errors import (
    EligibilityError,
    InputError,
    NotFound,
    PermissionDenied,
    ProtocolViolation,
)
from mmtrial.protocol.loader import load_protocol
from mmtrial.protocol.models import Protocol

__all__ = [
    "acting",
    "acting_as",
    "participant_enroll",
    "participant_for",
    "participant_register",
    "protocol_of",
    "screening_answers_authorize",
    "screening_record",
]

PARTICIPANT_NOT_FOUND = "Participant {pid} was not found among the participants you may see."
SITE_NOT_FOUND = "Site {site} was not found among the sites you may work at."
SCREENING_NUMBER_TAKEN = "Screening number {number} is already used at site {site}."
CONSENT_IN_FUTURE = "consent date: {date} is in the future."
NOT_SCREENED = "Participant {subject} has no screening record yet: record screening first."
NOT_ELIGIBLE = "Participant {subject} is not eligible: {criteria}."
ALREADY_ENROLLED = "Participant {subject} is already enrolled (subject id {subject_id})."
ENROLL_BEFORE_SCREENING = "enrolled on: {date} is before the screening date {screened}."
SCREEN_BEFORE_CONSENT = "screened on: {date} is before the consent date {consent} (consent first)."
SUBJECT_ID_FORMAT = "{site}-{n:03d}"
INVESTIGATOR_ANSWERS_ONLY = (
    "Only an investigator can answer the criteria the investigator judges ({criteria}); "
    "save the values and ask the investigator to answer them."
)
EARLIEST_BIRTH_YEAR = 1900  # a plausibility bound on the form, not an eligibility rule


@contextlib.contextmanager
def acting_as(user) -> Iterator[None]:
    """Audit events written inside name `user` (compliance KF-3), keeping the door and address
    of a surrounding context for the same person."""
    actor = actor_for(user)
    if actor is None or actor is current_actor():
        yield
        return
    with audit_actor(actor.user, via=actor.via, source_ip=actor.source_ip):
        yield


def acting[F: Callable[..., Any]](func: F) -> F:
    """Run a service as its keyword argument `user` (see `acting_as`)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with acting_as(kwargs.get("user")):
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def protocol_of(participant: Participant) -> Protocol:
    """The protocol version the participant is treated under."""
    return load_protocol(participant.protocol_version)


def participant_for(
    *, user, participant_id: int, action: Action = Action.VIEW, for_update: bool = False
) -> Participant:
    """The participant, if the user may see its site; then `action` is authorized at that site.

    Another site's participant is NotFound (never PermissionDenied: the id tells nothing).
    """
    queryset = scope_to_sites(
        Participant.objects.select_related("site").filter(is_deleted=False), user, Action.VIEW
    )
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    participant = queryset.filter(pk=participant_id).first()
    if participant is None:
        raise NotFound.coded(PARTICIPANT_NOT_FOUND, {"id": participant_id}, pid=participant_id)
    if action is not Action.VIEW:
        authorize(user, action, participant.site_id)
    return participant


def _subject(participant: Participant) -> str:
    return participant.subject_id or participant.screening_number


@acting
@writes
def participant_register(
    *,
    user,
    site_id: int,
    screening_number: str,
    sex: str,
    year_of_birth: int,
    consent_date: dt.date,
    race: str = "",
    ethnicity: str = "",
    today: dt.date | None = None,
) -> Participant:
    """Register a consented person at a site, under the current protocol version.

    `race` / `ethnicity`: the keys of `Race` / `Ethnicity` (CDISC RACE, ETHNIC), as the
    participant reports them; blank when not collected (the web form requires race)."""
    site = scope_to_sites(Site.objects.all(), user, Action.VIEW, site_field="id")
    site = site.filter(pk=site_id).first()
    if site is None:
        raise NotFound.coded(SITE_NOT_FOUND, {"site_id": site_id}, site=site_id)
    authorize(user, Action.SCREEN, site.pk)
    screening_number = (screening_number or "").strip()
    if not screening_number:
        raise InputError("screening number: required", {"field": "screening_number"})
    if sex not in Sex.values:
        raise InputError(f"sex: {sex!r} must be 'female' or 'male'", {"field": "sex"})
    if (
        isinstance(year_of_birth, bool)
        or not isinstance(year_of_birth, int)
        or not EARLIEST_BIRTH_YEAR <= year_of_birth <= consent_date.year
    ):
        raise InputError(
            f"year of birth: {year_of_birth!r} is not a possible year of birth "
            f"({EARLIEST_BIRTH_YEAR} to {consent_date.year})",
            {"field": "year_of_birth"},
        )
    if race and race not in Race.values:
        raise InputError(
            f"race: {race!r} is not one of {', '.join(Race.values)}", {"field": "race"}
        )
    if ethnicity and ethnicity not in Ethnicity.values:
        raise InputError(
            f"ethnicity: {ethnicity!r} is not one of {', '.join(Ethnicity.values)}",
            {"field": "ethnicity"},
        )
    if today is not None and consent_date > today:
        raise InputError.coded(CONSENT_IN_FUTURE, {"field": "consent_date"}, date=consent_date)
    if Participant.objects.filter(site=site, screening_number=screening_number).exists():
        raise InputError.coded(
            SCREENING_NUMBER_TAKEN,
            {"field": "screening_number"},
            number=screening_number,
            site=site.code,
        )
    participant = Participant(
        site=site,
        screening_number=screening_number,
        sex=sex,
        year_of_birth=year_of_birth,
        race=race,
        ethnicity=ethnicity,
        consent_date=consent_date,
        protocol_version=load_protocol().identification.version,
        status=ParticipantStatus.SCREENING,
    )
    return record_create(participant)


def _derived_values(
    participant: Participant, values: Mapping[str, Any], screened_on: dt.date, protocol: Protocol
) -> dict[str, Any]:
    """Values eligibility needs that other clinical functions own: age and CrCl.

    Values eligibility does not read (creatinine, weight, FLC, ...) are kept with the screening:
    they are the baseline when nothing later is recorded.
    """
    derived = dict(values)
    if "age_years" not in derived:
        # Only the year of birth is collected: age is the difference of the years.
        derived["age_years"] = screened_on.year - participant.year_of_birth
    if "crcl_ml_min" not in derived and {"creatinine_mg_dl", "weight_kg"} <= derived.keys():
        result = renal.creatinine_clearance(
            age_years=derived["age_years"],
            sex=participant.sex,
            weight_kg=derived["weight_kg"],
            creatinine_mg_dl=derived["creatinine_mg_dl"],
            protocol=protocol,
        )
        derived["crcl_ml_min"] = round(result.crcl_ml_min, 2)
        derived["crcl_formula"] = result.formula
    return derived


def _result_dict(result: Any) -> dict[str, Any]:
    if hasattr(result, "model_dump"):
        return result.model_dump(mode="json")
    return result.to_dict()


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in values.items():
        if isinstance(value, dt.date):
            out[key] = value.isoformat()
        elif hasattr(value, "as_tuple"):  # Decimal
            out[key] = format(value.normalize(), "f")
        else:
            out[key] = value
    return out


@acting
@writes
def screening_record(
    *,
    user,
    participant_id: int,
    screened_on: dt.date,
    values: Mapping[str, Any],
    answers: Mapping[str, Any],
    expected_version: int | None = None,
    reason: str = "",
) -> Screening:
    """Store screening data with the per-criterion result of `clinical.eligibility.evaluate`.

    A first screening needs no reason; re-screening (changing it) needs `expected_version` of the
    screening record and a reason. Age (from the year of birth) and CrCl (Cockcroft-Gault, from
    creatinine and weight) are derived when not given.
    """
    participant = participant_for(user=user, participant_id=participant_id, action=Action.SCREEN)
    if participant.enrolled_on is not None:
        raise ProtocolViolation.coded(
            ALREADY_ENROLLED, subject=_subject(participant), subject_id=participant.subject_id
        )
    if screened_on < participant.consent_date:
        raise ProtocolViolation.coded(
            SCREEN_BEFORE_CONSENT,
            {"field": "screened_on"},
            date=screened_on,
            consent=participant.consent_date,
        )
    existing = Screening.objects.filter(participant=participant).first()
    protocol = protocol_of(participant)
    derived = _derived_values(participant, values, screened_on, protocol)
    known = eligibility.known_variables(protocol)
    result = eligibility.evaluate(
        values={k: v for k, v in derived.items() if k in known},
        answers=dict(answers),
        protocol=protocol,
    )
    fields = {
        "screened_on": screened_on,
        "values": _jsonable(derived),
        "answers": _jsonable(answers),
        "result": _result_dict(result),
        "eligible": bool(result.eligible),
        "protocol_version": protocol.identification.version,
    }
    if existing is None:
        screening = record_create(Screening(participant=participant, **fields))
    else:
        if expected_version is None:
            raise InputError(
                "expected version: required when changing a screening already recorded",
                {"field": "expected_version"},
            )
        screening = record_update(
            existing, expected_version=expected_version, values=fields, reason=reason
        )
    status = _status_after_screening(result.overall)
    if participant.status != status:
        record_update(
            participant,
            expected_version=participant.version,
            values={"status": status},
            reason="screening result",
            reason_required=False,
        )
    return screening


def screening_answers_authorize(*, user, participant_id: int, answers: Mapping[str, Any]) -> None:
    """Refuse `answers` that change the investigator's answers unless `user` is an investigator.

    The free-text criteria are the investigator's judgement (the protocol's `free_text`
    criteria; ICH E6(R3) 2.3, the investigator decides on eligibility): anyone who may screen
    enters the values, only an investigator gives or changes these answers. The web calls it
    before `screening_record`; `screening_record` will call it itself once the simulated
    studies screen through investigators (mmtrial.sim still has coordinators answer).
    """
    participant = participant_for(user=user, participant_id=participant_id, action=Action.SCREEN)
    existing = Screening.objects.filter(participant=participant).first()
    before = (existing.answers if existing else None) or {}
    stored = {key: bool(value) for key, value in before.items()}
    given = {key: bool(value) for key, value in answers.items() if value is not None}
    if given == stored or can(user, Action.INVESTIGATOR_DECISION, participant.site_id):
        return
    changed = sorted(k for k in given.keys() | stored.keys() if given.get(k) != stored.get(k))
    raise PermissionDenied.coded(
        INVESTIGATOR_ANSWERS_ONLY,
        {"action": Action.INVESTIGATOR_DECISION.value, "site_id": participant.site_id},
        criteria=", ".join(changed),
    )


def _status_after_screening(overall: str) -> str:
    """A screening with values still missing is in progress, not failed: only a criterion that
    is not met fails it (clinical.eligibility's `overall`)."""
    if overall == "not_eligible":
        return ParticipantStatus.SCREEN_FAILED
    return ParticipantStatus.SCREENING


def _unmet(result: Mapping[str, Any]) -> str:
    parts = []
    if result.get("not_met"):
        parts.append("not met: " + ", ".join(result["not_met"]))
    if result.get("missing"):
        parts.append("missing: " + ", ".join(result["missing"]))
    return "; ".join(parts) or "see the screening result"


_SUBJECT_NUMBER = re.compile(r"-(\d+)$")


def _next_subject_id(site: Site) -> str:
    taken = Participant.objects.filter(site=site, subject_id__isnull=False).values_list(
        "subject_id", flat=True
    )
    numbers = [int(m.group(1)) for s in taken if (m := _SUBJECT_NUMBER.search(s))]
    return SUBJECT_ID_FORMAT.format(site=site.code, n=max(numbers, default=0) + 1)


@acting
@writes
def participant_enroll(
    *, user, participant_id: int, enrolled_on: dt.date, expected_version: int
) -> Participant:
    """Enroll an eligible participant and assign the subject id (`<site>-<nnn>`).

    Raises EligibilityError naming the unmet criteria when screening says not eligible.
    """
    participant = participant_for(
        user=user, participant_id=participant_id, action=Action.ENROLL, for_update=True
    )
    subject = _subject(participant)
    if participant.subject_id:
        raise ProtocolViolation.coded(
            ALREADY_ENROLLED, subject=subject, subject_id=participant.subject_id
        )
    screening = Screening.objects.filter(participant=participant, is_deleted=False).first()
    if screening is None:
        raise EligibilityError.coded(NOT_SCREENED, subject=subject)
    if not screening.eligible:
        raise EligibilityError.coded(
            NOT_ELIGIBLE,
            {"result": screening.result},
            subject=subject,
            criteria=_unmet(screening.result),
        )
    if enrolled_on < screening.screened_on:
        raise ProtocolViolation.coded(
            ENROLL_BEFORE_SCREENING,
            {"field": "enrolled_on"},
            date=enrolled_on,
            screened=screening.screened_on,
        )
    enrolled = record_update(
        participant,
        expected_version=expected_version,
        values={
            "subject_id": _next_subject_id(participant.site),
            "enrolled_on": enrolled_on,
            "status": ParticipantStatus.ENROLLED,
        },
        reason="",
        reason_required=False,
    )
    protocol = protocol_of(enrolled)
    if protocol.randomized:  # allocated at enrollment, the strata frozen then (ICH E9 2.3)
        from mmtrial.edc.services.randomization import allocate
        from mmtrial.edc.unit_of_work import unit_of_work

        with unit_of_work() as uow:
            allocate(uow, enrolled, on=enrolled_on, protocol=protocol)
    return enrolled
