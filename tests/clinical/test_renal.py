"""Cockcroft-Gault creatinine clearance (clinical/renal.py) and `mmtrial crcl`.

Source: Cockcroft DW, Gault MH. Nephron 1976;16:31-41: CrCl = (140 - age) x weight /
(72 x serum creatinine mg/dL), x 0.85 for women; shared/protocol.md section 4 (actual body
weight [ours]); plausibility limits and 1 mg/dL = 88.42 umol/L from protocol.renal.formula.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from mmtrial.cli import app
from mmtrial.clinical.renal import (
    creatinine_clearance,
    creatinine_clearance_umol_l,
    creatinine_mg_dl_from_umol_l,
)
from mmtrial.errors import InputError
from tests.clinical._dosing_helpers import PROTOCOL, D, protocol_with

runner = CliRunner()
EXAMPLE = {"age_years": 70, "sex": "female", "weight_kg": 55, "creatinine_mg_dl": D("1.1")}


def crcl(**kw):
    return creatinine_clearance(**{**EXAMPLE, **kw}, protocol=PROTOCOL)


def test_issue_example_woman_70_years_55_kg_creatinine_1_1_is_41_32():
    """(140 - 70) x 55 / (72 x 1.1) x 0.85 = 3850 / 79.2 x 0.85 = 41.319... mL/min."""
    result = crcl()
    assert result.crcl_ml_min == pytest.approx(3850 / 79.2 * 0.85, rel=1e-12)
    assert result.crcl_ml_min == pytest.approx(41.32, abs=1e-2)
    assert result.female_factor_applied
    assert result.formula == "(140 - 70) x 55 kg / (72 x 1.1 mg/dL) x 0.85 = 41.32 mL/min"


def test_men_get_no_female_factor():
    """Same numbers for a man: 3850 / 79.2 = 48.61 mL/min (no x 0.85)."""
    result = crcl(sex="male")
    assert result.crcl_ml_min == pytest.approx(3850 / 79.2, rel=1e-12)
    assert "0.85" not in result.formula
    assert not result.female_factor_applied


def test_worked_example_man_40_years_80_kg_creatinine_1_0():
    """(140 - 40) x 80 / (72 x 1.0) = 111.11 mL/min (a second hand-computed case)."""
    assert crcl(sex="male", age_years=40, weight_kg=80, creatinine_mg_dl=1).crcl_ml_min == (
        pytest.approx(8000 / 72, rel=1e-12)
    )


def test_umol_per_litre_is_converted_with_the_protocol_factor():
    """1.1 mg/dL x 88.42 = 97.262 umol/L gives the same clearance as 1.1 mg/dL."""
    assert creatinine_mg_dl_from_umol_l(creatinine_umol_l=D("97.262"), protocol=PROTOCOL) == D(
        "1.1"
    )
    result = creatinine_clearance_umol_l(
        age_years=70, sex="female", weight_kg=55, creatinine_umol_l=D("97.262"), protocol=PROTOCOL
    )
    assert result.crcl_ml_min == pytest.approx(crcl().crcl_ml_min, rel=1e-12)
    assert result.creatinine_umol_l == pytest.approx(97.262)
    assert "97.262 umol/L / 88.42" in result.formula


def test_constants_come_from_the_protocol_file():
    """A protocol with another female factor gives another clearance: no constant in code."""
    amended = protocol_with(**{"female_factor: 0.85": "female_factor: 0.5"})
    result = creatinine_clearance(**EXAMPLE, protocol=amended)
    assert result.crcl_ml_min == pytest.approx(3850 / 79.2 * 0.5, rel=1e-12)


@pytest.mark.parametrize(
    ("field", "value", "accepted"),
    [
        ("age_years", D("18"), True),
        ("age_years", D("17.99"), False),
        ("age_years", D("120"), True),
        ("age_years", D("120.01"), False),
        ("weight_kg", D("0"), False),
        ("weight_kg", D("-5"), False),
        ("weight_kg", D("0.5"), True),
        ("weight_kg", D("300"), True),
        ("weight_kg", D("300.1"), False),
        ("creatinine_mg_dl", D("0"), False),
        ("creatinine_mg_dl", D("0.01"), True),
        ("creatinine_mg_dl", D("20"), True),
        ("creatinine_mg_dl", D("20.01"), False),
    ],
)
def test_impossible_inputs_are_rejected_naming_the_field(field, value, accepted):
    """Limits (protocol.renal.formula): age 18-120, weight > 0 and <= 300 kg, creatinine > 0 and
    <= 20 mg/dL [ours]."""
    if accepted:
        assert crcl(**{field: value}).crcl_ml_min > 0
        return
    with pytest.raises(InputError) as excinfo:
        crcl(**{field: value})
    assert str(excinfo.value).startswith(f"{field}:")
    assert "impossible" in str(excinfo.value)


@pytest.mark.parametrize("value", ["NaN", "inf", "abc", None, True])
def test_non_numbers_are_rejected(value):
    with pytest.raises(InputError, match=r"^weight_kg:"):
        crcl(weight_kg=value)


def test_unknown_sex_is_rejected():
    with pytest.raises(InputError, match=r"^sex:"):
        crcl(sex="unknown")


def test_creatinine_in_umol_l_outside_the_limits_is_reported_in_umol_l():
    with pytest.raises(InputError, match=r"^creatinine_umol_l: 2000 umol/L is impossible"):
        creatinine_mg_dl_from_umol_l(creatinine_umol_l=2000, protocol=PROTOCOL)


# --- mmtrial crcl ---------------------------------------------------------------------------

ARGS = ["crcl", "--age", "70", "--sex", "female", "--weight-kg", "55"]


def test_cli_json_meets_the_contract():
    """Key crcl_ml_min holds the unrounded float; key formula the substituted numbers."""
    result = runner.invoke(app, [*ARGS, "--creatinine-mg-dl", "1.1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert isinstance(data["crcl_ml_min"], float)
    assert data["crcl_ml_min"] == pytest.approx(41.32, abs=1e-2)
    assert data["crcl_ml_min"] != round(data["crcl_ml_min"], 2)  # not rounded
    assert data["formula"] == "(140 - 70) x 55 kg / (72 x 1.1 mg/dL) x 0.85 = 41.32 mL/min"


def test_cli_accepts_umol_per_litre():
    result = runner.invoke(app, [*ARGS, "--creatinine-umol-l", "97.262", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["crcl_ml_min"] == pytest.approx(41.32, abs=1e-2)


def test_cli_without_json_prints_one_readable_line():
    result = runner.invoke(app, [*ARGS, "--creatinine-mg-dl", "1.1"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("CrCl 41.32 mL/min")


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (
            [
                "crcl",
                "--age",
                "15",
                "--sex",
                "male",
                "--weight-kg",
                "70",
                "--creatinine-mg-dl",
                "1",
            ],
            "--age",
        ),
        (
            [
                "crcl",
                "--age",
                "abc",
                "--sex",
                "male",
                "--weight-kg",
                "70",
                "--creatinine-mg-dl",
                "1",
            ],
            "--age",
        ),
        (
            ["crcl", "--age", "70", "--sex", "x", "--weight-kg", "70", "--creatinine-mg-dl", "1"],
            "--sex",
        ),
        (
            ["crcl", "--age", "70", "--sex", "male", "--weight-kg", "0", "--creatinine-mg-dl", "1"],
            "--weight-kg",
        ),
        (
            [
                "crcl",
                "--age",
                "70",
                "--sex",
                "male",
                "--weight-kg",
                "301",
                "--creatinine-mg-dl",
                "1",
            ],
            "--weight-kg",
        ),
        (
            [
                "crcl",
                "--age",
                "70",
                "--sex",
                "male",
                "--weight-kg",
                "70",
                "--creatinine-mg-dl",
                "0",
            ],
            "--creatinine-mg-dl",
        ),
        (
            [
                "crcl",
                "--age",
                "70",
                "--sex",
                "male",
                "--weight-kg",
                "70",
                "--creatinine-mg-dl",
                "25",
            ],
            "--creatinine-mg-dl",
        ),
        (
            [
                "crcl",
                "--age",
                "70",
                "--sex",
                "male",
                "--weight-kg",
                "70",
                "--creatinine-umol-l",
                "-1",
            ],
            "--creatinine-umol-l",
        ),
        (["crcl", "--age", "70", "--sex", "male", "--weight-kg", "70"], "--creatinine-mg-dl"),
        (["crcl", "--sex", "male", "--weight-kg", "70", "--creatinine-mg-dl", "1"], "--age"),
        (["crcl", "--age", "70", "--weight-kg", "70", "--creatinine-mg-dl", "1"], "--sex"),
        (
            ["crcl", "--age", "70", "--sex", "male", "--weight-kg", "70", "--creatinine-mg-dl"],
            "--creatinine-mg-dl",
        ),
        (
            [
                "crcl",
                "--age",
                "70",
                "--sex",
                "male",
                "--weight-kg",
                "70",
                "--creatinine-mg-dl",
                "1",
                "--wieght",
                "3",
            ],
            "--wieght",
        ),
        (
            [
                "crcl",
                "--age",
                "70",
                "--sex",
                "male",
                "--weight-kg",
                "70",
                "--creatinine-mg-dl",
                "1",
                "--creatinine-umol-l",
                "88",
            ],
            "--creatinine-umol-l",
        ),
    ],
)
def test_cli_bad_input_exits_2_with_one_line_naming_the_field(args, named):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]
    assert "Traceback" not in result.output


def test_cli_bad_input_as_a_process_prints_no_traceback():
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mmtrial",
            *ARGS[:-2],
            "--weight-kg",
            "-3",
            "--creatinine-mg-dl",
            "1",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "--weight-kg" in proc.stderr
    assert "Traceback" not in proc.stderr
