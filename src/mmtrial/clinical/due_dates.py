"""When a planned visit, response assessment or follow-up contact is due: its window and its
place in a site's worklist (overdue, this week, next week, a later week).

Rule (every number from the protocol file):
- The window of a response assessment is its planned date - `response_assessment.window.
  before_days` to + `after_days`; of a follow-up contact, likewise with `follow_up.window`.
  Without a window in the protocol file, the planned day itself. (Treatment and end-of-
  treatment visits carry their window from `clinical.schedule`.)
- Weeks are ISO 8601 weeks (Monday to Sunday). An item not done is *overdue* when the last
  day of its window is before today, by (today - window end) days. Otherwise it belongs to
  the week of its planned date, counted from today's week (0 this week, 1 next week, ...); a
  planned date in an earlier week whose window is still open belongs to this week.
- A response assessment (a follow-up contact) is done when one is recorded in its window; one
  not done is no longer due once a later one has been recorded: it was missed, and the
  worklist does not ask for it again.

Source: protocol.md sections 8-10 (schedule, response every 4 weeks, follow-up every 12 weeks);
windows [ours] in the protocol file; ISO 8601 section 4.1.4 (the week starts on Monday).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mmtrial.protocol import Protocol

__all__ = [
    "DuePlace",
    "assessment_window",
    "due_place",
    "follow_up_window",
    "week_start",
    "weeks_until",
]


@dataclass(frozen=True)
class DuePlace:
    """Where an item stands on `today`: `week` is None when overdue (then `days_overdue` > 0),
    else the number of weeks from today's week to the item's week (0 = this week). `reason`
    says which rule placed it (for the worklist's "why")."""

    week: int | None
    days_overdue: int
    reason: str

    @property
    def overdue(self) -> bool:
        return self.week is None


def _window(planned: dt.date, window) -> tuple[dt.date, dt.date]:
    if window is None:
        return planned, planned
    return (
        planned - dt.timedelta(days=window.before_days),
        planned + dt.timedelta(days=window.after_days),
    )


def assessment_window(planned: dt.date, *, protocol: Protocol) -> tuple[dt.date, dt.date]:
    """(first day, last day) of the window of a response assessment planned on `planned`."""
    return _window(planned, protocol.response_assessment.window)


def follow_up_window(planned: dt.date, *, protocol: Protocol) -> tuple[dt.date, dt.date]:
    """(first day, last day) of the window of a follow-up contact planned on `planned`."""
    return _window(planned, protocol.follow_up.window)


def week_start(day: dt.date) -> dt.date:
    """The Monday of `day`'s ISO week."""
    return day - dt.timedelta(days=day.weekday())


def weeks_until(day: dt.date, *, today: dt.date) -> int:
    """Whole ISO weeks from today's week to `day`'s week (negative for an earlier week)."""
    return (week_start(day) - week_start(today)).days // 7


def due_place(*, planned: dt.date, window_end: dt.date, today: dt.date) -> DuePlace:
    """The place on the worklist of an item not yet done (module docstring).

    Example: planned Wednesday 2027-03-10, window to 2027-03-13: on Monday 2027-03-08 it is
    due this week (week 0); on Monday 2027-03-01, next week (1); on 2027-03-15 it is 2 days
    overdue.
    """
    if window_end < today:
        return DuePlace(week=None, days_overdue=(today - window_end).days, reason="window_passed")
    week = weeks_until(planned, today=today)
    if week < 0:
        return DuePlace(week=0, days_overdue=0, reason="window_open")
    return DuePlace(week=week, days_overdue=0, reason="planned_in_week")
