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

lab_event = st.builds(
    lambda variable, value: ToxicityEvent(
        term=variable, grade=3, nonhematologic=False, lab={"variable": variable, "value": value}
    ),
    st.sampled_from(["platelets_per_mm3", "anc_per_mm3"]),
    st.integers(min_value=0, max_value=200000),
)
graded_event = st.builds(
    lambda term, grade, pain, attributed, now: ToxicityEvent(
        term=term,
        grade=grade,
        with_pain=pain,
        attributed_to=attributed,
        current_grade=min(now, grade),
    ),
    st.sampled_from(["rash", "peripheral_neuropathy", "diarrhea", "hyperglycemia", "fatigue"]),
    st.integers(min_value=1, max_value=4),
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


def _overlapping(events: list[ToxicityEvent]) -> int:
    thresholds = {"platelets_per_mm3": 30000, "anc_per_mm3": 500}  # [NIN] table 2
    n = 0
    for e in events:
        if e.lab is not None:
            n += e.lab.value < thresholds[e.lab.variable]
        elif e.term == "rash" and e.grade in (2, 3):
            n += 1
    return n


def _valid(drug, dose) -> bool:
    return dose is None or (dose in PROTOCOL.levels(drug) and dose <= PROTOCOL.starting_dose(drug))


@settings(max_examples=150, deadline=None)
@given(st.lists(cycle_inputs, min_size=1, max_size=8))
def test_doses_stay_on_the_ladder_and_alternation_is_consistent(cycles):
    doses = None
    counts: dict[str, int] = {}
    renal = False
    at_dose: dict[str, int] = {}
    cycle = 1
    for inputs in cycles:
        facts = CycleFacts(
            cycle=cycle,
            current_doses_mg=doses,
            alternation={"counts": counts},
            renal_dose_adjusted=renal,
            cycles_at_current_dose=at_dose,
            **inputs,
        )
        d = decide_next_cycle(facts, protocol=PROTOCOL)
        for mapping in (d.doses_mg, d.planned_doses_mg, d.carry_forward.current_doses_mg or {}):
            assert all(_valid(drug, dose) for drug, dose in mapping.items()), mapping
        after = d.carry_forward.alternation.counts.get("shared", 0)
        before = counts.get("shared", 0)
        if d.decision == "delay":
            assert after == before
            continue
        if doses is not None:
            for drug in DRUGS:
                if doses[drug] is None:
                    assert d.carry_forward.current_doses_mg[drug] is None
        assert after == before + _overlapping(inputs["toxicities"])
        assert d.next_alternating_reduction == {"shared": SEQUENCE[after % len(SEQUENCE)]}
        if d.decision == "discontinue_treatment":
            assert set(d.doses_mg.values()) == {None}
            break
        new = d.carry_forward.current_doses_mg
        at_dose = {k: (at_dose.get(k, 0) + 1 if doses and new[k] == doses[k] else 1) for k in DRUGS}
        doses, counts, renal = (
            new,
            d.carry_forward.alternation.counts,
            d.carry_forward.renal_dose_adjusted,
        )
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
