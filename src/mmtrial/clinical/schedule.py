"""The cycle calendar and visit schedule of one participant (contracts/schedule.md).

Rule (every number from the protocol file; the values in brackets are this protocol's):
- Day d of a cycle is its start date + (d - 1) days; a cycle lasts `cycle_length_days` [28].
  A listed cycle may start later than one cycle length after the previous start (a delay),
  never earlier. `project_cycles` further cycles follow, each one cycle length after the
  previous start, at the last listed doses.
- Dosing: one row per calendar day on which at least one drug is given (regimen days
  [ixazomib 1, 8, 15; lenalidomide 1-21; dexamethasone 1, 8, 15, 22]); a drug not scheduled
  that day, or null for the cycle, is null in the row.
- Treatment visits on `visits.treatment` days [C1-2: 1, 8, 15, 22; C3: 1, 15; C4+: 1], code
  C{cycle}D{day}, window from `visits.windows` (a visit without a window: the day itself).
- End of treatment: one visit `EOT` at end_of_treatment_date + `days_after_end_of_treatment` [30]
  with its window [-0/+7].
- Response assessments every `response_assessment.interval_days` [28] from C1D1 (C1D1 + k x
  interval, k >= 1, whatever the delays) up to and including the first date on or after
  progression; without progression through day `cycle_length_days` of the last listed or
  projected cycle; never after death or the study closure.
- Follow-up contacts every `follow_up.interval_days` [84] after progression, strictly before
  death and strictly before the study closure; without either, the first
  `follow_up.listed_without_end` [8].
- Study closure: last enrollment + `study_closure.months_after_last_enrollment` [24] calendar
  months (same day of month, or the month's last day).

As the contract states it, and no further: the end of treatment removes the treatment visits
after it, nothing else; the dosing rows are the calendar of every listed and projected cycle
(a consumer showing what was actually taken reads the dose records, not this plan); death and
the study closure bound the response assessments and follow-up contacts only. A listed cycle
may not start after end_of_treatment_date or death_date (input error).

Source: protocol.md sections 3, 8, 9 and 10; [seed] the study description; windows [ours].
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mmtrial.clinical.schedule_models import (
    CycleFacts,
    DosingDay,
    Schedule,
    ScheduleInput,
    ScheduleInputError,
    Visit,
    models_for,
    parse_schedule_input,
)
from mmtrial.clinical.study_days import add_calendar_months
from mmtrial.protocol import Protocol

__all__ = [
    "CycleFacts",
    "DosingDay",
    "Schedule",
    "ScheduleInput",
    "ScheduleInputError",
    "Visit",
    "build_schedule",
    "input_models",
    "parse_schedule_input",
    "schedule_dict",
]

_date_from_ordinal = dt.date.fromordinal

# ISO text of a date by its ordinal: a schedule repeats the same few thousand dates, so a
# lookup is several times faster than `isoformat()` in the inner loop.
_ISO_BY_ORDINAL: dict[int, str] = {}
# The caches hold what recent calendars used; past this size they start again (bounded memory
# in a long-running server whatever the input).
_CACHE_LIMIT = 100_000


def _iso(ordinal: int) -> str:
    text = _ISO_BY_ORDINAL.get(ordinal)
    if text is None:
        if len(_ISO_BY_ORDINAL) > _CACHE_LIMIT:
            _ISO_BY_ORDINAL.clear()
        text = _ISO_BY_ORDINAL[ordinal] = _date_from_ordinal(ordinal).isoformat()
    return text


_ISO_RUNS: dict[tuple[int, int], tuple[str, ...]] = {}


def _iso_run(start: int, length: int) -> tuple[str, ...]:
    """ISO texts of `length` consecutive days from ordinal `start` (one cycle's days)."""
    run = _ISO_RUNS.get((start, length))
    if run is None:
        if len(_ISO_RUNS) > _CACHE_LIMIT:
            _ISO_RUNS.clear()
        run = _ISO_RUNS[(start, length)] = tuple(_iso(start + k) for k in range(length))
    return run


def _json_number(dose: Decimal | None) -> int | float | None:
    if dose is None:
        return None
    return int(dose) if dose == dose.to_integral_value() else float(dose)


@dataclass
class _Tables:
    """Everything the calendar needs from the protocol, computed once per protocol."""

    protocol: Protocol
    cycle_length: int
    drug_fields: tuple[str, ...]
    # (offset from day 1, day, which drugs are scheduled) for every day any drug is scheduled.
    dosing_days: tuple[tuple[int, int, tuple[bool, ...]], ...]
    assessment_interval: int
    follow_up_interval: int
    follow_up_listed: int
    closure_months: int
    eot_after: int
    eot_before: int
    eot_window_after: int
    cycle_doses: Callable[[Any], tuple]
    _visit_plans: dict[int, tuple[tuple[int, int, str, int, int], ...]] = field(
        default_factory=dict
    )
    _dosing_templates: dict[tuple, tuple[tuple[int, dict[str, Any]], ...]] = field(
        default_factory=dict
    )

    def visit_plan(self, cycle: int) -> tuple[tuple[int, int, str, int, int], ...]:
        """(offset, day, code, days before, days after) of each treatment visit of a cycle."""
        plan = self._visit_plans.get(cycle)
        if plan is None:
            rows = []
            for day in self.protocol.treatment_visit_days(cycle):
                window = self.protocol.visit_window(cycle, day)
                before = window.before_days if window else 0
                after = window.after_days if window else 0
                rows.append((day - 1, day, f"C{cycle}D{day}", before, after))
            plan = self._visit_plans[cycle] = tuple(rows)
        return plan

    def json_doses(self, cycle: CycleFacts) -> tuple:
        """A cycle's doses as JSON numbers, in regimen order (a handful of distinct sets)."""
        raw = self.cycle_doses(cycle)
        if not isinstance(raw, tuple):
            raw = (raw,)
        doses = _JSON_DOSES.get(raw)
        if doses is None:
            if len(_JSON_DOSES) > _CACHE_LIMIT:
                _JSON_DOSES.clear()
            doses = _JSON_DOSES[raw] = tuple(_json_number(d) for d in raw)
        return doses

    def dosing_template(self, cycle: int, doses: tuple) -> tuple[tuple[int, dict[str, Any]], ...]:
        """(offset, row without its date) for each dosing day of cycle `cycle` at `doses`."""
        template = self._dosing_templates.get((cycle, doses))
        if template is None:
            rows = []
            for offset, day, scheduled in self.dosing_days:
                given = [d if on else None for d, on in zip(doses, scheduled, strict=True)]
                if all(d is None for d in given):
                    continue
                row: dict[str, Any] = {"date": None, "cycle": cycle, "day": day}
                row.update(zip(self.drug_fields, given, strict=True))
                rows.append((offset, row))
            if len(self._dosing_templates) > _CACHE_LIMIT:
                self._dosing_templates.clear()
            template = self._dosing_templates[(cycle, doses)] = tuple(rows)
        return template


_TABLES: dict[int, _Tables] = {}
_JSON_DOSES: dict[tuple, tuple] = {}


def _tables(protocol: Protocol) -> _Tables:
    found = _TABLES.get(id(protocol))
    if found is not None and found.protocol is protocol:
        return found
    drugs = list(protocol.regimen)
    all_days = sorted({day for entry in protocol.regimen.values() for day in entry.days})
    eot = protocol.visits.end_of_treatment
    tables = _Tables(
        protocol=protocol,
        cycle_length=protocol.cycle_length_days,
        drug_fields=tuple(f"{d}_mg" for d in drugs),
        dosing_days=tuple(
            (day - 1, day, tuple(day in protocol.regimen[d].days for d in drugs))
            for day in all_days
        ),
        assessment_interval=protocol.response_assessment.interval_days,
        follow_up_interval=protocol.follow_up.interval_days,
        follow_up_listed=protocol.follow_up.listed_without_end,
        closure_months=protocol.study_closure.months_after_last_enrollment,
        eot_after=eot.days_after_end_of_treatment,
        eot_before=eot.before_days,
        eot_window_after=eot.after_days,
        cycle_doses=operator.attrgetter(*(f"{d}_mg" for d in drugs)),
    )
    _TABLES[id(protocol)] = tables
    return tables


def _checked_starts(facts: ScheduleInput, cycle_length: int) -> list[int]:
    """The cycle start ordinals, once dates out of order, overlapping cycles and cycles after
    the end of treatment or death have been ruled out (else ScheduleInputError)."""
    cycles = facts.cycles
    c1d1 = cycles[0].start_date
    ordinals = [c.start_date.toordinal() for c in cycles]
    for i in range(1, len(ordinals)):
        if ordinals[i] < ordinals[i - 1] + cycle_length:
            previous, start = cycles[i - 1].start_date, cycles[i].start_date
            earliest = previous + dt.timedelta(days=cycle_length)
            raise ScheduleInputError(
                f"cycles[{i}].start_date: {start} is before cycle {i} ends (cycle {i} started "
                f"{previous} and lasts {cycle_length} days; the earliest start is {earliest})"
            )
    named = (
        ("end_of_treatment_date", facts.end_of_treatment_date),
        ("progression_date", facts.progression_date),
        ("death_date", facts.death_date),
    )
    for name, value in named:
        if value is not None and value < c1d1:
            raise ScheduleInputError(f"{name}: {value} is before C1D1 ({c1d1})")
    death = facts.death_date
    if death is not None:
        for name, value in named[:2]:
            if value is not None and death < value:
                raise ScheduleInputError(f"death_date: {death} is before {name} ({value})")
    for limit_name, limit in (named[0], named[2]):
        if limit is None or cycles[-1].start_date <= limit:
            continue
        for i, cycle in enumerate(cycles):
            if cycle.start_date > limit:
                what = "the end of treatment" if limit_name == named[0][0] else "death"
                raise ScheduleInputError(
                    f"cycles[{i}].start_date: {cycle.start_date} is after {what} "
                    f"({limit_name} {limit})"
                )
    return ordinals


def schedule_dict(facts: ScheduleInput, *, protocol: Protocol) -> dict[str, Any]:
    """The calendar as plain JSON-ready data (the contract's output), without pydantic.

    The fast path behind `build_schedule`, for bulk use (the benchmark, cohort simulation).
    Raises ScheduleInputError for dates out of order, overlapping cycles or a cycle after the
    end of treatment or death.
    """
    t = _tables(protocol)
    length = t.cycle_length
    starts = _checked_starts(facts, length)
    dose_sets = [t.json_doses(c) for c in facts.cycles]
    for _ in range(facts.project_cycles):
        starts.append(starts[-1] + length)
        dose_sets.append(dose_sets[-1])

    eot = facts.end_of_treatment_date.toordinal() if facts.end_of_treatment_date else None
    death = facts.death_date.toordinal() if facts.death_date else None
    last_visit_day = eot if eot is not None else dt.date.max.toordinal()

    dosing: list[dict[str, Any]] = []
    visits: list[dict[str, Any]] = []
    append_row = dosing.append
    append_visit = visits.append
    iso = _iso
    for index, start in enumerate(starts):
        cycle = index + 1
        isos = _iso_run(start, length)
        for offset, base in t.dosing_template(cycle, dose_sets[index]):
            row = base.copy()
            row["date"] = isos[offset]
            append_row(row)
        for offset, day, code, before, after in t.visit_plan(cycle):
            ordinal = start + offset
            if ordinal > last_visit_day:
                break
            append_visit(
                {
                    "code": code,
                    "kind": "treatment",
                    "cycle": cycle,
                    "day": day,
                    "date": isos[offset],
                    "window_start": iso(ordinal - before),
                    "window_end": iso(ordinal + after),
                }
            )
    if eot is not None:
        visit_day = eot + t.eot_after
        visits.append(
            {
                "code": "EOT",
                "kind": "end_of_treatment",
                "cycle": None,
                "day": None,
                "date": iso(visit_day),
                "window_start": iso(visit_day - t.eot_before),
                "window_end": iso(visit_day + t.eot_window_after),
            }
        )

    closure_date = (
        add_calendar_months(facts.last_enrollment_date, months=t.closure_months)
        if facts.last_enrollment_date
        else None
    )
    closure = closure_date.toordinal() if closure_date else None
    progression = facts.progression_date.toordinal() if facts.progression_date else None

    return {
        "dosing": dosing,
        "visits": visits,
        "response_assessments": _response_assessments(
            t,
            c1d1=starts[0],
            last_cycle_end=starts[-1] + length - 1,
            progression=progression,
            death=death,
            closure=closure,
        ),
        "follow_up_contacts": _follow_up_contacts(
            t, progression=progression, death=death, closure=closure
        ),
        "study_closure_date": closure_date.isoformat() if closure_date else None,
    }


def _response_assessments(
    t: _Tables,
    *,
    c1d1: int,
    last_cycle_end: int,
    progression: int | None,
    death: int | None,
    closure: int | None,
) -> list[str]:
    interval = t.assessment_interval
    if progression is not None:
        # Up to and including the first assessment on or after progression.
        k_last = -(-(progression - c1d1) // interval)
        last = c1d1 + max(k_last, 1) * interval
    else:
        last = last_cycle_end
    for limit in (death, closure):
        if limit is not None:
            last = min(last, limit)
    return [_iso(day) for day in range(c1d1 + interval, last + 1, interval)]


def _follow_up_contacts(
    t: _Tables, *, progression: int | None, death: int | None, closure: int | None
) -> list[str]:
    if progression is None:
        return []
    interval = t.follow_up_interval
    if death is None and closure is None:
        return [_iso(progression + k * interval) for k in range(1, t.follow_up_listed + 1)]
    end = min(x for x in (death, closure) if x is not None)  # strictly before
    return [_iso(day) for day in range(progression + interval, end, interval)]


def build_schedule(facts: ScheduleInput | dict[str, Any], *, protocol: Protocol) -> Schedule:
    """The participant's calendar per contracts/schedule.md (rules in the module docstring).

    `facts` is a ScheduleInput, or the contract's input as a dict (validated first).
    `build_schedule(facts, protocol=p).model_dump(mode="json")` is the contract's JSON output.
    Raises ScheduleInputError (an InputError) naming the field for bad or inconsistent input.
    """
    drugs = tuple(protocol.regimen)
    if not isinstance(facts, ScheduleInput):
        facts = parse_schedule_input(facts, drugs=drugs)
    return models_for(drugs)[2].model_validate(schedule_dict(facts, protocol=protocol))


def input_models(protocol: Protocol) -> tuple[type, type]:
    """(CycleFacts, ScheduleInput) for the protocol's regimen drugs (see `models_for`)."""
    cycle, facts, _ = models_for(tuple(protocol.regimen))
    return cycle, facts
