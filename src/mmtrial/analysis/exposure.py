"""Exposure to study drugs: cycles received, dose intensity, dose reductions and holds.

Input: an EX-like frame, one row per subject, drug and cycle. Required columns: USUBJID, EXTRT
(drug), CYCLE, EXDOSE (dose given in the cycle, 0 when held), EXPLDOS (planned dose). Optional:
DOSREDFL (Y = dose reduced in that cycle), HELDFL (Y = dose held / skipped in that cycle).
"""

from __future__ import annotations

import pandas as pd

from mmtrial.analysis.adam_io import require_variables

REQUIRED = ("USUBJID", "EXTRT", "CYCLE", "EXDOSE", "EXPLDOS")


def _numeric(frame: pd.DataFrame) -> pd.DataFrame:
    require_variables(frame, file="adex", variables=REQUIRED)
    out = frame.copy()
    for col in ("CYCLE", "EXDOSE", "EXPLDOS"):
        out[col] = pd.to_numeric(out[col], errors="coerce")
    return out


def cycles_received(adex: pd.DataFrame) -> pd.Series:
    """Per subject: number of cycles in which any study drug was given (EXDOSE > 0)."""
    frame = _numeric(adex)
    given = frame[frame["EXDOSE"] > 0]
    return given.groupby("USUBJID")["CYCLE"].nunique().rename("cycles")


def dose_intensity(adex: pd.DataFrame) -> pd.DataFrame:
    """Relative dose intensity per subject and drug: total given / total planned x 100 (%)."""
    frame = _numeric(adex)
    sums = frame.groupby(["EXTRT", "USUBJID"])[["EXDOSE", "EXPLDOS"]].sum()
    sums["relative_dose_intensity_pct"] = sums["EXDOSE"] / sums["EXPLDOS"] * 100
    return sums.reset_index()[["EXTRT", "USUBJID", "relative_dose_intensity_pct"]]


def _flagged(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(dtype=int)
    return frame[frame[column] == "Y"].groupby("EXTRT")["USUBJID"].nunique()


def exposure_summary(adex: pd.DataFrame) -> pd.DataFrame:
    """Per drug: subjects exposed, cycles (median, min, max), relative dose intensity (median,
    min, max, %), subjects with at least one dose reduction and with at least one hold."""
    frame = _numeric(adex)
    given = frame[frame["EXDOSE"] > 0]
    cycles = given.groupby(["EXTRT", "USUBJID"])["CYCLE"].nunique().groupby("EXTRT")
    rdi = dose_intensity(frame).groupby("EXTRT")["relative_dose_intensity_pct"]
    out = pd.DataFrame(
        {
            "subjects": frame.groupby("EXTRT")["USUBJID"].nunique(),
            "cycles_median": cycles.median(),
            "cycles_min": cycles.min(),
            "cycles_max": cycles.max(),
            "rdi_median_pct": rdi.median(),
            "rdi_min_pct": rdi.min(),
            "rdi_max_pct": rdi.max(),
            "subjects_with_reduction": _flagged(frame, "DOSREDFL"),
            "subjects_with_hold": _flagged(frame, "HELDFL"),
        }
    )
    for col in ("subjects_with_reduction", "subjects_with_hold"):
        out[col] = out[col].fillna(0).astype(int)
    return out.reset_index(names="EXTRT")
