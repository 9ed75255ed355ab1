"""Within-cycle holds (clinical/dose_day.py).

Source: shared/protocol.md section 7, last paragraph [ours]: a day 8 or day 15 ixazomib dose (and
lenalidomide days) is held when platelets < 30,000/mm3 or ANC < 500/mm3 that day ([NIN] 2.4
table 2 thresholds); held doses are not made up. Ongoing toxicities hold their drugs until the
rule's resumption condition holds (e.g. neuropathy grade 2: ixazomib until grade <= 1).
"""

from __future__ import annotations

import pytest

from mmtrial.clinical.dosing import DayFacts, decide_day
from mmtrial.errors import InputError
from tests.clinical._dosing_helpers import FULL, PROTOCOL, tox


def day(d: int, **kw):
    return decide_day(DayFacts(cycle=2, day=d, doses_mg=FULL, **kw), protocol=PROTOCOL)


def actions(decision) -> dict[str, str]:
    return {drug: v.action for drug, v in decision.drugs.items()}


@pytest.mark.parametrize(("platelets", "held"), [(29999, True), (30000, False)])
def test_day_8_platelet_boundary(platelets, held):
    d = day(8, platelets_per_mm3=platelets, anc_per_mm3=2000)
    expected = "hold" if held else "give"
    assert actions(d) == {"ixazomib": expected, "lenalidomide": expected, "dexamethasone": "give"}
    assert ("platelets_below_30000" in d.triggered_rules) is held
    assert d.held_doses_made_up is False


@pytest.mark.parametrize(("anc", "held"), [(499, True), (500, False)])
def test_day_15_anc_boundary(anc, held):
    d = day(15, platelets_per_mm3=200000, anc_per_mm3=anc)
    assert actions(d)["ixazomib"] == ("hold" if held else "give")
    assert d.doses_mg["ixazomib"] == (None if held else FULL["ixazomib"])


def test_lenalidomide_days_between_visits_are_held_too():
    d = day(10, platelets_per_mm3=20000, anc_per_mm3=2000)
    assert actions(d) == {
        "ixazomib": "not_scheduled",
        "lenalidomide": "hold",
        "dexamethasone": "not_scheduled",
    }


def test_day_22_has_only_dexamethasone_and_it_is_not_held_for_counts():
    d = day(22, platelets_per_mm3=20000, anc_per_mm3=300)
    assert actions(d) == {
        "ixazomib": "not_scheduled",
        "lenalidomide": "not_scheduled",
        "dexamethasone": "give",
    }


def test_ongoing_neuropathy_grade_2_holds_ixazomib_only():
    d = day(
        8, platelets_per_mm3=200000, anc_per_mm3=2000, toxicities=[tox("peripheral_neuropathy", 2)]
    )
    assert actions(d) == {"ixazomib": "hold", "lenalidomide": "give", "dexamethasone": "give"}
    assert d.triggered_rules == ["neuropathy_g1_pain_or_g2"]


def test_recovered_neuropathy_does_not_hold():
    event = tox("peripheral_neuropathy", 2, current_grade=1)
    d = day(8, platelets_per_mm3=200000, anc_per_mm3=2000, toxicities=[event])
    assert actions(d)["ixazomib"] == "give"


def test_missing_counts_are_reported_not_guessed():
    d = day(8)
    assert actions(d)["ixazomib"] == "give"
    assert any("not given for day 8" in r.text for r in d.reasons)


def test_a_drug_not_given_this_cycle_stays_not_given():
    d = decide_day(
        DayFacts(cycle=2, day=8, doses_mg={**FULL, "ixazomib": None}, platelets_per_mm3=100000),
        protocol=PROTOCOL,
    )
    assert actions(d)["ixazomib"] == "not_given_this_cycle"


def test_day_outside_the_cycle_is_rejected():
    with pytest.raises(InputError, match=r"^day: 29"):
        day(29)
