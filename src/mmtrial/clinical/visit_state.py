"""Where a visit stands on a given day, for the people who have to see it.

Rule (the window comes from the protocol's visit windows, the horizon from the caller):
- A recorded visit keeps its recorded state: `done`, `out_of_window` (done outside its window)
  or `missed`.
- A visit not yet recorded is, on `today`:
  - `overdue` when its window closed before today (window_end < today);
  - `due` when today is inside its window (window_start <= today <= window_end);
  - `due_soon` when its window opens within `due_soon_days` days (today < window_start <=
    today + due_soon_days);
  - `planned` when its window opens later than that.

Source: ICH E6(R3) 3.10 (the investigator conducts the trial per protocol, visits in their
windows); protocol.md section 8 (the visit windows). The horizon is a display choice, not a
protocol number: the caller passes it.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

__all__ = ["VisitState", "visit_state"]

VisitState = Literal["planned", "due_soon", "due", "overdue", "done", "out_of_window", "missed"]

RECORDED = frozenset({"done", "out_of_window", "missed"})


def visit_state(
    *,
    status: str,
    window_start: dt.date,
    window_end: dt.date,
    today: dt.date,
    due_soon_days: int,
) -> VisitState:
    """The state of one visit on `today` (see the module's rule).

    Parameters
    ----------
    status: the stored status (`due` while not recorded, else `done`, `out_of_window`, `missed`).
    window_start, window_end: the visit's window, inclusive.
    today: the site's date.
    due_soon_days: how many days ahead a window opening counts as "due soon" (>= 0).

    Example
    -------
    >>> visit_state(status="due", window_start=dt.date(2027, 3, 8), window_end=dt.date(2027, 3, 10),
    ...             today=dt.date(2027, 3, 11), due_soon_days=7)
    'overdue'
    """
    if window_end < window_start:
        raise ValueError(f"window_end {window_end} is before window_start {window_start}")
    if due_soon_days < 0:
        raise ValueError(f"due_soon_days must be 0 or more, not {due_soon_days}")
    if status in RECORDED:
        return status  # type: ignore[return-value]
    if window_end < today:
        return "overdue"
    if window_start <= today:
        return "due"
    if (window_start - today).days <= due_soon_days:
        return "due_soon"
    return "planned"
