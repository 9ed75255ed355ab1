"""Properties of every schedule (hypothesis): dates increase, assessments on the 28-day grid,
a delay never moves a later cycle earlier."""

from __future__ import annotations

import datetime as dt
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from mmtrial.clinical.schedule import build_schedule, parse_schedule_input
from mmtrial.protocol import load_protocol

PROTOCOL = load_protocol()
LENGTH = PROTOCOL.cycle_length_days
INTERVAL = PROTOCOL.response_assessment.interval_days
DOSE_FIELDS = [f"{drug}_mg" for drug in PROTOCOL.regimen]


@st.composite
def participants(draw, *, with_delays=None):
    c1d1 = draw(st.dates(dt.date(2026, 1, 1), dt.date(2030, 12, 31)))
    gaps = with_delays or draw(st.lists(st.integers(0, 20), min_size=0, max_size=7))
    starts = [c1d1]
    for gap in gaps:
        starts.append(starts[-1] + dt.timedelta(days=LENGTH + gap))
    cycles = []
    for start in starts:
        cycle = {"start_date": start.isoformat()}
        for name in DOSE_FIELDS:
            drug = name.removesuffix("_mg")
            choice = draw(st.sampled_from([None, *PROTOCOL.levels(drug)]))
            cycle[name] = None if choice is None else float(choice)
        cycles.append(cycle)
    facts = {"cycles": cycles, "project_cycles": draw(st.integers(0, 6))}
    last_start = starts[-1]
    if draw(st.booleans()):
        progression = c1d1 + dt.timedelta(days=draw(st.integers(0, 900)))
        facts["progression_date"] = progression.isoformat()
        if draw(st.booleans()):
            facts["death_date"] = (
                progression + dt.timedelta(draw(st.integers(0, 900)))
            ).isoformat()
    if draw(st.booleans()):
        eot = last_start + dt.timedelta(days=draw(st.integers(0, 60)))
        facts["end_of_treatment_date"] = eot.isoformat()
    if "death_date" in facts:
        # Death cannot come before the last cycle's start or the end of treatment.
        floor = max(last_start.isoformat(), facts.get("end_of_treatment_date", ""))
        facts["death_date"] = max(facts["death_date"], floor)
    if draw(st.booleans()):
        facts["last_enrollment_date"] = draw(
            st.dates(dt.date(2025, 1, 1), dt.date(2031, 12, 31))
        ).isoformat()
    return facts


def schedule(facts: dict) -> dict:
    return build_schedule(parse_schedule_input(facts), protocol=PROTOCOL).model_dump(mode="json")


def strictly_increasing(values: list) -> bool:
    return all(a < b for a, b in itertools.pairwise(values))


@settings(max_examples=150, deadline=None)
@given(participants())
def test_schedule_dates_strictly_increase(facts):
    result = schedule(facts)
    assert strictly_increasing([r["date"] for r in result["dosing"]])
    treatment = [v["date"] for v in result["visits"] if v["kind"] == "treatment"]
    assert strictly_increasing(treatment)
    all_visits = [v["date"] for v in result["visits"]]
    assert all_visits == sorted(all_visits)
    assert strictly_increasing(result["response_assessments"])
    assert strictly_increasing(result["follow_up_contacts"])
    for v in result["visits"]:
        assert v["window_start"] <= v["date"] <= v["window_end"]


@settings(max_examples=150, deadline=None)
@given(participants())
def test_every_response_assessment_is_28k_days_from_c1d1(facts):
    result = schedule(facts)
    c1d1 = dt.date.fromisoformat(facts["cycles"][0]["start_date"])
    for k, day in enumerate(result["response_assessments"], start=1):
        assert (dt.date.fromisoformat(day) - c1d1).days == INTERVAL * k
    closure = result["study_closure_date"]
    for day in result["response_assessments"]:
        assert "death_date" not in facts or day <= facts["death_date"]
        assert closure is None or day <= closure
    for day in result["follow_up_contacts"]:
        assert day > facts["progression_date"]
        assert "death_date" not in facts or day < facts["death_date"]
        assert closure is None or day < closure


@settings(max_examples=150, deadline=None)
@given(
    gaps=st.lists(st.integers(0, 20), min_size=1, max_size=6),
    which=st.integers(0, 5),
    delay=st.integers(1, 30),
    c1d1=st.dates(dt.date(2026, 1, 1), dt.date(2030, 12, 31)),
    project=st.integers(0, 4),
)
def test_a_delay_never_moves_a_later_cycle_earlier(gaps, which, delay, c1d1, project):
    which %= len(gaps)
    delayed_gaps = list(gaps)
    delayed_gaps[which] += delay

    def calendar(gap_list):
        starts = [c1d1]
        for gap in gap_list:
            starts.append(starts[-1] + dt.timedelta(days=LENGTH + gap))
        cycles = [
            {"start_date": s.isoformat(), "ixazomib_mg": 4, "lenalidomide_mg": 25} for s in starts
        ]
        return schedule({"cycles": cycles, "project_cycles": project})

    before, after = calendar(gaps), calendar(delayed_gaps)
    dates_before = {v["code"]: v["date"] for v in before["visits"]}
    dates_after = {v["code"]: v["date"] for v in after["visits"]}
    assert dates_before.keys() == dates_after.keys()
    for code, day in dates_before.items():
        assert dates_after[code] >= day
    rows_before = {(r["cycle"], r["day"]): r["date"] for r in before["dosing"]}
    rows_after = {(r["cycle"], r["day"]): r["date"] for r in after["dosing"]}
    assert all(rows_after[key] >= day for key, day in rows_before.items())
