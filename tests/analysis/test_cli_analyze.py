"""`mmtrial analyze --adam DIR --json` end to end, per contracts/analyze.md."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from mmtrial.analysis.fixtures import write_adam_dir
from mmtrial.cli import app

METHOD_TTE = "Kaplan-Meier; CI: Brookmeyer-Crowley with log(-log) transform"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mmtrial", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("fmt", ["csv", "xpt"])
def test_published_study_prints_the_published_rates(tmp_path, published_frames, fmt):
    folder = write_adam_dir(published_frames, tmp_path / fmt, fmt=fmt)
    result = run_cli("analyze", "--adam", str(folder), "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["populations"] == {"enrolled": 34, "safety": 34, "response_evaluable": 32}
    assert out["best_response"]["n"] == 32
    assert list(out["best_response"]["counts"]) == [
        "sCR",
        "CR",
        "VGPR",
        "PR",
        "MR",
        "SD",
        "PD",
        "NE",
    ]
    assert sum(out["best_response"]["counts"].values()) == 32
    orr, vgpr = out["orr"], out["vgpr_or_better"]
    # Published: ORR 84.4% (67.2-94.7), VGPR or better 50.0% (31.9-68.1).
    assert (orr["responders"], orr["n"], orr["percent"]) == (27, 32, 84.375)
    assert [round(x, 2) for x in orr["ci95"]] == [67.21, 94.72]
    assert [round(x, 1) for x in [orr["percent"], *orr["ci95"]]] == [84.4, 67.2, 94.7]
    assert (vgpr["responders"], vgpr["n"], vgpr["percent"]) == (16, 32, 50.0)
    assert [round(x, 2) for x in vgpr["ci95"]] == [31.89, 68.11]
    assert orr["method"] == vgpr["method"] == out["cr_or_better"]["method"] == "Clopper-Pearson"
    pfs = out["time_to_event"]["PFS"]
    # Published: median PFS 22.0 months (17.3-not evaluable).
    assert (pfs["n"], pfs["events"]) == (34, 17)
    assert round(pfs["median_months"], 1) == 22.0
    assert round(pfs["ci95_months"][0], 1) == 17.3
    assert pfs["ci95_months"][1] is None
    assert pfs["method"] == METHOD_TTE
    assert out["time_to_event"]["OS"]["median_months"] is None


def test_readable_tables_without_json(published_csv_dir):
    result = CliRunner().invoke(app, ["analyze", "--adam", str(published_csv_dir)])
    assert result.exit_code == 0, result.output
    assert "67.2 - 94.7" in result.output
    assert "17.3 - NR" in result.output


def test_only_parameters_present_are_reported(tmp_path, published_frames):
    frames = dict(published_frames)
    frames["adtte"] = frames["adtte"][frames["adtte"]["PARAMCD"] == "OS"]
    folder = write_adam_dir(frames, tmp_path / "os_only")
    out = json.loads(CliRunner().invoke(app, ["analyze", "--adam", str(folder), "--json"]).stdout)
    assert list(out["time_to_event"]) == ["OS"]


def test_evaluable_subject_without_cbor_counts_as_ne(tmp_path, published_frames):
    frames = dict(published_frames)
    adrs = frames["adrs"]
    evaluable = frames["adsl"].loc[frames["adsl"]["EFFFL"] == "Y", "USUBJID"]
    dropped = evaluable.iloc[-1]
    frames["adrs"] = adrs[~((adrs["USUBJID"] == dropped) & (adrs["PARAMCD"] == "CBOR"))]
    folder = write_adam_dir(frames, tmp_path / "no_cbor")
    out = json.loads(CliRunner().invoke(app, ["analyze", "--adam", str(folder), "--json"]).stdout)
    assert out["best_response"]["n"] == 32
    assert out["best_response"]["counts"]["NE"] == 1
    assert out["orr"]["n"] == 32


def test_xpt_is_read_when_csv_is_absent_and_csv_preferred_when_both(tmp_path, published_frames):
    folder = write_adam_dir(published_frames, tmp_path / "both", fmt="xpt")
    frames = dict(published_frames)
    frames["adsl"] = frames["adsl"].iloc[:30]
    write_adam_dir({"adsl": frames["adsl"]}, folder, fmt="csv")
    out = json.loads(CliRunner().invoke(app, ["analyze", "--adam", str(folder), "--json"]).stdout)
    assert out["populations"]["enrolled"] == 30


def test_database_path_derives_the_datasets_from_the_edc_source(monkeypatch):
    """The adapter calls `mmtrial.edc.selectors.analysis_source()` (wired by the EDC) and runs
    the same derive_* functions; here the selector is a stand-in returning plain frames."""
    from datetime import date

    import pandas as pd

    from mmtrial.analysis.derive import StudySource
    from mmtrial.edc import selectors

    result = {
        "followed": ["serum"],
        "assessments": [
            {"date": "2027-02-01", "response": "VGPR"},
            {"date": "2027-03-01", "response": "VGPR"},
        ],
        "best_overall_response": "VGPR",
        "best_overall_response_date": "2027-02-01",
        "response_date": "2027-02-01",
        "progression_date": None,
    }
    participants = pd.DataFrame(
        [
            {"usubjid": "S-1", "first_dose_date": date(2027, 1, 4)},
            {"usubjid": "S-2", "first_dose_date": None},
        ]
    )
    source = StudySource(participants=participants, responses={"S-1": result})
    monkeypatch.setattr(
        selectors, "analysis_source", lambda *, data_cut_date=None: source, raising=False
    )
    out = CliRunner().invoke(app, ["analyze", "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.stdout)
    assert summary["populations"] == {"enrolled": 2, "safety": 1, "response_evaluable": 1}
    assert summary["vgpr_or_better"]["responders"] == 1
    assert summary["time_to_event"]["PFS"]["events"] == 0


def test_lower_case_variable_names_and_padded_values_are_accepted(tmp_path, published_frames):
    frames = {name: frame.copy() for name, frame in published_frames.items()}
    frames["adsl"].columns = [c.lower() for c in frames["adsl"].columns]
    frames["adsl"]["saffl"] = frames["adsl"]["saffl"].map(lambda v: f" {v} ")
    folder = write_adam_dir(frames, tmp_path / "lower")
    result = CliRunner().invoke(app, ["analyze", "--adam", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["populations"]["safety"] == 34
