"""The cycle calendar and visit schedule, case by case from contracts/schedule.md and protocol.md 8-10."""

from __future__ import annotations

import datetime as dt

import pytest

from mmtrial.clinical.schedule import (
    ScheduleInputError,
    build_schedule,
    parse_schedule_input,
    schedule_dict,
)
from mmtrial.clinical.study_days import add_calendar_months, cycle_day_date, study_day
from mmtrial.protocol import load_protocol, parse_protocol
from mmtrial.protocol.loader import PROTOCOLS_DIR

PROTOCOL = load_protocol()
D = dt.date.fromisoformat

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
    "progression_date": None,
    "death_date": None,
    "last_enrollment_date": "2028-06-30",
}


def full(cycles: list[str], **doses_and_facts) -> dict:
    doses = {"ixazomib_mg": 4, "lenalidomide_mg": 25, "dexamethasone_mg": 40}
    facts = {k: v for k, v in doses_and_facts.items() if not k.endswith("_mg")}
    doses.update({k: v for k, v in doses_and_facts.items() if k.endswith("_mg")})
    return {"cycles": [{"start_date": s, **doses} for s in cycles], **facts}


def run(data: dict, protocol=PROTOCOL) -> dict:
    return build_schedule(parse_schedule_input(data), protocol=protocol).model_dump(mode="json")


def visit(result: dict, code: str) -> dict:
    [found] = [v for v in result["visits"] if v["code"] == code]
    return found


# --- the contract example ---------------------------------------------------------------------


def test_contract_example_first_dosing_row_and_visit_are_exactly_the_contract():
    result = run(CONTRACT_INPUT)
    assert result["dosing"][0] == {
        "date": "2027-01-11",
        "cycle": 1,
        "day": 1,
        "ixazomib_mg": 4,
        "lenalidomide_mg": 10,
        "dexamethasone_mg": 40,
    }
    assert result["visits"][0] == {
        "code": "C1D1",
        "kind": "treatment",
        "cycle": 1,
        "day": 1,
        "date": "2027-01-11",
        "window_start": "2027-01-11",
        "window_end": "2027-01-11",
    }
    assert result["response_assessments"][:2] == ["2027-02-08", "2027-03-08"]
    assert result["follow_up_contacts"] == []
    assert result["study_closure_date"] == "2030-06-30"
    assert set(result) == {
        "dosing",
        "visits",
        "response_assessments",
        "follow_up_contacts",
        "study_closure_date",
    }


def test_contract_example_projects_two_cycles_at_the_last_listed_doses():
    result = run(CONTRACT_INPUT)
    day1 = {r["cycle"]: r for r in result["dosing"] if r["day"] == 1}
    assert [day1[c]["date"] for c in (1, 2, 3, 4)] == [
        "2027-01-11",
        "2027-02-10",
        "2027-03-10",
        "2027-04-07",
    ]
    assert day1[4]["dexamethasone_mg"] == 20 and day1[4]["lenalidomide_mg"] == 10
    # Without progression: through the last projected cycle's day 28 (2027-05-04).
    assert result["response_assessments"] == [
        "2027-02-08",
        "2027-03-08",
        "2027-04-05",
        "2027-05-03",
    ]


def test_pydantic_schedule_dumps_to_the_same_json_as_the_fast_path():
    facts = parse_schedule_input(CONTRACT_INPUT)
    assert build_schedule(facts, protocol=PROTOCOL).model_dump(mode="json") == schedule_dict(
        facts, protocol=PROTOCOL
    )


def test_build_schedule_accepts_the_contract_input_as_a_dict():
    assert build_schedule(CONTRACT_INPUT, protocol=PROTOCOL) == build_schedule(
        parse_schedule_input(CONTRACT_INPUT), protocol=PROTOCOL
    )
    with pytest.raises(ScheduleInputError, match="cycles"):
        build_schedule({"cycles": None}, protocol=PROTOCOL)


# --- dosing -------------------------------------------------------------------------------------


def test_dosing_follows_the_regimen_days_of_each_drug():
    result = run(full(["2027-01-11"]))
    rows = {r["day"]: r for r in result["dosing"]}
    assert sorted(rows) == list(range(1, 23))  # lenalidomide 1-21, dexamethasone also on 22
    assert [d for d, r in rows.items() if r["ixazomib_mg"] is not None] == [1, 8, 15]
    assert [d for d, r in rows.items() if r["lenalidomide_mg"] is not None] == list(range(1, 22))
    assert [d for d, r in rows.items() if r["dexamethasone_mg"] is not None] == [1, 8, 15, 22]
    assert rows[22] == {
        "date": "2027-02-01",
        "cycle": 1,
        "day": 22,
        "ixazomib_mg": None,
        "lenalidomide_mg": None,
        "dexamethasone_mg": 40,
    }


def test_a_null_drug_is_null_all_cycle_and_days_with_nothing_given_have_no_row():
    result = run(full(["2027-01-11"], lenalidomide_mg=None, dexamethasone_mg=None))
    assert [r["day"] for r in result["dosing"]] == [1, 8, 15]
    assert all(r["lenalidomide_mg"] is None for r in result["dosing"])


def test_null_project_cycles_means_no_projection():
    result = run({**full(["2027-01-11"]), "project_cycles": None})
    assert {r["cycle"] for r in result["dosing"]} == {1}


def test_an_absent_dose_is_the_same_as_null():
    result = run({"cycles": [{"start_date": "2027-01-11", "dexamethasone_mg": 40}]})
    assert [r["day"] for r in result["dosing"]] == [1, 8, 15, 22]


def test_doses_are_json_numbers_int_when_whole_and_exact_when_not():
    result = run(full(["2027-01-11"], ixazomib_mg=2.3, lenalidomide_mg=2.5, dexamethasone_mg=20.0))
    first = result["dosing"][0]
    assert first["ixazomib_mg"] == 2.3 and isinstance(first["ixazomib_mg"], float)
    assert first["lenalidomide_mg"] == 2.5
    assert first["dexamethasone_mg"] == 20 and isinstance(first["dexamethasone_mg"], int)


# --- visits and windows -------------------------------------------------------------------------


def test_treatment_visit_days_per_cycle_from_the_protocol_file():
    result = run(full(["2027-01-11"], project_cycles=4))
    codes = [v["code"] for v in result["visits"]]
    assert codes == [
        "C1D1", "C1D8", "C1D15", "C1D22",
        "C2D1", "C2D8", "C2D15", "C2D22",
        "C3D1", "C3D15",
        "C4D1", "C5D1",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("code", "date", "start", "end"),
    [
        ("C1D1", "2027-01-11", "2027-01-11", "2027-01-11"),  # C1D1 defines study day 1
        ("C1D8", "2027-01-18", "2027-01-17", "2027-01-19"),
        ("C2D22", "2027-03-01", "2027-02-28", "2027-03-02"),
        ("C2D1", "2027-02-08", "2027-02-05", "2027-02-11"),
        ("C3D1", "2027-03-08", "2027-03-05", "2027-03-11"),
        ("C3D15", "2027-03-22", "2027-03-20", "2027-03-24"),
        ("C4D1", "2027-04-05", "2027-04-02", "2027-04-08"),
    ],
)
def test_visit_windows_come_from_the_protocol_file(code, date, start, end):
    v = visit(run(full(["2027-01-11"], project_cycles=3)), code)
    assert (v["date"], v["window_start"], v["window_end"]) == (date, start, end)


def test_a_delayed_cycle_moves_its_visits_and_the_later_cycles_but_not_the_assessments():
    on_time = run(full(["2027-01-11", "2027-02-08"], project_cycles=1))
    delayed = run(full(["2027-01-11", "2027-02-17"], project_cycles=1))
    assert visit(delayed, "C2D1")["date"] == "2027-02-17"
    assert visit(delayed, "C2D8")["date"] == "2027-02-24"
    assert visit(delayed, "C3D1")["date"] == "2027-03-17"
    assert visit(on_time, "C3D1")["date"] == "2027-03-08"
    # Same C1D1 + 28k dates; the horizon is the last cycle's day 28: 2027-04-04 on time,
    # 2027-04-13 delayed, so the delayed calendar has one more assessment.
    assert on_time["response_assessments"] == ["2027-02-08", "2027-03-08"]
    assert delayed["response_assessments"] == ["2027-02-08", "2027-03-08", "2027-04-05"]


# --- end of treatment -----------------------------------------------------------------------------


def test_end_of_treatment_visit_is_30_days_after_with_its_window_and_ends_treatment_visits():
    result = run(
        full(["2027-01-11", "2027-02-08", "2027-03-08"], end_of_treatment_date="2027-03-12")
    )
    eot = result["visits"][-1]
    assert eot == {
        "code": "EOT",
        "kind": "end_of_treatment",
        "cycle": None,
        "day": None,
        "date": "2027-04-11",
        "window_start": "2027-04-11",
        "window_end": "2027-04-18",
    }
    treatment = [v for v in result["visits"] if v["kind"] == "treatment"]
    assert treatment[-1]["code"] == "C3D1"  # C3D15 (2027-03-22) is after the end of treatment
    # The contract removes treatment visits only: the dosing plan of cycle 3 stays whole.
    assert max(r["date"] for r in result["dosing"]) == "2027-03-29"


def test_a_visit_on_the_end_of_treatment_date_is_kept():
    result = run(full(["2027-01-11"], end_of_treatment_date="2027-01-18"))
    assert [v["code"] for v in result["visits"]] == ["C1D1", "C1D8", "EOT"]


def test_projected_cycles_after_the_end_of_treatment_give_no_treatment_visit():
    result = run(full(["2027-01-11"], project_cycles=3, end_of_treatment_date="2027-01-11"))
    assert [v["code"] for v in result["visits"]] == ["C1D1", "EOT"]
    assert {r["cycle"] for r in result["dosing"]} == {1, 2, 3, 4}


# --- response assessments and follow-up -------------------------------------------------------------


def test_progression_ends_assessments_at_the_first_on_or_after_it_and_starts_follow_up():
    result = run(full(["2027-01-11", "2027-02-08"], progression_date="2027-03-01"))
    assert result["response_assessments"] == ["2027-02-08", "2027-03-08"]
    assert result["follow_up_contacts"] == [
        (D("2027-03-01") + dt.timedelta(days=84 * k)).isoformat() for k in range(1, 9)
    ]


def test_progression_on_an_assessment_date_makes_it_the_last_one():
    result = run(full(["2027-01-11"], progression_date="2027-03-08"))
    assert result["response_assessments"] == ["2027-02-08", "2027-03-08"]


def test_assessments_continue_after_treatment_until_progression():
    result = run(full(["2027-01-11"], progression_date="2027-06-01"))
    assert result["response_assessments"][-1] == "2027-06-28"
    assert len(result["response_assessments"]) == 6


def test_follow_up_contacts_stop_strictly_before_death_and_assessments_never_after_it():
    result = run(full(["2027-01-11"], progression_date="2027-02-01", death_date="2027-07-19"))
    # 2027-02-01 + 84 = 2027-04-26, + 168 = 2027-07-19 (the death date: excluded).
    assert result["follow_up_contacts"] == ["2027-04-26"]
    assert result["response_assessments"] == ["2027-02-08"]


def test_death_before_the_first_assessment_after_progression_truncates_it():
    result = run(full(["2027-01-11"], progression_date="2027-02-10", death_date="2027-02-20"))
    assert result["response_assessments"] == ["2027-02-08"]
    assert result["follow_up_contacts"] == []


def test_an_assessment_on_the_death_date_is_kept():
    result = run(full(["2027-01-11"], project_cycles=3, death_date="2027-03-08"))
    assert result["response_assessments"] == ["2027-02-08", "2027-03-08"]


def test_follow_up_contacts_stop_strictly_before_the_study_closure():
    result = run(
        full(
            ["2027-01-11"],
            progression_date="2027-02-01",
            last_enrollment_date="2025-11-02",  # closure 2027-11-02
        )
    )
    assert result["study_closure_date"] == "2027-11-02"
    assert result["follow_up_contacts"] == ["2027-04-26", "2027-07-19", "2027-10-11"]


def test_a_contact_on_the_closure_date_is_excluded():
    # 2027-02-01 + 3 x 84 = 2027-10-11; closure 2027-10-11.
    result = run(
        full(["2027-01-11"], progression_date="2027-02-01", last_enrollment_date="2025-10-11")
    )
    assert result["follow_up_contacts"] == ["2027-04-26", "2027-07-19"]


def test_with_closure_far_away_contacts_run_past_eight_until_closure():
    result = run(
        full(["2027-01-11"], progression_date="2027-02-01", last_enrollment_date="2028-06-30")
    )
    contacts = [D(x) for x in result["follow_up_contacts"]]
    assert len(contacts) > 8
    assert contacts[-1] < D("2030-06-30") <= contacts[-1] + dt.timedelta(days=84)


def test_assessments_never_after_the_study_closure():
    result = run(full(["2027-01-11"], project_cycles=10, last_enrollment_date="2025-04-01"))
    assert result["study_closure_date"] == "2027-04-01"
    assert result["response_assessments"] == ["2027-02-08", "2027-03-08"]


def test_without_progression_there_is_no_follow_up():
    assert run(full(["2027-01-11"], death_date="2027-05-01"))["follow_up_contacts"] == []


# --- study closure ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_enrollment", "closure"),
    [
        ("2028-02-29", "2030-02-28"),
        ("2028-08-31", "2030-08-31"),
        ("2028-06-30", "2030-06-30"),
        ("2027-01-31", "2029-01-31"),
        ("2029-02-28", "2031-02-28"),
        ("2027-12-31", "2029-12-31"),
    ],
)
def test_study_closure_is_24_calendar_months_after_the_last_enrollment(last_enrollment, closure):
    result = run(full(["2027-01-11"], last_enrollment_date=last_enrollment))
    assert result["study_closure_date"] == closure


def test_no_closure_date_without_a_last_enrollment_date():
    assert run(full(["2027-01-11"]))["study_closure_date"] is None


def test_add_calendar_months_goes_to_the_month_end_when_the_day_is_missing():
    assert add_calendar_months(D("2027-01-31"), months=1) == D("2027-02-28")
    assert add_calendar_months(D("2028-01-31"), months=1) == D("2028-02-29")
    assert add_calendar_months(D("2027-11-30"), months=3) == D("2028-02-29")


def test_study_day_has_no_day_zero():
    c1d1 = D("2027-01-11")
    assert study_day(on=c1d1, c1d1=c1d1) == 1
    assert study_day(on=D("2027-01-12"), c1d1=c1d1) == 2
    assert study_day(on=D("2027-01-10"), c1d1=c1d1) == -1
    assert cycle_day_date(cycle_start=c1d1, day=8) == D("2027-01-18")


# --- the numbers come from the protocol file ----------------------------------------------------------


def test_follow_up_interval_and_count_come_from_the_protocol_file():
    text = (PROTOCOLS_DIR / "irdj.yaml").read_text(encoding="utf-8")
    changed = text.replace("interval_days: 84", "interval_days: 90").replace(
        "listed_without_end: 8", "listed_without_end: 3"
    )
    assert changed != text
    protocol = parse_protocol(changed)
    result = run(full(["2027-01-11"], progression_date="2027-02-01"), protocol=protocol)
    assert result["follow_up_contacts"] == ["2027-05-02", "2027-07-31", "2027-10-29"]


def test_end_of_treatment_offset_comes_from_the_protocol_file():
    text = (PROTOCOLS_DIR / "irdj.yaml").read_text(encoding="utf-8")
    protocol = parse_protocol(
        text.replace("days_after_end_of_treatment: 30", "days_after_end_of_treatment: 28")
    )
    result = run(full(["2027-01-11"], end_of_treatment_date="2027-01-11"), protocol=protocol)
    assert result["visits"][-1]["date"] == "2027-02-08"


# --- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            full(["2027-01-11", "2027-02-07"]),
            "cycles[1].start_date: 2027-02-07 is before cycle 1 ends",
        ),
        (full(["2027-02-08", "2027-01-11"]), "cycles[1].start_date"),
        (
            full(["2027-01-11", "2027-02-08"], end_of_treatment_date="2027-02-01"),
            "cycles[1].start_date: 2027-02-08 is after the end of treatment",
        ),
        (full(["2027-01-11"], death_date="2027-01-01"), "death_date: 2027-01-01 is before C1D1"),
        (
            full(["2027-01-11"], progression_date="2027-03-01", death_date="2027-02-01"),
            "death_date: 2027-02-01 is before progression_date",
        ),
        (
            full(["2027-01-11", "2027-02-08"], death_date="2027-02-01"),
            "cycles[1].start_date: 2027-02-08 is after death",
        ),
        (
            full(["2027-01-11"], progression_date="2026-12-01"),
            "progression_date: 2026-12-01 is before C1D1",
        ),
        (full(["2027-01-11"], end_of_treatment_date="2026-12-01"), "end_of_treatment_date"),
        (full(["2027-01-11"], surprise=1), "surprise: unknown field"),
        (full(["2027-01-11"], ixazomib_mg="4"), "cycles[0].ixazomib_mg"),
        (full(["2027-01-11"], ixazomib_mg=True), "cycles[0].ixazomib_mg"),
        (full(["2027-01-11"], ixazomib_mg=0), "cycles[0].ixazomib_mg: 0 must be above 0"),
        (full(["2027-01-11"], project_cycles=-1), "project_cycles"),
        (full(["2027-01-11"], project_cycles=1.5), "project_cycles"),
        (full(["2027-02-30"]), "cycles[0].start_date: '2027-02-30' is not a valid date"),
        (full(["2027-01-11"], death_date=20270111), "death_date"),
        (full(["11/01/2027"]), "cycles[0].start_date"),
        (full(["9999-12-31"]), "cycles[0].start_date: 9999-12-31 is outside the years"),
        (full(["2027-01-11"], death_date="2300-01-01"), "death_date"),
        ({"cycles": []}, "cycles: at least one cycle"),
        ({}, "cycles: missing required field"),
        ({"cycles": "2027-01-11"}, "cycles"),
        ({"cycles": [{"ixazomib_mg": 4}]}, "cycles[0].start_date: missing required field"),
    ],
)
def test_bad_input_is_rejected_naming_the_field(data, message):
    with pytest.raises(ScheduleInputError) as caught:
        build_schedule(parse_schedule_input(data), protocol=PROTOCOL)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
