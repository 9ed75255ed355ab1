"""Protocol deviations found by rule: each rule reads the protocol file and one participant's
facts, and returns its findings with their reasons.

Rule (every number from the protocol file; a rule not listed in its `deviations.rules` is not
run, so a protocol file without a `deviations` section finds nothing):
- `visit_out_of_window`: a visit done on a day before its window's first day or after its
  last day (the window from `visits.windows`, as `clinical.schedule` planned it; inclusive).
- `response_assessment_missed`: a response assessment planned every
  `response_assessment.interval_days` (`clinical.schedule`) whose window
  (`clinical.due_dates.assessment_window`) closed before today with no assessment recorded
  inside it.
- `dose_not_as_decided`: a dose given (taken or reduced) at an amount other than the dose the
  protocol's decision planned for that day (`clinical.dosing`), or given while none was
  planned, with no reason recorded.
- `cycle_start_criteria_not_met`: a cycle started (or completed) while one of
  `cycle_start.criteria` was not met at its decision (`clinical.dosing`'s
  `cycle_start_criteria`).
- `ineligible_enrolled`: an enrolled participant whose screening data, evaluated against
  `eligibility` (`clinical.eligibility.evaluate`), do not meet a criterion.
- `required_lab_missing`: for each started cycle, a test of `deviations.required_labs` not
  collected from `renal.lab_window_days` days before day 1 up to day 1.

Each finding names the record that shows it (`record`: model label and key); with the rule
and the participant it identifies the fact, so the same fact is never raised twice.
Category and importance come from the protocol file (`deviations.rules`).

Source: ICH E3 section 10.2 (protocol deviations; the important ones listed by kind); ICH
E6(R3) 3.10 and glossary ("important protocol deviation": might significantly affect the
completeness, accuracy or reliability of key trial data or a participant's rights, safety or
well-being); protocol.md sections 4-10; the windows [ours] in the protocol file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from mmtrial.clinical.due_dates import assessment_window
from mmtrial.clinical.eligibility import EligibilityInputError, evaluate
from mmtrial.protocol import Protocol

__all__ = [
    "CYCLE_CRITERIA_NOT_MET",
    "DOSE_NOT_AS_DECIDED",
    "INELIGIBLE_ENROLLED",
    "REQUIRED_LAB_MISSING",
    "RESPONSE_MISSED",
    "RULES",
    "UNBLINDING",
    "VISIT_OUT_OF_WINDOW",
    "CycleFacts",
    "DoseFacts",
    "Finding",
    "LabFacts",
    "ParticipantFacts",
    "ScreeningFacts",
    "VisitFacts",
    "classify",
    "find_deviations",
]

VISIT_OUT_OF_WINDOW = (
    "Visit {code} was done on {actual}, outside its window {window_start} to {window_end} "
    "({days} day(s) {side})."
)
RESPONSE_MISSED = (
    "Response assessment {number} planned on {planned} was not done in its window "
    "{window_start} to {window_end}."
)
DOSE_NOT_AS_DECIDED = (
    "{drug} on cycle {cycle} day {day} was given at {taken} mg while the dose decision planned "
    "{planned}, and no reason was recorded."
)
CYCLE_CRITERIA_NOT_MET = (
    "Cycle {cycle} started on {start} although a start criterion was not met: {criteria}."
)
INELIGIBLE_ENROLLED = "Enrolled although not eligible at screening: {criteria}."
REQUIRED_LAB_MISSING = (
    "Cycle {cycle} started on {start} without {analyte} collected in the {days} day(s) before."
)
UNBLINDING = "Emergency unblinding on {at} by {by}: {reason}"

RULES = (
    "visit_out_of_window",
    "response_assessment_missed",
    "dose_not_as_decided",
    "cycle_start_criteria_not_met",
    "ineligible_enrolled",
    "required_lab_missing",
)
_GIVEN = frozenset({"taken", "reduced"})
_STARTED = frozenset({"started", "completed"})


# --- input ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class VisitFacts:
    id: int
    code: str
    window_start: dt.date
    window_end: dt.date
    actual_date: dt.date | None


@dataclass(frozen=True)
class DoseFacts:
    id: int
    drug: str
    cycle: int
    day: int
    date: dt.date
    planned_mg: Decimal | None
    taken_mg: Decimal | None
    status: str
    reason: str = ""


@dataclass(frozen=True)
class CycleFacts:
    """A cycle as stored: its status and its decision's cycle-start checks (id, text, met)."""

    id: int
    number: int
    start_date: dt.date
    status: str
    criteria: tuple[tuple[str, str, bool], ...] = ()


@dataclass(frozen=True)
class LabFacts:
    analyte: str
    collected_on: dt.date


@dataclass(frozen=True)
class ScreeningFacts:
    id: int
    values: Mapping[str, Any]
    answers: Mapping[str, Any]


@dataclass(frozen=True)
class ParticipantFacts:
    """One participant's data the rules read. `planned_assessments`: the response assessment
    dates of `clinical.schedule` (empty before C1D1); `assessments`: dates recorded."""

    participant_id: int
    enrolled: bool
    enrolled_on: dt.date | None = None
    screening: ScreeningFacts | None = None
    visits: Sequence[VisitFacts] = ()
    doses: Sequence[DoseFacts] = ()
    cycles: Sequence[CycleFacts] = ()
    labs: Sequence[LabFacts] = ()
    planned_assessments: Sequence[dt.date] = ()
    assessments: Sequence[dt.date] = ()


# --- output ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One deviation found: the rule, its class from the protocol file, the reason (a message
    constant and its parameters) and the record that shows it (model label, key)."""

    rule: str
    category: str
    important: bool
    record: tuple[str, str]
    text: str
    params: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""
    day: dt.date | None = None  # when the deviation happened (SDTM DVSTDTC)

    @property
    def record_key(self) -> str:
        return f"{self.record[0]}:{self.record[1]}"

    @property
    def description(self) -> str:
        return self.text.format(**self.params)


def classify(rule: str, *, protocol: Protocol) -> tuple[str, bool, str] | None:
    """(category, important, source) of `rule` from the protocol file, or None when the
    protocol file does not list it."""
    section = protocol.deviations
    if section is None or rule not in section.rules:
        return None
    entry = section.rules[rule]
    return entry.category, entry.important, entry.source


def _finding(rule, protocol, record, text, *, on=None, **params) -> Finding | None:
    found = classify(rule, protocol=protocol)
    if found is None:
        return None
    category, important, source = found
    return Finding(rule, category, important, record, text, params, source, on)


# --- the rules ------------------------------------------------------------------------------


def visit_out_of_window(facts: ParticipantFacts, *, protocol: Protocol, today: dt.date):
    """A visit done before its window opened or after it closed (window inclusive).

    Example: window 2027-03-07 to 2027-03-09; done on 03-09: none; on 03-10: 1 day late."""
    for visit in facts.visits:
        day = visit.actual_date
        if day is None or visit.window_start <= day <= visit.window_end:
            continue
        if day < visit.window_start:
            days, side = (visit.window_start - day).days, "early"
        else:
            days, side = (day - visit.window_end).days, "late"
        yield _finding(
            "visit_out_of_window",
            protocol,
            ("visit", str(visit.id)),
            VISIT_OUT_OF_WINDOW,
            on=day,
            code=visit.code,
            actual=day.isoformat(),
            window_start=visit.window_start.isoformat(),
            window_end=visit.window_end.isoformat(),
            days=days,
            side=side,
        )


def response_assessment_missed(facts: ParticipantFacts, *, protocol: Protocol, today: dt.date):
    """A planned response assessment whose window closed before `today` with none recorded in
    it. The record is the planned assessment itself (participant and planned date)."""
    done = sorted(facts.assessments)
    for number, planned in enumerate(sorted(facts.planned_assessments), start=1):
        start, end = assessment_window(planned, protocol=protocol)
        if end >= today or any(start <= d <= end for d in done):
            continue
        yield _finding(
            "response_assessment_missed",
            protocol,
            ("response_assessment_planned", f"{facts.participant_id}:{planned.isoformat()}"),
            RESPONSE_MISSED,
            on=planned,
            number=number,
            planned=planned.isoformat(),
            window_start=start.isoformat(),
            window_end=end.isoformat(),
        )


def _mg(value: Decimal | None) -> str:
    if value is None:
        return "none"
    text = format(value.normalize(), "f")
    return f"{text} mg"


def dose_not_as_decided(facts: ParticipantFacts, *, protocol: Protocol, today: dt.date):
    """A dose given at an amount other than the one planned by the decision (or given while
    none was planned) with no reason recorded."""
    for dose in facts.doses:
        if dose.status not in _GIVEN or dose.taken_mg is None:
            continue
        if dose.planned_mg is not None and dose.taken_mg == dose.planned_mg:
            continue
        if dose.planned_mg is None and dose.taken_mg == 0:
            continue
        if dose.reason.strip():
            continue
        yield _finding(
            "dose_not_as_decided",
            protocol,
            ("doseadministration", str(dose.id)),
            DOSE_NOT_AS_DECIDED,
            on=dose.date,
            drug=dose.drug,
            cycle=dose.cycle,
            day=dose.day,
            taken=format(dose.taken_mg.normalize(), "f"),
            planned=_mg(dose.planned_mg),
        )


def cycle_start_criteria_not_met(facts: ParticipantFacts, *, protocol: Protocol, today: dt.date):
    """A cycle started or completed while its decision found a start criterion not met."""
    for cycle in facts.cycles:
        if cycle.status not in _STARTED:
            continue
        unmet = [text for _id, text, met in cycle.criteria if not met]
        if not unmet:
            continue
        yield _finding(
            "cycle_start_criteria_not_met",
            protocol,
            ("cycle", str(cycle.id)),
            CYCLE_CRITERIA_NOT_MET,
            on=cycle.start_date,
            cycle=cycle.number,
            start=cycle.start_date.isoformat(),
            criteria="; ".join(unmet),
        )


def ineligible_enrolled(facts: ParticipantFacts, *, protocol: Protocol, today: dt.date):
    """An enrolled participant whose screening data do not meet an eligibility criterion of
    the protocol (`clinical.eligibility.evaluate`; data it cannot read find nothing here: the
    screening form reports them)."""
    screening = facts.screening
    if not facts.enrolled or screening is None:
        return
    try:
        result = evaluate(
            values=dict(screening.values), answers=dict(screening.answers), protocol=protocol
        )
    except EligibilityInputError:
        return
    if not result.not_met:
        return
    yield _finding(
        "ineligible_enrolled",
        protocol,
        ("screening", str(screening.id)),
        INELIGIBLE_ENROLLED,
        on=facts.enrolled_on,
        criteria=", ".join(result.not_met),
    )


def required_lab_missing(facts: ParticipantFacts, *, protocol: Protocol, today: dt.date):
    """For each started cycle, each required test not collected in the lab window before day 1
    (from day 1 - `renal.lab_window_days` to day 1, inclusive)."""
    section = protocol.deviations
    if section is None or not section.required_labs:
        return
    days = protocol.renal.lab_window_days
    by_analyte: dict[str, list[dt.date]] = {}
    for lab in facts.labs:
        by_analyte.setdefault(lab.analyte, []).append(lab.collected_on)
    for cycle in facts.cycles:
        if cycle.status not in _STARTED:
            continue
        first = cycle.start_date - dt.timedelta(days=days)
        for analyte in section.required_labs:
            dates = by_analyte.get(analyte, [])
            if any(first <= d <= cycle.start_date for d in dates):
                continue
            yield _finding(
                "required_lab_missing",
                protocol,
                ("cycle", f"{cycle.id}:{analyte}"),
                REQUIRED_LAB_MISSING,
                on=cycle.start_date,
                cycle=cycle.number,
                start=cycle.start_date.isoformat(),
                analyte=analyte,
                days=days,
            )


_RULES: dict[str, Callable[..., Any]] = {
    "visit_out_of_window": visit_out_of_window,
    "response_assessment_missed": response_assessment_missed,
    "dose_not_as_decided": dose_not_as_decided,
    "cycle_start_criteria_not_met": cycle_start_criteria_not_met,
    "ineligible_enrolled": ineligible_enrolled,
    "required_lab_missing": required_lab_missing,
}


def find_deviations(
    facts: ParticipantFacts, *, protocol: Protocol, today: dt.date
) -> list[Finding]:
    """Every rule the protocol file lists, over one participant's facts, in rule order.

    Returns the findings; each (rule, record_key) at most once.
    """
    found: dict[tuple[str, str], Finding] = {}
    for name in RULES:
        if classify(name, protocol=protocol) is None:
            continue
        for finding in _RULES[name](facts, protocol=protocol, today=today):
            if finding is not None:
                found.setdefault((finding.rule, finding.record_key), finding)
    return list(found.values())
