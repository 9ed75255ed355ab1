"""The protocol file: the bundled one is valid and complete; broken ones are rejected by field."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mmtrial.cli import app
from mmtrial.protocol import ProtocolError, load_protocol, parse_protocol
from mmtrial.protocol.loader import PROTOCOLS_DIR

IRDJ = PROTOCOLS_DIR / "irdj.yaml"
TEXT = IRDJ.read_text(encoding="utf-8")
runner = CliRunner()


def _replace_once(old: str, new: str) -> str:
    assert TEXT.count(old) >= 1, f"fixture text not found: {old!r}"
    return TEXT.replace(old, new, 1)


def test_bundled_protocol_holds_the_seed_regimen():
    protocol = load_protocol()
    assert protocol.cycle_length_days == 28
    assert protocol.regimen["ixazomib"].dose == 4
    assert protocol.regimen["ixazomib"].days == [1, 8, 15]
    assert protocol.regimen["lenalidomide"].dose == 25
    assert protocol.regimen["lenalidomide"].days == list(range(1, 22))
    assert protocol.regimen["dexamethasone"].dose == 40
    assert protocol.regimen["dexamethasone"].days == [1, 8, 15, 22]
    assert protocol.renal.start.crcl_below_ml_min == 60
    assert protocol.renal.start.dose == 10
    assert protocol.levels("ixazomib") == [Decimal("4"), Decimal("3"), Decimal("2.3")]
    assert [len(protocol.treatment_visit_days(c)) for c in (1, 2, 3, 4, 20)] == [4, 4, 2, 1, 1]
    assert protocol.follow_up.interval_days == 84
    assert protocol.study_closure.months_after_last_enrollment == 24


def test_every_rule_names_its_source():
    data = load_protocol().model_dump()

    def walk(node, path="protocol"):
        if isinstance(node, dict):
            if "id" in node or "days" in node or "levels" in node:
                assert node.get("source"), f"{path} has no source"
            for key, value in node.items():
                walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}[{i}]")

    walk(data)


BROKEN = {
    "wrong type": (
        _replace_once("cycle_length_days: 28", "cycle_length_days: twenty"),
        "cycle_length_days",
    ),
    "day outside the cycle": (
        _replace_once("days: [1, 8, 15]\n", "days: [1, 8, 29]\n"),
        "regimen.ixazomib.days[2]: 29 is outside a 28-day cycle",
    ),
    "dose levels not strictly decreasing": (
        _replace_once("levels: [4, 3, 2.3]", "levels: [4, 3, 3]"),
        "dose_levels.ixazomib.levels[2]",
    ),
    "dose levels increasing": (
        _replace_once("levels: [40, 20, 10]", "levels: [40, 20, 30]"),
        "dose_levels.dexamethasone.levels[2]",
    ),
    "unknown drug in a modification table": (
        _replace_once("hold: [lenalidomide]", "hold: [bortezomib]"),
        "dose_modification.rules[2].hold[0]: unknown drug 'bortezomib'",
    ),
    "unknown drug in the alternation": (
        _replace_once("sequence: [lenalidomide, ixazomib]", "sequence: [lenalidomide, aspirin]"),
        "dose_modification.alternation.sequence[1]",
    ),
    "negative window": (
        _replace_once("before_days: 3", "before_days: -3"),
        "visits.windows[1].before_days: -3 is negative",
    ),
    "unknown key": (
        _replace_once("cycle_length_days: 28", "cycle_length_days: 28\ncycle_lenght: 21"),
        "cycle_lenght: unknown field",
    ),
    "missing field": (
        _replace_once('  phase: "2"\n', ""),
        "identification.phase: missing required field",
    ),
    "invalid YAML": (TEXT + "\n  : [unclosed\n", "invalid YAML"),
    "not a mapping": ("- just\n- a list\n", "mapping"),
    "visit day outside the cycle": (
        _replace_once("days: [1, 15]\n", "days: [1, 35]\n"),
        "visits.treatment[1].days[1]: 35 is outside a 28-day cycle",
    ),
    "regimen dose is not the first level": (
        _replace_once("    dose: 40\n", "    dose: 30\n"),
        "regimen.dexamethasone.dose",
    ),
    "zero cycle length": (
        _replace_once("cycle_length_days: 28", "cycle_length_days: 0"),
        "cycle_length_days",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_protocol_is_rejected_naming_the_field(case, tmp_path):
    text, expected = BROKEN[case]
    with pytest.raises(ProtocolError) as excinfo:
        parse_protocol(text)
    assert any(expected in problem for problem in excinfo.value.problems), excinfo.value.problems

    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["protocol", "validate", str(path)])
    assert result.exit_code == 2
    assert expected in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_validate_as_a_process_prints_no_traceback(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN["wrong type"][0], encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "mmtrial", "protocol", "validate", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "cycle_length_days" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_validate_accepts_the_bundled_file_with_a_one_line_summary():
    result = runner.invoke(app, ["protocol", "validate", str(IRDJ)])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.strip().splitlines()) == 1
    assert "valid protocol IRD-J version 1.0" in result.stdout


def test_validate_missing_file_exits_2():
    result = runner.invoke(app, ["protocol", "validate", "/nonexistent/protocol.yaml"])
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


def test_show_lists_regimen_levels_visits_and_rules():
    result = runner.invoke(app, ["protocol", "show"], env={"COLUMNS": "260"})
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    for expected in (
        "Ixazomib",
        "4 mg",
        "1, 8, 15",
        "Lenalidomide",
        "25 mg (10 mg when CrCl < 60 mL/min)",
        "1-21",
        "Dexamethasone",
        "40 mg",
        "1, 8, 15, 22",
        "4 mg -> 3 mg -> 2.3 mg",
        "25 mg -> 20 mg -> 15 mg -> 10 mg -> 5 mg -> 2.5 mg",
        "every 84 days after progression",
        "24 months after the last participant's enrollment",
        "INC-AGE",
    ):
        assert expected in out, expected
    visit_rows = [
        line for line in result.stdout.splitlines() if "1, 8, 15, 22" in line or "1, 15" in line
    ]
    assert visit_rows


def _copy_with(tmp_path: Path, **replacements: str) -> Path:
    text = TEXT
    for old, new in replacements.items():
        text = text.replace(old, new, 1)
    path = tmp_path / "amended.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_behaviour_comes_from_the_file(tmp_path):
    """A copy with another cycle length and dose changes what `protocol show --json` reports."""
    path = _copy_with(
        tmp_path,
        **{
            "cycle_length_days: 28": "cycle_length_days: 35",
            "levels: [40, 20, 10]": "levels: [20, 10]",
            "    dose: 40\n": "    dose: 20\n",
        },
    )
    bundled = json.loads(runner.invoke(app, ["protocol", "show", "--json"]).stdout)
    result = runner.invoke(app, ["protocol", "show", "--json", "--file", str(path)])
    assert result.exit_code == 0, result.output
    amended = json.loads(result.stdout)
    assert bundled["cycle_length_days"] == 28
    assert amended["cycle_length_days"] == 35
    assert amended["regimen"]["dexamethasone"]["dose"] == 20
    assert amended["dose_levels"]["dexamethasone"]["levels"] == [20, 10]

    via_env = runner.invoke(
        app, ["protocol", "show", "--json"], env={"MMTRIAL_PROTOCOL_FILE": str(path)}
    )
    assert json.loads(via_env.stdout)["cycle_length_days"] == 35


def test_a_specific_version_can_be_loaded():
    assert load_protocol("1.0").identification.version == "1.0"
    with pytest.raises(ProtocolError, match=r"version '9\.9' is unknown"):
        load_protocol("9.9")
