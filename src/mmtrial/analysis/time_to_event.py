"""Time-to-event endpoints of ADTTE (PFS, OS, TTP, DOR, TTR) summarised by Kaplan-Meier."""

from __future__ import annotations

import pandas as pd

from mmtrial.analysis.adam_io import require_variables
from mmtrial.analysis.codelists import TTE_METHOD, TTE_PARAMCDS
from mmtrial.analysis.survival import KaplanMeierEstimate, days_to_months, km_estimate


def km_by_parameter(adtte: pd.DataFrame) -> dict[str, KaplanMeierEstimate]:
    """A Kaplan-Meier estimate (in days) for each PARAMCD present, in SAP order.

    Rule: one record per subject and parameter; AVAL in days; CNSR 0 = event, >= 1 censored.
    """
    require_variables(adtte, file="adtte", variables=["USUBJID", "PARAMCD", "AVAL", "CNSR"])
    estimates: dict[str, KaplanMeierEstimate] = {}
    for paramcd in TTE_PARAMCDS:
        rows = adtte[adtte["PARAMCD"] == paramcd]
        if rows.empty:
            continue
        estimates[paramcd] = km_estimate(
            durations=rows["AVAL"].astype(float).to_numpy(),
            event_observed=(rows["CNSR"].astype(int) == 0).astype(int).to_numpy(),
        )
    return estimates


def summarise_km(estimate: KaplanMeierEstimate) -> dict[str, object]:
    """n, events, median and its 95% CI in months (None = not reached), as in the contract."""
    return {
        "n": estimate.n,
        "events": estimate.events,
        "median_months": days_to_months(estimate.median),
        "ci95_months": [
            days_to_months(estimate.median_lower),
            days_to_months(estimate.median_upper),
        ],
        "method": TTE_METHOD,
    }


def time_to_event_summary(adtte: pd.DataFrame) -> dict[str, dict[str, object]]:
    """The contract's `time_to_event` object: one entry per parameter present."""
    return {paramcd: summarise_km(est) for paramcd, est in km_by_parameter(adtte).items()}
