"""Shapes a participant's timeline (from the selector) into what the page shows: the cycle
calendars, the latest dose decision, the next cycle's previewed decision, lab trend charts and
the responses with their reasons.

Pure arrangement of data already read: no database access here.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from mmtrial.web.charts import Series, line_chart
from mmtrial.web.errors import render_error, translate_message
from mmtrial.web.labels import label

DRUG_ORDER = ("ixazomib", "lenalidomide", "dexamethasone")


@dataclass
class CalendarCell:
    day: int
    dose: Any | None  # DoseAdministration


@dataclass
class CycleCalendar:
    cycle: Any
    days: list[int]
    rows: list[tuple[str, list[CalendarCell]]]
    held: int = 0
    reduced: int = 0


@dataclass
class Decision:
    cycle: Any
    decision: str
    doses_mg: dict[str, Any]
    changes: list[dict]
    reasons: list[dict]
    criteria: list[dict]
    proposals: list[dict]
    review_required: bool
    recheck_in_days: int | None


@dataclass
class TimelinePage:
    calendars: list[CycleCalendar]
    decision: Decision | None
    charts: list[tuple[str, Any]]
    lab_dates: list[tuple[dt.date, dict[str, Any]]]
    analytes: list[str]
    responses: list[Any]
    next_dosing: list[dict] = field(default_factory=list)
    preview: NextCyclePreview | None = None


def _drugs(doses) -> list[str]:
    present = {d.drug for d in doses}
    ordered = [d for d in DRUG_ORDER if d in present]
    return ordered + sorted(present - set(ordered))


def cycle_calendars(cycles, doses) -> list[CycleCalendar]:
    """One calendar per cycle: a row per drug, a column per day with a dose planned."""
    by_cycle: dict[int, list] = defaultdict(list)
    for dose in doses:
        by_cycle[dose.cycle_id].append(dose)
    calendars = []
    for cycle in cycles:
        cycle_doses = by_cycle.get(cycle.pk, [])
        days = sorted({d.day for d in cycle_doses})
        index = {(d.drug, d.day): d for d in cycle_doses}
        rows = [
            (drug, [CalendarCell(day=day, dose=index.get((drug, day))) for day in days])
            for drug in _drugs(cycle_doses)
        ]
        calendars.append(
            CycleCalendar(
                cycle=cycle,
                days=days,
                rows=rows,
                held=sum(1 for d in cycle_doses if d.status in ("held", "missed")),
                reduced=sum(1 for d in cycle_doses if d.status == "reduced"),
            )
        )
    return calendars


def _decision(cycle, decision: dict) -> Decision:
    from mmtrial.protocol import load_protocol
    from mmtrial.web.decision_text import change_text, criterion_text, reason_text

    protocol = load_protocol()
    return Decision(
        cycle=cycle,
        decision=decision.get("decision", ""),
        doses_mg=decision.get("doses_mg") or {},
        changes=[{**c, "text": change_text(c)} for c in decision.get("changes") or []],
        reasons=[
            {**r, "text": reason_text(r, decision, protocol)} for r in decision.get("reasons") or []
        ],
        criteria=[
            {**c, "text": criterion_text(c, protocol)}
            for c in decision.get("cycle_start_criteria") or []
        ],
        proposals=decision.get("proposals") or [],
        review_required=bool(decision.get("investigator_review_required")),
        recheck_in_days=decision.get("recheck_in_days"),
    )


def latest_decision(cycles) -> Decision | None:
    """The dose decision of the most recent cycle decided (started or delayed)."""
    for cycle in reversed(list(cycles)):
        decision = cycle.decision or {}
        if decision:
            return _decision(cycle, decision)
    return None


@dataclass
class PlannedCycle:
    number: int
    start_date: dt.date


@dataclass
class NextCyclePreview:
    """The protocol's decision for the next cycle from the data entered so far (not recorded),
    or, when a fact is missing, what to record first (in the user's language)."""

    cycle: PlannedCycle
    decision: Decision | None
    message: str


def next_cycle_preview(preview) -> NextCyclePreview | None:
    """Arranges `selectors.dose_preview.DosePreview` for the page (None: nothing to preview)."""
    if preview is None or not preview.applicable:
        return None
    cycle = PlannedCycle(number=preview.cycle_number, start_date=preview.start_date)
    decision = None
    if preview.decision is not None:
        decision = _decision(cycle, preview.decision.model_dump(mode="json"))
    if preview.error is not None:
        message = render_error(preview.error)
    else:
        message = translate_message(preview.message) if preview.message else ""
    return NextCyclePreview(cycle=cycle, decision=decision, message=message)


def _series(labs, analyte: str, name: str) -> Series:
    return Series(
        name=name,
        points=[
            (lab.collected_on, lab.value)
            for lab in labs
            if lab.analyte == analyte and lab.value is not None
        ],
    )


def lab_charts(labs) -> list[tuple[str, Any]]:
    """M-protein and free light chain trends (only those with values)."""
    charts = []
    m_protein = line_chart(
        title=_("Serum M-protein over time"),
        unit="g/dL",
        series=[_series(labs, "serum_m_protein", _("Serum M-protein"))],
    )
    if m_protein:
        charts.append((_("Serum M-protein (g/dL)"), m_protein))
    urine = line_chart(
        title=_("Urine M-protein over time"),
        unit="mg/24h",
        series=[_series(labs, "urine_m_protein", _("Urine M-protein"))],
    )
    if urine:
        charts.append((_("Urine M-protein (mg/24h)"), urine))
    flc = line_chart(
        title=_("Free light chains over time"),
        unit="mg/L",
        series=[
            _series(labs, "kappa_flc", _("Kappa")),
            _series(labs, "lambda_flc", _("Lambda")),
        ],
    )
    if flc:
        charts.append((_("Free light chains (mg/L)"), flc))
    return charts


def lab_table(labs) -> tuple[list[tuple[dt.date, dict[str, Any]]], list[str]]:
    """Labs by collection date: {analyte: the last entered result of that date}."""
    by_date: dict[dt.date, dict[str, Any]] = defaultdict(dict)
    analytes: list[str] = []
    for lab in labs:
        by_date[lab.collected_on][lab.analyte] = lab
        if lab.analyte not in analytes:
            analytes.append(lab.analyte)
    return sorted(by_date.items()), analytes


def next_cycle_dosing(calendar: dict | None, cycles) -> list[dict]:
    """The projected next cycle's planned dosing days from the schedule (not yet recorded)."""
    if not calendar:
        return []
    recorded = max((c.number for c in cycles), default=0)
    return [row for row in calendar.get("dosing", []) if row.get("cycle", 0) > recorded]


def build(timeline) -> TimelinePage:
    lab_dates, analytes = lab_table(timeline.labs)
    return TimelinePage(
        calendars=cycle_calendars(timeline.cycles, timeline.doses),
        decision=latest_decision(timeline.cycles),
        charts=lab_charts(timeline.labs),
        lab_dates=lab_dates,
        analytes=analytes,
        responses=timeline.responses,
        next_dosing=next_cycle_dosing(timeline.calendar, timeline.cycles),
        preview=next_cycle_preview(getattr(timeline, "dose_preview", None)),
    )


def dose_text(dose) -> str:
    """What a calendar cell says: the dose taken (or planned), with the status when not as planned."""
    if dose is None:
        return ""
    amount = dose.taken_dose_mg if dose.taken_dose_mg is not None else dose.planned_dose_mg
    text = "" if amount is None else format(Decimal(amount).normalize(), "f")
    if dose.status in ("held", "missed"):
        return label(dose.status, "dose_status")
    return text
