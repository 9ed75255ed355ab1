"""`mmtrial dose next` / `mmtrial dose day`: the acceptance scenarios of issue 3, bad input, and
the examples in docs/cli.md (which must be what the command prints).

Sources: shared/protocol.md sections 4 (renal), 5 (cycle start), 6-7 (levels, modification).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmtrial.cli import app

runner = CliRunner()
DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
FULL = {"ixazomib": 4, "lenalidomide": 25, "dexamethasone": 40}
OK_LABS = {"anc_per_mm3": 1600, "platelets_per_mm3": 140000}


def dose_next(facts: dict) -> dict:
    result = runner.invoke(app, ["dose", "next", "-"], input=json.dumps(facts))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def rules(decision: dict) -> set[str]:
    return {r["rule"] for r in decision["reasons"]}


def test_crcl_45_gives_lenalidomide_10_mg_with_reasons():
    d = dose_next({"cycle": 1, "crcl_ml_min": 45, **OK_LABS})
    assert d["decision"] == "start"
    assert d["doses_mg"]["lenalidomide"] == 10
    assert "renal_start" in rules(d)
    change = next(c for c in d["changes"] if c["drug"] == "lenalidomide")
    assert (change["kind"], change["to_mg"], change["rule"]) == ("renal_start", 10, "renal_start")
    assert "[seed]" in change["source"]


def test_15_mg_at_cycle_3_after_two_tolerated_cycles_at_10_mg_without_pr():
    """Three decisions chained through carry_forward, as the EDC does it."""
    decision = dose_next({"cycle": 1, "crcl_ml_min": 45, **OK_LABS})
    for cycle in (2, 3):
        assert decision["decision"] == "start"
        decision = dose_next(
            {
                "cycle": cycle,
                **decision["carry_forward"],
                "crcl_ml_min": 47,
                **OK_LABS,
                "best_confirmed_response": "MR",
            }
        )
        if cycle == 2:
            assert decision["doses_mg"]["lenalidomide"] == 10
    assert decision["decision"] == "start"
    assert decision["doses_mg"]["lenalidomide"] == 15
    assert [(c["from_mg"], c["to_mg"], c["rule"]) for c in decision["changes"]] == [
        (10, 15, "renal_escalation_not_responding")
    ]


def test_no_escalation_at_cycle_3_when_the_participant_responds():
    decision = dose_next({"cycle": 1, "crcl_ml_min": 45, **OK_LABS})
    for cycle in (2, 3):
        decision = dose_next(
            {
                "cycle": cycle,
                **decision["carry_forward"],
                "crcl_ml_min": 47,
                **OK_LABS,
                "best_confirmed_response": "PR",
            }
        )
    assert decision["doses_mg"]["lenalidomide"] == 10
    assert "renal_escalation_not_responding" in rules(decision)


def test_25_mg_when_crcl_reaches_60_and_treatment_is_tolerated():
    d = dose_next(
        {
            "cycle": 6,
            "current_doses_mg": {**FULL, "lenalidomide": 15},
            "renal_dose_adjusted": True,
            "crcl_ml_min": 60,
            **OK_LABS,
            "best_confirmed_response": "PR",
            "cycles_at_current_dose": {"lenalidomide": 3},
        }
    )
    assert d["doses_mg"]["lenalidomide"] == 25
    assert d["changes"][0]["rule"] == "renal_escalation_normalized"


def test_anc_800_at_day_1_delays_the_cycle_with_the_reason():
    d = dose_next(
        {
            "cycle": 2,
            "current_doses_mg": FULL,
            "crcl_ml_min": 80,
            "anc_per_mm3": 800,
            "platelets_per_mm3": 150000,
        }
    )
    assert d["decision"] == "delay"
    assert set(d["doses_mg"].values()) == {None}
    reason = next(r for r in d["reasons"] if r["rule"] == "cycle_start_anc")
    assert "800" in reason["text"] and reason["values"]["value"] == 800
    assert d["recheck_in_days"] == 7


def test_first_platelet_drop_reduces_lenalidomide_and_the_second_ixazomib():
    drop = {
        "term": "platelet count decreased",
        "grade": 4,
        "nonhematologic": False,
        "lab": {"variable": "platelets_per_mm3", "value": 21000},
    }
    first = dose_next(
        {"cycle": 2, "current_doses_mg": FULL, "crcl_ml_min": 80, **OK_LABS, "toxicities": [drop]}
    )
    assert first["doses_mg"] == {"ixazomib": 4, "lenalidomide": 20, "dexamethasone": 40}
    assert first["next_alternating_reduction"] == {"shared": "ixazomib"}
    carry = first["carry_forward"]
    second = dose_next(
        {
            "cycle": 3,
            "current_doses_mg": carry["current_doses_mg"],
            "alternation": carry["alternation"],
            "crcl_ml_min": 80,
            **OK_LABS,
            "toxicities": [drop],
        }
    )
    assert second["doses_mg"] == {"ixazomib": 3, "lenalidomide": 20, "dexamethasone": 40}
    assert [(c["drug"], c["rule"]) for c in second["changes"]] == [
        ("ixazomib", "platelets_below_30000")
    ]


GOOD = {"cycle": 2, "current_doses_mg": FULL, "crcl_ml_min": 80, **OK_LABS}


@pytest.mark.parametrize(
    ("text", "named"),
    [
        (json.dumps({**GOOD, "colour": "red"}), "colour"),
        (json.dumps({**GOOD, "anc_per_mm3": "lots"}), "anc_per_mm3"),
        (json.dumps({**GOOD, "anc_per_mm3": -1}), "anc_per_mm3"),
        (json.dumps({**GOOD, "platelets_per_mm3": True}), "platelets_per_mm3"),
        (json.dumps({**GOOD, "cycle": 0}), "cycle"),
        (json.dumps({**GOOD, "crcl_ml_min": -5}), "crcl_ml_min"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "crcl_ml_min"}), "crcl_ml_min"),
        (
            json.dumps({**GOOD, "cycles_at_current_dose": {"lenalidomide": -2}}),
            "cycles_at_current_dose.lenalidomide",
        ),
        (
            json.dumps({**GOOD, "current_doses_mg": {**FULL, "lenalidomide": 12}}),
            "current_doses_mg.lenalidomide",
        ),
        (
            json.dumps({**GOOD, "current_doses_mg": {**FULL, "aspirin": 100}}),
            "current_doses_mg.aspirin",
        ),
        (
            json.dumps({**GOOD, "current_doses_mg": {"ixazomib": 4, "lenalidomide": 25}}),
            "current_doses_mg.dexamethasone",
        ),
        (
            json.dumps({k: v for k, v in GOOD.items() if k != "current_doses_mg"}),
            "current_doses_mg",
        ),
        (json.dumps({**GOOD, "cycle": 1}), "current_doses_mg"),
        (json.dumps({**GOOD, "toxicities": [{"term": "rash", "grade": 6}]}), "toxicities[0].grade"),
        (
            json.dumps(
                {**GOOD, "toxicities": [{"term": "rash", "grade": 2, "attributed_to": ["x"]}]}
            ),
            "toxicities[0].attributed_to[0]",
        ),
        (
            json.dumps({**GOOD, "toxicities": [{"term": "rash", "grade": 2, "current_grade": 3}]}),
            "toxicities[0].current_grade",
        ),
        (
            json.dumps(
                {
                    **GOOD,
                    "toxicities": [
                        {"term": "x", "grade": 3, "lab": {"variable": "hb", "value": 3}}
                    ],
                }
            ),
            "toxicities[0].lab.variable",
        ),
        (json.dumps({**GOOD, "best_confirmed_response": "great"}), "best_confirmed_response"),
        (
            json.dumps({**GOOD, "alternation": {"counts": {"shared": -1}}}),
            "alternation.counts.shared",
        ),
        ("[1, 2]", "top level"),
        ('{"cycle": 2,', "invalid JSON"),
        ("", "invalid JSON"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_field(text, named):
    result = runner.invoke(app, ["dose", "next", "-"], input=text)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert named in lines[0]
    assert "Traceback" not in result.output


def test_missing_file_and_missing_argument_exit_2_on_one_line(tmp_path):
    for args in (["dose", "next", str(tmp_path / "nope.json")], ["dose", "next"], ["dose", "day"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, args
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_bad_input_as_a_process_prints_no_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "mmtrial", "dose", "next", "-"],
        input=json.dumps({**GOOD, "toxicities": [{"term": "rash"}]}),
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip() == "error: toxicities[0].grade: missing required field"


def test_dose_day_bad_input_names_the_field():
    facts = {"cycle": 2, "day": 40, "doses_mg": FULL}
    result = runner.invoke(app, ["dose", "day", "-"], input=json.dumps(facts))
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("error: day: 40")


# --- the examples in docs/cli.md are what the commands print ---------------------------------------

EXAMPLE = re.compile(
    r"<!-- example ([\w-]+): (input|output|excerpt) -->\s*```json\n(.*?)\n```", re.S
)


def _examples() -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    for name, kind, body in EXAMPLE.findall(DOCS.read_text(encoding="utf-8")):
        found.setdefault(name, {})[kind] = json.loads(body)
    return found


def test_docs_hold_the_examples():
    assert {
        "dose-next-platelets",
        "dose-next-renal-start",
        "dose-next-delay",
        "dose-day-platelets",
    } <= set(_examples())


@pytest.mark.parametrize("name", sorted(_examples()))
def test_docs_example_matches_the_command(name):
    example = _examples()[name]
    command = "day" if name.startswith("dose-day") else "next"
    result = runner.invoke(app, ["dose", command, "-"], input=json.dumps(example["input"]))
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    if "output" in example:
        assert printed == example["output"]
    else:
        assert {k: printed[k] for k in example["excerpt"]} == example["excerpt"]
