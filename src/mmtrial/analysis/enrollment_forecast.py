"""The date of the last enrollment, and so of the study's closure, forecast from the sites' rates.

Rule
----
Anisimov & Fedorov's Poisson-Gamma model: site i enrolls as a Poisson process of rate
lambda_i; the rates vary between sites as Gamma(alpha, beta). Site i has enrolled n_i
participants in t_i days active (from its opening, or from the study's first enrollment when
its opening is not known, to the as-of date). The prior's shape alpha is fitted by the method
of moments from the sites' rates (between-site variance s^2 = var(n_i / t_i) - m mean(1 / t_i),
m = sum n / sum t; alpha = m^2 / s^2, no pooling limit when s^2 <= 0); its mean carries its
own uncertainty: each simulation draws the pooled rate m* ~ Gamma(sum n + 1/2, sum t)
(Jeffreys), then each site's rate from its posterior Gamma(alpha + n_i, alpha / m* + t_i).
With R participants still to enroll, the time to the last enrollment given the rates is
Gamma(R, sum lambda_i) (the R-th arrival of the pooled process). The forecast is that
time's quantiles over the draws, added to the as-of date; the closure date is the last
enrollment + `study_closure.months_after_last_enrollment` calendar months (the one closure
rule, `clinical.study_days.add_calendar_months`, as `clinical.schedule` uses it). Once the
planned number is enrolled the last enrollment is a fact and the closure date is exact.

Deterministic: the same inputs and `seed` give the same forecast (numpy's PCG64).

Source
------
Anisimov VV, Fedorov VV. Modelling, prediction and adaptive adjustment of recruitment in
multicentre trials. Stat Med 2007;26:4958-4975. The planned sample size: the protocol file's
`enrollment.planned_participants`; the closure rule: `study_closure` (the seed: 24 months
after the last participant's enrollment).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmtrial.analysis.codelists import DAYS_PER_MONTH
from mmtrial.clinical.study_days import add_calendar_months

__all__ = ["EnrollmentForecast", "forecast_enrollment"]

JEFFREYS_SHAPE = 0.5
BAND_POINTS = 60  # dates at which the forecast band is drawn
# Beyond this the rate so far says nothing useful about the end of enrollment (and dates pass
# what pandas can hold): the forecast is refused as not estimable rather than drawn.
HORIZON_DAYS_MAX = 100 * 365


class ForecastNotEstimable(ValueError):
    """The enrollment so far is too slow for the plan: no forecast within HORIZON_DAYS_MAX."""


@dataclass(frozen=True)
class EnrollmentForecast:
    """The forecast as a sponsor reads it.

    `complete`: the planned number is enrolled, `last_enrollment` and `closure` are then
    facts (the interval collapses to them). Otherwise `last_enrollment` is the median forecast,
    `last_enrollment_low`/`_high` the `level` interval, and `closure*` the same + the closure
    period. `band`: the forecast cumulative enrollment by date (date, low, median, high).
    """

    as_of: dt.date
    planned: int
    enrolled: int
    complete: bool
    level: float
    last_enrollment: dt.date
    last_enrollment_low: dt.date
    last_enrollment_high: dt.date
    closure: dt.date
    closure_low: dt.date
    closure_high: dt.date
    actual: pd.DataFrame  # date, cumulative
    band: pd.DataFrame  # date, low, median, high
    sites: int
    rate_per_month: float  # the study's rate so far, participants per month (all sites)


def _moments_shape(counts: np.ndarray, days: np.ndarray) -> float:
    """alpha by the method of moments; infinity when the sites do not vary beyond Poisson."""
    m = counts.sum() / days.sum()
    if len(counts) < 2 or m <= 0:
        return math.inf
    between = np.var(counts / days, ddof=1) - m * np.mean(1 / days)
    return m * m / between if between > 0 else math.inf


def forecast_enrollment(
    *,
    enrollment_dates: Mapping[str, Iterable[dt.date]],
    planned: int,
    closure_months: int,
    as_of: dt.date,
    site_opened: Mapping[str, dt.date] | None = None,
    level: float = 0.8,
    draws: int = 4000,
    seed: int = 0,
) -> EnrollmentForecast:
    """Forecast the last enrollment and the closure (rule in the module docstring).

    `enrollment_dates`: {site code: enrollment dates}; a site with none still counts (it may
    enroll). `site_opened`: each site's opening date, when known. `level`: the interval's
    coverage (0.8: the 10th to 90th percentiles).
    """
    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 1")
    if planned <= 0:
        raise ValueError("planned must be positive")
    by_site = {
        site: sorted(d for d in dates if d <= as_of) for site, dates in enrollment_dates.items()
    }
    every = sorted(d for dates in by_site.values() for d in dates)
    actual = pd.DataFrame({"date": every, "cumulative": np.arange(1, len(every) + 1)})
    low_q, high_q = (1 - level) / 2, 1 - (1 - level) / 2
    enrolled = len(every)
    if enrolled >= planned:
        last = every[-1]
        closure = add_calendar_months(last, months=closure_months)
        empty = pd.DataFrame(columns=["date", "low", "median", "high"])
        return EnrollmentForecast(
            as_of, planned, enrolled, True, level, last, last, last, closure, closure, closure,
            actual, empty, len(by_site), math.nan,
        )  # fmt: skip
    if not every:
        raise ValueError("no enrollment yet: nothing to forecast from")
    first = every[0]
    opened = site_opened or {}
    sites = sorted(by_site)
    counts = np.array([len(by_site[s]) for s in sites], dtype=float)
    days = np.array([max((as_of - opened.get(s, first)).days + 1, 1) for s in sites], dtype=float)
    alpha = _moments_shape(counts, days)
    rng = np.random.default_rng(seed)
    pooled = rng.gamma(counts.sum() + JEFFREYS_SHAPE, 1 / days.sum(), size=draws)
    if math.isinf(alpha):
        total_rate = pooled * len(sites)  # every site at the pooled rate
    else:
        site_rates = rng.gamma(
            alpha + counts[None, :], 1 / (alpha / pooled[:, None] + days[None, :])
        )
        total_rate = site_rates.sum(axis=1)
    remaining = planned - enrolled
    wait_days = rng.gamma(remaining, 1 / total_rate)
    q_low, q_mid, q_high = np.quantile(wait_days, [low_q, 0.5, high_q])
    if not q_high <= HORIZON_DAYS_MAX:
        raise ForecastNotEstimable(
            f"at the enrollment rate so far, the remaining {remaining} participants would take "
            f"more than {HORIZON_DAYS_MAX // 365} years: no forecast"
        )

    def on(day_offset: float) -> dt.date:
        return as_of + dt.timedelta(days=math.ceil(day_offset))

    last_low, last_mid, last_high = on(q_low), on(q_mid), on(q_high)
    horizon = math.ceil(q_high) + 1
    grid = np.linspace(0, horizon, num=min(horizon + 1, BAND_POINTS))
    # cumulative enrolled at each future day: Poisson given the rate, capped at the plan
    future = rng.poisson(total_rate[:, None] * grid[None, :])
    cumulative = np.minimum(enrolled + future, planned)
    band = pd.DataFrame(
        {
            "date": [as_of + dt.timedelta(days=float(g)) for g in grid],
            "low": np.quantile(cumulative, low_q, axis=0),
            "median": np.quantile(cumulative, 0.5, axis=0),
            "high": np.quantile(cumulative, high_q, axis=0),
        }
    )
    return EnrollmentForecast(
        as_of=as_of,
        planned=planned,
        enrolled=enrolled,
        complete=False,
        level=level,
        last_enrollment=last_mid,
        last_enrollment_low=last_low,
        last_enrollment_high=last_high,
        closure=add_calendar_months(last_mid, months=closure_months),
        closure_low=add_calendar_months(last_low, months=closure_months),
        closure_high=add_calendar_months(last_high, months=closure_months),
        actual=actual,
        band=band,
        sites=len(sites),
        rate_per_month=float(counts.sum() / days.sum() * DAYS_PER_MONTH * len(sites)),
    )
