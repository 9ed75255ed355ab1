"""Eligibility: every criterion of protocol.md section 2 at its threshold (met at it, not_met just
off it, missing when absent), composites, free-text answers, overall decision, bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from mmtrial.cli import app
from mmtrial.clinical.eligibility import EligibilityInputError, evaluate, known_variables
from mmtrial.protocol import load_protocol

PROTOCOL = load_protocol()
runner = CliRunner()

# A candidate who meets every criterion comfortably (protocol.md section 2).
ELIGIBLE = {
    "age_years": 65,
    "confirmed_mm_diagnosis": True,
    "prior_lines": 2,
    "relapsed_or_refractory": True,
    "serum_m_protein_g_dl": 2.1,
    "urine_m_protein_mg_24h": 50,
    "involved_flc_mg_l_with_abnormal_ratio": 20,
    "ecog": 1,
    "anc_per_mm3": 2500,
    "platelets_per_mm3": 180000,
    "total_bilirubin_mg_dl": 0.8,
    "total_bilirubin_uln_mg_dl": 1.2,
    "alt_u_l": 30,
    "alt_uln_u_l": 40,
    "ast_u_l": 25,
    "ast_uln_u_l": 35,
    "crcl_ml_min": 75,
    "lenalidomide_refractory": False,
    "pi_refractory": False,
    "peripheral_neuropathy_grade": 0,
    "peripheral_neuropathy_grade_1_with_pain": False,
}
ANSWERS = {"EXC-RECENT-TREATMENT": False, "EXC-OTHER": False}

# (criterion, values at the threshold -> met, values just off it -> not_met), from protocol.md 2.
THRESHOLDS = [
    ("INC-AGE", {"age_years": 20}, {"age_years": 19.9}),
    ("INC-DIAGNOSIS", {"confirmed_mm_diagnosis": True}, {"confirmed_mm_diagnosis": False}),
    ("INC-PRIOR-LINES-MIN", {"prior_lines": 1}, {"prior_lines": 0}),
    ("INC-PRIOR-LINES-MAX", {"prior_lines": 3}, {"prior_lines": 4}),
    ("INC-RRMM", {"relapsed_or_refractory": True}, {"relapsed_or_refractory": False}),
    (
        "INC-MEASURABLE",
        {
            "serum_m_protein_g_dl": 1.0,
            "urine_m_protein_mg_24h": 0,
            "involved_flc_mg_l_with_abnormal_ratio": 0,
        },
        {
            "serum_m_protein_g_dl": 0.99,
            "urine_m_protein_mg_24h": 199,
            "involved_flc_mg_l_with_abnormal_ratio": 99.9,
        },
    ),
    (
        "INC-MEASURABLE",
        {
            "serum_m_protein_g_dl": 0,
            "urine_m_protein_mg_24h": 200,
            "involved_flc_mg_l_with_abnormal_ratio": 0,
        },
        {
            "serum_m_protein_g_dl": 0,
            "urine_m_protein_mg_24h": 199.9,
            "involved_flc_mg_l_with_abnormal_ratio": 0,
        },
    ),
    (
        "INC-MEASURABLE",
        {
            "serum_m_protein_g_dl": 0,
            "urine_m_protein_mg_24h": 0,
            "involved_flc_mg_l_with_abnormal_ratio": 100,
        },
        {
            "serum_m_protein_g_dl": 0,
            "urine_m_protein_mg_24h": 0,
            "involved_flc_mg_l_with_abnormal_ratio": 99.9,
        },
    ),
    ("INC-ECOG", {"ecog": 2}, {"ecog": 3}),
    ("INC-ANC", {"anc_per_mm3": 1000}, {"anc_per_mm3": 999}),
    ("INC-PLATELETS", {"platelets_per_mm3": 75000}, {"platelets_per_mm3": 74999}),
    (
        "INC-BILIRUBIN",
        {"total_bilirubin_mg_dl": 1.8, "total_bilirubin_uln_mg_dl": 1.2},
        {"total_bilirubin_mg_dl": 1.81, "total_bilirubin_uln_mg_dl": 1.2},
    ),
    ("INC-ALT", {"alt_u_l": 120, "alt_uln_u_l": 40}, {"alt_u_l": 120.1, "alt_uln_u_l": 40}),
    ("INC-AST", {"ast_u_l": 105, "ast_uln_u_l": 35}, {"ast_u_l": 105.1, "ast_uln_u_l": 35}),
    ("INC-CRCL", {"crcl_ml_min": 30}, {"crcl_ml_min": 29.9}),
    ("EXC-LEN-REFRACTORY", {"lenalidomide_refractory": False}, {"lenalidomide_refractory": True}),
    ("EXC-PI-REFRACTORY", {"pi_refractory": False}, {"pi_refractory": True}),
    ("EXC-NEUROPATHY", {"peripheral_neuropathy_grade": 1}, {"peripheral_neuropathy_grade": 2}),
    (
        "EXC-NEUROPATHY",
        {"peripheral_neuropathy_grade": 1, "peripheral_neuropathy_grade_1_with_pain": False},
        {"peripheral_neuropathy_grade": 1, "peripheral_neuropathy_grade_1_with_pain": True},
    ),
]


def criterion(result, criterion_id):
    [found] = [c for c in result.criteria if c.id == criterion_id]
    return found


def evaluate_with(changes: dict, answers=ANSWERS):
    return evaluate(values={**ELIGIBLE, **changes}, answers=answers, protocol=PROTOCOL)


def test_a_candidate_meeting_every_criterion_is_eligible():
    result = evaluate_with({})
    assert result.eligible is True and result.overall == "eligible"
    assert [c.status for c in result.criteria] == ["met"] * len(PROTOCOL.eligibility)


def test_every_criterion_of_the_protocol_file_is_covered_by_the_threshold_table():
    checked = {cid for cid, _, _ in THRESHOLDS}
    free = {c.id for c in PROTOCOL.eligibility if c.free_text}
    assert checked | free == {c.id for c in PROTOCOL.eligibility}


@pytest.mark.parametrize(("criterion_id", "at", "off"), THRESHOLDS)
def test_criterion_is_met_at_its_threshold_and_not_met_just_off_it(criterion_id, at, off):
    met = evaluate_with(at)
    assert criterion(met, criterion_id).status == "met"
    assert met.eligible is True
    not_met = evaluate_with(off)
    assert criterion(not_met, criterion_id).status == "not_met"
    assert not_met.eligible is False and not_met.overall == "not_eligible"
    assert not_met.not_met == [criterion_id]


@pytest.mark.parametrize("criterion_id", sorted({cid for cid, _, _ in THRESHOLDS}))
def test_criterion_is_missing_when_its_values_are_absent(criterion_id):
    [crit] = [c for c in PROTOCOL.eligibility if c.id == criterion_id]
    checks = [crit.check] if crit.check else (crit.any_of or crit.all_of)
    names = {c.variable for c in checks}
    values = {k: v for k, v in ELIGIBLE.items() if k not in names}
    result = evaluate(values=values, answers=ANSWERS, protocol=PROTOCOL)
    assert criterion(result, criterion_id).status == "missing"
    assert result.eligible is False and result.overall == "incomplete"
    assert criterion_id in result.missing


def test_null_counts_as_missing():
    result = evaluate_with({"anc_per_mm3": None})
    assert criterion(result, "INC-ANC").status == "missing"


def test_times_uln_check_is_missing_without_the_uln_and_reports_value_threshold_and_limit():
    result = evaluate_with({"total_bilirubin_uln_mg_dl": None})
    assert criterion(result, "INC-BILIRUBIN").status == "missing"
    assert "total_bilirubin_uln_mg_dl" in criterion(result, "INC-BILIRUBIN").reason
    check = criterion(evaluate_with({"total_bilirubin_mg_dl": 1.9}), "INC-BILIRUBIN").checks[0]
    assert (check.value, check.threshold, check.uln, check.limit) == (1.9, 1.5, 1.2, 1.8)
    assert check.unit == "x ULN" and check.uln_variable == "total_bilirubin_uln_mg_dl"


def test_single_check_result_carries_value_threshold_unit_and_reason():
    crit = criterion(evaluate_with({"platelets_per_mm3": 74999}), "INC-PLATELETS")
    assert (crit.value, crit.threshold, crit.unit) == (74999, 75000, "/mm3")
    assert "74999" in crit.reason and "75000" in crit.reason and "not met" in crit.reason
    assert crit.source


def test_measurable_disease_is_missing_when_no_route_is_met_and_one_is_unknown():
    result = evaluate_with(
        {
            "serum_m_protein_g_dl": 0.5,
            "urine_m_protein_mg_24h": None,
            "involved_flc_mg_l_with_abnormal_ratio": 10,
        }
    )
    assert criterion(result, "INC-MEASURABLE").status == "missing"
    result = evaluate_with({"serum_m_protein_g_dl": 1.5, "urine_m_protein_mg_24h": None})
    assert criterion(result, "INC-MEASURABLE").status == "met"


def test_neuropathy_all_of_is_not_met_on_one_failing_check_even_with_the_other_missing():
    result = evaluate_with(
        {"peripheral_neuropathy_grade": 3, "peripheral_neuropathy_grade_1_with_pain": None}
    )
    assert criterion(result, "EXC-NEUROPATHY").status == "not_met"
    result = evaluate_with(
        {"peripheral_neuropathy_grade": 1, "peripheral_neuropathy_grade_1_with_pain": None}
    )
    assert criterion(result, "EXC-NEUROPATHY").status == "missing"


def test_exclusion_reason_says_whether_the_exclusion_applies():
    crit = criterion(evaluate_with({"pi_refractory": True}), "EXC-PI-REFRACTORY")
    assert crit.status == "not_met" and "exclusion applies" in crit.reason


@pytest.mark.parametrize("criterion_id", ["EXC-RECENT-TREATMENT", "EXC-OTHER"])
def test_free_text_exclusion_answer_true_means_the_exclusion_applies(criterion_id):
    excluded = evaluate_with({}, answers={**ANSWERS, criterion_id: True})
    assert criterion(excluded, criterion_id).status == "not_met"
    assert excluded.overall == "not_eligible"
    assert criterion(evaluate_with({}), criterion_id).status == "met"
    unanswered = evaluate_with({}, answers={k: v for k, v in ANSWERS.items() if k != criterion_id})
    assert criterion(unanswered, criterion_id).status == "missing"
    assert criterion(unanswered, criterion_id).answer is None
    assert unanswered.overall == "incomplete"


@pytest.mark.parametrize(
    ("values", "answers", "field"),
    [
        ({"agee_years": 30}, {}, "values.agee_years: unknown variable"),
        ({"age_years": "30"}, {}, "values.age_years"),
        ({"age_years": True}, {}, "values.age_years"),
        ({"pi_refractory": 0}, {}, "values.pi_refractory"),
        ({"anc_per_mm3": -5}, {}, "values.anc_per_mm3"),
        ({"alt_u_l": 30, "alt_uln_u_l": 0}, {}, "values.alt_uln_u_l"),
        ({}, {"EXC-NOPE": True}, "answers.EXC-NOPE: unknown criterion"),
        ({}, {"INC-AGE": True}, "answers.INC-AGE"),
        ({}, {"EXC-OTHER": "yes"}, "answers.EXC-OTHER"),
    ],
)
def test_bad_input_names_the_field(values, answers, field):
    with pytest.raises(EligibilityInputError) as caught:
        evaluate(values=values, answers=answers, protocol=PROTOCOL)
    assert field in str(caught.value)


def test_known_variables_include_the_uln_variables():
    kinds = known_variables(PROTOCOL)
    assert kinds["alt_uln_u_l"] == "number" and kinds["pi_refractory"] == "bool"


# --- CLI ------------------------------------------------------------------------------------------


def test_cli_check_prints_the_result_as_json():
    payload = json.dumps({"values": ELIGIBLE, "answers": ANSWERS})
    result = runner.invoke(app, ["eligibility", "check", "-"], input=payload)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["eligible"] is True and data["overall"] == "eligible"
    assert data["criteria"][0]["id"] == "INC-AGE" and data["criteria"][0]["value"] == 65


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"values": {"weight": 60}}, "values.weight"),
        ({"values": {"ecog": "one"}}, "values.ecog"),
        ({"valuez": {}}, "valuez"),
        ({"values": [1, 2]}, "values"),
        ([], "input"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line_naming_the_field(payload, field):
    result = runner.invoke(app, ["eligibility", "check", "-"], input=json.dumps(payload))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0]


def test_cli_subprocess_unknown_variable_exit_2_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "mmtrial", "eligibility", "check", "-"],
        input=json.dumps({"values": {"hemoglobin": 9}}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "values.hemoglobin" in proc.stderr
