"""Drug accountability, by hand computation (ICH E6(R3) investigational product accountability)."""

from decimal import Decimal

import pytest

from mmtrial.clinical.accountability import AccountabilityInput, account_for_cycle, units_per_dose
from mmtrial.protocol.loader import load_protocol


@pytest.fixture(scope="module")
def protocol():
    return load_protocol()


def lenalidomide(*, dispensed=21, returned=2, lost=0, taken=19, dose="25"):
    return AccountabilityInput(
        drug="lenalidomide",
        dispensed=dispensed,
        returned=returned,
        lost=lost,
        planned_dose_mg=Decimal(dose),
        taken_doses_mg=[Decimal(dose)] * taken,
    )


def test_lenalidomide_19_of_21_taken_with_2_returned_agrees(protocol):
    result = account_for_cycle(lenalidomide(), protocol=protocol)
    assert result.unit == "capsule"
    assert result.planned_doses == 21  # days 1-21
    assert result.units_per_dose == 1  # one 25 mg capsule
    assert result.expected_consumption == 19  # 21 - 2 - 0
    assert result.diary_units == 19
    assert result.adherence_pct == Decimal("90.5")  # 19 / 21 = 0.9047...
    assert result.count_adherence_pct == Decimal("90.5")
    assert result.mismatch is False
    assert result.mismatch_units == 0
    assert "count_matches" in [r.code for r in result.reasons]


def test_three_returned_with_19_in_the_diary_is_a_mismatch_of_one(protocol):
    result = account_for_cycle(lenalidomide(returned=3), protocol=protocol)
    assert result.expected_consumption == 18
    assert result.mismatch is True
    assert result.mismatch_units == -1  # one capsule fewer used than the diary says
    reason = next(r for r in result.reasons if r.code == "count_mismatch")
    assert reason.values["count_units"] == 18
    assert reason.values["diary_units"] == 19


def test_lost_capsules_are_not_consumption(protocol):
    result = account_for_cycle(lenalidomide(returned=1, lost=1), protocol=protocol)
    assert result.expected_consumption == 19
    assert result.mismatch is False


def test_dexamethasone_40_mg_is_ten_4_mg_tablets(protocol):
    facts = AccountabilityInput(
        drug="dexamethasone",
        dispensed=40,
        returned=0,
        planned_dose_mg=Decimal("40"),
        taken_doses_mg=[Decimal("40")] * 3 + [Decimal("20")],  # the last reduced to 20 mg
    )
    result = account_for_cycle(facts, protocol=protocol)
    assert result.unit == "tablet"
    assert result.planned_doses == 4  # days 1, 8, 15, 22
    assert result.units_per_dose == 10
    assert result.diary_units == 35  # 3 x 10 + 5
    assert result.expected_consumption == 40
    assert result.mismatch_units == 5
    assert result.mismatch is True
    assert result.adherence_pct == Decimal("100.0")  # 4 of 4 doses
    assert result.count_adherence_pct == Decimal("100.0")  # 40 / (10 x 4)


def test_ixazomib_planned_on_three_days(protocol):
    facts = AccountabilityInput(
        drug="ixazomib",
        dispensed=3,
        returned=1,
        planned_dose_mg=Decimal("4"),
        taken_doses_mg=[Decimal("4")] * 2,
    )
    result = account_for_cycle(facts, protocol=protocol)
    assert result.planned_doses == 3
    assert result.adherence_pct == Decimal("66.7")  # 2 / 3
    assert result.mismatch is False


def test_planned_days_from_the_cycle_decision(protocol):
    facts = AccountabilityInput(
        drug="lenalidomide",
        dispensed=11,
        planned_dose_mg=Decimal("15"),
        dose_days=list(range(1, 22, 2)),  # every 48 hours: days 1, 3, ..., 21
        taken_doses_mg=[Decimal("15")] * 11,
    )
    result = account_for_cycle(facts, protocol=protocol)
    assert result.planned_doses == 11
    assert result.adherence_pct == Decimal("100.0")


def test_units_per_dose_from_strengths():
    assert units_per_dose(dose_mg=Decimal("10"), strengths_mg=[Decimal(4), Decimal(2)]) == 3
    assert (
        units_per_dose(
            dose_mg=Decimal("2.3"), strengths_mg=[Decimal(4), Decimal(3), Decimal("2.3")]
        )
        == 1
    )
    assert units_per_dose(dose_mg=Decimal("5"), strengths_mg=[Decimal(4)]) is None


def test_tolerance_from_the_protocol_file(protocol):
    wide = protocol.model_copy(
        update={
            "accountability": protocol.accountability.model_copy(
                update={"mismatch_tolerance_units": Decimal(1)}
            )
        }
    )
    assert account_for_cycle(lenalidomide(returned=3), protocol=wide).mismatch is False
    assert account_for_cycle(lenalidomide(returned=4), protocol=wide).mismatch is True


def test_returned_more_than_dispensed_is_explained(protocol):
    result = account_for_cycle(lenalidomide(dispensed=2, returned=3, taken=0), protocol=protocol)
    assert result.reasons[0].code == "returned_exceeds_dispensed"
