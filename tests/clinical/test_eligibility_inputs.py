"""Eligibility inputs that cannot be right are refused; a sub-question that cannot apply does
not block (issue 10 item 5). Limits: the protocol file's value_ranges (ECOG 0-5 and CTCAE
grades 0-5 are integer scales by their definitions; prior lines are whole numbers; an adult's
age is at most 120 years [ours])."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mmtrial.cli import app
from mmtrial.clinical.eligibility import EligibilityInputError, evaluate
from tests.clinical.test_eligibility import ANSWERS, ELIGIBLE, PROTOCOL, criterion, evaluate_with

runner = CliRunner()


def test_grade_0_neuropathy_needs_no_answer_about_grade_1_with_pain():
    values = {k: v for k, v in ELIGIBLE.items() if k != "peripheral_neuropathy_grade_1_with_pain"}
    result = evaluate(values=values, answers=ANSWERS, protocol=PROTOCOL)
    assert criterion(result, "EXC-NEUROPATHY").status == "met"
    assert result.overall == "eligible"
    graded = evaluate(
        values={**values, "peripheral_neuropathy_grade": 1}, answers=ANSWERS, protocol=PROTOCOL
    )
    assert criterion(graded, "EXC-NEUROPATHY").status == "missing"  # now the question applies


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ecog": 2.5}, "values.ecog"),
        ({"ecog": 6}, "values.ecog"),
        ({"prior_lines": 2.5}, "values.prior_lines"),
        ({"age_years": 200}, "values.age_years"),
        ({"peripheral_neuropathy_grade": 1.5}, "values.peripheral_neuropathy_grade"),
        ({"anc_per_mm3": 2500.5}, "values.anc_per_mm3"),
        ({"platelets_per_mm3": 99999999}, "values.platelets_per_mm3"),
    ],
)
def test_impossible_values_are_refused_naming_the_field(changes, field):
    with pytest.raises(EligibilityInputError) as err:
        evaluate_with(changes)
    assert err.value.message.startswith(f"{field}: ")


def test_the_command_line_refuses_them_with_exit_2_and_one_line():
    payload = json.dumps({"values": {**ELIGIBLE, "ecog": 2.5}, "answers": ANSWERS})
    result = runner.invoke(app, ["eligibility", "check", "-"], input=payload)
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert "values.ecog: 2.5 is not a whole number" in line
