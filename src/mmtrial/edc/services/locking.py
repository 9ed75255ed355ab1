"""Data management locks on a participant or one visit (21 CFR 11.10(f); compliance KF-7).

While locked, every change through `_records` is refused (`assert_unlocked`), whatever the
record's state. Locking is not a data change: it does not bump record versions or void
signatures. Locking and unlocking each need a reason, kept in the audit trail. Each lock and unlock is an audit event.
"""

from __future__ import annotations

from mmtrial.edc.models import Participant, Visit
from mmtrial.edc.permissions import Action, authorize
from mmtrial.edc.services._acting import actor_for
from mmtrial.edc.services._records import subject_label
from mmtrial.edc.unit_of_work import unit_of_work, writes
from mmtrial.errors import InputError

ALREADY_LOCKED = "{what} is already locked."
NOT_LOCKED = "{what} is not locked."
UNLOCK_REASON_REQUIRED = "Give a reason for unlocking: the audit trail keeps it."
LOCK_REASON_REQUIRED = "Give a reason for locking: the audit trail keeps it."
REASON_MAX_LENGTH = 2000


def _participant_what(participant: Participant) -> str:
    return f"Participant {subject_label(participant)}"


def _visit_what(visit: Visit) -> str:
    return f"Visit {visit.code} of participant {subject_label(visit.participant)}"


def _set_locked(instance, *, locked: bool, user, reason: str, what: str) -> None:
    if instance.locked == locked:
        raise InputError.coded(ALREADY_LOCKED if locked else NOT_LOCKED, what=what)
    with unit_of_work() as uow:
        uow.set_locked(instance, locked=locked, reason=reason, actor=actor_for(user))


def _reason(reason: str, *, locking: bool) -> str:
    cleaned = (reason or "").strip()[:REASON_MAX_LENGTH]
    if not cleaned:
        message = LOCK_REASON_REQUIRED if locking else UNLOCK_REASON_REQUIRED
        raise InputError(message, {"field": "reason"})
    return cleaned


def _fresh_participant(participant: Participant) -> Participant:
    return Participant.objects.select_for_update().select_related("site").get(pk=participant.pk)


def _fresh_visit(visit: Visit) -> Visit:
    return Visit.objects.select_for_update().select_related("participant__site").get(pk=visit.pk)


@writes
def participant_lock(*, user, participant: Participant, reason: str) -> Participant:
    """Lock all of a participant's data against change."""
    authorize(user, Action.LOCK, participant.site_id)
    reason = _reason(reason, locking=True)
    participant = _fresh_participant(participant)
    _set_locked(
        participant, locked=True, user=user, reason=reason, what=_participant_what(participant)
    )
    return participant


@writes
def participant_unlock(*, user, participant: Participant, reason: str) -> Participant:
    """Unlock a participant's data; the reason is kept in the audit trail."""
    authorize(user, Action.UNLOCK, participant.site_id)
    reason = _reason(reason, locking=False)
    participant = _fresh_participant(participant)
    _set_locked(
        participant, locked=False, user=user, reason=reason, what=_participant_what(participant)
    )
    return participant


@writes
def visit_lock(*, user, visit: Visit, reason: str) -> Visit:
    """Lock one visit and every record attached to it (labs, assessments)."""
    authorize(user, Action.LOCK, visit.participant.site_id)
    reason = _reason(reason, locking=True)
    visit = _fresh_visit(visit)
    _set_locked(visit, locked=True, user=user, reason=reason, what=_visit_what(visit))
    return visit


@writes
def visit_unlock(*, user, visit: Visit, reason: str) -> Visit:
    """Unlock one visit; the reason is kept in the audit trail."""
    authorize(user, Action.UNLOCK, visit.participant.site_id)
    reason = _reason(reason, locking=False)
    visit = _fresh_visit(visit)
    _set_locked(visit, locked=False, user=user, reason=reason, what=_visit_what(visit))
    return visit
