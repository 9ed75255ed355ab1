"""Data an export must survive: a Japanese verbatim (with and without its CTCAE term), an
enrolled participant never dosed (no treatment dates), a year-only birth date, bad options.
Handled and reported, exit 2 only under --strict or for bad input, never a traceback."""

from __future__ import annotations

import datetime as dt
import json

import pyreadstat
import pytest
from typer.testing import CliRunner

from mmtrial.cli import app
from mmtrial.edc.services.adverse_events import ae_record
from tests.edc.builders import C1D1, Study, started

pytestmark = pytest.mark.django_db

SITE = "BD-01"


@pytest.fixture
def study_with_bad_data():
    study = Study(SITE)
    dosed, _ = started(study, "SCR-101")
    study.enrolled("SCR-102")  # enrolled, never dosed
    ae_record(user=study.coordinator, participant_id=dosed.pk, term="発熱", ctcae_term="Fever",
              grade=1, start_date=C1D1 + dt.timedelta(days=2))  # fmt: skip
    ae_record(user=study.coordinator, participant_id=dosed.pk, term="倦怠感", grade=2,
              start_date=C1D1 + dt.timedelta(days=3))  # fmt: skip
    dosed.refresh_from_db()
    return study, dosed


def _run(*args):
    result = CliRunner().invoke(app, ["export", *args, "--no-progress"])
    assert "Traceback" not in result.output
    return result


def _mine(frame):
    return frame[frame["USUBJID"].str.contains(f"-{SITE}-")]


def test_japanese_text_is_coded_english_or_left_out_and_listed_with_where_to_fix(
    study_with_bad_data, tmp_path
):
    _study, dosed = study_with_bad_data
    result = _run("sdtm", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    ae = _mine(pyreadstat.read_xport(str(tmp_path / "ae.xpt"))[0]).sort_values("AESEQ")
    assert ae["AETERM"].tolist() == ["Fever", ""]
    assert ae["AEDECOD"].tolist() == ["Fever", ""]
    report = json.loads((tmp_path / "conformance-report.json").read_text())
    usubjid = f"IRD-J-{dosed.subject_id}"
    mine = [f for f in report["findings"] if f["usubjid"] == usubjid]
    rules = {(f["rule"], f["variable"]) for f in mine}
    assert ("MMT-TXT-002", "AETERM") in rules  # the CTCAE term replaced the Japanese verbatim
    assert ("MMT-TXT-001", "AETERM") in rules  # no English term: listed
    listed = next(f for f in mine if f["rule"] == "MMT-TXT-001" and f["variable"] == "AETERM")
    assert "adverse event form" in listed["fix"] and listed["record"] == "AESEQ=2"
    assert "MMT-TXT-001" in (tmp_path / "conformance-report.md").read_text()


def test_strict_exits_2_naming_the_rule_and_the_report(study_with_bad_data, tmp_path):
    result = _run("sdtm", "--out", str(tmp_path), "--strict")
    assert result.exit_code == 2
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("error: --strict") and "MMT-TXT-001" in last
    assert (tmp_path / "dm.xpt").exists()  # the package is written, for the report to be read


def test_a_participant_never_dosed_has_no_treatment_dates_and_says_why(
    study_with_bad_data, tmp_path
):
    assert _run("sdtm", "--out", str(tmp_path)).exit_code == 0
    dm = _mine(pyreadstat.read_xport(str(tmp_path / "dm.xpt"))[0]).set_index("SUBJID")
    never = dm[dm["RFSTDTC"] == ""]
    assert len(never) == 1
    assert never.iloc[0]["ARMNRS"] == "ASSIGNED, NOT TREATED" and never.iloc[0]["ACTARMCD"] == ""
    assert (dm["BRTHDTC"] == "1955").all()
    define = (tmp_path / "define.xml").read_text()
    assert 'OID="IT.DM.BRTHDTC" Name="BRTHDTC" DataType="partialDate"' in define


def test_the_adam_package_of_the_same_data_is_written_and_analysed(study_with_bad_data, tmp_path):
    assert _run("adam", "--out", str(tmp_path)).exit_code == 0
    adae = _mine(pyreadstat.read_xport(str(tmp_path / "adae.xpt"))[0])
    assert adae["AETERM"].map(str.isascii).all()
    result = CliRunner().invoke(app, ["analyze", "--adam", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data-cut", "2027-02-30"], "--data-cut: '2027-02-30' is not a date (YYYY-MM-DD)"),
        (
            ["--data-cut", "2000-01-01"],
            "nothing to export: no participant is enrolled on or before 2000-01-01",
        ),
    ],
)
def test_bad_options_are_one_line_and_exit_2(study_with_bad_data, tmp_path, args, message):
    result = _run("sdtm", "--out", str(tmp_path), *args)
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == f"error: {message}"


def test_an_out_path_that_is_a_file_is_refused(study_with_bad_data, tmp_path):
    target = tmp_path / "dm.xpt"
    target.write_text("not a folder")
    result = _run("adam", "--out", str(target))
    assert result.exit_code == 2
    assert (
        result.output.strip().splitlines()[-1]
        == f"error: --out {target}: is a file, not a directory"
    )
