"""Every assessment's reasons name the values compared, the reference (baseline or nadir) and the
threshold, in words a coordinator reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings

from mmtrial.clinical import imwg
from mmtrial.clinical.imwg_criteria import format_number
from tests.clinical.test_imwg_properties import histories

CASES = sorted((Path(__file__).parent / "imwg_cases").glob("*.json"))

# Where the compared numbers sit in each finding (after its code), and the reference word.
NUMBERS = {
    "pd_serum": ((0, 1), "nadir"),
    "pd_urine": ((0, 1), "nadir"),
    "pd_dflc": ((0, 1), "nadir"),
    "pd_bone_marrow": ((0, 1), "nadir"),
    "pd_plasmacytoma": ((0, 1), "nadir"),
    "serum": ((0, 1), "baseline"),
    "urine": ((0, 1), "baseline"),
    "dflc": ((0, 1), "baseline"),
    "bone_marrow": ((0, 1), "baseline"),
    "plasmacytoma": ((0, 1), "baseline"),
    "cr_bone_marrow": ((0,), None),
    "cr_plasmacytoma": ((0, 1), "baseline"),
    "flc_ratio": ((0, 1), None),
    "urine_any": ((0,), None),
}


def _check_reasons(result: imwg.ImwgResult) -> None:
    for assessment in result.assessments:
        reasons = assessment.reasons
        assert reasons, assessment
        assert len(reasons) >= len(assessment.findings)
        for (code, *values), sentence in zip(assessment.findings, reasons, strict=False):
            if code not in NUMBERS:
                continue
            positions, reference = NUMBERS[code]
            for position in positions:
                value = values[position]
                if value is not None:
                    assert format_number(value) in sentence, (code, value, sentence)
            if reference:
                assert reference in sentence, sentence
            if code != "flc_ratio" and code != "cr_plasmacytoma":
                assert "needs" in sentence or "VGPR" in sentence, sentence


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_reasons_of_every_case_name_the_numbers_compared(path):
    _check_reasons(imwg.assess(json.loads(path.read_text())["input"]))


@settings(max_examples=150, deadline=None)
@given(history=histories())
def test_reasons_of_any_history_name_the_numbers_compared(history):
    _check_reasons(imwg.assess(history))


def _one(baseline: dict, *visits: dict) -> imwg.ImwgResult:
    dates = ["2027-02-01", "2027-03-01", "2027-03-29"]
    return imwg.assess(
        {
            "baseline": {"date": "2027-01-04", **baseline},
            "assessments": [{"date": d, **v} for d, v in zip(dates, visits, strict=False)],
        }
    )


def test_the_contract_example_reason():
    result = _one(
        {"serum_m_protein_g_dl": 2.4, "urine_m_protein_mg_24h": 350},
        {"serum_m_protein_g_dl": 1.1, "urine_m_protein_mg_24h": 150},
    )
    reasons = result.assessments[0].reasons
    assert reasons[0] == "serum M-protein 1.1 g/dL is 54% below baseline 2.4 g/dL (PR needs >= 50%)"
    assert "urine M-protein 150 mg/24h" in reasons[1]
    assert "< 200 mg/24h" in reasons[1]


def test_a_pd_reason_names_value_nadir_rise_and_both_thresholds():
    result = _one(
        {"serum_m_protein_g_dl": 2.0}, {"serum_m_protein_g_dl": 0.2}, {"serum_m_protein_g_dl": 0.7}
    )
    assert result.assessments[1].reasons[0] == (
        "serum M-protein 0.7 g/dL is 0.5 g/dL above nadir 0.2 g/dL "
        "(PD needs >= 25% and >= 0.5 g/dL)"
    )


def test_the_high_nadir_pd_reason_quotes_1_g_dl():
    result = _one(
        {"serum_m_protein_g_dl": 6.0}, {"serum_m_protein_g_dl": 5.0}, {"serum_m_protein_g_dl": 6.3}
    )
    assert ">= 1 g/dL because the nadir is >= 5 g/dL" in result.assessments[1].reasons[0]


def test_a_carried_value_says_where_it_comes_from():
    result = _one({"bone_marrow_plasma_cells_pct": 40}, {"bone_marrow_plasma_cells_pct": 20}, {})
    assert "carried forward from 2027-02-01" in result.assessments[1].reasons[0]


def test_ne_names_the_parameter_not_measured_and_confirmation_names_the_next_assessment():
    result = _one(
        {"serum_m_protein_g_dl": 2.0},
        {"serum_m_protein_g_dl": 0.9},
        {},
        {"serum_m_protein_g_dl": 0.9},
    )
    assert "serum M-protein (followed) not measured" in result.assessments[1].reasons[0]
    assert result.assessments[0].reasons[-1] == (
        "confirmed: the next evaluable assessment (2027-03-29) is PR"
    )
    assert result.assessments[2].reasons[-1] == "not confirmed: no later evaluable assessment"


def test_sd_quotes_the_threshold_it_missed():
    result = _one({"serum_m_protein_g_dl": 2.0}, {"serum_m_protein_g_dl": 1.6})
    assert result.assessments[0].reasons[0] == (
        "serum M-protein 1.6 g/dL is 20% below baseline 2 g/dL (MR needs >= 25%)"
    )


def test_a_percentage_just_under_a_threshold_is_not_rounded_up_to_it():
    result = _one({"serum_m_protein_g_dl": 2.0}, {"serum_m_protein_g_dl": 1.0001})
    assert "is 49% below" in result.assessments[0].reasons[0]
