"""Property-based tests of the dose decisions (hypothesis).

Properties (issue 3; protocol.md sections 6-7): no dose is ever above the starting dose or outside
the drug's levels; a discontinued drug never comes back; the alternation count grows by exactly
the number of overlapping-toxicity events a consuming decision saw (none on a delay), and the next
alternating drug is the sequence entry for that count.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mmtrial.clinical.dosing import CycleFacts, DayFacts, decide_day, decide_next_cycle
from mmtrial.clinical.dosing_models import ToxicityEvent
from tests.clinical._dosing_helpers import PROTOCOL

DRUGS = list(PROTOCOL.drugs)
SEQUENCE = PROTOCOL.dose_modification.alternation.sequence

# CTCAE v5.0 grades of the counts, by hand from the table (platelet count decreased: < 75,000
# grade 2, < 50,000 grade 3, < 25,000 grade 4; neutrophil count decreased: < 1,500 / < 1,000 /
# < 500), so an event's grade agrees with its count.
TERMS = {
    "platelets_per_mm3": "platelet_count_decreased",
    "anc_per_mm3": "neutrophil_count_decreased",
}
GRADE_BELOW = {
    "platelets_per_mm3": ((25000, 4), (50000, 3), (75000, 2)),
    "anc_per_mm3": ((500, 4), (1000, 3), (1500, 2)),
}
THRESHOLDS = {"platelets_per_mm3": 30000, "anc_per_mm3": 500}  # [NIN] table 2


def _grade(variable: str, value: int) -> int:
    return next((g for below, g in GRADE_BELOW[variable] if value < below), 1)


lab_event = st.builds(
    lambda variable, value: ToxicityEvent(
        term=TERMS[variable],
        grade=_grade(variable, value),
        lab={"variable": variable, "value": value},
    ),
    st.sampled_from(["platelets_per_mm3", "anc_per_mm3"]),
    st.integers(min_value=0, max_value=200000),
)
# Grades 1-4 of each term; CTCAE v5.0 defines fatigue only up to grade 3.
TOP_GRADE = {"rash": 4, "peripheral_neuropathy": 4, "diarrhea": 4, "hyperglycemia": 4, "fatigue": 3}
graded_event = st.builds(
    lambda term_grade, pain, attributed, now: ToxicityEvent(
        term=term_grade[0],
        grade=term_grade[1],
        with_pain=pain,
        attributed_to=attributed,
        current_grade=min(now, term_grade[1]),
    ),
    st.sampled_from(
        [(term, grade) for term, top in TOP_GRADE.items() for grade in range(1, top + 1)]
    ),
    st.booleans(),
    st.lists(st.sampled_from(DRUGS), max_size=2, unique=True),
    st.integers(min_value=0, max_value=2),
)
cycle_inputs = st.fixed_dictionaries(
    {
        "crcl_ml_min": st.decimals(min_value=15, max_value=150, places=1),
        "anc_per_mm3": st.integers(min_value=0, max_value=5000),
        "platelets_per_mm3": st.integers(min_value=0, max_value=400000),
        "toxicities": st.lists(st.one_of(lab_event, graded_event), max_size=3),
        "best_confirmed_response": st.sampled_from([None, "SD", "MR", "PR", "VGPR"]),
        "last_cycle_hold_or_reduction": st.booleans(),
    }
)


def _overlapping(inputs: dict, cycle: int) -> int:
    """Occurrences counted by hand: each event below its row's threshold; from cycle 2 a day-1
    count below it is one more, unless an (undated) event of that count absorbs it, which then
    counts once (protocol.md section 7; toxicity_events rule 3)."""
    events = inputs["toxicities"]
    n = 0
    for variable, threshold in THRESHOLDS.items():
        mine = [e for e in events if e.lab is not None and e.lab.variable == variable]
        low = [e for e in mine if e.lab.value < threshold]
        n += len(low)
        if cycle > 1 and inputs[variable] < threshold and (not mine or mine[0] not in low):
            n += 1
    return n + sum(1 for e in events if e.term == "rash" and e.grade in (2, 3))


def _valid(drug, dose) -> bool:
    return dose is None or (dose in PROTOCOL.levels(drug) and dose <= PROTOCOL.starting_dose(drug))


@settings(max_examples=150, deadline=None)
@given(st.lists(cycle_inputs, min_size=1, max_size=8))
def test_doses_stay_on_the_ladder_and_alternation_is_consistent(cycles):
    state: dict = {}
    cycle = 1
    for inputs in cycles:
        facts = CycleFacts(cycle=cycle, **state, **inputs)
        d = decide_next_cycle(facts, protocol=PROTOCOL)
        for mapping in (d.doses_mg, d.planned_doses_mg, d.carry_forward.current_doses_mg or {}):
            assert all(_valid(drug, dose) for drug, dose in mapping.items()), mapping
        counts = state.get("alternation", {}).get("counts", {})
        after = d.carry_forward.alternation.counts.get("shared", 0)
        before = counts.get("shared", 0)
        if d.decision in ("delay", "investigator_decision_required"):
            assert after == before
            continue
        doses = state.get("current_doses_mg")
        if doses is not None:
            for drug in DRUGS:
                if doses[drug] is None:
                    assert d.carry_forward.current_doses_mg[drug] is None
        assert after == before + _overlapping(inputs, cycle)
        assert d.next_alternating_reduction == {"shared": SEQUENCE[after % len(SEQUENCE)]}
        if d.decision == "discontinue_treatment":
            assert set(d.doses_mg.values()) == {None}
            break
        state = d.carry_forward.model_dump(exclude={"last_cycle_hold_or_reduction"})
        cycle += 1


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=2, max_value=PROTOCOL.cycle_length_days),
    st.fixed_dictionaries({d: st.sampled_from([None, *PROTOCOL.levels(d)]) for d in DRUGS}),
    st.integers(min_value=0, max_value=5000),
    st.integers(min_value=0, max_value=400000),
    st.lists(graded_event, max_size=2),
)
def test_a_day_never_gives_more_than_the_cycle_dose(day, doses, anc, platelets, events):
    d = decide_day(
        DayFacts(
            cycle=2,
            day=day,
            doses_mg=doses,
            anc_per_mm3=anc,
            platelets_per_mm3=platelets,
            toxicities=events,
        ),
        protocol=PROTOCOL,
    )
    for drug, dose in d.doses_mg.items():
        assert dose is None or dose == doses[drug]
        if dose is not None:
            assert day in PROTOCOL.regimen[drug].days
