"""Starting a new cycle (clinical/dosing.py, cycle_start criteria).

Source: shared/protocol.md section 5 [NIN 2.2][TM1]: a cycle starts only when ANC >= 1,000/mm3,
platelets >= 75,000/mm3 and non-hematologic toxicities have recovered to grade <= 1 or baseline;
otherwise it is delayed and re-checked weekly [ours].
"""

from __future__ import annotations

import pytest

from mmtrial.clinical.dosing import decide_next_cycle
from tests.clinical._dosing_helpers import FULL, PROTOCOL, D, facts, platelet_drop, tox


def decide(**kw):
    return decide_next_cycle(facts(**kw), protocol=PROTOCOL)


@pytest.mark.parametrize(("anc", "starts"), [(999, False), (1000, True), (800, False)])
def test_anc_at_day_1(anc, starts):
    d = decide(anc_per_mm3=anc)
    assert d.decision == ("start" if starts else "delay")
    check = next(c for c in d.cycle_start_criteria if c.id == "anc")
    assert (check.met, check.value) == (starts, anc)


@pytest.mark.parametrize(("platelets", "starts"), [(74999, False), (75000, True)])
def test_platelets_at_day_1(platelets, starts):
    d = decide(platelets_per_mm3=platelets)
    assert d.decision == ("start" if starts else "delay")


def test_a_delay_gives_no_dose_and_says_why_and_when_to_recheck():
    d = decide(anc_per_mm3=800)
    assert d.doses_mg == dict.fromkeys(PROTOCOL.drugs)
    assert d.planned_doses_mg == FULL
    assert d.recheck_in_days == PROTOCOL.cycle_start.recheck_interval_days
    assert any(r.rule == "cycle_start_anc" and "800" in r.text for r in d.reasons)


def test_a_delay_consumes_no_event():
    """The re-check passes the same events again, so the state to carry is the input state."""
    d = decide(platelets_per_mm3=50000, toxicities=[platelet_drop()])
    assert d.decision == "delay"
    assert d.changes[0].to_mg == D(20)  # what will apply when the cycle starts
    assert d.carry_forward.current_doses_mg == FULL
    assert d.carry_forward.alternation.counts == {}
    recheck = decide(platelets_per_mm3=90000, toxicities=[platelet_drop()])
    assert recheck.decision == "start"
    assert recheck.doses_mg["lenalidomide"] == D(20)
    assert recheck.carry_forward.alternation.counts == {"shared": 1}


@pytest.mark.parametrize(
    ("now", "baseline", "starts"), [(1, 0, True), (2, 0, False), (2, 2, True), (0, 0, True)]
)
def test_nonhematologic_toxicity_must_recover_to_grade_1_or_baseline(now, baseline, starts):
    event = tox("fatigue", 3, current_grade=now)
    d = decide(toxicities=[event], baseline_grades={"fatigue": baseline})
    assert d.decision == ("start" if starts else "delay")


def test_hematologic_events_do_not_count_as_nonhematologic():
    d = decide(toxicities=[platelet_drop(current_grade=2)])
    assert d.decision == "start"


def test_cycle_1_is_also_checked():
    d = decide(cycle=1, anc_per_mm3=999)
    assert d.decision == "delay"
    assert d.carry_forward.current_doses_mg is None


def test_discontinuation_takes_precedence_over_a_delay():
    d = decide(anc_per_mm3=100, toxicities=[tox("rash", 4)])
    assert d.decision == "discontinue_treatment"


@pytest.mark.parametrize(("age_days", "starts"), [(0, True), (7, True), (8, False)])
def test_crcl_must_be_within_the_lab_window(age_days, starts):
    """protocol.md section 4: the decision uses the most recent CrCl within the lab window
    (renal.lab_window_days = 7 [ours])."""
    import datetime as dt

    day1 = dt.date(2027, 3, 10)
    d = decide(decision_date=day1, crcl_date=day1 - dt.timedelta(days=age_days))
    assert d.decision == ("start" if starts else "delay")
    check = next(c for c in d.cycle_start_criteria if c.id == "crcl_within_lab_window")
    assert check.met is starts


def test_crcl_dated_after_the_decision_is_rejected():
    import datetime as dt

    from mmtrial.errors import InputError

    with pytest.raises(InputError, match=r"^crcl_date:"):
        decide(decision_date=dt.date(2027, 3, 10), crcl_date=dt.date(2027, 3, 11))


def test_carry_forward_counts_cycles_at_each_dose_and_holds():
    """The carry-forward feeds the next CycleFacts: cycles at the current dose (+1 unchanged,
    1 after a change, unchanged when held all cycle) and whether a drug was reduced or held."""
    first = decide(cycle=1)
    assert first.carry_forward.cycles_at_current_dose == dict.fromkeys(PROTOCOL.drugs, 1)
    assert first.carry_forward.last_cycle_hold_or_reduction is False
    second = decide(
        cycle=2,
        doses=first.carry_forward.current_doses_mg,
        cycles_at_current_dose=first.carry_forward.cycles_at_current_dose,
        toxicities=[platelet_drop()],
    )
    assert second.carry_forward.cycles_at_current_dose == {
        "ixazomib": 2,
        "lenalidomide": 1,
        "dexamethasone": 2,
    }
    assert second.carry_forward.last_cycle_hold_or_reduction is True
    held = decide(
        cycle=3,
        doses=FULL,
        cycles_at_current_dose={"ixazomib": 2, "lenalidomide": 2, "dexamethasone": 2},
        toxicities=[tox("peripheral_neuropathy", 1, with_pain=True)],
    )
    assert held.carry_forward.cycles_at_current_dose["ixazomib"] == 2
    assert held.carry_forward.last_cycle_hold_or_reduction is True


def test_a_lab_event_is_hematologic_unless_said_otherwise():
    """A platelet drop recorded without `nonhematologic` must not count as a non-hematologic
    grade 3 toxicity (which would delay the cycle and hold ixazomib)."""
    from mmtrial.clinical.dosing import ToxicityEvent

    event = ToxicityEvent(
        term="platelet count decreased",
        grade=3,
        lab={"variable": "platelets_per_mm3", "value": 45000},
    )
    assert event.nonhematologic is False
    d = decide(toxicities=[event])
    assert d.decision == "start" and d.doses_mg == FULL
