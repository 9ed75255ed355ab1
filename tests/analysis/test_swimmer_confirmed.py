"""Swimmer markers show confirmed responses and progression only (IMWG 2016: confirmation)."""

import datetime as dt

import pandas as pd

from mmtrial.analysis.derive import derive_adrs, derive_adsl
from mmtrial.analysis.profiles import derive_swimmer
from mmtrial.clinical import imwg


def _participant(usubjid: str, serum_values: list[float]) -> tuple[pd.DataFrame, dict]:
    start = dt.date(2027, 1, 4)
    data = {
        "baseline": {"date": "2027-01-03", "serum_m_protein_g_dl": 2.0},
        "assessments": [
            {
                "date": (start + dt.timedelta(days=28 * (k + 1))).isoformat(),
                "serum_m_protein_g_dl": v,
            }
            for k, v in enumerate(serum_values)
        ],
    }
    frame = pd.DataFrame(
        [
            {
                "usubjid": usubjid,
                "first_dose_date": start,
                "last_dose_date": start + dt.timedelta(days=140),
            }
        ]
    )
    return frame, {usubjid: imwg.assess(data)}


def test_an_unconfirmed_partial_response_is_not_a_swimmer_response_marker():
    # 0.9 is PR (55% below 2.0) but the next assessment, 1.6 (20% below), is SD: unconfirmed.
    participants, responses = _participant("S-1", [0.9, 1.6, 1.7])
    swimmer = derive_swimmer(
        derive_adsl(participants, responses=responses),
        adrs=derive_adrs(participants, responses=responses),
    )
    assert pd.isna(swimmer.loc[0, "first_response_day"])


def test_a_confirmed_partial_response_marks_its_first_assessment():
    participants, responses = _participant("S-2", [1.2, 0.9, 0.9])
    swimmer = derive_swimmer(
        derive_adsl(participants, responses=responses),
        adrs=derive_adrs(participants, responses=responses),
    )
    # 1.2 is 40% below: MR; 0.9 is PR confirmed by the next 0.9: first marker at day 57.
    assert swimmer.loc[0, "first_response_day"] == 57
