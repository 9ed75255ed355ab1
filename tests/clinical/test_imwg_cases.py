"""The hand-computed longitudinal cases in imwg_cases/, run through `mmtrial imwg assess`.

Each file is {"comment": the rule it pins, "input": ..., "expected": ...}; the expected values
were worked out by hand from contracts/imwg.md. Reasons are free text and are not compared here
(test_imwg_reasons.py checks that they name the numbers).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmtrial.cli import app

CASES = sorted((Path(__file__).parent / "imwg_cases").glob("*.json"))
COMPARED = (
    "criteria",
    "followed",
    "best_overall_response",
    "best_overall_response_date",
    "response_date",
    "progression_date",
)


def _comparable(output: dict) -> dict:
    return {
        **{key: output[key] for key in COMPARED},
        "assessments": [
            {"date": a["date"], "response": a["response"], "confirmed": a["confirmed"]}
            for a in output["assessments"]
        ],
    }


def test_there_are_at_least_25_cases_each_naming_its_rule():
    assert len(CASES) >= 25
    for path in CASES:
        doc = json.loads(path.read_text())
        assert set(doc) == {"comment", "input", "expected"}, path.name
        assert len(doc["comment"]) > 20, path.name


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case_through_the_cli(path: Path):
    doc = json.loads(path.read_text())
    # The CLI gets only the input, on standard input.
    result = CliRunner().invoke(app, ["imwg", "assess", "-"], input=json.dumps(doc["input"]))
    assert result.exit_code == 0, result.output
    output = json.loads(result.stdout)
    assert _comparable(output) == _comparable(doc["expected"]), doc["comment"]
    assert all(a["reasons"] for a in output["assessments"])


def test_a_case_through_a_real_process_on_stdin():
    doc = json.loads(CASES[0].read_text())
    completed = subprocess.run(
        [sys.executable, "-m", "mmtrial", "imwg", "assess", "-"],
        input=json.dumps(doc["input"]),
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert _comparable(json.loads(completed.stdout)) == _comparable(doc["expected"])
