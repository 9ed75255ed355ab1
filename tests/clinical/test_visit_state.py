"""visit_state: the window [Mon 8 – Wed 10 March 2027] seen from different days, by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from mmtrial.clinical.visit_state import visit_state

START = dt.date(2027, 3, 8)
END = dt.date(2027, 3, 10)


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (dt.date(2027, 1, 4), "planned"),  # 63 days before the window opens
        (dt.date(2027, 2, 28), "planned"),  # 8 days before: beyond a 7-day horizon
        (dt.date(2027, 3, 1), "due_soon"),  # 7 days before: on the horizon
        (dt.date(2027, 3, 7), "due_soon"),  # the day before the window
        (dt.date(2027, 3, 8), "due"),  # first day of the window
        (dt.date(2027, 3, 10), "due"),  # last day of the window
        (dt.date(2027, 3, 11), "overdue"),  # the day after the window closed
        (dt.date(2027, 6, 1), "overdue"),
    ],
)
def test_a_visit_not_yet_recorded_is_planned_due_soon_due_or_overdue(today, expected):
    state = visit_state(
        status="due", window_start=START, window_end=END, today=today, due_soon_days=7
    )
    assert state == expected


@pytest.mark.parametrize("status", ["done", "out_of_window", "missed"])
def test_a_recorded_visit_keeps_its_recorded_state_whatever_the_day(status):
    for today in (dt.date(2027, 1, 4), dt.date(2027, 3, 9), dt.date(2027, 6, 1)):
        assert (
            visit_state(
                status=status, window_start=START, window_end=END, today=today, due_soon_days=7
            )
            == status
        )


def test_a_window_ending_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="before window_start"):
        visit_state(status="due", window_start=END, window_end=START, today=END, due_soon_days=7)
