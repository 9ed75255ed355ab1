"""derive_adsl / derive_adrs / derive_adtte: SAP section 11 rules, case by case."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from mmtrial.analysis.adam_io import check_adrs, check_adsl, check_adtte
from mmtrial.analysis.derive import derive_adlb, derive_adrs, derive_adsl, derive_adtte, study_day
from mmtrial.analysis.summary import efficacy_summary
from mmtrial.errors import InputError

C1D1 = date(2027, 1, 4)


def imwg(
    assessments, *, best="PR", best_date=None, response=None, progression=None, followed=("serum",)
):
    return {
        "criteria": "IMWG 2016",
        "followed": list(followed),
        "assessments": [
            {"date": d, "response": r, "confirmed": False, "reasons": []} for d, r in assessments
        ],
        "best_overall_response": best,
        "best_overall_response_date": best_date,
        "response_date": response,
        "progression_date": progression,
    }


def participant(usubjid, **values):
    row = {
        "usubjid": usubjid,
        "first_dose_date": C1D1,
        "last_dose_date": None,
        "death_date": None,
        "death_due_to_pd": None,
        "last_known_alive_date": None,
        "new_therapy_date": None,
    }
    row.update(values)
    return row


RESPONDER_WITH_PD = imwg(
    [("2027-02-01", "PR"), ("2027-03-01", "PR"), ("2027-04-01", "PD"), ("2027-05-01", "PD")],
    best="PR",
    best_date="2027-02-01",
    response="2027-02-01",
    progression="2027-04-01",
)


def tte(frame, usubjid, paramcd):
    rows = frame[(frame["USUBJID"] == usubjid) & (frame["PARAMCD"] == paramcd)]
    assert len(rows) <= 1
    return None if rows.empty else rows.iloc[0]


def test_study_day_has_no_day_zero():
    assert study_day(C1D1, start=C1D1) == 1
    assert study_day(date(2027, 1, 3), start=C1D1) == -1
    assert study_day(date(2027, 2, 1), start=C1D1) == 29


def test_adsl_flags():
    participants = pd.DataFrame(
        [
            participant("A"),
            participant("B", first_dose_date=None),
            participant("C"),
            participant("D", measurable_disease=False),
        ]
    )
    responses = {"A": RESPONDER_WITH_PD, "C": imwg([], best="NE"), "D": RESPONDER_WITH_PD}
    adsl = derive_adsl(participants, responses=responses).set_index("USUBJID")
    assert adsl.loc["A", ["SAFFL", "EFFFL"]].tolist() == ["Y", "Y"]
    assert adsl.loc["B", ["SAFFL", "EFFFL"]].tolist() == ["N", "N"]  # never dosed
    assert adsl.loc["C", "EFFFL"] == "N"  # no post-baseline assessment
    assert adsl.loc["D", "EFFFL"] == "N"  # no measurable disease


def test_pfs_event_at_confirmed_progression_and_dor_from_response():
    adtte = derive_adtte(pd.DataFrame([participant("A")]), responses={"A": RESPONDER_WITH_PD})
    pfs = tte(adtte, "A", "PFS")
    assert (pfs["ADT"], pfs["CNSR"], pfs["AVAL"]) == (date(2027, 4, 1), 0, 88)
    dor = tte(adtte, "A", "DOR")
    assert (dor["STARTDT"], dor["ADT"], dor["CNSR"]) == (date(2027, 2, 1), date(2027, 4, 1), 0)
    assert dor["AVAL"] == 60
    ttr = tte(adtte, "A", "TTR")
    assert (ttr["AVAL"], ttr["CNSR"]) == (29, 0)


def test_death_without_pd_is_a_pfs_event_but_censors_ttp():
    result = imwg([("2027-02-01", "SD"), ("2027-03-01", "SD")], best="SD")
    adtte = derive_adtte(
        pd.DataFrame([participant("A", death_date=date(2027, 3, 20))]), responses={"A": result}
    )
    assert tte(adtte, "A", "PFS")[["ADT", "CNSR", "EVNTDESC"]].tolist() == [
        date(2027, 3, 20),
        0,
        "DEATH",
    ]
    ttp = tte(adtte, "A", "TTP")
    assert (ttp["ADT"], ttp["CNSR"]) == (date(2027, 3, 1), 1)
    os_ = tte(adtte, "A", "OS")
    assert (os_["ADT"], os_["CNSR"]) == (date(2027, 3, 20), 0)
    assert tte(adtte, "A", "DOR") is None and tte(adtte, "A", "TTR") is None


def test_new_therapy_censors_at_last_adequate_assessment_before_it():
    result = imwg(
        [
            ("2027-02-01", "PR"),
            ("2027-03-01", "PR"),
            ("2027-04-01", "NE"),
            ("2027-06-01", "PD"),
            ("2027-07-01", "PD"),
        ],
        response="2027-02-01",
        progression="2027-06-01",
    )
    row = participant("A", new_therapy_date=date(2027, 5, 1))
    adtte = derive_adtte(pd.DataFrame([row]), responses={"A": result})
    pfs = tte(adtte, "A", "PFS")
    # the NE assessment of 1 April is not adequate: censored at 1 March
    assert (pfs["ADT"], pfs["CNSR"]) == (date(2027, 3, 1), 1)
    assert "new therapy" in pfs["EVNTDESC"]


def test_alive_without_pd_censored_at_last_adequate_assessment():
    result = imwg(
        [("2027-02-01", "PR"), ("2027-03-01", "PR"), ("2027-04-01", "NE")], response="2027-02-01"
    )
    row = participant("A", last_known_alive_date=date(2027, 8, 1))
    adtte = derive_adtte(pd.DataFrame([row]), responses={"A": result})
    assert tte(adtte, "A", "PFS")[["ADT", "CNSR"]].tolist() == [date(2027, 3, 1), 1]
    assert tte(adtte, "A", "OS")[["ADT", "CNSR"]].tolist() == [date(2027, 8, 1), 1]


def test_death_not_due_to_pd_censors_dor():
    result = imwg(
        [("2027-02-01", "VGPR"), ("2027-03-01", "VGPR")], best="VGPR", response="2027-02-01"
    )
    rows = [
        participant("A", death_date=date(2027, 3, 15), death_due_to_pd=False),
        participant("B", death_date=date(2027, 3, 15), death_due_to_pd=True),
    ]
    adtte = derive_adtte(pd.DataFrame(rows), responses={"A": result, "B": result})
    assert tte(adtte, "A", "DOR")["CNSR"] == 1
    assert tte(adtte, "B", "DOR")["CNSR"] == 0


def test_derived_datasets_pass_the_contract_checks_and_summarise():
    participants = pd.DataFrame([participant("A"), participant("B", first_dose_date=None)])
    responses = {"A": RESPONDER_WITH_PD}
    adsl = check_adsl(derive_adsl(participants, responses=responses))
    adrs = check_adrs(derive_adrs(participants, responses=responses))
    adtte = check_adtte(derive_adtte(participants, responses=responses))
    summary = efficacy_summary(adsl, adrs=adrs, adtte=adtte)
    assert summary["populations"] == {"enrolled": 2, "safety": 1, "response_evaluable": 1}
    assert summary["orr"]["responders"] == 1
    assert set(summary["time_to_event"]) == {"PFS", "OS", "TTP", "DOR", "TTR"}


def test_works_with_the_imwg_engine_result():
    from mmtrial.clinical.imwg import assess

    data = {
        "baseline": {"date": "2027-01-04", "serum_m_protein_g_dl": 2.4},
        "assessments": [
            {"date": "2027-02-01", "serum_m_protein_g_dl": 1.0},
            {"date": "2027-03-01", "serum_m_protein_g_dl": 0.9},
            {"date": "2027-04-01", "serum_m_protein_g_dl": 1.6},
            {"date": "2027-05-01", "serum_m_protein_g_dl": 1.8},
        ],
    }
    result = assess(data)
    participants = pd.DataFrame([participant("A")])
    adrs = derive_adrs(participants, responses={"A": result})
    assert adrs.loc[adrs["PARAMCD"] == "CBOR", "AVALC"].item() == result.best_overall_response
    adtte = derive_adtte(participants, responses={"A": result})
    assert tte(adtte, "A", "PFS")["CNSR"] == (0 if result.progression_date else 1)


def test_missing_required_column_is_named():
    with pytest.raises(InputError, match="first_dose_date"):
        derive_adsl(pd.DataFrame([{"usubjid": "A"}]), responses={})


def test_adlb_from_imwg_inputs_feeds_the_mprotein_plots():
    from mmtrial.analysis.profiles import derive_best_change, derive_mprotein_change

    data = {
        "baseline": {
            "date": "2027-01-02",
            "serum_m_protein_g_dl": 2.0,
            "urine_m_protein_mg_24h": None,
        },
        "assessments": [
            {"date": "2027-02-01", "serum_m_protein_g_dl": 1.0},
            {"date": "2027-03-01", "serum_m_protein_g_dl": 0.5},
        ],
    }
    participants = pd.DataFrame([participant("A")])
    adlb = derive_adlb(participants, imwg_inputs={"A": data})
    assert adlb["PARAMCD"].tolist() == ["SMPROT"] * 3
    assert adlb["ABLFL"].tolist() == ["Y", "", ""]
    assert adlb["ADY"].tolist() == [-2, 29, 57]
    change = derive_mprotein_change(adlb)
    assert change["PCHG"].tolist() == [-50.0, -75.0]
    adrs = derive_adrs(participants, responses={"A": RESPONDER_WITH_PD})
    assert derive_best_change(change, adrs=adrs)[["best_pchg", "BOR"]].values.tolist() == [
        [-75.0, "PR"]
    ]
