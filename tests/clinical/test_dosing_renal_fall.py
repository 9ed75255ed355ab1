"""Renal function that falls during treatment (issue 10 item 3; shared/protocol.md section 4).

Sources: REVLIMID USPI section 2.6 (CrCl 30 to < 60 mL/min: 10 mg once daily; CrCl < 30 mL/min
not requiring dialysis: 15 mg every 48 hours); NINLARO USPI section 2.5 (severe renal
impairment, CrCl < 30 mL/min: 3 mg); protocol.md section 4: mmtrial proposes the label's doses
and the cycle does not start until the investigator confirms or overrides them with a reason.
Expected values by hand from those rows.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mmtrial.clinical.dosing import CycleFacts, decide_next_cycle
from tests.clinical._dosing_helpers import PROTOCOL, D

EVERY_48_HOURS = [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21]  # days 1-21, every other day


def _decide(cycle: int, state: dict, **kw):
    base = {"cycle": cycle, "anc_per_mm3": 2000, "platelets_per_mm3": 200000}
    return decide_next_cycle(CycleFacts.model_validate({**base, **state, **kw}), protocol=PROTOCOL)


def _state(decision) -> dict:
    return decision.carry_forward.model_dump(exclude={"last_cycle_hold_or_reduction"})


def _to_cycle_3_at_crcl_55():
    first = _decide(1, {}, crcl_ml_min=70)
    second = _decide(2, _state(first), crcl_ml_min=65)
    assert second.doses_mg["lenalidomide"] == D(25) and second.carry_forward.renal_band is None
    return _state(second)


def test_crcl_55_on_25_mg_proposes_10_mg_and_the_cycle_waits_for_the_investigator():
    d = _decide(3, _to_cycle_3_at_crcl_55(), crcl_ml_min=55)
    assert d.decision == "investigator_decision_required"
    assert d.investigator_review_required
    assert set(d.doses_mg.values()) == {None}  # nothing given until the investigator decides
    [proposal] = d.proposals
    assert (proposal.drug, proposal.from_mg, proposal.dose_mg, proposal.every_days) == (
        "lenalidomide",
        D(25),
        D(10),
        1,
    )
    assert d.planned_doses_mg["lenalidomide"] == D(10)
    assert "[REV] section 2.6" in proposal.source
    # Waiting consumes nothing: the state to pass again is the input's.
    assert d.carry_forward.renal_band is None
    assert d.carry_forward.current_doses_mg["lenalidomide"] == D(25)


def test_the_sequence_65_55_25_with_confirmation_then_override():
    state = _to_cycle_3_at_crcl_55()
    confirm = {"band": "renal_moderate", "action": "confirm", "decided_by": "inv1"}
    d3 = _decide(3, state, crcl_ml_min=55, renal_decision=confirm)
    assert d3.decision == "start"
    assert d3.doses_mg == {"ixazomib": D(4), "lenalidomide": D(10), "dexamethasone": D(40)}
    [change] = [c for c in d3.changes if c.drug == "lenalidomide"]
    assert (change.kind, change.from_mg, change.to_mg) == ("renal_adjust", D(25), D(10))
    assert "confirmed by the investigator inv1" in change.text
    assert d3.carry_forward.renal_band == "renal_moderate"
    assert d3.carry_forward.renal_dose_adjusted is True

    pending = _decide(4, _state(d3), crcl_ml_min=25)
    assert pending.decision == "investigator_decision_required"
    assert {(p.drug, p.from_mg, p.dose_mg, p.every_days) for p in pending.proposals} == {
        ("ixazomib", D(4), D(3), 1),
        ("lenalidomide", D(10), D(15), 2),
    }
    # The moderate band's answer does not answer the severe band.
    stale = _decide(4, _state(d3), crcl_ml_min=25, renal_decision=confirm)
    assert stale.decision == "investigator_decision_required"

    override = {
        "band": "renal_severe",
        "action": "override",
        "doses_mg": {"ixazomib": 3, "lenalidomide": 5},
        "reason": "on dialysis: REVLIMID 2.6 gives 5 mg once daily",
    }
    d4 = _decide(4, _state(d3), crcl_ml_min=25, renal_decision=override)
    assert d4.decision == "start"
    assert d4.doses_mg == {"ixazomib": D(3), "lenalidomide": D(5), "dexamethasone": D(40)}
    assert d4.dosing_days["lenalidomide"] == list(range(1, 22))
    assert any("on dialysis" in c.text for c in d4.changes)
    assert d4.carry_forward.renal_band == "renal_severe"

    # Staying in the band asks nothing new.
    d5 = _decide(5, _state(d4), crcl_ml_min=27)
    assert d5.decision == "start" and d5.proposals == []
    assert d5.doses_mg["lenalidomide"] == D(5)


def test_a_confirmed_severe_proposal_gives_15_mg_every_48_hours_and_it_carries():
    state = _to_cycle_3_at_crcl_55()
    d = _decide(
        3, state, crcl_ml_min=25, renal_decision={"band": "renal_severe", "action": "confirm"}
    )
    assert d.doses_mg == {"ixazomib": D(3), "lenalidomide": D(15), "dexamethasone": D(40)}
    assert d.dosing_days["lenalidomide"] == EVERY_48_HOURS
    assert d.dosing_days["ixazomib"] == [1, 8, 15]
    assert d.carry_forward.current_every_days == {"lenalidomide": 2}
    nxt = _decide(4, _state(d), crcl_ml_min=26)
    assert nxt.dosing_days["lenalidomide"] == EVERY_48_HOURS
    # CrCl normalizes and treatment is tolerated: [seed] escalate to 25 mg once daily.
    later = _decide(5, _state(nxt), crcl_ml_min=70)
    assert later.doses_mg["lenalidomide"] == D(25)
    assert later.dosing_days["lenalidomide"] == list(range(1, 22))


def test_a_dose_already_at_or_below_the_label_asks_nothing():
    # Renal start at CrCl 45 (10 mg), then CrCl 40: 10 mg is the label's dose for 30-59.
    first = _decide(1, {}, crcl_ml_min=45)
    assert first.doses_mg["lenalidomide"] == D(10)
    d = _decide(2, _state(first), crcl_ml_min=40)
    assert d.decision == "start" and d.proposals == []


def test_the_seed_escalation_to_15_mg_below_60_is_not_taken_back():
    # After 2 cycles at 10 mg, not responding, tolerating: 15 mg [seed]; CrCl stays in 30-59.
    first = _decide(1, {}, crcl_ml_min=45)
    s = _state(first)
    second = _decide(2, s, crcl_ml_min=45, best_confirmed_response="SD")
    third = _decide(3, _state(second), crcl_ml_min=45, best_confirmed_response="SD")
    assert third.doses_mg["lenalidomide"] == D(15)
    fourth = _decide(4, _state(third), crcl_ml_min=44, best_confirmed_response="SD")
    assert fourth.decision == "start" and fourth.proposals == []


@pytest.mark.parametrize(
    "answer",
    [
        {"band": "renal_moderate", "action": "override", "doses_mg": {"lenalidomide": 15}},
        {"band": "renal_moderate", "action": "override", "reason": "x"},
    ],
)
def test_an_override_needs_doses_and_a_reason(answer):
    with pytest.raises(ValidationError):
        _decide(3, _to_cycle_3_at_crcl_55(), crcl_ml_min=55, renal_decision=answer)
