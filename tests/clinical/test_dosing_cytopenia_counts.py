"""The platelet and ANC rows act on the counts themselves (issue 10 item 1).

Source: NINLARO USPI section 2.4, table 2 (ixazomib with lenalidomide and dexamethasone):
"Platelet count < 30,000/mm3: withhold NINLARO and lenalidomide until platelet count
>= 30,000/mm3. Following recovery, resume lenalidomide at the next lower dose ... and NINLARO
at its most recent dose. If platelet count falls to < 30,000/mm3 again, withhold ... Following
recovery, resume NINLARO at the next lower dose and lenalidomide at its most recent dose."
The same for ANC < 500/mm3. Alternate thereafter. shared/protocol.md section 7: the rows act on
any recorded count and on a count-less CTCAE grade 4 event; the nadir since the last decision
reaches the next decision. Ladders (protocol.md section 6): ixazomib 4 -> 3 -> 2.3 ->
discontinue; lenalidomide 25 -> 20 -> 15 -> 10 -> 5 -> 2.5 -> discontinue.
CTCAE v5.0: platelet count decreased grade 3 is < 50,000 - 25,000/mm3, grade 4 < 25,000;
neutrophil count decreased grade 3 < 1,000 - 500, grade 4 < 500.
"""

from __future__ import annotations

import datetime as dt

import pytest

from mmtrial.clinical.dosing import CycleFacts, decide_next_cycle
from mmtrial.errors import InputError
from tests.clinical._dosing_helpers import FULL, PROTOCOL, D, facts, rule_ids, tox

# After each successive overlapping-toxicity episode, by hand from table 2 and the ladders.
ALTERNATION = [
    {"ixazomib": D(4), "lenalidomide": D(20)},
    {"ixazomib": D(3), "lenalidomide": D(20)},
    {"ixazomib": D(3), "lenalidomide": D(15)},
    {"ixazomib": D("2.3"), "lenalidomide": D(15)},
    {"ixazomib": D("2.3"), "lenalidomide": D(10)},
    {"ixazomib": None, "lenalidomide": D(10)},  # below 2.3 mg: ixazomib discontinued
]
START = dt.date(2027, 1, 4)


def _next_state(decision) -> dict:
    return decision.carry_forward.model_dump(exclude={"last_cycle_hold_or_reduction"})


def _facts(cycle: int, state: dict, **kw) -> CycleFacts:
    base = {"cycle": cycle, "crcl_ml_min": 90, "anc_per_mm3": 2000, "platelets_per_mm3": 200000}
    return CycleFacts.model_validate({**base, **state, **kw})


def _cycle_one() -> tuple[dict, dt.date]:
    d = decide_next_cycle(_facts(1, {}, decision_date=START), protocol=PROTOCOL)
    assert d.decision == "start"
    return _next_state(d), START


@pytest.mark.parametrize("variable", ["platelets_per_mm3", "anc_per_mm3"])
def test_six_day_one_episodes_delay_then_start_one_level_lower_alternating(variable):
    low = {"platelets_per_mm3": 25000, "anc_per_mm3": 400}[variable]
    state, day1 = _cycle_one()
    for cycle, expected in zip(range(2, 8), ALTERNATION, strict=True):
        planned = day1 + dt.timedelta(days=28)
        first = decide_next_cycle(
            _facts(cycle, state, decision_date=planned, **{variable: low}), protocol=PROTOCOL
        )
        # Below 30,000 (or 500) is below the start criteria too: the cycle waits, but its
        # planned doses already show the reduction the episode calls for.
        assert first.decision == "delay"
        assert {d: first.planned_doses_mg[d] for d in expected} == expected
        assert first.carry_forward.alternation.model_dump() == state["alternation"]
        recheck = planned + dt.timedelta(days=7)
        second = decide_next_cycle(
            _facts(cycle, _next_state(first), decision_date=recheck), protocol=PROTOCOL
        )
        assert second.decision in ("start", "discontinue_drug")
        given = {d: second.doses_mg[d] for d in expected}
        assert given == expected, f"cycle {cycle}"
        assert second.carry_forward.alternation.counts["shared"] == cycle - 1
        state, day1 = _next_state(second), recheck
    assert second.decision == "discontinue_drug"  # the other drugs continue


def test_six_within_cycle_episodes_reach_the_next_decision():
    state, day1 = _cycle_one()
    for cycle, expected in zip(range(2, 8), ALTERNATION, strict=True):
        previous = day1
        counts = [
            {
                "variable": "platelets_per_mm3",
                "value": 180000,
                "date": str(previous + dt.timedelta(days=7)),
                "source": "local",
            },
            {
                "variable": "platelets_per_mm3",
                "value": 26000,
                "date": str(previous + dt.timedelta(days=14)),
                "source": "central",
            },
            {
                "variable": "platelets_per_mm3",
                "value": 95000,
                "date": str(previous + dt.timedelta(days=21)),
                "source": "local",
            },
        ]
        day1 = previous + dt.timedelta(days=28)
        d = decide_next_cycle(
            _facts(cycle, state, decision_date=day1, counts_since_last_decision=counts),
            protocol=PROTOCOL,
        )
        assert {k: d.doses_mg[k] for k in expected} == expected
        state = _next_state(d)


def test_six_count_less_grade_4_events_alternate_like_the_counts():
    state, day1 = _cycle_one()
    terms = ["Platelet count decreased", "neutrophil_count_decreased"] * 3
    for cycle, expected, term in zip(range(2, 8), ALTERNATION, terms, strict=True):
        onset = day1 + dt.timedelta(days=10)
        event = tox(term, 4, start_date=str(onset), end_date=str(onset + dt.timedelta(days=6)))
        day1 = day1 + dt.timedelta(days=28)
        d = decide_next_cycle(
            _facts(cycle, state, decision_date=day1, toxicities=[event]), protocol=PROTOCOL
        )
        assert {k: d.doses_mg[k] for k in expected} == expected, f"cycle {cycle}"
        state = _next_state(d)


def test_the_reason_names_the_count_its_date_and_the_label_row():
    d = decide_next_cycle(
        facts(
            decision_date="2027-03-01",
            counts_since_last_decision=[
                {
                    "variable": "platelets_per_mm3",
                    "value": 24000,
                    "date": "2027-02-15",
                    "source": "central",
                }
            ],
        ),
        protocol=PROTOCOL,
    )
    [reduction] = [r for r in d.reasons if r.rule == "platelets_below_30000"]
    assert "24000" in reduction.text and "2027-02-15" in reduction.text
    assert "central" in reduction.text
    assert "[NIN] section 2.4, table 2, thrombocytopenia" in reduction.source
    assert reduction.values["count_date"] == "2027-02-15"
    assert reduction.values["platelets_per_mm3"] == 24000


def test_an_adverse_event_and_the_counts_of_its_dates_are_one_occurrence():
    counts = [{"variable": "platelets_per_mm3", "value": 22000, "date": "2027-02-15"}]
    event = tox("Platelet count decreased", 4, start_date="2027-02-14", end_date="2027-02-20")
    d = decide_next_cycle(
        facts(decision_date="2027-03-01", counts_since_last_decision=counts, toxicities=[event]),
        protocol=PROTOCOL,
    )
    assert d.carry_forward.alternation.counts["shared"] == 1
    assert d.doses_mg["lenalidomide"] == D(20) and d.doses_mg["ixazomib"] == D(4)


def test_an_adverse_event_outside_the_episode_is_another_occurrence():
    counts = [
        {"variable": "platelets_per_mm3", "value": 22000, "date": "2027-02-15"},
        {"variable": "platelets_per_mm3", "value": 80000, "date": "2027-02-22"},
    ]
    event = tox("Platelet count decreased", 4, start_date="2027-02-24")
    d = decide_next_cycle(
        facts(decision_date="2027-03-01", counts_since_last_decision=counts, toxicities=[event]),
        protocol=PROTOCOL,
    )
    assert d.carry_forward.alternation.counts["shared"] == 2
    assert (d.doses_mg["lenalidomide"], d.doses_mg["ixazomib"]) == (D(20), D(3))


def test_two_episodes_separated_by_recovery_are_two_occurrences():
    counts = [
        {"variable": "anc_per_mm3", "value": 450, "date": "2027-02-08"},
        {"variable": "anc_per_mm3", "value": 1200, "date": "2027-02-15"},
        {"variable": "anc_per_mm3", "value": 300, "date": "2027-02-22"},
    ]
    d = decide_next_cycle(
        facts(decision_date="2027-03-01", counts_since_last_decision=counts), protocol=PROTOCOL
    )
    assert (d.doses_mg["lenalidomide"], d.doses_mg["ixazomib"]) == (D(20), D(3))


def test_low_counts_without_recovery_between_them_are_one_episode_with_its_nadir():
    counts = [
        {"variable": "platelets_per_mm3", "value": 28000, "date": "2027-02-08"},
        {"variable": "platelets_per_mm3", "value": 12000, "date": "2027-02-10"},
    ]
    d = decide_next_cycle(
        facts(decision_date="2027-03-01", counts_since_last_decision=counts), protocol=PROTOCOL
    )
    assert d.carry_forward.alternation.counts["shared"] == 1
    [reason] = [r for r in d.reasons if r.rule == "platelets_below_30000"]
    assert reason.values["platelets_per_mm3"] == 12000


@pytest.mark.parametrize(
    ("term", "rule"),
    [
        ("platelet count decreased", "platelets_below_30000"),
        ("Neutrophil count decreased", "anc_below_500"),
    ],
)
def test_a_grade_4_event_without_a_count_meets_the_row(term, rule):
    d = decide_next_cycle(facts(toxicities=[tox(term, 4)]), protocol=PROTOCOL)
    assert rule in rule_ids(d)
    assert d.doses_mg["lenalidomide"] == D(20)
    assert "nonhematologic_grade_3_4" not in rule_ids(d)


def test_a_grade_3_neutrophil_event_without_a_count_is_above_500_and_not_other_nonhematologic():
    d = decide_next_cycle(
        facts(toxicities=[tox("neutrophil_count_decreased", 3)]), protocol=PROTOCOL
    )
    assert d.doses_mg == dict(FULL)
    assert not {"anc_below_500", "nonhematologic_grade_3_4"} & set(rule_ids(d))


def test_a_grade_3_platelet_event_without_a_count_is_refused_asking_for_it():
    with pytest.raises(InputError) as err:
        decide_next_cycle(facts(toxicities=[tox("platelet_count_decreased", 3)]), protocol=PROTOCOL)
    assert err.value.message.startswith("toxicities[0].lab: ")
    assert "give the count (platelets_per_mm3)" in err.value.message
    assert "25000 to < 50000" in err.value.message


def test_the_count_of_its_dates_resolves_a_grade_3_platelet_event():
    counts = [{"variable": "platelets_per_mm3", "value": 41000, "date": "2027-02-10"}]
    event = tox("platelet_count_decreased", 3, start_date="2027-02-09", end_date="2027-02-12")
    d = decide_next_cycle(
        facts(decision_date="2027-03-01", counts_since_last_decision=counts, toxicities=[event]),
        protocol=PROTOCOL,
    )
    assert d.doses_mg == dict(FULL)  # 41,000 is not below 30,000


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (tox("sore foot", 2), "toxicities[0].term"),
        (tox("fatigue", 4), "toxicities[0].grade"),  # CTCAE v5.0 fatigue has grades 1-3
        (tox("platelet count decreased", 4, nonhematologic=True), "toxicities[0].nonhematologic"),
        (tox("rash", 2, lab={"variable": "anc_per_mm3", "value": 300}), "toxicities[0].lab"),
    ],
)
def test_an_event_the_engine_cannot_place_is_refused_naming_the_field(event, field):
    with pytest.raises(InputError) as err:
        decide_next_cycle(facts(toxicities=[event]), protocol=PROTOCOL)
    assert err.value.message.startswith(f"{field}: ")


def test_ctcae_terms_and_the_rules_names_both_place():
    rash = tox("Rash maculo-papular", 2)
    d = decide_next_cycle(facts(toxicities=[rash]), protocol=PROTOCOL)
    assert "rash_grade_2_3_first" in rule_ids(d)
    neuro = tox("Peripheral sensory neuropathy", 3, current_grade=1)
    d = decide_next_cycle(facts(toxicities=[neuro]), protocol=PROTOCOL)
    assert d.doses_mg["ixazomib"] == D(3)


def test_counts_are_refused_at_cycle_1_and_after_the_decision_date():
    with pytest.raises(InputError, match=r"^counts_since_last_decision: cycle 1"):
        decide_next_cycle(
            facts(
                cycle=1,
                counts_since_last_decision=[
                    {"variable": "anc_per_mm3", "value": 300, "date": "2027-01-01"}
                ],
            ),
            protocol=PROTOCOL,
        )
    with pytest.raises(InputError, match=r"^counts_since_last_decision\[0\]\.date: "):
        decide_next_cycle(
            facts(
                decision_date="2027-01-01",
                counts_since_last_decision=[
                    {"variable": "anc_per_mm3", "value": 300, "date": "2027-01-02"}
                ],
            ),
            protocol=PROTOCOL,
        )


def test_a_count_in_a_wrong_unit_is_refused_by_the_hard_range():
    # 600 x10^9/L written as 600,000/mm3: above the protocol's hard limit for ANC.
    with pytest.raises(
        InputError, match=r"^counts_since_last_decision\[0\]\.value: 600000 /mm3 is impossible"
    ):
        decide_next_cycle(
            facts(
                decision_date="2027-03-01",
                counts_since_last_decision=[
                    {"variable": "anc_per_mm3", "value": 600000, "date": "2027-02-02"}
                ],
            ),
            protocol=PROTOCOL,
        )


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"term": "platelet count decreased"}, "toxicities[0].grade"),  # no grade, no count
        ({"term": "platelet count decreased", "grade": 3}, "toxicities[0].lab"),
        ({"term": "neutrophil count decreased", "grade": 1.5}, "toxicities[0].grade"),
        ({"term": "tummy ache", "grade": 2}, "toxicities[0].term"),
    ],
)
def test_the_command_line_refuses_an_event_it_cannot_place_with_one_line(event, field):
    from typer.testing import CliRunner

    from mmtrial.cli import app

    payload = {
        "cycle": 2,
        "current_doses_mg": {"ixazomib": 4, "lenalidomide": 25, "dexamethasone": 40},
        "crcl_ml_min": 80,
        "anc_per_mm3": 2000,
        "platelets_per_mm3": 150000,
        "toxicities": [event],
    }
    import json

    result = CliRunner().invoke(app, ["dose", "next", "-"], input=json.dumps(payload))
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {field}: ")
