"""Dates of the tabulation: ISO 8601 text, study days and epochs (one rule each)."""

from __future__ import annotations

import datetime as dt

from mmtrial.clinical.study_days import study_day

__all__ = [
    "EPOCH_FOLLOW_UP",
    "EPOCH_SCREENING",
    "EPOCH_TREATMENT",
    "derive_var_dy",
    "derive_var_epoch",
    "iso",
]

EPOCH_SCREENING = "SCREENING"
EPOCH_TREATMENT = "TREATMENT"
EPOCH_FOLLOW_UP = "FOLLOW-UP"


def iso(value: dt.date | None) -> str | None:
    """A date as ISO 8601 text (YYYY-MM-DD), None when unknown."""
    return None if value is None else value.isoformat()


def derive_var_dy(on: dt.date | None, *, rfstdt: dt.date | None) -> int | None:
    """--DY: study day of `on` relative to RFSTDTC (the first dose).

    Rule: mmtrial.clinical.study_days.study_day (day 1 = first dose, no day 0); None when either
    date is unknown (a participant never dosed has no study days).
    """
    if on is None or rfstdt is None:
        return None
    return study_day(on=on, c1d1=rfstdt)


def derive_var_epoch(
    on: dt.date | None, *, first_dose: dt.date | None, end_of_treatment: dt.date | None
) -> str | None:
    """EPOCH of a date.

    Rule: SCREENING before the first dose or when never dosed; TREATMENT from the first dose up
    to and including the end-of-treatment last dose date (or while on treatment); FOLLOW-UP
    after it. Source: SDTMIG 3.4 section 4.1.3.1; protocol section 8.
    """
    if on is None:
        return None
    if first_dose is None or on < first_dose:
        return EPOCH_SCREENING
    if end_of_treatment is not None and on > end_of_treatment:
        return EPOCH_FOLLOW_UP
    return EPOCH_TREATMENT
