"""The toxicity events a dose decision reads: placed terms, and cytopenias from the counts.

Rule (shared/protocol.md section 7; NINLARO USPI section 2.4 table 2: "Platelet count
< 30,000/mm3 ... withhold ... Following recovery, resume lenalidomide at the next lower dose";
the same for ANC < 500/mm3)
    1. Every event's term is placed (:mod:`toxicity_terms`) and its grade checked against CTCAE
       v5.0; a term that cannot be placed is refused, never dropped.
    2. The platelet and ANC rows act on the counts themselves: every count collected since the
       last cycle-start decision (central or local, day 1, 8, 15 or unscheduled) and the day-1
       count of this decision. Counts below the row's threshold, in date order, form an
       episode that lasts until a count meets the row's resumption threshold; each episode is
       one occurrence of the toxicity, its nadir the lowest count.
    3. A cytopenia adverse event and the episode its dates overlap are the same occurrence: the
       event keeps its attribution and dates and takes the lowest count of its dates and of that
       episode. An undated event overlaps every episode of its count; it absorbs the first.
    4. A cytopenia event meets a row when its count does, or when its CTCAE grade lies wholly on
       the row's side of the threshold (a count taken after the worst does not undo the grade) (platelets grade 4 < 25,000; neutrophils grade 4 < 500);
       without a count, a grade on both sides (platelets grade 3: 25,000 to < 50,000) is refused,
       never guessed.
    Counts before the first dose are not toxicities: cycle 1 reads none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from mmtrial.clinical import ctcae
from mmtrial.clinical.dose_modification import compare
from mmtrial.clinical.dosing_models import CountResult, LabValue, ToxicityEvent
from mmtrial.clinical.toxicity_terms import (
    check_grade,
    grade_bounds,
    grade_implies,
    place_term,
)
from mmtrial.clinical.value_ranges import check_value, fmt_number
from mmtrial.errors import InputError
from mmtrial.protocol.models import DoseModificationRule, LabCondition, Protocol

__all__ = ["PreparedEvents", "count_grade", "place_baseline", "place_events", "prepare_events"]

COUNTS_FIELD = "counts_since_last_decision"
# CTCAE v5.0 system organ class whose terms are hematologic by definition.
HEMATOLOGIC_SOC = "Blood and lymphatic system disorders"


@dataclass
class PreparedEvents:
    events: list[ToxicityEvent]
    counts: list[CountResult] = field(default_factory=list)  # the counts read, day 1 included


def _count_rules(protocol: Protocol) -> dict[str, list[tuple[DoseModificationRule, LabCondition]]]:
    rules: dict[str, list[tuple[DoseModificationRule, LabCondition]]] = {}
    for rule in protocol.dose_modification.rules:
        for trig in rule.any_of:
            if trig.lab is not None:
                rules.setdefault(trig.lab.variable, []).append((rule, trig.lab))
    return rules


def count_grade(term: str, value: Decimal | int) -> int:
    """The CTCAE v5.0 grade of a decreased count from its absolute thresholds (0 above them)."""
    rows = ctcae.absolute_thresholds(term) or {}
    for grade in sorted(rows, reverse=True):
        below = rows[grade]
        if below is not None and Decimal(value) < below:
            return grade
    return 1 if rows else 0


def _place(event: ToxicityEvent, i: int, field_name: str, protocol: Protocol) -> ToxicityEvent:
    where = f"{field_name}[{i}]"
    placed = place_term(event.term, protocol=protocol, field=f"{where}.term")
    check_grade(placed, event.grade, field=f"{where}.grade")
    update: dict = {}
    explicit = "nonhematologic" in event.model_fields_set
    if placed.cytopenia is not None:
        if explicit and event.nonhematologic:
            problem = f"{placed.label} is a cytopenia, so it cannot be non-hematologic"
            raise InputError(
                f"{where}.nonhematologic: {problem}", {"field": f"{where}.nonhematologic"}
            )
        update["nonhematologic"] = False
        if event.lab is not None and event.lab.variable != placed.cytopenia:
            problem = f"{placed.label} is read from {placed.cytopenia}, not {event.lab.variable}"
            raise InputError(f"{where}.lab.variable: {problem}", {"field": f"{where}.lab.variable"})
    elif event.lab is not None:
        problem = f"only a cytopenia event carries a count ({placed.label} does not)"
        raise InputError(f"{where}.lab: {problem}", {"field": f"{where}.lab"})
    elif not explicit and placed.ctcae is not None and placed.ctcae.soc == HEMATOLOGIC_SOC:
        update["nonhematologic"] = False
    if event.lab is not None:
        check_value(
            event.lab.variable, event.lab.value, protocol=protocol, field=f"{where}.lab.value"
        )
    if event.start_date and event.end_date and event.end_date < event.start_date:
        raise InputError(
            f"{where}.end_date: {event.end_date} is before start_date {event.start_date}",
            {"field": f"{where}.end_date"},
        )
    ctcae_key = placed.ctcae.key if placed.ctcae is not None else None
    return event.placed_as(toxicity=placed.toxicity, ctcae_term=ctcae_key, **update)


def place_events(
    events: list[ToxicityEvent], *, protocol: Protocol, field_name: str = "toxicities"
) -> list[ToxicityEvent]:
    """Every event with its term placed and its grade checked (rules 1 and 4's inputs)."""
    return [_place(e, i, field_name, protocol) for i, e in enumerate(events)]


def place_baseline(grades: dict[str, int], *, protocol: Protocol) -> dict[str, int]:
    """Baseline grades keyed by the placed toxicity (e.g. peripheral_sensory_neuropathy ->
    peripheral_neuropathy); the worst grade wins when two terms place alike."""
    placed: dict[str, int] = {}
    for term, grade in grades.items():
        key = place_term(term, protocol=protocol, field=f"baseline_grades.{term}").toxicity
        placed[key] = max(placed.get(key, 0), grade)
    return placed


@dataclass
class _Episode:
    variable: str
    rule: DoseModificationRule
    start: dt.date | None
    end: dt.date | None  # the last count below the threshold; None while not recovered
    nadir: CountResult
    recovered: bool = False


def _episodes(counts: list[CountResult], protocol: Protocol) -> list[_Episode]:
    episodes: list[_Episode] = []
    for variable, rules in _count_rules(protocol).items():
        series = sorted((c for c in counts if c.variable == variable), key=lambda c: c.date)
        open_episode: _Episode | None = None
        for count in series:
            hit = next(((r, cond) for r, cond in rules if compare(count.value, cond)), None)
            if hit is not None:
                if open_episode is None:
                    open_episode = _Episode(variable, hit[0], count.date, count.date, count)
                    episodes.append(open_episode)
                else:
                    open_episode.end = count.date
                    if count.value < open_episode.nadir.value:
                        open_episode.nadir = count
            elif open_episode is not None:
                resume = open_episode.rule.resume_lab
                if resume is None or compare(count.value, resume):
                    open_episode.recovered = True
                    open_episode = None
    return sorted(episodes, key=lambda e: (e.start or dt.date.min, e.variable))


def _overlaps(event: ToxicityEvent, episode: _Episode) -> bool:
    if event.start_date is None:
        return True
    event_end = event.end_date or dt.date.max
    episode_end = episode.end if episode.recovered else dt.date.max
    return event.start_date <= episode_end and (episode.start or dt.date.min) <= event_end


def _during(event: ToxicityEvent, count: CountResult) -> bool:
    """A count taken while the event lasted (an undated event: any count)."""
    if event.start_date is None or count.date is None:
        return False
    return event.start_date <= count.date <= (event.end_date or dt.date.max)


def _lab(count: CountResult) -> LabValue:
    return LabValue(
        variable=count.variable, value=count.value, date=count.date, source=count.source
    )


def _check_counts(counts: list[CountResult], decision_date: dt.date | None, protocol) -> None:
    cytopenias = protocol.dose_modification.cytopenias
    for i, count in enumerate(counts):
        where = f"{COUNTS_FIELD}[{i}]"
        if count.variable not in cytopenias:
            problem = f"unknown count '{count.variable}' (known: {', '.join(cytopenias)})"
            raise InputError(f"{where}.variable: {problem}", {"field": f"{where}.variable"})
        check_value(count.variable, count.value, protocol=protocol, field=f"{where}.value")
        if decision_date is not None and count.date > decision_date:
            raise InputError(
                f"{where}.date: {count.date} is after decision_date {decision_date}",
                {"field": f"{where}.date"},
            )


def prepare_events(
    *,
    events: list[ToxicityEvent],
    protocol: Protocol,
    counts: list[CountResult] = (),
    day_one: list[CountResult] = (),
    decision_date: dt.date | None = None,
    field_name: str = "toxicities",
) -> PreparedEvents:
    """Placed events plus one event per count episode not already an adverse event (rule in
    the module docstring). `day_one` holds this decision's own counts (cycle 2 onwards)."""
    counts = list(counts)
    _check_counts(counts, decision_date, protocol)
    placed = place_events(events, protocol=protocol, field_name=field_name)
    read = [*counts, *day_one]
    episodes = _episodes(read, protocol)
    cytopenias = protocol.dose_modification.cytopenias
    variable_of = {c.ctcae_term: v for v, c in cytopenias.items()}

    merged: list[ToxicityEvent] = []
    for i, event in enumerate(placed):
        variable = variable_of.get(event.term)
        if variable is not None and not event.counted_before:
            mine = next(
                (e for e in episodes if e.variable == variable and _overlaps(event, e)), None
            )
            if mine is not None:
                episodes.remove(mine)
            during = [c for c in read if c.variable == variable and _during(event, c)]
            nadir = min(during, key=lambda c: c.value, default=None)
            if mine is not None and (nadir is None or mine.nadir.value < nadir.value):
                nadir = mine.nadir
            if nadir is not None and (event.lab is None or nadir.value < event.lab.value):
                event = event.model_copy(update={"lab": _lab(nadir)})
            if event.lab is None:
                _refuse_ambiguous(event, i, field_name, variable, protocol)
        merged.append(event)
    for episode in episodes:
        term = cytopenias[episode.variable].ctcae_term
        merged.append(
            ToxicityEvent(
                term=term,
                grade=max(count_grade(term, episode.nadir.value), 1),
                nonhematologic=False,
                lab=_lab(episode.nadir),
                start_date=episode.start,
                end_date=episode.end if episode.recovered else None,
            )
        )
    undated = [e for e in merged if e.start_date is None]
    dated = sorted((e for e in merged if e.start_date is not None), key=lambda e: e.start_date)
    return PreparedEvents(events=undated + dated, counts=read)


def _refuse_ambiguous(
    event: ToxicityEvent, i: int, field_name: str, variable: str, protocol: Protocol
) -> None:
    for rule, cond in _count_rules(protocol).get(variable, []):
        if grade_implies(event.term, event.grade, cond) is None:
            bounds = grade_bounds(event.term, event.grade)
            span = ""
            if bounds is not None:
                low, high = bounds
                top = f"< {fmt_number(high)}" if high is not None else "below the LLN"
                span = f" (CTCAE v5.0 grade {event.grade}: {fmt_number(low)} to {top} {cond.unit})"
            problem = (
                f"a grade {event.grade} {event.term.replace('_', ' ')} without a count{span} may "
                f"or may not be {cond.operator} {fmt_number(cond.threshold)} {cond.unit} "
                f"({rule.text}): give the count ({variable})"
            )
            raise InputError(
                f"{field_name}[{i}].lab: {problem}",
                {
                    "field": f"{field_name}[{i}].lab",
                    "code": "cytopenia_count_needed",
                    "index": i,
                    "variable": variable,
                    "grade": event.grade,
                    "problem": problem,
                },
            )
