"""Input validation of `mmtrial imwg assess` (contracts/imwg.md): exit 2, one line naming the
field, never a traceback; missing keys read as null."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from mmtrial.cli import app
from mmtrial.clinical import imwg
from mmtrial.errors import InputError


def _input(**overrides) -> dict:
    data = {
        "baseline": {"date": "2027-01-04", "serum_m_protein_g_dl": 2.4},
        "assessments": [
            {"date": "2027-02-01", "serum_m_protein_g_dl": 1.1},
            {"date": "2027-03-01", "serum_m_protein_g_dl": 1.0},
        ],
    }
    data.update(overrides)
    return data


def _with_visit(index: int, **fields) -> dict:
    data = _input()
    data["assessments"][index].update(fields)
    return data


def _with_baseline(**fields) -> dict:
    data = _input()
    data["baseline"].update(fields)
    return data


def invoke(text: str):
    return CliRunner().invoke(app, ["imwg", "assess", "-"], input=text)


BAD_INPUTS = {
    "invalid JSON": ("{not json", "invalid JSON"),
    "truncated JSON": ('{"baseline": {', "invalid JSON"),
    "top level not an object": ("[1, 2]", "input"),
    "unknown top-level field": (json.dumps(_input(extra=1)), "extra"),
    "unknown baseline field": (json.dumps(_with_baseline(serum_ife="negative")), "serum_ife"),
    "unknown assessment field": (json.dumps(_with_visit(0, serum_mprotein=1)), "serum_mprotein"),
    "missing baseline": (json.dumps({"assessments": []}), "baseline"),
    "baseline not an object": (json.dumps(_input(baseline=[1])), "baseline"),
    "assessments not a list": (json.dumps(_input(assessments={})), "assessments"),
    "assessment not an object": (json.dumps(_input(assessments=[1])), "assessments[0]"),
    "number as string": (
        json.dumps(_with_visit(0, serum_m_protein_g_dl="1.1")),
        "assessments[0].serum_m_protein_g_dl",
    ),
    "number as boolean": (
        json.dumps(_with_visit(1, urine_m_protein_mg_24h=True)),
        "assessments[1].urine_m_protein_mg_24h",
    ),
    "NaN": ('{"baseline": {"date": "2027-01-04", "kappa_flc_mg_l": NaN}}', "kappa_flc_mg_l"),
    "negative value": (
        json.dumps(_with_visit(0, lambda_flc_mg_l=-1)),
        "assessments[0].lambda_flc_mg_l",
    ),
    "negative baseline": (
        json.dumps(_with_baseline(serum_m_protein_g_dl=-0.1)),
        "baseline.serum_m_protein_g_dl",
    ),
    "bad IFE": (json.dumps(_with_visit(0, serum_ife="neg")), "assessments[0].serum_ife"),
    "IFE wrong type": (json.dumps(_with_visit(0, urine_ife=0)), "assessments[0].urine_ife"),
    "bad clonal cells": (
        json.dumps(_with_visit(0, bone_marrow_clonal_cells="yes")),
        "assessments[0].bone_marrow_clonal_cells",
    ),
    "new_lesion as string": (
        json.dumps(_with_visit(0, new_lesion="no")),
        "assessments[0].new_lesion",
    ),
    "new_lesion as number": (json.dumps(_with_visit(0, new_lesion=0)), "assessments[0].new_lesion"),
    "unsorted dates": (json.dumps(_with_visit(1, date="2027-01-20")), "assessments[1].date"),
    "duplicate dates": (json.dumps(_with_visit(1, date="2027-02-01")), "assessments[1].date"),
    "assessment on the baseline date": (
        json.dumps(_with_visit(0, date="2027-01-04")),
        "assessments[0].date",
    ),
    "assessment before baseline": (
        json.dumps(_with_visit(0, date="2026-12-01")),
        "assessments[0].date",
    ),
    "date with slashes": (json.dumps(_with_visit(0, date="2027/02/01")), "assessments[0].date"),
    "day-first date": (json.dumps(_with_visit(0, date="01-02-2027")), "assessments[0].date"),
    "impossible date": (json.dumps(_with_visit(0, date="2027-02-30")), "assessments[0].date"),
    "date with time": (
        json.dumps(_with_visit(0, date="2027-02-01T10:00:00")),
        "assessments[0].date",
    ),
    "date as number": (json.dumps(_with_baseline(date=20270104)), "baseline.date"),
    "missing assessment date": (json.dumps(_input(assessments=[{}])), "assessments[0].date"),
    "missing baseline date": (json.dumps({"baseline": {}}), "baseline.date"),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_exits_2_with_one_line_naming_the_field(name):
    text, field = BAD_INPUTS[name]
    result = invoke(text)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert field in lines[0]
    assert "Traceback" not in result.output


def test_bad_input_in_a_real_process_is_one_line_without_traceback():
    completed = subprocess.run(
        [sys.executable, "-m", "mmtrial", "imwg", "assess", "-"],
        input=json.dumps(_with_visit(1, date="2027-02-01")),
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert len(completed.stderr.strip().splitlines()) == 1
    assert "Traceback" not in completed.stderr


def test_a_missing_file_exits_2():
    result = CliRunner().invoke(app, ["imwg", "assess", "/nonexistent/imwg.json"])
    assert result.exit_code == 2
    assert "no such file" in result.stderr


def test_missing_keys_read_as_null_and_new_lesion_as_false():
    result = invoke(
        json.dumps(
            {
                "baseline": {"date": "2027-01-04", "serum_m_protein_g_dl": 2.0},
                "assessments": [{"date": "2027-02-01"}, {"date": "2027-03-01", "new_lesion": None}],
            }
        )
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [a["response"] for a in out["assessments"]] == ["NE", "NE"]


def test_output_has_exactly_the_contract_keys():
    out = json.loads(invoke(json.dumps(_input())).stdout)
    assert list(out) == [
        "criteria",
        "followed",
        "assessments",
        "best_overall_response",
        "best_overall_response_date",
        "response_date",
        "progression_date",
    ]
    assert list(out["assessments"][0]) == ["date", "response", "confirmed", "reasons"]
    assert out["criteria"] == "IMWG 2016"


def test_parse_input_raises_input_error_with_one_line():
    with pytest.raises(InputError) as caught:
        imwg.parse_input(_with_visit(0, serum_m_protein_g_dl=-2))
    assert "\n" not in caught.value.message
    assert "assessments[0].serum_m_protein_g_dl" in caught.value.message


def test_decimals_integers_and_floats_give_the_same_result():
    as_float = imwg.assess(_with_visit(0, serum_m_protein_g_dl=0.24)).to_dict()
    as_decimal = imwg.assess(_with_visit(0, serum_m_protein_g_dl=Decimal("0.24"))).to_dict()
    assert as_float == as_decimal
    whole = imwg.assess(_with_baseline(serum_m_protein_g_dl=2)).to_dict()
    assert whole == imwg.assess(_with_baseline(serum_m_protein_g_dl=2.0)).to_dict()


def test_an_imwg_input_built_in_python_is_accepted_and_its_dates_checked():
    from datetime import date

    built = imwg.ImwgInput(
        baseline=imwg.Baseline(date=date(2027, 1, 4), serum_m_protein_g_dl=2.0),
        assessments=(imwg.Assessment(date=date(2027, 2, 1), serum_m_protein_g_dl=0.9),),
    )
    assert imwg.assess(built).assessments[0].response == "PR"
    backwards = built._replace(
        assessments=(imwg.Assessment(date=date(2027, 1, 1), serum_m_protein_g_dl=0.9),)
    )
    with pytest.raises(InputError):
        imwg.assess(backwards)
