"""Visits: planned from `clinical.schedule`, then done (in or out of window) or missed.

`visits_regenerate` rebuilds a participant's planned visits from the schedule whenever a cycle
starts, treatment ends, progression is derived or death is recorded: visits still due move to
their new planned date and window; visits already done, missed or locked are never touched;
due visits the schedule no longer has are soft-deleted with the reason.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from mmtrial.clinical import schedule
from mmtrial.clinical.due_dates import follow_up_window
from mmtrial.edc.models import Cycle, Death, EndOfTreatment, ResponseSummary, Visit
from mmtrial.edc.models.treatment import CycleStatus, VisitKind, VisitStatus
from mmtrial.edc.permissions import Action
from mmtrial.edc.services._bulk import records_create_many
from mmtrial.edc.services._records import record_soft_delete, record_update
from mmtrial.edc.services.participants import acting, participant_for, protocol_of
from mmtrial.edc.unit_of_work import writes
from mmtrial.errors import InputError, NotFound, ProtocolViolation

__all__ = ["schedule_input", "visit_missed", "visit_record", "visits_regenerate"]

VISIT_NOT_FOUND = "Visit {pk} was not found among the visits you may see."
SCHEDULE_CHANGED = "planned from the schedule (clinical.schedule) after {why}"
DONE_ALREADY = "Visit {code} is already recorded as {status}; correct it with a reason instead."
FOLLOW_UP_CODE = "FU{n:02d}"
STARTED = (CycleStatus.STARTED, CycleStatus.COMPLETED)


def schedule_input(participant, cycles: list[Cycle] | None = None) -> schedule.ScheduleInput | None:
    """The schedule's input (contracts/schedule.md) from the participant's stored records."""
    if cycles is None:
        cycles = list(Cycle.objects.filter(participant=participant).order_by("number"))
    started = [c for c in cycles if c.status in STARTED and not c.is_deleted]
    if not started:
        return None
    eot = EndOfTreatment.objects.filter(participant=participant, is_deleted=False).first()
    death = Death.objects.filter(participant=participant, is_deleted=False).first()
    summary = ResponseSummary.objects.filter(participant=participant).first()
    ongoing = eot is None and death is None
    protocol = protocol_of(participant)
    cycle_model, input_model = schedule.input_models(protocol)
    return input_model(
        cycles=[
            cycle_model(
                start_date=c.start_date,
                **{f"{drug}_mg": c.planned_doses_mg.get(drug) for drug in protocol.regimen},
            )
            for c in started
        ],
        project_cycles=1 if ongoing else 0,
        end_of_treatment_date=eot.last_dose_date if eot else None,
        progression_date=summary.progression_date if summary else None,
        death_date=death.death_date if death else None,
    )


def _planned(participant, protocol) -> dict[str, dict]:
    facts = schedule_input(participant)
    if facts is None:
        return {}
    calendar = schedule.build_schedule(facts, protocol=protocol)
    planned = {
        v.code: {
            "kind": v.kind,
            "cycle_number": v.cycle,
            "day": v.day,
            "planned_date": v.date,
            "window_start": v.window_start,
            "window_end": v.window_end,
        }
        for v in calendar.visits
    }
    for n, day in enumerate(calendar.follow_up_contacts, start=1):
        window_start, window_end = follow_up_window(day, protocol=protocol)
        planned[FOLLOW_UP_CODE.format(n=n)] = {
            "kind": VisitKind.FOLLOW_UP,
            "cycle_number": None,
            "day": None,
            "planned_date": day,
            "window_start": window_start,
            "window_end": window_end,
        }
    return planned


@writes
def visits_regenerate(*, participant, why: str) -> int:
    """Bring the participant's planned visits in line with the schedule; returns rows written."""
    protocol = protocol_of(participant)
    planned = _planned(participant, protocol)
    existing = {v.code: v for v in Visit.objects.filter(participant=participant)}
    reason = SCHEDULE_CHANGED.format(why=why)
    context = {"derived_by": "clinical.schedule"}
    written = 0
    new = []
    for code, fields in planned.items():
        visit = existing.get(code)
        if visit is None:
            new.append(Visit(participant=participant, code=code, **fields))
            continue
        if visit.status != VisitStatus.DUE or visit.locked:
            continue
        values = dict(fields)
        if visit.is_deleted:
            values["is_deleted"] = False
        if any(getattr(visit, k) != v for k, v in values.items()):
            visit.participant = participant
            record_update(
                visit,
                expected_version=visit.version,
                values=values,
                reason=reason,
                reason_required=False,
                context=context,
            )
            written += 1
    records_create_many(participant, new, reason=reason, context=context)
    written += len(new)
    for code, visit in existing.items():
        if code not in planned and visit.status == VisitStatus.DUE and not visit.is_deleted:
            if visit.locked:
                continue
            visit.participant = participant
            record_soft_delete(
                visit,
                expected_version=visit.version,
                reason=f"no longer in the schedule after {why}",
                context=context,
            )
            written += 1
    return written


def _visit_for(*, user, visit_id: int, action: Action) -> Visit:
    visit = Visit.objects.filter(pk=visit_id, is_deleted=False).first()
    if visit is None:
        raise NotFound.coded(VISIT_NOT_FOUND, {"id": visit_id}, pk=visit_id)
    try:
        visit.participant = participant_for(
            user=user, participant_id=visit.participant_id, action=action
        )
    except NotFound:
        raise NotFound.coded(VISIT_NOT_FOUND, {"id": visit_id}, pk=visit_id) from None
    return visit


def _weight(weight_kg) -> Decimal | None:
    if weight_kg is None or weight_kg == "":
        return None
    try:
        weight = Decimal(str(weight_kg))
    except InvalidOperation:
        raise InputError(
            f"weight kg: {weight_kg!r} is not a number", {"field": "weight_kg"}
        ) from None
    if weight <= 0:
        raise InputError(f"weight kg: {weight_kg} must be above 0", {"field": "weight_kg"})
    return weight


@acting
@writes
def visit_record(
    *,
    user,
    visit_id: int,
    actual_date: dt.date,
    expected_version: int,
    weight_kg: Decimal | float | str | None = None,
    notes: str = "",
    reason: str = "",
    today: dt.date | None = None,
) -> Visit:
    """Record that a visit took place: status `done` inside its window, else `out_of_window`.

    A first entry needs no reason; changing a recorded visit needs one.
    """
    visit = _visit_for(user=user, visit_id=visit_id, action=Action.ENTER_DATA)
    participant = visit.participant
    if today is not None and actual_date > today:
        raise InputError(f"actual date: {actual_date} is in the future", {"field": "actual_date"})
    if actual_date < participant.consent_date:
        raise ProtocolViolation(
            f"actual date: {actual_date} is before consent ({participant.consent_date})",
            {"field": "actual_date"},
        )
    in_window = visit.window_start <= actual_date <= visit.window_end
    values = {
        "actual_date": actual_date,
        "status": VisitStatus.DONE if in_window else VisitStatus.OUT_OF_WINDOW,
        "notes": notes,
    }
    weight = _weight(weight_kg)
    if weight is not None:
        values["weight_kg"] = weight
    return record_update(
        visit,
        expected_version=expected_version,
        values=values,
        reason=reason,
        reason_required=visit.status != VisitStatus.DUE,
    )


@acting
@writes
def visit_missed(*, user, visit_id: int, expected_version: int, reason: str) -> Visit:
    """Record that a due visit did not take place (the reason is kept)."""
    visit = _visit_for(user=user, visit_id=visit_id, action=Action.ENTER_DATA)
    if visit.status != VisitStatus.DUE:
        raise ProtocolViolation.coded(
            DONE_ALREADY, code=visit.code, status=visit.get_status_display().lower()
        )
    if not (reason or "").strip():
        raise InputError("reason: say why the visit was missed", {"field": "reason"})
    return record_update(
        visit,
        expected_version=expected_version,
        values={"status": VisitStatus.MISSED, "notes": reason},
        reason=reason,
    )
