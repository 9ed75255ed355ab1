"""clinical.deviations: each rule of the protocol file, at the edges of its window, by hand.

irdj.yaml: a C2D1 visit has a -3/+3 day window; response assessments every 28 days with a
-7/+7 day window; the cycle-start labs (creatinine, ANC, platelets) within
renal.lab_window_days = 7 days before day 1; categories and importance in `deviations.rules`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from mmtrial.clinical.deviations import (
    CycleFacts,
    DoseFacts,
    LabFacts,
    ParticipantFacts,
    ScreeningFacts,
    VisitFacts,
    classify,
    find_deviations,
)
from mmtrial.protocol import load_protocol
from tests.clinical.test_eligibility import ANSWERS, ELIGIBLE

PROTOCOL = load_protocol()
D = dt.date
TODAY = D(2027, 6, 1)


def facts(**kwargs) -> ParticipantFacts:
    return ParticipantFacts(participant_id=7, enrolled=True, **kwargs)


def found(f: ParticipantFacts, today: dt.date = TODAY) -> list[tuple[str, str]]:
    return [(x.rule, x.record_key) for x in find_deviations(f, protocol=PROTOCOL, today=today)]


# C2D1 planned 2027-03-29, window -3/+3 -> 2027-03-26 .. 2027-04-01.
C2D1 = dict(id=11, code="C2D1", window_start=D(2027, 3, 26), window_end=D(2027, 4, 1))


@pytest.mark.parametrize(
    ("actual", "expected"),
    [
        (D(2027, 3, 26), []),  # first day of the window: inside
        (D(2027, 4, 1), []),  # last day: inside
        (D(2027, 3, 25), [("visit_out_of_window", "visit:11")]),  # 1 day early
        (D(2027, 4, 2), [("visit_out_of_window", "visit:11")]),  # 1 day late
        (None, []),  # not done yet: not a deviation of this rule
    ],
)
def test_visit_is_out_of_window_only_outside_its_inclusive_window(actual, expected):
    assert found(facts(visits=[VisitFacts(actual_date=actual, **C2D1)])) == expected


def test_visit_out_of_window_says_how_many_days_late_and_is_classed_from_the_protocol():
    [finding] = find_deviations(
        facts(visits=[VisitFacts(actual_date=D(2027, 4, 3), **C2D1)]),
        protocol=PROTOCOL,
        today=TODAY,
    )
    assert finding.params["days"] == 2 and finding.params["side"] == "late"
    assert "2027-04-03" in finding.description and "2027-03-26 to 2027-04-01" in finding.description
    assert (finding.category, finding.important) == ("Visit schedule", False)


# Planned 2027-04-26 (C1D1 2027-03-29 + 28), window 2027-04-19 .. 2027-05-03.
PLANNED = D(2027, 4, 26)


@pytest.mark.parametrize(
    ("assessed", "today", "missed"),
    [
        ([D(2027, 5, 3)], D(2027, 6, 1), False),  # on the window's last day: done
        ([D(2027, 4, 19)], D(2027, 6, 1), False),  # on its first day: done
        ([D(2027, 5, 4)], D(2027, 6, 1), True),  # the day after: missed
        ([D(2027, 4, 18)], D(2027, 6, 1), True),  # the day before: missed
        ([], D(2027, 5, 3), False),  # window still open today
        ([], D(2027, 5, 4), True),  # closed yesterday, none recorded
    ],
)
def test_response_assessment_is_missed_when_its_window_closed_without_one(assessed, today, missed):
    result = found(facts(planned_assessments=[PLANNED], assessments=assessed), today=today)
    expected = [("response_assessment_missed", "response_assessment_planned:7:2027-04-26")]
    assert result == (expected if missed else [])


def dose(**kw) -> DoseFacts:
    base = dict(
        id=5, drug="lenalidomide", cycle=2, day=3, date=D(2027, 4, 28), planned_mg=Decimal("25")
    )
    return DoseFacts(**{**base, **kw})


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (dose(taken_mg=Decimal("25"), status="taken"), []),
        (dose(taken_mg=Decimal("25.00"), status="taken"), []),
        (
            dose(taken_mg=Decimal("15"), status="reduced"),
            [("dose_not_as_decided", "doseadministration:5")],
        ),
        (dose(taken_mg=Decimal("15"), status="reduced", reason="vomiting"), []),
        (
            dose(taken_mg=Decimal("15"), status="reduced", reason="   "),
            [("dose_not_as_decided", "doseadministration:5")],
        ),
        (dose(taken_mg=None, status="held"), []),
        (
            dose(planned_mg=None, taken_mg=Decimal("10"), status="taken"),
            [("dose_not_as_decided", "doseadministration:5")],
        ),
    ],
)
def test_a_dose_given_other_than_decided_without_a_reason_is_a_deviation(given, expected):
    assert found(facts(doses=[given])) == expected


def test_the_dose_deviation_names_both_amounts():
    [finding] = find_deviations(
        facts(doses=[dose(taken_mg=Decimal("15"), status="reduced")]),
        protocol=PROTOCOL,
        today=TODAY,
    )
    assert finding.description == (
        "lenalidomide on cycle 2 day 3 was given at 15 mg while the dose decision planned 25 mg,"
        " and no reason was recorded."
    )
    assert finding.important is True


def cycle(status="started", anc_met=True, number=2, start=D(2027, 4, 26), cid=3) -> CycleFacts:
    return CycleFacts(
        id=cid,
        number=number,
        start_date=start,
        status=status,
        criteria=(
            ("anc", "Absolute neutrophil count >= 1,000/mm3", anc_met),
            ("platelets", "Platelet count >= 75,000/mm3", True),
        ),
    )


ALL_LABS = [LabFacts(a, D(2027, 4, 26)) for a in ("creatinine", "anc", "platelets")]


@pytest.mark.parametrize(
    ("c", "expected"),
    [
        (cycle(anc_met=True), []),
        (cycle(anc_met=False), [("cycle_start_criteria_not_met", "cycle:3")]),
        (cycle(anc_met=False, status="delayed"), []),  # delayed: the protocol was followed
        (cycle(anc_met=False, status="completed"), [("cycle_start_criteria_not_met", "cycle:3")]),
    ],
)
def test_a_cycle_started_while_a_start_criterion_was_not_met(c, expected):
    assert found(facts(cycles=[c], labs=ALL_LABS)) == expected


def test_the_unmet_criterion_is_named():
    [finding] = find_deviations(
        facts(cycles=[cycle(anc_met=False)], labs=ALL_LABS), protocol=PROTOCOL, today=TODAY
    )
    assert finding.params["criteria"] == "Absolute neutrophil count >= 1,000/mm3"


@pytest.mark.parametrize(
    ("collected", "missing"),
    [
        (D(2027, 4, 19), False),  # day 1 - 7: the window's first day
        (D(2027, 4, 26), False),  # day 1 itself
        (D(2027, 4, 18), True),  # day 1 - 8: too early
        (D(2027, 4, 27), True),  # after day 1
    ],
)
def test_a_required_lab_must_be_collected_in_the_week_before_day_1(collected, missing):
    labs = [LabFacts("creatinine", collected), *ALL_LABS[1:]]
    result = found(facts(cycles=[cycle()], labs=labs))
    assert result == ([("required_lab_missing", "cycle:3:creatinine")] if missing else [])


def test_each_required_lab_missing_is_its_own_finding():
    result = found(facts(cycles=[cycle()], labs=[]))
    assert result == [
        ("required_lab_missing", "cycle:3:creatinine"),
        ("required_lab_missing", "cycle:3:anc"),
        ("required_lab_missing", "cycle:3:platelets"),
    ]


def test_an_enrolled_participant_not_meeting_a_criterion_is_an_eligibility_deviation():
    ok = ScreeningFacts(id=9, values=ELIGIBLE, answers=ANSWERS)
    assert found(facts(screening=ok)) == []
    # INC-PRIOR-LINES-MAX: at most 3 prior lines (protocol.md section 2); 4 is off it.
    bad = ScreeningFacts(id=9, values={**ELIGIBLE, "prior_lines": 4}, answers=ANSWERS)
    [finding] = find_deviations(facts(screening=bad), protocol=PROTOCOL, today=TODAY)
    assert (finding.rule, finding.record_key) == ("ineligible_enrolled", "screening:9")
    assert "INC-PRIOR-LINES-MAX" in finding.description
    assert (finding.category, finding.important) == ("Eligibility", True)
    not_enrolled = ParticipantFacts(participant_id=7, enrolled=False, screening=bad)
    assert found(not_enrolled) == []


def test_the_same_fact_is_found_once():
    v = VisitFacts(actual_date=D(2027, 4, 2), **C2D1)
    assert found(facts(visits=[v, v])) == [("visit_out_of_window", "visit:11")]


def test_a_protocol_without_a_deviations_section_finds_nothing():
    bare = PROTOCOL.model_copy(update={"deviations": None})
    f = facts(visits=[VisitFacts(actual_date=D(2027, 4, 2), **C2D1)])
    assert find_deviations(f, protocol=bare, today=TODAY) == []
    assert classify("visit_out_of_window", protocol=bare) is None


def test_every_rule_and_the_unblinding_are_classed_in_both_protocol_files():
    from pathlib import Path

    import mmtrial
    from mmtrial.clinical.deviations import RULES
    from mmtrial.protocol import load_protocol_file

    folder = Path(mmtrial.__file__).parent / "protocols"
    for name in ("irdj.yaml", "tmm1.yaml"):
        protocol = load_protocol_file(folder / name)
        assert set(protocol.deviations.rules) == {*RULES, "unblinding"}, name


def test_each_finding_is_dated_on_the_record_that_shows_it():
    """The day SDTM DVSTDTC takes: the visit done, the planned assessment, the dose taken,
    the cycle's day 1."""
    f = facts(
        visits=[VisitFacts(actual_date=D(2027, 4, 2), **C2D1)],
        planned_assessments=[PLANNED],
        doses=[dose(taken_mg=Decimal("15"), status="reduced")],
        cycles=[cycle(anc_met=False)],
        labs=ALL_LABS,
    )
    days = {x.rule: x.day for x in find_deviations(f, protocol=PROTOCOL, today=TODAY)}
    assert days == {
        "visit_out_of_window": D(2027, 4, 2),
        "response_assessment_missed": PLANNED,
        "dose_not_as_decided": D(2027, 4, 28),
        "cycle_start_criteria_not_met": D(2027, 4, 26),
    }
