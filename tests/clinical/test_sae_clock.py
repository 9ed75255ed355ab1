"""The SAE reporting clock: deadline = awareness + 24 elapsed hours (irdj.yaml
safety.sae_report_hours; ICH E6(R3)), across the Asia/Tokyo date boundary and across
daylight-saving changes in America/New_York (2026-03-08 02:00 EST -> EDT, 2026-11-01 02:00 EDT
-> EST), where 24 elapsed hours differ from the same wall-clock time the next day."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from mmtrial.clinical.sae_clock import sae_clock, sae_deadline
from mmtrial.errors import InputError
from mmtrial.protocol import load_protocol

PROTOCOL = load_protocol()
TOKYO = ZoneInfo("Asia/Tokyo")
NY = ZoneInfo("America/New_York")


def test_the_protocol_file_sets_24_hours():
    assert PROTOCOL.safety.sae_report_hours == 24


def test_tokyo_awareness_late_evening_is_due_the_next_local_evening():
    # 23:30 JST on 2026-12-07 is 14:30 UTC the same day; the deadline is 23:30 JST on 12-08.
    aware = dt.datetime(2026, 12, 7, 23, 30, tzinfo=TOKYO)
    deadline = sae_deadline(aware_at=aware, protocol=PROTOCOL, site_tz="Asia/Tokyo")
    assert deadline == dt.datetime(2026, 12, 8, 23, 30, tzinfo=TOKYO)
    assert deadline.astimezone(dt.UTC) == dt.datetime(2026, 12, 8, 14, 30, tzinfo=dt.UTC)


def test_tokyo_clock_given_in_utc_is_the_same_instant():
    # 2026-12-07 16:00 UTC is 2026-12-08 01:00 JST: the Tokyo date is a day later.
    aware = dt.datetime(2026, 12, 7, 16, 0, tzinfo=dt.UTC)
    now = dt.datetime(2026, 12, 8, 20, 0, tzinfo=TOKYO)  # 19 h after awareness
    clock = sae_clock(aware_at=aware, now=now, protocol=PROTOCOL, site_tz="Asia/Tokyo")
    assert clock.state == "due"
    assert clock.deadline == dt.datetime(2026, 12, 9, 1, 0, tzinfo=TOKYO)
    assert clock.time_left == dt.timedelta(hours=5)
    assert "2026-12-09 01:00 JST" in clock.reason


def test_one_minute_after_the_deadline_is_overdue_and_at_the_deadline_too():
    aware = dt.datetime(2026, 12, 7, 23, 30, tzinfo=TOKYO)
    at = dt.datetime(2026, 12, 8, 23, 30, tzinfo=TOKYO)
    assert sae_clock(aware_at=aware, now=at, protocol=PROTOCOL, site_tz="Asia/Tokyo").state == (
        "overdue"
    )
    just_before = at - dt.timedelta(minutes=1)
    clock = sae_clock(aware_at=aware, now=just_before, protocol=PROTOCOL, site_tz="Asia/Tokyo")
    assert clock.state == "due" and clock.time_left == dt.timedelta(minutes=1)
    later = sae_clock(
        aware_at=aware, now=at + dt.timedelta(hours=2), protocol=PROTOCOL, site_tz="Asia/Tokyo"
    )
    assert later.late_by == dt.timedelta(hours=2)


def test_report_at_the_deadline_is_on_time_and_a_minute_after_is_late():
    aware = dt.datetime(2026, 12, 7, 9, 0, tzinfo=TOKYO)
    deadline = dt.datetime(2026, 12, 8, 9, 0, tzinfo=TOKYO)
    now = dt.datetime(2026, 12, 10, tzinfo=TOKYO)
    on_time = sae_clock(
        aware_at=aware, now=now, protocol=PROTOCOL, site_tz="Asia/Tokyo", reported_at=deadline
    )
    assert on_time.state == "reported_on_time" and not on_time.open
    late = sae_clock(
        aware_at=aware,
        now=now,
        protocol=PROTOCOL,
        site_tz="Asia/Tokyo",
        reported_at=deadline + dt.timedelta(minutes=1),
    )
    assert late.state == "reported_late"
    assert late.late_by == dt.timedelta(minutes=1)


def test_spring_forward_24_elapsed_hours_end_an_hour_later_on_the_wall_clock():
    # 2026-03-07 10:00 EST (15:00 UTC) + 24 h = 2026-03-08 15:00 UTC = 11:00 EDT.
    aware = dt.datetime(2026, 3, 7, 10, 0, tzinfo=NY)
    deadline = sae_deadline(aware_at=aware, protocol=PROTOCOL, site_tz="America/New_York")
    assert deadline.astimezone(dt.UTC) == dt.datetime(2026, 3, 8, 15, 0, tzinfo=dt.UTC)
    assert (deadline.hour, deadline.minute) == (11, 0)
    assert deadline.tzname() == "EDT"
    # At 10:30 EDT the next day (wall clock past 10:00) it is still due: 23.5 h have elapsed.
    now = dt.datetime(2026, 3, 8, 10, 30, tzinfo=NY)
    clock = sae_clock(aware_at=aware, now=now, protocol=PROTOCOL, site_tz="America/New_York")
    assert clock.state == "due" and clock.time_left == dt.timedelta(minutes=30)


def test_fall_back_24_elapsed_hours_end_an_hour_earlier_on_the_wall_clock():
    # 2026-10-31 10:00 EDT (14:00 UTC) + 24 h = 2026-11-01 14:00 UTC = 09:00 EST.
    aware = dt.datetime(2026, 10, 31, 10, 0, tzinfo=NY)
    deadline = sae_deadline(aware_at=aware, protocol=PROTOCOL, site_tz="America/New_York")
    assert (deadline.hour, deadline.tzname()) == (9, "EST")
    now = dt.datetime(2026, 11, 1, 9, 30, tzinfo=NY)  # wall clock before 10:00, but 24.5 h later
    clock = sae_clock(aware_at=aware, now=now, protocol=PROTOCOL, site_tz="America/New_York")
    assert clock.state == "overdue" and clock.late_by == dt.timedelta(minutes=30)


def test_a_datetime_without_time_zone_is_refused():
    with pytest.raises(InputError, match="aware_at"):
        sae_clock(
            aware_at=dt.datetime(2026, 12, 7, 9, 0),
            now=dt.datetime(2026, 12, 7, 10, 0, tzinfo=TOKYO),
            protocol=PROTOCOL,
            site_tz="Asia/Tokyo",
        )
