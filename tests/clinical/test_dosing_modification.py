"""Dose modification for toxicity, row by row (clinical/dose_modification.py via decide_next_cycle).

Source: shared/protocol.md section 7, i.e. NINLARO USPI section 2.4 table 2 (ixazomib with
lenalidomide and dexamethasone), TOURMALINE-MM1 for dexamethasone; dose levels from section 6;
alternation scope and "one level down per drug per decision" are protocol settings [ours].
"""

from __future__ import annotations

import pytest

from mmtrial.clinical.dosing import decide_next_cycle
from tests.clinical._dosing_helpers import (
    FULL,
    PROTOCOL,
    D,
    anc_drop,
    facts,
    platelet_drop,
    protocol_with,
    rule_ids,
    tox,
)


def decide(protocol=PROTOCOL, **kw):
    return decide_next_cycle(facts(**kw), protocol=protocol)


def changed(decision) -> dict:
    return {c.drug: (c.from_mg, c.to_mg, c.rule) for c in decision.changes}


# --- platelets < 30,000/mm3 and ANC < 500/mm3 (alternating) ------------------------------------


@pytest.mark.parametrize(("value", "fires"), [(29999, True), (30000, False), (1, True)])
def test_platelet_threshold_boundary(value, fires):
    """[NIN] table 2: platelets < 30,000/mm3 -> first time lenalidomide one level down."""
    d = decide(toxicities=[platelet_drop(value)])
    assert d.decision == "start"
    if fires:
        assert changed(d) == {"lenalidomide": (D(25), D(20), "platelets_below_30000")}
        assert d.doses_mg == {"ixazomib": D(4), "lenalidomide": D(20), "dexamethasone": D(40)}
        assert d.carry_forward.alternation.counts == {"shared": 1}
    else:
        assert d.changes == []
        assert d.carry_forward.alternation.counts == {}


@pytest.mark.parametrize(("value", "fires"), [(499, True), (500, False), (0, True)])
def test_anc_threshold_boundary(value, fires):
    """[NIN] table 2: ANC < 500/mm3 -> same alternating resumption as platelets."""
    d = decide(toxicities=[anc_drop(value)])
    if fires:
        assert changed(d) == {"lenalidomide": (D(25), D(20), "anc_below_500")}
    else:
        assert d.changes == []


def test_second_platelet_drop_reduces_ixazomib_and_keeps_lenalidomide():
    """[NIN] table 2: 'If platelet count falls to < 30,000/mm3 again ... resume ixazomib at the
    next lower dose and resume lenalidomide at its most recent dose'."""
    first = decide(toxicities=[platelet_drop()])
    second = decide(
        cycle=3,
        doses=first.carry_forward.current_doses_mg,
        alternation=first.carry_forward.alternation,
        toxicities=[platelet_drop(12000)],
    )
    assert changed(second) == {"ixazomib": (D(4), D(3), "platelets_below_30000")}
    assert second.doses_mg["lenalidomide"] == D(20)
    assert second.carry_forward.alternation.counts == {"shared": 2}


def test_alternation_over_eight_successive_overlapping_events():
    """[NIN]: 'For additional occurrences, alternate dose modification of lenalidomide and
    ixazomib'; one shared count [ours]. Ixazomib below 2.3 mg is discontinued, after which its
    turn passes to lenalidomide (the only alternating drug left)."""
    events = [
        platelet_drop,
        anc_drop,
        platelet_drop,
        lambda: tox("rash", 2, current_grade=1),
        anc_drop,
        platelet_drop,
        anc_drop,
        platelet_drop,
    ]
    expected = [
        ("lenalidomide", D(25), D(20)),
        ("ixazomib", D(4), D(3)),
        ("lenalidomide", D(20), D(15)),
        ("ixazomib", D(3), D("2.3")),
        ("lenalidomide", D(15), D(10)),
        ("ixazomib", D("2.3"), None),
        ("lenalidomide", D(10), D(5)),
        ("lenalidomide", D(5), D("2.5")),
    ]
    doses, alternation = dict(FULL), None
    for n, (make, (drug, from_mg, to_mg)) in enumerate(zip(events, expected, strict=True), 1):
        kw = {"alternation": alternation} if alternation else {}
        d = decide(cycle=n + 1, doses=doses, toxicities=[make()], **kw)
        assert [(c.drug, c.from_mg, c.to_mg) for c in d.changes] == [(drug, from_mg, to_mg)], n
        assert d.carry_forward.alternation.counts == {"shared": n}
        assert d.decision == ("discontinue_drug" if to_mg is None else "start")
        doses, alternation = d.carry_forward.current_doses_mg, d.carry_forward.alternation
    assert doses == {"ixazomib": None, "lenalidomide": D("2.5"), "dexamethasone": D(40)}


def test_two_overlapping_events_in_one_cycle_reduce_both_drugs():
    d = decide(toxicities=[platelet_drop(), anc_drop()])
    assert changed(d) == {
        "lenalidomide": (D(25), D(20), "platelets_below_30000"),
        "ixazomib": (D(4), D(3), "anc_below_500"),
    }
    assert d.next_alternating_reduction == {"shared": "lenalidomide"}


def test_per_toxicity_scope_counts_each_toxicity_separately():
    """Setting alternation.scope = per_toxicity: a first ANC drop after a platelet drop is the
    neutropenia group's first occurrence, so lenalidomide again."""
    protocol = protocol_with(**{"scope: shared": "scope: per_toxicity"})
    first = decide(protocol, toxicities=[platelet_drop()])
    second = decide(
        protocol,
        cycle=3,
        doses=first.carry_forward.current_doses_mg,
        alternation=first.carry_forward.alternation,
        toxicities=[anc_drop()],
    )
    assert changed(second) == {"lenalidomide": (D(20), D(15), "anc_below_500")}
    assert second.carry_forward.alternation.counts == {"thrombocytopenia": 1, "neutropenia": 1}


# --- rash ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("grade", [2, 3])
def test_rash_grade_2_or_3_first_occurrence_reduces_lenalidomide(grade):
    """[NIN] table 2: hold lenalidomide until rash <= grade 1; resume at the next lower dose."""
    d = decide(toxicities=[tox("rash", grade, current_grade=1)])
    assert changed(d) == {"lenalidomide": (D(25), D(20), "rash_grade_2_3_first")}
    assert "rash_grade_2_3_first" in rule_ids(d)


@pytest.mark.parametrize("grade", [2, 3])
def test_rash_grade_2_or_3_recurrence_reduces_ixazomib(grade):
    """[NIN] table 2: 'If Grade 2 or 3 rash occurs again, withhold ixazomib and lenalidomide ...
    resume ixazomib at the next lower dose and lenalidomide at its most recent dose'."""
    d = decide(
        doses={**FULL, "lenalidomide": D(20)},
        alternation={"counts": {"shared": 1}},
        toxicities=[tox("rash", grade, current_grade=0)],
    )
    assert changed(d) == {"ixazomib": (D(4), D(3), "rash_grade_2_3_recurrence")}


def test_rash_grade_1_changes_nothing():
    d = decide(toxicities=[tox("rash", 1)])
    assert d.changes == [] and d.decision == "start"


def test_rash_grade_4_discontinues_the_regimen():
    """[NIN] table 2: rash grade 4 -> discontinue the treatment regimen."""
    d = decide(toxicities=[tox("rash", 4, current_grade=1)])
    assert d.decision == "discontinue_treatment"
    assert set(d.doses_mg.values()) == {None}
    assert d.carry_forward.current_doses_mg == dict.fromkeys(PROTOCOL.drugs)
    assert "rash_grade_4" in rule_ids(d)


# --- peripheral neuropathy ------------------------------------------------------------------------


@pytest.mark.parametrize(("grade", "pain"), [(1, True), (2, False)])
def test_neuropathy_grade_1_with_pain_or_grade_2_resumes_ixazomib_at_the_same_dose(grade, pain):
    """[NIN] table 2: hold ixazomib until <= grade 1 without pain; resume at the most recent dose."""
    resolved = tox(
        "peripheral_neuropathy", grade, with_pain=pain, current_grade=1, current_with_pain=False
    )
    d = decide(toxicities=[resolved])
    assert d.changes == [] and d.doses_mg == FULL
    assert "neuropathy_g1_pain_or_g2" in rule_ids(d)


def test_neuropathy_with_pain_persisting_holds_ixazomib_for_the_cycle():
    """Grade 1 with pain still present: the cycle may start (grade <= 1), ixazomib stays held."""
    d = decide(toxicities=[tox("peripheral_neuropathy", 1, with_pain=True)])
    assert d.decision == "start"
    assert d.doses_mg == {**FULL, "ixazomib": None}
    assert d.planned_doses_mg == FULL
    assert d.carry_forward.current_doses_mg == FULL


@pytest.mark.parametrize(("grade", "pain"), [(2, True), (3, False), (3, True)])
def test_neuropathy_grade_2_with_pain_or_grade_3_reduces_ixazomib(grade, pain):
    """[NIN] table 2: hold ixazomib until <= grade 1; resume at the next lower dose."""
    d = decide(
        toxicities=[
            tox(
                "peripheral_neuropathy",
                grade,
                with_pain=pain,
                current_grade=1,
                current_with_pain=False,
            )
        ]
    )
    assert changed(d) == {"ixazomib": (D(4), D(3), "neuropathy_g2_pain_or_g3")}


def test_neuropathy_grade_1_without_pain_changes_nothing():
    d = decide(toxicities=[tox("peripheral_neuropathy", 1)])
    assert d.changes == [] and d.doses_mg == FULL


def test_neuropathy_grade_4_discontinues_the_regimen():
    d = decide(toxicities=[tox("peripheral_neuropathy", 4, current_grade=1)])
    assert d.decision == "discontinue_treatment"
    assert "neuropathy_g4" in rule_ids(d)


# --- other non-hematologic grade 3-4, dexamethasone-related ---------------------------------------


@pytest.mark.parametrize("grade", [3, 4])
@pytest.mark.parametrize("drug", ["ixazomib", "lenalidomide", "dexamethasone"])
def test_other_nonhematologic_grade_3_4_reduces_the_attributed_drug(grade, drug):
    """[NIN] table 2: hold ixazomib until <= grade 1; if attributable to ixazomib resume one
    level down; lenalidomide and dexamethasone per their labels (one level down when attributable)."""
    d = decide(toxicities=[tox("diarrhea", grade, attributed_to=[drug], current_grade=1)])
    lower = PROTOCOL.levels(drug)[1]
    assert [(c.drug, c.from_mg, c.to_mg) for c in d.changes] == [(drug, FULL[drug], lower)]
    assert d.changes[0].rule in {"nonhematologic_grade_3_4", "dexamethasone_related"}


def test_other_nonhematologic_grade_3_not_attributed_reduces_nothing():
    d = decide(toxicities=[tox("fatigue", 3, current_grade=0)])
    assert d.changes == []
    assert "nonhematologic_grade_3_4" in rule_ids(d)


def test_other_nonhematologic_grade_2_is_not_a_modification():
    d = decide(toxicities=[tox("fatigue", 2, attributed_to=["ixazomib"], current_grade=1)])
    assert d.changes == []


def test_rash_is_not_an_other_toxicity():
    """Rash grade 3 is handled by the rash row only (not also by 'other non-hematologic')."""
    d = decide(toxicities=[tox("rash", 3, attributed_to=["ixazomib"], current_grade=1)])
    assert changed(d) == {"lenalidomide": (D(25), D(20), "rash_grade_2_3_first")}
    assert "nonhematologic_grade_3_4" not in rule_ids(d)


@pytest.mark.parametrize(("grade", "fires"), [(1, False), (2, True), (3, True)])
def test_dexamethasone_related_toxicity_grade_2_or_more_reduces_dexamethasone(grade, fires):
    """[TM1]: dexamethasone-related toxicity (e.g. grade >= 2 hyperglycemia) -> one level down."""
    d = decide(
        toxicities=[tox("hyperglycemia", grade, attributed_to=["dexamethasone"], current_grade=1)]
    )
    if fires:
        assert [(c.drug, c.from_mg, c.to_mg) for c in d.changes] == [
            ("dexamethasone", D(40), D(20))
        ]
    else:
        assert d.changes == []


def test_at_most_one_level_down_per_drug_at_one_decision():
    """Setting levels_down_per_drug_per_decision = 1 [ours]: two reasons, one step."""
    d = decide(
        toxicities=[tox("hyperglycemia", 3, attributed_to=["dexamethasone"], current_grade=1)]
    )
    assert [(c.drug, c.to_mg) for c in d.changes] == [("dexamethasone", D(20))]
    assert any("already reduced" in r.text for r in d.reasons)


# --- dose levels and discontinuation ---------------------------------------------------------------


@pytest.mark.parametrize("drug", ["ixazomib", "lenalidomide", "dexamethasone"])
def test_every_level_steps_down_to_the_next_and_the_lowest_discontinues(drug):
    """protocol.md section 6: ixazomib 4-3-2.3 [NIN]; lenalidomide 25-20-15-10-5-2.5 [REV][ours];
    dexamethasone 40-20-10 [ours]; then discontinue. Driven by an attributed grade 3 toxicity."""
    levels = PROTOCOL.levels(drug)
    for i, level in enumerate(levels):
        d = decide(
            doses={**FULL, drug: level},
            toxicities=[tox("nausea", 3, attributed_to=[drug], current_grade=1)],
        )
        expected = levels[i + 1] if i + 1 < len(levels) else None
        assert d.carry_forward.current_doses_mg[drug] == expected, (drug, level)
        assert d.changes[0].kind == ("reduce" if expected is not None else "discontinue")
        assert d.decision == ("start" if expected is not None else "discontinue_drug")


def test_renal_start_dose_reduces_10_5_2_5_then_discontinues():
    """protocol.md section 6: started at 10 mg for renal reasons -> 5 -> 2.5 mg -> stop."""
    dose, seen = D(10), []
    while dose is not None:
        d = decide(
            doses={**FULL, "lenalidomide": dose}, crcl_ml_min=45, toxicities=[platelet_drop()]
        )
        dose = d.carry_forward.current_doses_mg["lenalidomide"]
        seen.append(dose)
    assert seen == [D(5), D("2.5"), None]


def test_a_discontinued_drug_does_not_end_the_others():
    """protocol.md section 7 [ours, discontinued_drug_ends_treatment: false]."""
    d = decide(
        doses={**FULL, "ixazomib": D("2.3")},
        toxicities=[tox("diarrhea", 3, attributed_to=["ixazomib"], current_grade=1)],
    )
    assert d.decision == "discontinue_drug"
    assert d.doses_mg == {"ixazomib": None, "lenalidomide": D(25), "dexamethasone": D(40)}
    later = decide(cycle=5, doses=d.carry_forward.current_doses_mg)
    assert later.decision == "start"
    assert later.doses_mg == {"ixazomib": None, "lenalidomide": D(25), "dexamethasone": D(40)}


def test_setting_can_make_a_discontinued_drug_end_treatment():
    protocol = protocol_with(
        **{"discontinued_drug_ends_treatment: false": "discontinued_drug_ends_treatment: true"}
    )
    d = decide(
        protocol,
        doses={**FULL, "ixazomib": D("2.3")},
        toxicities=[tox("diarrhea", 3, attributed_to=["ixazomib"], current_grade=1)],
    )
    assert d.decision == "discontinue_treatment"


def test_treatment_ends_when_no_drug_is_left():
    d = decide(
        doses={"ixazomib": None, "lenalidomide": None, "dexamethasone": D(10)},
        toxicities=[tox("insomnia", 2, attributed_to=["dexamethasone"], current_grade=1)],
    )
    assert d.decision == "discontinue_treatment"
    assert d.changes[0].kind == "discontinue"


def test_an_event_counted_before_is_not_counted_again():
    d = decide(
        alternation={"counts": {"shared": 1}},
        doses={**FULL, "lenalidomide": D(20)},
        toxicities=[platelet_drop(counted_before=True)],
    )
    assert d.changes == []
    assert d.carry_forward.alternation.counts == {"shared": 1}


def test_every_reason_names_a_rule_and_a_source():
    d = decide(
        toxicities=[
            platelet_drop(),
            tox("rash", 3, current_grade=1),
            tox("hyperglycemia", 2, attributed_to=["dexamethasone"]),
        ]
    )
    assert all(r.rule and r.source for r in d.reasons)
    assert all(c.rule and c.source for c in d.changes)
    assert "[NIN] section 2.4, table 2, thrombocytopenia" in d.changes[0].source


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        (
            "toxicity_groups: [thrombocytopenia, neutropenia, rash]",
            "toxicity_groups: [thrombocytopenia, neutropenia]",
            "dose_modification.rules[2].occurrence",
        ),
        (
            "toxicity_groups: [thrombocytopenia, neutropenia, rash]",
            "toxicity_groups: [thrombocytopenia, rash]",
            "dose_modification.rules[1].resumption.kind",
        ),
    ],
)
def test_protocol_rejects_an_alternating_rule_outside_the_alternation(old, new, problem):
    """The engine counts first/recurrence and alternating turns on the alternation's groups, so
    the protocol schema refuses a rule that relies on them without being in them."""
    from mmtrial.protocol import ProtocolError

    with pytest.raises(ProtocolError) as excinfo:
        protocol_with(**{old: new})
    assert any(p.startswith(problem) for p in excinfo.value.problems), excinfo.value.problems
