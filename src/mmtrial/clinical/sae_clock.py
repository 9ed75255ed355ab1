"""The SAE reporting clock: has a serious adverse event reached the sponsor in time?

Rule (protocol file ``safety.sae_report_hours``; ICH E6(R3), ICH E2A)
    The site must send the initial report of a serious adverse event to the sponsor within
    N hours of becoming aware of it. The deadline is awareness + N elapsed hours (absolute time,
    not wall-clock time: across a daylight-saving change 24 hours is still 24 hours). States:
    - ``due``: no initial report yet, now is before the deadline (``time_left`` > 0);
    - ``overdue``: no initial report yet, now is at or past the deadline;
    - ``reported_on_time``: the initial report was sent at or before the deadline;
    - ``reported_late``: the initial report was sent after the deadline.
    Every datetime must carry its time zone (design rule 5); the deadline is shown in the site's
    zone.

Source: ICH E6(R3) Annex 1 (investigator safety reporting: SAEs reported to the sponsor
immediately); ICH E2A (definition of serious); the hours are the protocol's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from mmtrial.errors import InputError
from mmtrial.protocol.models import Protocol

__all__ = ["SaeClock", "SaeClockState", "sae_clock", "sae_deadline"]

SaeClockState = Literal["due", "overdue", "reported_on_time", "reported_late"]
SOURCE = "ICH E6(R3) Annex 1; ICH E2A; protocol safety.sae_report_hours"
NO_SAFETY_SECTION = "the protocol file has no safety section (safety.sae_report_hours)"
NAIVE_DATETIME = "{field}: a date and time with its time zone is needed, not {value}"


@dataclass(frozen=True)
class SaeClock:
    """An SAE's reporting clock and why it is in its state."""

    state: SaeClockState
    aware_at: dt.datetime
    deadline: dt.datetime  # in the site's time zone
    hours: int
    reported_at: dt.datetime | None
    time_left: dt.timedelta | None  # due only
    late_by: dt.timedelta | None  # overdue (so far) or reported late
    reason: str
    source: str = SOURCE

    @property
    def open(self) -> bool:
        """True while no initial report has been sent."""
        return self.state in ("due", "overdue")


def _aware(field: str, value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError.coded(NAIVE_DATETIME, {"field": field}, field=field, value=value)
    return value


def sae_deadline(*, aware_at: dt.datetime, protocol: Protocol, site_tz: str) -> dt.datetime:
    """Awareness + the protocol's hours, as elapsed time, shown in the site's zone."""
    if protocol.safety is None:
        raise InputError(NO_SAFETY_SECTION, {"field": "safety"})
    start = _aware("aware_at", aware_at).astimezone(dt.UTC)
    return (start + dt.timedelta(hours=protocol.safety.sae_report_hours)).astimezone(
        ZoneInfo(site_tz)
    )


def _shown(value: dt.datetime, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def _hours(delta: dt.timedelta) -> str:
    hours, rest = divmod(delta, dt.timedelta(hours=1))
    return f"{hours} h {rest // dt.timedelta(minutes=1):02d} min"


def sae_clock(
    *,
    aware_at: dt.datetime,
    now: dt.datetime,
    protocol: Protocol,
    site_tz: str,
    reported_at: dt.datetime | None = None,
) -> SaeClock:
    """The clock of one SAE (rule in the module docstring).

    Example: aware 2026-03-07 10:00 America/New_York (EST), 24 hours -> deadline
    2026-03-08 11:00 EDT (the clocks went forward at 02:00; 24 elapsed hours).
    """
    tz = ZoneInfo(site_tz)
    deadline = sae_deadline(aware_at=aware_at, protocol=protocol, site_tz=site_tz)
    hours = protocol.safety.sae_report_hours  # type: ignore[union-attr]  # checked above
    now = _aware("now", now)
    aware_at = aware_at.astimezone(tz)
    if reported_at is not None:
        reported_at = _aware("reported_at", reported_at).astimezone(tz)
        late = reported_at - deadline
        if late > dt.timedelta(0):
            return SaeClock(
                "reported_late",
                aware_at,
                deadline,
                hours,
                reported_at,
                None,
                late,
                f"reported {_shown(reported_at, tz)}, {_hours(late)} after the deadline "
                f"{_shown(deadline, tz)} ({hours} h from awareness {_shown(aware_at, tz)})",
            )
        return SaeClock(
            "reported_on_time",
            aware_at,
            deadline,
            hours,
            reported_at,
            None,
            None,
            f"reported {_shown(reported_at, tz)}, within {hours} h of awareness "
            f"{_shown(aware_at, tz)} (deadline {_shown(deadline, tz)})",
        )
    left = deadline - now
    if left > dt.timedelta(0):
        return SaeClock(
            "due",
            aware_at,
            deadline,
            hours,
            None,
            left,
            None,
            f"initial report due by {_shown(deadline, tz)} ({_hours(left)} left; {hours} h from "
            f"awareness {_shown(aware_at, tz)})",
        )
    return SaeClock(
        "overdue",
        aware_at,
        deadline,
        hours,
        None,
        None,
        -left,
        f"initial report overdue since {_shown(deadline, tz)} ({_hours(-left)} late; {hours} h "
        f"from awareness {_shown(aware_at, tz)})",
    )
