"""clinical.due_dates: windows from the protocol file and a worklist's weeks, by hand.

2027-03-08 is a Monday (ISO week 10 of 2027); irdj.yaml gives response assessments a -7/+7
day window and follow-up contacts -14/+14 days."""

from __future__ import annotations

import datetime as dt

import pytest

from mmtrial.clinical.due_dates import (
    assessment_window,
    due_place,
    follow_up_window,
    week_start,
    weeks_until,
)
from mmtrial.protocol.loader import load_protocol

D = dt.date


def test_windows_come_from_the_protocol_file():
    protocol = load_protocol()
    assert assessment_window(D(2027, 3, 10), protocol=protocol) == (D(2027, 3, 3), D(2027, 3, 17))
    assert follow_up_window(D(2027, 3, 10), protocol=protocol) == (D(2027, 2, 24), D(2027, 3, 24))


def test_without_a_window_in_the_protocol_the_window_is_the_day_itself():
    protocol = load_protocol()
    bare = protocol.model_copy(
        update={"follow_up": protocol.follow_up.model_copy(update={"window": None})}
    )
    assert follow_up_window(D(2027, 3, 10), protocol=bare) == (D(2027, 3, 10), D(2027, 3, 10))


def test_weeks_start_on_monday():
    assert week_start(D(2027, 3, 14)) == D(2027, 3, 8)  # Sunday -> its Monday
    assert week_start(D(2027, 3, 8)) == D(2027, 3, 8)
    assert weeks_until(D(2027, 3, 15), today=D(2027, 3, 14)) == 1  # Monday after a Sunday


@pytest.mark.parametrize(
    ("planned", "window_end", "today", "week", "days_overdue"),
    [
        (D(2027, 3, 10), D(2027, 3, 13), D(2027, 3, 8), 0, 0),  # Wednesday of this week
        (D(2027, 3, 10), D(2027, 3, 13), D(2027, 3, 1), 1, 0),  # next week
        (D(2027, 3, 10), D(2027, 3, 13), D(2027, 2, 22), 2, 0),
        (D(2027, 3, 10), D(2027, 3, 13), D(2027, 3, 13), 0, 0),  # last day of the window
        (D(2027, 3, 10), D(2027, 3, 13), D(2027, 3, 15), None, 2),  # two days after it
        (D(2027, 3, 5), D(2027, 3, 9), D(2027, 3, 8), 0, 0),  # last week's, window still open
    ],
)
def test_due_place(planned, window_end, today, week, days_overdue):
    place = due_place(planned=planned, window_end=window_end, today=today)
    assert (place.week, place.days_overdue) == (week, days_overdue)
    assert place.overdue is (week is None)
