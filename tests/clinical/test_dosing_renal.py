"""Lenalidomide renal dosing (clinical/renal_dosing.py via decide_next_cycle).

Source: shared/protocol.md section 4 [seed]: CrCl < 60 mL/min -> 10 mg days 1-21; after 2 cycles
at 10 mg, 15 mg if not responding (no confirmed PR or better [ours]) and tolerating (no
lenalidomide-related grade >= 3 toxicity, no hold or reduction in the last cycle [ours]);
25 mg once CrCl >= 60 mL/min and tolerating; CrCl fallen below 60 (on more than 10 mg) or below
30: label doses proposed, the cycle waits for the investigator [NIN 2.5][REV 2.6][ours].
"""

from __future__ import annotations

import pytest

from mmtrial.clinical.dosing import decide_next_cycle
from tests.clinical._dosing_helpers import FULL, PROTOCOL, D, facts, platelet_drop, rule_ids, tox

RENAL = {**FULL, "lenalidomide": D(10)}


def decide(**kw):
    return decide_next_cycle(facts(**kw), protocol=PROTOCOL)


@pytest.mark.parametrize(
    ("crcl", "dose", "renal"),
    [
        ("59.9", 10, True),
        ("59.99", 10, True),
        ("60.0", 25, False),
        ("60", 25, False),
        ("45", 10, True),
    ],
)
def test_starting_lenalidomide_dose_at_the_crcl_cut_off(crcl, dose, renal):
    """[seed]: 'creatinine clearance < 60 mL/min will receive ... 10 mg'. 60.0 is not below 60."""
    d = decide(cycle=1, crcl_ml_min=D(crcl))
    assert d.decision == "start"
    assert d.doses_mg == {"ixazomib": D(4), "lenalidomide": D(dose), "dexamethasone": D(40)}
    assert d.carry_forward.renal_dose_adjusted is renal
    kinds = {c.drug: c.kind for c in d.changes}
    assert kinds["lenalidomide"] == ("renal_start" if renal else "start")
    assert "renal_start" in rule_ids(d)


def escalation(**kw):
    base = dict(
        doses=RENAL,
        crcl_ml_min=45,
        renal_dose_adjusted=True,
        cycles_at_current_dose={"lenalidomide": 2},
        best_confirmed_response="SD",
    )
    return decide(cycle=3, **{**base, **kw})


def test_escalation_to_15_mg_after_two_tolerated_cycles_without_response():
    d = escalation()
    assert d.doses_mg["lenalidomide"] == D(15)
    [change] = d.changes
    assert (change.kind, change.from_mg, change.to_mg, change.rule) == (
        "escalate",
        D(10),
        D(15),
        "renal_escalation_not_responding",
    )
    assert d.carry_forward.renal_dose_adjusted


@pytest.mark.parametrize("response", [None, "SD", "MR", "NE"])
def test_not_responding_means_no_confirmed_pr_or_better(response):
    assert escalation(best_confirmed_response=response).doses_mg["lenalidomide"] == D(15)


@pytest.mark.parametrize("response", ["PR", "VGPR", "CR", "sCR"])
def test_no_escalation_for_a_responding_participant(response):
    d = escalation(best_confirmed_response=response)
    assert d.doses_mg["lenalidomide"] == D(10)
    assert any(
        r.rule == "renal_escalation_not_responding" and "responding" in r.text for r in d.reasons
    )


def test_no_escalation_after_only_one_cycle_at_10_mg():
    assert escalation(cycles_at_current_dose={"lenalidomide": 1}).doses_mg["lenalidomide"] == D(10)


def test_no_escalation_after_a_hold_or_reduction_in_the_last_cycle():
    d = escalation(last_cycle_hold_or_reduction=True)
    assert d.doses_mg["lenalidomide"] == D(10)
    assert any("hold or reduction in the last cycle" in r.text for r in d.reasons)


@pytest.mark.parametrize(("grade", "escalates"), [(2, True), (3, False)])
def test_lenalidomide_related_grade_3_toxicity_means_not_tolerating(grade, escalates):
    event = tox("fatigue", grade, attributed_to=["lenalidomide"], current_grade=1)
    d = escalation(toxicities=[event])
    if escalates:
        assert d.doses_mg["lenalidomide"] == D(15)
    else:  # grade 3 attributed: reduced 10 -> 5 by the toxicity rule, never escalated
        assert d.doses_mg["lenalidomide"] == D(5)
        assert not d.carry_forward.renal_dose_adjusted


def test_no_escalation_when_a_toxicity_reduces_or_holds_lenalidomide_now():
    d = escalation(toxicities=[platelet_drop()])
    assert d.doses_mg["lenalidomide"] == D(5)


def test_no_escalation_for_a_dose_reduced_for_toxicity():
    """The renal escalations apply to renal dosing only [ours]; a toxicity reduction to 10 mg
    is not undone by them."""
    d = escalation(renal_dose_adjusted=False)
    assert d.doses_mg["lenalidomide"] == D(10)
    assert d.changes == []


@pytest.mark.parametrize(("crcl", "dose"), [("59.9", 10), ("60.0", 25), ("75", 25)])
def test_escalation_to_25_mg_once_crcl_reaches_60_and_tolerated(crcl, dose):
    """[seed]: 'If renal function normalizes (ie, creatinine clearance >= 60 mL/min) and the
    participant continues to tolerate this treatment, lenalidomide may then be escalated to 25 mg'."""
    d = escalation(
        crcl_ml_min=D(crcl),
        best_confirmed_response="VGPR",
        cycles_at_current_dose={"lenalidomide": 1},
    )
    assert d.doses_mg["lenalidomide"] == D(dose)
    if dose == 25:
        assert d.changes[0].rule == "renal_escalation_normalized"


def test_escalation_from_15_to_25_when_crcl_normalizes():
    d = escalation(
        doses={**FULL, "lenalidomide": D(15)},
        crcl_ml_min=61,
        cycles_at_current_dose={"lenalidomide": 4},
    )
    assert [(c.from_mg, c.to_mg, c.rule) for c in d.changes] == [
        (D(15), D(25), "renal_escalation_normalized")
    ]
    assert d.doses_mg["lenalidomide"] == D(25)


def test_no_escalation_to_25_when_not_tolerating():
    d = escalation(crcl_ml_min=70, last_cycle_hold_or_reduction=True)
    assert d.doses_mg["lenalidomide"] == D(10)


@pytest.mark.parametrize(("crcl", "flagged"), [("29.9", True), ("30", False)])
def test_severe_renal_impairment_is_proposed_and_waits_for_the_investigator(crcl, flagged):
    """[NIN] 2.5 (ixazomib 3 mg) and [REV] 2.6 (15 mg every 48 h) below CrCl 30: proposals for
    the investigator; the cycle does not start until the investigator decides, and no renal
    escalation happens [ours] (protocol.md section 4)."""
    d = escalation(crcl_ml_min=D(crcl))
    assert d.investigator_review_required is flagged
    if flagged:
        assert d.decision == "investigator_decision_required"
        assert {(p.drug, p.dose_mg, p.every_days) for p in d.proposals} == {
            ("ixazomib", D(3), 1),
            ("lenalidomide", D(15), 2),
        }
        assert "renal_severe" in rule_ids(d)
        assert set(d.doses_mg.values()) == {None}
        assert d.planned_doses_mg["lenalidomide"] == D(15)
        assert d.dosing_days["lenalidomide"] == list(range(1, 22, 2))
    else:
        assert d.proposals == []
        assert d.doses_mg["lenalidomide"] == D(15)
