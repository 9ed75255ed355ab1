"""Exposure to study drugs: cycles received, dose intensity, dose reductions and holds.

Input: an EX-like frame, one row per subject, drug and cycle. Required columns: USUBJID, EXTRT
(drug), CYCLE, EXDOSE (dose given in the cycle, 0 when held), EXPLDOS (planned dose). Optional:
DOSREDFL (Y = dose reduced in that cycle), HELDFL (Y = dose held / skipped in that cycle).

Relative dose intensity is computed over completed cycles only: a cycle still in progress at
the data cut has had only some of its doses, and counting it would measure the calendar, not
the dose intensity (a participant in day 2 of a cycle whose day-1 dose was held shows 0%).
Which cycles are complete comes from ADSL (`completed_cycles`).
"""

from __future__ import annotations

import pandas as pd

from mmtrial.analysis.adam_io import require_variables

REQUIRED = ("USUBJID", "EXTRT", "CYCLE", "EXDOSE", "EXPLDOS")
#: ADSL EOTSTT of a participant still on study treatment at the data cut.
ONGOING = "ONGOING"


def _numeric(frame: pd.DataFrame) -> pd.DataFrame:
    require_variables(frame, file="adex", variables=REQUIRED)
    out = frame.copy()
    for col in ("CYCLE", "EXDOSE", "EXPLDOS"):
        out[col] = pd.to_numeric(out[col], errors="coerce")
    return out


def completed_cycles(adex: pd.DataFrame, *, adsl: pd.DataFrame | None) -> pd.Series:
    """A boolean per ADEX row: True when the row's cycle was complete at the data cut.

    Rule: for a participant still on treatment (ADSL EOTSTT = ONGOING) the highest cycle in
    ADEX is the cycle in progress and is not complete; every earlier cycle is. For a participant
    whose treatment has ended, every cycle is complete (its last cycle ended with treatment).
    Without ADSL, or without EOTSTT in it, nothing is known to be in progress: every row is
    complete.
    """
    frame = _numeric(adex)
    if adsl is None or "EOTSTT" not in adsl.columns or frame.empty:
        return pd.Series(True, index=frame.index)
    require_variables(adsl, file="adsl", variables=["USUBJID"])
    ongoing = set(adsl.loc[adsl["EOTSTT"] == ONGOING, "USUBJID"].astype(str))
    last = frame.groupby("USUBJID")["CYCLE"].transform("max")
    in_progress = frame["USUBJID"].astype(str).isin(ongoing) & (frame["CYCLE"] == last)
    return ~in_progress


def cycles_received(adex: pd.DataFrame) -> pd.Series:
    """Per subject: number of cycles in which any study drug was given (EXDOSE > 0)."""
    frame = _numeric(adex)
    given = frame[frame["EXDOSE"] > 0]
    return given.groupby("USUBJID")["CYCLE"].nunique().rename("cycles")


def dose_intensity(adex: pd.DataFrame, *, adsl: pd.DataFrame | None = None) -> pd.DataFrame:
    """Relative dose intensity per subject and drug: total given / total planned x 100 (%),
    over the completed cycles (`completed_cycles`; all cycles without `adsl`).

    A subject and drug with nothing planned in completed cycles has no intensity (no row).
    """
    frame = _numeric(adex)
    frame = frame[completed_cycles(frame, adsl=adsl)]
    sums = frame.groupby(["EXTRT", "USUBJID"])[["EXDOSE", "EXPLDOS"]].sum()
    sums = sums[sums["EXPLDOS"] > 0]
    sums["relative_dose_intensity_pct"] = sums["EXDOSE"] / sums["EXPLDOS"] * 100
    return sums.reset_index()[["EXTRT", "USUBJID", "relative_dose_intensity_pct"]]


def _flagged(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(dtype=int)
    return frame[frame[column] == "Y"].groupby("EXTRT")["USUBJID"].nunique()


def exposure_summary(adex: pd.DataFrame, *, adsl: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per drug: subjects exposed, cycles (median, min, max), relative dose intensity over
    completed cycles (median, min, max, %, and the subjects it is computed on), subjects with at
    least one dose reduction and with at least one hold."""
    frame = _numeric(adex)
    given = frame[frame["EXDOSE"] > 0]
    cycles = given.groupby(["EXTRT", "USUBJID"])["CYCLE"].nunique().groupby("EXTRT")
    rdi = dose_intensity(frame, adsl=adsl).groupby("EXTRT")["relative_dose_intensity_pct"]
    out = pd.DataFrame(
        {
            "subjects": frame.groupby("EXTRT")["USUBJID"].nunique(),
            "cycles_median": cycles.median(),
            "cycles_min": cycles.min(),
            "cycles_max": cycles.max(),
            "rdi_subjects": rdi.count(),
            "rdi_median_pct": rdi.median(),
            "rdi_min_pct": rdi.min(),
            "rdi_max_pct": rdi.max(),
            "subjects_with_reduction": _flagged(frame, "DOSREDFL"),
            "subjects_with_hold": _flagged(frame, "HELDFL"),
        }
    )
    for col in ("rdi_subjects", "subjects_with_reduction", "subjects_with_hold"):
        out[col] = out[col].fillna(0).astype(int)
    return out.reset_index(names="EXTRT")
