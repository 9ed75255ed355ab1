"""The efficacy summary of contracts/analyze.md, built from checked ADaM frames."""

from __future__ import annotations

import pandas as pd

from mmtrial.analysis.efficacy import best_overall_response_table, response_rates
from mmtrial.analysis.populations import population_counts
from mmtrial.analysis.survival import KaplanMeierEstimate
from mmtrial.analysis.time_to_event import km_by_parameter, summarise_km


def efficacy_summary(
    adsl: pd.DataFrame,
    *,
    adrs: pd.DataFrame,
    adtte: pd.DataFrame,
    estimates: dict[str, KaplanMeierEstimate] | None = None,
) -> dict[str, object]:
    """Populations, best overall response, ORR / VGPR-or-better / CR-or-better with exact CIs,
    and Kaplan-Meier medians of each time-to-event parameter present (keys as the contract).

    `estimates` (from `km_by_parameter(adtte)`) may be passed when the caller already has them.
    """
    rates = response_rates(adsl, adrs=adrs)
    if estimates is None:
        estimates = km_by_parameter(adtte)
    return {
        "populations": population_counts(adsl),
        "best_response": best_overall_response_table(adsl, adrs=adrs),
        **{key: rate.as_dict() for key, rate in rates.items()},
        "time_to_event": {paramcd: summarise_km(est) for paramcd, est in estimates.items()},
    }
