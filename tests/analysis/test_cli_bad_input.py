"""Bad ADaM input: exit 2, one line on stderr naming the dataset and the variable, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from mmtrial.analysis.fixtures import write_adam_dir
from mmtrial.cli import app


def _mutate(frames, name, fn):
    frames = {k: v.copy() for k, v in frames.items()}
    frames[name] = fn(frames[name])
    return frames


def _set(column, value, where=None):
    def fn(df):
        df[column] = df[column].astype(object)
        idx = df.index[0] if where is None else df.index[where(df)][0]
        df.loc[idx, column] = value
        return df

    return fn


CASES = {
    "missing variable SAFFL": ("adsl", lambda df: df.drop(columns=["SAFFL"]), ["adsl", "SAFFL"]),
    "missing variable AVALC": ("adrs", lambda df: df.drop(columns=["AVALC"]), ["adrs", "AVALC"]),
    "missing variable CNSR": ("adtte", lambda df: df.drop(columns=["CNSR"]), ["adtte", "CNSR"]),
    "SAFFL not Y/N": ("adsl", _set("SAFFL", "X"), ["adsl", "SAFFL", "'X'"]),
    "EFFFL empty": ("adsl", _set("EFFFL", None), ["adsl", "EFFFL", "missing"]),
    "EFFFL lower case": ("adsl", _set("EFFFL", "y"), ["adsl", "EFFFL", "'y'"]),
    "AVALC outside codelist": (
        "adrs",
        _set("AVALC", "GOOD", where=lambda df: df["PARAMCD"] == "CBOR"),
        ["adrs", "AVALC", "'GOOD'"],
    ),
    "PARAMCD unknown": ("adtte", _set("PARAMCD", "EFS"), ["adtte", "PARAMCD", "'EFS'"]),
    "CNSR negative": ("adtte", _set("CNSR", -1), ["adtte", "CNSR"]),
    "CNSR not numeric": ("adtte", _set("CNSR", "yes"), ["adtte", "CNSR", "'yes'"]),
    "AVAL negative": ("adtte", _set("AVAL", -3), ["adtte", "AVAL"]),
    "AVAL not numeric": ("adtte", _set("AVAL", "abc"), ["adtte", "AVAL", "'abc'"]),
    "AVAL missing": ("adtte", _set("AVAL", None), ["adtte", "AVAL", "missing"]),
}


@pytest.mark.parametrize("fmt", ["csv", "xpt"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_value_exits_2_naming_dataset_and_variable(tmp_path, published_frames, case, fmt):
    name, fn, needles = CASES[case]
    if fmt == "xpt" and case in ("CNSR not numeric", "AVAL not numeric"):
        pytest.skip("an XPT numeric variable cannot hold text")
    frames = _mutate(published_frames, name, fn)
    folder = write_adam_dir(frames, tmp_path / "adam", fmt=fmt)
    result = CliRunner().invoke(app, ["analyze", "--adam", str(folder), "--json"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]
    assert "Traceback" not in result.output + result.stderr


@pytest.mark.parametrize("missing", ["adsl", "adrs", "adtte"])
def test_missing_dataset_exits_2_naming_it(tmp_path, published_frames, missing):
    frames = {k: v for k, v in published_frames.items() if k != missing}
    folder = write_adam_dir(frames, tmp_path / "adam")
    result = CliRunner().invoke(app, ["analyze", "--adam", str(folder), "--json"])
    assert result.exit_code == 2
    assert f"ADaM dataset {missing} not found" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_directory_exits_2(tmp_path):
    result = CliRunner().invoke(app, ["analyze", "--adam", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_duplicate_subject_in_adsl_is_reported(tmp_path, published_frames):
    frames = _mutate(published_frames, "adsl", lambda df: df._append(df.iloc[0]))
    folder = write_adam_dir(frames, tmp_path / "adam")
    result = CliRunner().invoke(app, ["analyze", "--adam", str(folder), "--json"])
    assert result.exit_code == 2
    assert "adsl.csv: more than one record for USUBJID" in result.stderr


def test_real_process_prints_no_traceback(tmp_path, published_frames):
    frames = _mutate(published_frames, "adtte", _set("CNSR", -1))
    folder = write_adam_dir(frames, tmp_path / "adam")
    result = subprocess.run(
        [sys.executable, "-m", "mmtrial", "analyze", "--adam", str(folder), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("error: adtte.csv: CNSR must be a whole number >= 0")
    assert "Traceback" not in result.stderr


def test_without_adam_and_without_database_data_exits_2():
    result = CliRunner().invoke(app, ["analyze", "--json"])
    assert result.exit_code == 2
    assert "study database" in result.stderr
    assert "--adam" in result.stderr
