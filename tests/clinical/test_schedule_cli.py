"""`mmtrial schedule FILE|-`: JSON out per the contract, iCalendar out, exit 2 on bad input."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
from icalendar import Calendar
from typer.testing import CliRunner

from mmtrial.cli import app

runner = CliRunner()

CONTRACT_INPUT = {
    "cycles": [
        {
            "start_date": "2027-01-11",
            "ixazomib_mg": 4,
            "lenalidomide_mg": 10,
            "dexamethasone_mg": 40,
        },
        {
            "start_date": "2027-02-10",
            "ixazomib_mg": 4,
            "lenalidomide_mg": 10,
            "dexamethasone_mg": 20,
        },
    ],
    "project_cycles": 2,
    "end_of_treatment_date": None,
    "progression_date": "2027-04-20",
    "death_date": None,
    "last_enrollment_date": "2028-06-30",
}


def test_schedule_prints_the_contract_json_from_standard_input():
    result = runner.invoke(app, ["schedule", "-"], input=json.dumps(CONTRACT_INPUT))
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["dosing"][0] == {
        "date": "2027-01-11",
        "cycle": 1,
        "day": 1,
        "ixazomib_mg": 4,
        "lenalidomide_mg": 10,
        "dexamethasone_mg": 40,
    }
    assert data["response_assessments"] == ["2027-02-08", "2027-03-08", "2027-04-05", "2027-05-03"]
    assert data["follow_up_contacts"][0] == "2027-07-13"
    assert data["study_closure_date"] == "2030-06-30"


def test_ics_file_parses_back_with_one_event_per_visit_dosing_day_and_contact(tmp_path):
    source = tmp_path / "facts.json"
    source.write_text(json.dumps(CONTRACT_INPUT))
    out = tmp_path / "calendar.ics"
    args = ["schedule", str(source), "--ics", str(out), "--participant", "P-001"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)

    calendar = Calendar.from_ical(out.read_bytes())
    events = list(calendar.walk("VEVENT"))
    expected = len(data["visits"]) + len(data["dosing"]) + len(data["follow_up_contacts"])
    assert len(events) == expected
    uids = [str(e["UID"]) for e in events]
    assert len(set(uids)) == len(uids)
    assert "P-001-visit-C1D1@mmtrial" in uids
    by_uid = {str(e["UID"]): e for e in events}
    c2d1 = by_uid["P-001-visit-C2D1@mmtrial"]
    assert c2d1.decoded("DTSTART") == dt.date(2027, 2, 10)
    assert c2d1.decoded("DTEND") == dt.date(2027, 2, 11)
    dose = by_uid["P-001-dose-C1D1@mmtrial"]
    assert "Ixazomib 4 mg" in str(dose["SUMMARY"])
    assert by_uid["P-001-contact-1@mmtrial"].decoded("DTSTART") == dt.date(2027, 7, 13)

    # Stable UIDs: the same facts give the same UIDs.
    again = tmp_path / "again.ics"
    runner.invoke(app, ["schedule", str(source), "--ics", str(again), "--participant", "P-001"])
    assert sorted(
        str(e["UID"]) for e in Calendar.from_ical(again.read_bytes()).walk("VEVENT")
    ) == sorted(uids)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"cycles": [{"start_date": "2027-01-11", "dose_mg": 4}]}, "cycles[0].dose_mg"),
        (
            {"cycles": [{"start_date": "2027-01-11", "ixazomib_mg": "four"}]},
            "cycles[0].ixazomib_mg",
        ),
        (
            {"cycles": [{"start_date": "2027-01-11"}, {"start_date": "2027-01-20"}]},
            "cycles[1].start_date",
        ),
        (
            {
                "cycles": [{"start_date": "2027-01-11"}, {"start_date": "2027-02-08"}],
                "end_of_treatment_date": "2027-01-30",
            },
            "cycles[1].start_date",
        ),
        ({"cycles": [{"start_date": "2027-01-11"}], "death_date": "2026-01-01"}, "death_date"),
        ({"cycles": [{"start_date": "2027-01-11"}], "project_cycles": "x"}, "project_cycles"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_field(payload, field):
    result = runner.invoke(app, ["schedule", "-"], input=json.dumps(payload))
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and field in lines[0]


def test_invalid_json_and_missing_file_exit_2(tmp_path):
    result = runner.invoke(app, ["schedule", "-"], input="{not json")
    assert result.exit_code == 2 and "invalid JSON" in result.stderr
    result = runner.invoke(app, ["schedule", str(tmp_path / "nope.json")])
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_subprocess_bad_input_gives_exit_2_and_no_traceback():
    bad = {"cycles": [{"start_date": "2027-01-11"}], "progression_date": "2027-13-01"}
    proc = subprocess.run(
        [sys.executable, "-m", "mmtrial", "schedule", "-"],
        input=json.dumps(bad),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert "progression_date" in proc.stderr
