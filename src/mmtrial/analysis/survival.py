"""Kaplan-Meier estimates with the median and its Brookmeyer-Crowley confidence interval.

The survival curve comes from lifelines' `KaplanMeierFitter`. The pointwise confidence band and
the quantile search are written out here because the reference for the median's interval is
R `survival` (`survfit(..., conf.type = "log-log")` then `quantile.survfit`), and lifelines
differs from it in two corners: lifelines closes the band at 0 where S(t) = 0 (R leaves it
undefined, so an upper limit is "not reached" rather than the last time), and lifelines takes the
first time S(t) <= 0.5 even where the curve is flat at exactly 0.5 (R and SAS take the midpoint of
the flat).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy.stats import norm

from mmtrial.analysis.codelists import DAYS_PER_MONTH

ConfType = Literal["log-log", "log"]

#: R's default tolerance in quantile.survfit (sqrt of the double machine epsilon).
QUANTILE_TOLERANCE = math.sqrt(np.finfo(float).eps)


@dataclass(frozen=True)
class KaplanMeierEstimate:
    """A fitted Kaplan-Meier curve, its pointwise band and the median with its interval.

    `timeline` holds 0 then every distinct observed time (events and censorings); `survival`,
    `lower` and `upper` are the step values from that time on (NaN where the band is undefined:
    S(t) = 1 or S(t) = 0 on the log(-log) scale). Times are in the units of the durations given.
    """

    n: int
    events: int
    timeline: np.ndarray
    survival: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    at_risk: np.ndarray
    median: float | None
    median_lower: float | None
    median_upper: float | None
    conf_level: float
    conf_type: str
    censor_times: np.ndarray = field(default_factory=lambda: np.array([]))

    def number_at_risk(self, times: list[float] | np.ndarray) -> list[int]:
        """Subjects still at risk (time >= t) at each of `times`, as printed under KM plots."""
        return [int(np.sum(self._durations >= t)) for t in times]

    # Kept private: the raw durations are only needed for numbers at risk.
    _durations: np.ndarray = field(default_factory=lambda: np.array([]), repr=False)


def pointwise_band(
    *,
    survival: np.ndarray,
    greenwood_sum: np.ndarray,
    conf_level: float = 0.95,
    conf_type: ConfType = "log-log",
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise confidence band of S(t) from Greenwood's variance.

    Rule: with se = sqrt(sum d_i / (n_i (n_i - d_i))) (the standard error of log S, Greenwood),
    `log-log` (Kalbfleisch-Prentice, R `conf.type = "log-log"`, lifelines' exponential
    Greenwood) gives S^exp(-/+ z se / log S); `log` gives S exp(-/+ z se), capped at 1.
    Undefined (NaN) where S = 0, and also where S = 1 for log(-log), as in R.
    """
    z = norm.ppf(1 - (1 - conf_level) / 2)
    s = np.asarray(survival, dtype=float)
    se = np.sqrt(np.asarray(greenwood_sum, dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "log-log":
            defined = (s > 0) & (s < 1) & np.isfinite(se)
            log_s = np.where(defined, np.log(np.where(defined, s, 0.5)), np.nan)
            lower = np.where(defined, s ** np.exp(-z * se / log_s), np.nan)
            upper = np.where(defined, s ** np.exp(z * se / log_s), np.nan)
        elif conf_type == "log":
            defined = (s > 0) & np.isfinite(se)
            lower = np.where(defined, s * np.exp(-z * se), np.nan)
            upper = np.where(defined, np.minimum(1.0, s * np.exp(z * se)), np.nan)
        else:
            raise ValueError(f"conf_type must be 'log-log' or 'log', not {conf_type!r}")
    return lower, upper


def survival_quantile(
    *,
    timeline: np.ndarray,
    curve: np.ndarray,
    p: float = 0.5,
    tolerance: float = QUANTILE_TOLERANCE,
) -> float | None:
    """The time at which a survival curve (or one of its confidence bands) falls to `p`.

    Rule (R `survival:::findq`): the first time the curve is <= p; when the curve is flat at
    exactly p (within `tolerance`) the midpoint between the start of the flat and the next drop,
    or the last observed time when the flat runs to the end. None when the curve never falls to
    p (not reached). NaN points (undefined band) are skipped.

    `timeline` holds the observed times; the curve is 1 at the origin (time 0) before them.
    """
    x = np.concatenate([[0.0], np.asarray(timeline, dtype=float)])
    y = np.concatenate([[0.0], 1.0 - np.asarray(curve, dtype=float)])
    target = 1.0 - p
    if np.all(np.isnan(y)) or np.nanmax(y) < target:
        return None
    last_time = x[-1]
    first = ~pd.Series(y).duplicated().to_numpy()
    x, y = x[first], y[first]

    def first_at_or_above(values: np.ndarray) -> int | None:
        hits = np.flatnonzero(~np.isnan(values) & (values >= target))
        return int(hits[0]) if hits.size else None

    start = first_at_or_above(y + tolerance)
    end = first_at_or_above(y - tolerance)
    if start is None:
        return None
    if end is not None:
        return float((x[start] + x[end]) / 2)
    if not np.isnan(y[-1]) and abs(target - y[-1]) < tolerance:
        return float((x[start] + last_time) / 2)
    return None


def km_estimate(
    *,
    durations: np.ndarray | pd.Series | list[float],
    event_observed: np.ndarray | pd.Series | list[int],
    conf_level: float = 0.95,
    conf_type: ConfType = "log-log",
) -> KaplanMeierEstimate:
    """Kaplan-Meier estimate with the median and its Brookmeyer-Crowley interval.

    Rule: S(t) by the product-limit method (lifelines `KaplanMeierFitter`); Greenwood variance;
    pointwise band on the log(-log) scale; median = `survival_quantile` of S; the interval for
    the median (Brookmeyer and Crowley 1982) is the set of times whose pointwise band contains
    0.5: its lower limit is where the lower band falls to 0.5, its upper limit where the upper
    band does. A limit the band never reaches is None ("not reached").

    Source: SAP (protocol section 11); Brookmeyer R, Crowley J. Biometrics 1982;38:29-41;
    R survival `quantile.survfit`.

    Example:
        >>> est = km_estimate(durations=[1, 2, 3, 4], event_observed=[1, 1, 1, 1])
        >>> est.median
        2.5
    """
    from lifelines import KaplanMeierFitter

    t = np.asarray(durations, dtype=float)
    e = np.asarray(event_observed, dtype=int)
    if t.shape != e.shape:
        raise ValueError("durations and event_observed must have the same length")
    if t.size == 0:
        empty = np.array([0.0])
        return KaplanMeierEstimate(
            n=0,
            events=0,
            timeline=empty,
            survival=np.array([1.0]),
            lower=np.array([np.nan]),
            upper=np.array([np.nan]),
            at_risk=np.array([0]),
            median=None,
            median_lower=None,
            median_upper=None,
            conf_level=conf_level,
            conf_type=conf_type,
            _durations=t,
        )
    if np.any(t < 0) or np.any(np.isnan(t)):
        raise ValueError("durations must be non-negative numbers")
    fitter = KaplanMeierFitter(alpha=1 - conf_level).fit(t, event_observed=e)
    table = fitter.event_table
    timeline = table.index.to_numpy(dtype=float)
    survival = fitter.survival_function_.iloc[:, 0].reindex(timeline).to_numpy()
    at_risk = table["at_risk"].to_numpy(dtype=float)
    died = table["observed"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(died > 0, died / (at_risk * (at_risk - died)), 0.0)
    greenwood = np.cumsum(term)
    lower, upper = pointwise_band(
        survival=survival, greenwood_sum=greenwood, conf_level=conf_level, conf_type=conf_type
    )
    return KaplanMeierEstimate(
        n=int(t.size),
        events=int(e.sum()),
        timeline=timeline,
        survival=survival,
        lower=lower,
        upper=upper,
        at_risk=table["at_risk"].to_numpy(dtype=int),
        median=survival_quantile(timeline=timeline, curve=survival),
        median_lower=survival_quantile(timeline=timeline, curve=lower),
        median_upper=survival_quantile(timeline=timeline, curve=upper),
        conf_level=conf_level,
        conf_type=conf_type,
        censor_times=np.sort(t[e == 0]),
        _durations=t,
    )


def days_to_months(days: float | None) -> float | None:
    """Months = days / 30.4375 (365.25 / 12); None stays None."""
    return None if days is None else days / DAYS_PER_MONTH
