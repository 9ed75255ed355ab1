"""End of treatment, follow-up contacts after progression, death; the participant's status.

Status transitions (ParticipantStatus):
- end of treatment: on_treatment -> off_treatment (followed for progression), or
  follow_up when progression is already derived;
- a follow-up contact needs derived progression (the protocol follows for survival after PD)
  and moves off_treatment -> follow_up; a contact reporting the participant dead is refused
  (record the death instead);
- death: any enrolled status -> died; later contacts are refused.
Each change re-plans the participant's visits and contacts (`clinical.schedule`).
"""

from __future__ import annotations

import datetime as dt

from mmtrial.edc.models import Death, EndOfTreatment, FollowUpContact, ResponseSummary
from mmtrial.edc.models.people import ParticipantStatus
from mmtrial.edc.permissions import Action
from mmtrial.edc.services._records import record_create, record_update
from mmtrial.edc.services.participants import acting, participant_for
from mmtrial.edc.services.visits import visits_regenerate
from mmtrial.edc.unit_of_work import writes
from mmtrial.errors import InputError, ProtocolViolation

__all__ = [
    "END_OF_TREATMENT_REASONS",
    "death_record",
    "end_of_treatment_record",
    "follow_up_contact_record",
]

END_OF_TREATMENT_REASONS = (
    "progressive_disease",
    "adverse_event",
    "withdrawal",
    "investigator_decision",
    "death",
    "other",
)
DEATH_CAUSES = ("progressive_disease", "adverse_event", "other", "unknown")
NOT_TREATED = "Participant {subject} has not started treatment."
ALREADY = "Participant {subject} already has {what} recorded; correct it with a reason instead."
DIED = "Participant {subject} has died ({date}): no further contact can be recorded."
NO_PROGRESSION = (
    "Participant {subject} has no derived progression: follow-up contacts start after progression."
)


def _subject(participant) -> str:
    return participant.subject_id or participant.screening_number


def _set_status(participant, status: str):
    if participant.status == status:
        return participant
    return record_update(
        participant,
        expected_version=participant.version,
        values={"status": status},
        reason="",
        reason_required=False,
    )


def _progression(participant) -> dt.date | None:
    summary = ResponseSummary.objects.filter(participant=participant).first()
    return summary.progression_date if summary else None


@acting
@writes
def end_of_treatment_record(
    *, user, participant_id: int, last_dose_date: dt.date, reason: str, details: str = ""
) -> EndOfTreatment:
    """End treatment (date of the last dose, reason); the participant is followed afterwards."""
    participant = participant_for(
        user=user, participant_id=participant_id, action=Action.ENTER_DATA, for_update=True
    )
    if participant.c1d1_date is None:
        raise ProtocolViolation.coded(NOT_TREATED, subject=_subject(participant))
    if EndOfTreatment.objects.filter(participant=participant).exists():
        raise ProtocolViolation.coded(
            ALREADY, subject=_subject(participant), what="an end of treatment"
        )
    if reason not in END_OF_TREATMENT_REASONS:
        raise InputError(
            f"reason: {reason!r} must be one of {', '.join(END_OF_TREATMENT_REASONS)}",
            {"field": "reason"},
        )
    if last_dose_date < participant.c1d1_date:
        raise InputError(
            f"last dose date: {last_dose_date} is before C1D1 ({participant.c1d1_date})",
            {"field": "last_dose_date"},
        )
    eot = record_create(
        EndOfTreatment(
            participant=participant, last_dose_date=last_dose_date, reason=reason, details=details
        )
    )
    if participant.status != ParticipantStatus.DIED:
        status = (
            ParticipantStatus.FOLLOW_UP
            if _progression(participant)
            else ParticipantStatus.OFF_TREATMENT
        )
        participant = _set_status(participant, status)
    visits_regenerate(participant=participant, why="end of treatment")
    return eot


@acting
@writes
def follow_up_contact_record(
    *,
    user,
    participant_id: int,
    contact_date: dt.date,
    alive: bool,
    new_anticancer_therapy: bool = False,
    new_therapy_start_date: dt.date | None = None,
    notes: str = "",
) -> FollowUpContact:
    """A survival follow-up contact after progression (alive, new anticancer therapy)."""
    participant = participant_for(
        user=user, participant_id=participant_id, action=Action.ENTER_DATA, for_update=True
    )
    subject = _subject(participant)
    death = Death.objects.filter(participant=participant, is_deleted=False).first()
    if death is not None:
        raise ProtocolViolation.coded(DIED, subject=subject, date=death.death_date)
    if not alive:
        raise ProtocolViolation(
            "alive: record the death with its date and cause instead of a contact",
            {"field": "alive"},
        )
    progression = _progression(participant)
    if progression is None:
        raise ProtocolViolation.coded(NO_PROGRESSION, subject=subject)
    if contact_date < progression:
        raise InputError(
            f"contact date: {contact_date} is before progression ({progression})",
            {"field": "contact_date"},
        )
    if new_anticancer_therapy and new_therapy_start_date is None:
        raise InputError(
            "new therapy start date: required when a new anticancer therapy started",
            {"field": "new_therapy_start_date"},
        )
    contact = record_create(
        FollowUpContact(
            participant=participant,
            contact_date=contact_date,
            alive=alive,
            new_anticancer_therapy=new_anticancer_therapy,
            new_therapy_start_date=new_therapy_start_date,
            notes=notes,
        )
    )
    if participant.status in (ParticipantStatus.OFF_TREATMENT, ParticipantStatus.ON_TREATMENT):
        _set_status(participant, ParticipantStatus.FOLLOW_UP)
    return contact


@acting
@writes
def death_record(
    *, user, participant_id: int, death_date: dt.date, cause: str, details: str = ""
) -> Death:
    """Record a participant's death; the schedule stops at the death date."""
    participant = participant_for(
        user=user, participant_id=participant_id, action=Action.ENTER_DATA, for_update=True
    )
    subject = _subject(participant)
    if Death.objects.filter(participant=participant).exists():
        raise ProtocolViolation.coded(ALREADY, subject=subject, what="a death")
    if cause not in DEATH_CAUSES:
        raise InputError(
            f"cause: {cause!r} must be one of {', '.join(DEATH_CAUSES)}", {"field": "cause"}
        )
    if death_date < participant.consent_date:
        raise InputError(
            f"death date: {death_date} is before consent ({participant.consent_date})",
            {"field": "death_date"},
        )
    death = record_create(
        Death(
            participant=participant,
            death_date=death_date,
            cause=cause,
            details=details,
            reported_by=user,
        )
    )
    participant = _set_status(participant, ParticipantStatus.DIED)
    visits_regenerate(participant=participant, why="death")
    return death
