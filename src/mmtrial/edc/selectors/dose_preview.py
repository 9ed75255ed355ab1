"""The dose decision the protocol would make for the participant's next cycle, from the data
entered so far: a read-only preview of `cycle_start`.

It gathers the facts with the same function `cycle_start` uses
and asks the same rule (`mmtrial.edc.services.treatment.decide_cycle`), so the preview and the recorded decision cannot
disagree for the same data and date. Nothing is written. When a fact the rule needs is missing
(no creatinine within the protocol's lab window, no weight), the preview carries the message
saying what to record first instead of a decision.

Default planned start: the last started cycle's start plus the protocol's cycle length (later
when a delayed cycle is due to be checked again); for cycle 1, today (not before enrollment).
Scoped to the user's sites: another site's participant is NotFound.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import timezone

from mmtrial.clinical.dosing_models import CycleFacts, DoseDecision
from mmtrial.edc.models import Cycle, Participant
from mmtrial.edc.models.people import ParticipantStatus
from mmtrial.edc.models.treatment import CycleStatus
from mmtrial.edc.permissions import Action, scope_to_sites
from mmtrial.edc.services.treatment import (
    NOT_ENROLLED,
    TOO_EARLY,
    TREATMENT_ENDED,
    decide_cycle,
)
from mmtrial.edc.services.visits import STARTED
from mmtrial.errors import InputError, MmtrialError, NotFound, ProtocolViolation
from mmtrial.protocol.loader import load_protocol

__all__ = ["DosePreview", "dose_decision_preview", "dose_preview_for"]

NOT_FOUND = "Participant {pid} was not found among the participants you may see."
START_BEFORE_ENROLLMENT = "start date: {date} is before enrollment ({enrolled})"
TREATABLE = (ParticipantStatus.ENROLLED, ParticipantStatus.ON_TREATMENT)


@dataclass(frozen=True)
class DosePreview:
    """What `cycle_start` would decide for `cycle_number` starting on `start_date`.

    `decision` is None when no decision can be made yet; `message` then says why (in the
    EDC's English, as the service would) and `field` names the missing fact.
    `applicable` is False for a participant who cannot start a cycle (not enrolled, off
    treatment): there is nothing to preview.
    """

    participant: Participant
    cycle_number: int
    start_date: dt.date
    decision: DoseDecision | None = None
    facts: CycleFacts | None = None
    message: str = ""
    field: str | None = None
    error: MmtrialError | None = None  # the refusal itself: its code and parameters
    applicable: bool = True


def _default_start(
    participant: Participant, cycles: Sequence[Cycle], protocol, today: dt.date
) -> dt.date:
    started = [c for c in cycles if c.status in STARTED]
    if started:
        start = started[-1].start_date + dt.timedelta(days=protocol.cycle_length_days)
        next_number = started[-1].number + 1
    else:
        start = max(today, participant.enrolled_on or today)
        next_number = 1
    pending = next(
        (
            c
            for c in cycles
            if c.number == next_number and c.status == CycleStatus.AWAITING_INVESTIGATOR
        ),
        None,
    )
    if pending is not None:  # decided again on its own date once the investigator answers
        return pending.start_date
    delayed = next(
        (c for c in cycles if c.number == next_number and c.status == CycleStatus.DELAYED), None
    )
    if delayed is not None:
        recheck_days = (delayed.decision or {}).get("recheck_in_days") or (
            protocol.cycle_start.recheck_interval_days
        )
        start = max(start, delayed.start_date + dt.timedelta(days=recheck_days))
    return start


def _refusal(participant: Participant, cycles, start_date: dt.date, protocol) -> str:
    """The service's own date checks of `cycle_start` (its messages), before any rule."""
    if participant.enrolled_on is not None and start_date < participant.enrolled_on:
        return START_BEFORE_ENROLLMENT.format(date=start_date, enrolled=participant.enrolled_on)
    started = [c for c in cycles if c.status in STARTED]
    if started:
        last = started[-1]
        length = protocol.cycle_length_days
        if start_date < last.start_date + dt.timedelta(days=length):
            return TOO_EARLY.format(
                date=start_date, prev=last.number, prev_start=last.start_date, length=length
            )
    return ""


def dose_preview_for(
    participant: Participant,
    *,
    cycles: Sequence[Cycle] | None = None,
    start_date: dt.date | None = None,
    today: dt.date | None = None,
) -> DosePreview:
    """The preview for a participant already read through a site-scoped selector.

    `cycles` (the participant's non-deleted cycles by number) saves a query when the caller
    has them prefetched.
    """
    if cycles is None:
        cycles = list(
            Cycle.objects.filter(participant=participant, is_deleted=False).order_by("number")
        )
    started = [c for c in cycles if c.status in STARTED]
    number = (started[-1].number + 1) if started else 1
    protocol = load_protocol(participant.protocol_version)
    today = today or timezone.localdate()
    start = start_date or _default_start(participant, cycles, protocol, today)
    subject = participant.subject_id or participant.screening_number
    if participant.status not in TREATABLE:
        message = NOT_ENROLLED if participant.enrolled_on is None else TREATMENT_ENDED
        return DosePreview(
            participant=participant,
            cycle_number=number,
            start_date=start,
            message=message.format(subject=subject),
            error=ProtocolViolation.coded(message, subject=subject),
            applicable=False,
        )
    refusal = _refusal(participant, cycles, start, protocol)
    if refusal:
        return DosePreview(
            participant=participant,
            cycle_number=number,
            start_date=start,
            message=refusal,
            field="start_date",
        )
    try:
        facts, decision = decide_cycle(participant, start_date=start, protocol=protocol)
    except (ProtocolViolation, InputError) as missing:
        return DosePreview(
            participant=participant,
            cycle_number=number,
            start_date=start,
            message=missing.message,
            field=missing.extra.get("field"),
            error=missing,
        )
    return DosePreview(
        participant=participant,
        cycle_number=facts.cycle,
        start_date=start,
        decision=decision,
        facts=facts,
    )


def dose_decision_preview(
    *,
    user,
    participant_id: int,
    start_date: dt.date | None = None,
    today: dt.date | None = None,
) -> DosePreview:
    """The protocol's decision for the participant's next cycle, computed and not recorded.

    `start_date` defaults as the module docstring says; `today` (the site's date) only matters
    for cycle 1 and defaults to the current local date.
    """
    participant = (
        scope_to_sites(
            Participant.objects.filter(is_deleted=False).select_related("site"),
            user,
            Action.VIEW,
        )
        .filter(pk=participant_id)
        .first()
    )
    if participant is None:
        raise NotFound.coded(NOT_FOUND, {"id": participant_id}, pid=participant_id)
    return dose_preview_for(participant, start_date=start_date, today=today)
