"""Best overall response table and response rates with exact (Clopper-Pearson) 95% CIs."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass

import pandas as pd
from scipy.stats import binomtest

from mmtrial.analysis.adam_io import require_variables
from mmtrial.analysis.codelists import (
    CR_OR_BETTER_CATEGORIES,
    ORR_CATEGORIES,
    PARAMCD_BEST_RESPONSE,
    RATE_METHOD,
    RESPONSE_CATEGORIES,
    VGPR_OR_BETTER_CATEGORIES,
)
from mmtrial.analysis.populations import response_evaluable


@dataclass(frozen=True)
class ResponseRate:
    """A response rate in percent with its exact two-sided confidence interval (percent)."""

    responders: int
    n: int
    percent: float | None
    ci95: tuple[float | None, float | None]
    method: str = RATE_METHOD

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["ci95"] = list(self.ci95)
        return data


def clopper_pearson_ci(*, responders: int, n: int, conf_level: float = 0.95) -> tuple[float, float]:
    """Exact Clopper-Pearson interval for a binomial proportion, as fractions in [0, 1].

    Rule: the beta-quantile (exact) interval, via scipy `binomtest(k, n).proportion_ci(method=
    "exact")`; the lower limit is 0 when k = 0 and the upper limit is 1 when k = n.
    Source: Clopper CJ, Pearson ES. Biometrika 1934;26:404-413; SAP (protocol section 11).

    Example:
        >>> lo, hi = clopper_pearson_ci(responders=16, n=32)
        >>> round(lo * 100, 2), round(hi * 100, 2)
        (31.89, 68.11)
    """
    if n <= 0:
        raise ValueError("n must be positive")
    if not 0 <= responders <= n:
        raise ValueError("responders must be between 0 and n")
    ci = binomtest(responders, n).proportion_ci(confidence_level=conf_level, method="exact")
    return float(ci.low), float(ci.high)


def response_rate(*, responders: int, n: int, conf_level: float = 0.95) -> ResponseRate:
    """Rate in percent with the exact CI in percent; percent and CI are None when n = 0."""
    if n == 0:
        return ResponseRate(responders=0, n=0, percent=None, ci95=(None, None))
    low, high = clopper_pearson_ci(responders=responders, n=n, conf_level=conf_level)
    return ResponseRate(
        responders=responders, n=n, percent=responders / n * 100, ci95=(low * 100, high * 100)
    )


def derive_best_response(adsl: pd.DataFrame, *, adrs: pd.DataFrame) -> pd.DataFrame:
    """One row per response-evaluable subject with its confirmed best overall response.

    Rule: subjects with EFFFL = Y; BOR = AVALC of their ADRS record with PARAMCD = CBOR. An
    evaluable subject without a CBOR record counts as NE (not evaluable), so the table always
    adds up to the evaluable population. Returns columns USUBJID, BOR.
    """
    require_variables(adrs, file="adrs", variables=["USUBJID", "PARAMCD", "AVALC"])
    evaluable = response_evaluable(adsl)[["USUBJID"]]
    best = adrs.loc[adrs["PARAMCD"] == PARAMCD_BEST_RESPONSE, ["USUBJID", "AVALC"]]
    best = best.drop_duplicates("USUBJID").rename(columns={"AVALC": "BOR"})
    merged = evaluable.merge(best, on="USUBJID", how="left")
    merged["BOR"] = merged["BOR"].fillna("NE")
    return merged.reset_index(drop=True)


def best_overall_response_table(adsl: pd.DataFrame, *, adrs: pd.DataFrame) -> dict[str, object]:
    """Counts of each of the eight categories among evaluable subjects: {n, counts}."""
    best = derive_best_response(adsl, adrs=adrs)
    counts = {category: int((best["BOR"] == category).sum()) for category in RESPONSE_CATEGORIES}
    return {"n": len(best), "counts": counts}


def rate_of(best: pd.DataFrame, *, categories: Collection[str]) -> ResponseRate:
    """Rate of subjects whose BOR is one of `categories`, over all rows of `best`."""
    return response_rate(responders=int(best["BOR"].isin(categories).sum()), n=len(best))


def response_rates(adsl: pd.DataFrame, *, adrs: pd.DataFrame) -> dict[str, ResponseRate]:
    """ORR (PR or better), VGPR or better and CR or better over the evaluable population."""
    best = derive_best_response(adsl, adrs=adrs)
    return {
        "orr": rate_of(best, categories=ORR_CATEGORIES),
        "vgpr_or_better": rate_of(best, categories=VGPR_OR_BETTER_CATEGORIES),
        "cr_or_better": rate_of(best, categories=CR_OR_BETTER_CATEGORIES),
    }
