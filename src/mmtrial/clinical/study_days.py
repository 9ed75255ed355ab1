"""Study calendar arithmetic, in one place (design.md rule 5: dates are dates).

Study day 1 is cycle 1 day 1 (C1D1), the first dose; there is no day 0, so the day before C1D1
is study day -1. Day d of a cycle is the cycle's start date + (d - 1) days.
"""

from __future__ import annotations

import calendar
import datetime as dt

__all__ = ["add_calendar_months", "cycle_day_date", "study_day"]

_ONE_DAY = dt.timedelta(days=1)


def cycle_day_date(*, cycle_start: dt.date, day: int) -> dt.date:
    """The calendar date of day `day` of a cycle that starts on `cycle_start` (day 1)."""
    if day < 1:
        raise ValueError(f"cycle day {day}: cycle days start at 1")
    return cycle_start + (day - 1) * _ONE_DAY


def study_day(*, on: dt.date, c1d1: dt.date) -> int:
    """Study day of `on`: C1D1 is day 1, the day after is day 2, the day before is day -1."""
    offset = (on - c1d1).days
    return offset + 1 if offset >= 0 else offset


def add_calendar_months(start: dt.date, *, months: int) -> dt.date:
    """`start` + `months` calendar months: the same day of the month, or the month's last day.

    2028-02-29 + 24 months is 2030-02-28 (2030 has no 29 February); 2028-08-31 + 24 months is
    2030-08-31.
    """
    month_index = start.month - 1 + months
    year = start.year + month_index // 12
    month = month_index % 12 + 1
    last_day = calendar.monthrange(year, month)[1]
    return dt.date(year, month, min(start.day, last_day))
