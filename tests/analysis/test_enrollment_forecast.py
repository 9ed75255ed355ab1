"""Enrollment forecast (Anisimov & Fedorov 2007): coverage on simulated enrollment with a
known rate, determinism, and the exact closure once enrollment is complete."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import stats

from mmtrial.analysis.enrollment_forecast import forecast_enrollment

START = dt.date(2025, 1, 1)
CLOSURE_MONTHS = 24  # the seed's closure rule, as in protocols/irdj.yaml


def _simulate(rng, *, sites: int, rate_per_day: float, planned: int, observed_days: int):
    """Poisson enrollment at every site from START; returns the dates seen by START +
    observed_days and the true date of the planned-th enrollment."""
    arrivals = []
    for k in range(sites):
        t, times = 0.0, []
        while len(times) < planned:
            t += rng.exponential(1 / rate_per_day)
            times.append(t)
        arrivals += [(time, f"S{k}") for time in times]
    arrivals.sort()
    true_last = START + dt.timedelta(days=int(arrivals[planned - 1][0]))
    seen: dict[str, list[dt.date]] = {f"S{k}": [] for k in range(sites)}
    for time, site in arrivals:
        if time < observed_days:
            seen[site].append(START + dt.timedelta(days=int(time)))
    return seen, true_last


def test_the_80_percent_interval_covers_the_true_last_enrollment_in_about_80_percent_of_runs():
    runs, covered = 200, 0
    for run in range(runs):
        rng = np.random.default_rng(1000 + run)
        seen, true_last = _simulate(rng, sites=8, rate_per_day=0.02, planned=60, observed_days=180)
        as_of = START + dt.timedelta(days=179)
        forecast = forecast_enrollment(
            enrollment_dates=seen, planned=60, closure_months=CLOSURE_MONTHS, as_of=as_of,
            site_opened={s: START for s in seen}, level=0.8, draws=2000, seed=run,
        )  # fmt: skip
        covered += forecast.last_enrollment_low <= true_last <= forecast.last_enrollment_high
    # binomial tolerance: 200 runs at p = 0.8, a two-sided 99% acceptance region
    low, high = stats.binom.ppf([0.005, 0.995], runs, 0.8)
    assert low <= covered <= high, covered


def test_same_seed_same_forecast_and_an_interval_around_the_median():
    seen, _ = _simulate(
        np.random.default_rng(5), sites=4, rate_per_day=0.05, planned=40, observed_days=120
    )
    kwargs = dict(
        enrollment_dates=seen, planned=40, closure_months=CLOSURE_MONTHS,
        as_of=START + dt.timedelta(days=119), seed=11,
    )  # fmt: skip
    first, second = forecast_enrollment(**kwargs), forecast_enrollment(**kwargs)
    assert (first.last_enrollment_low, first.last_enrollment, first.last_enrollment_high) == (
        second.last_enrollment_low, second.last_enrollment, second.last_enrollment_high
    )  # fmt: skip
    assert first.band.equals(second.band)
    assert first.last_enrollment_low <= first.last_enrollment <= first.last_enrollment_high
    assert not first.complete
    assert first.band["median"].iloc[-1] <= 40


def test_once_enrollment_is_complete_the_closure_date_is_exact():
    dates = {"A": [dt.date(2025, 1, 5), dt.date(2026, 2, 28)], "B": [dt.date(2025, 3, 1)]}
    forecast = forecast_enrollment(
        enrollment_dates=dates, planned=3, closure_months=CLOSURE_MONTHS,
        as_of=dt.date(2026, 6, 1),
    )  # fmt: skip
    assert forecast.complete
    assert forecast.last_enrollment == dt.date(2026, 2, 28)
    # 2026-02-28 + 24 calendar months = 2028-02-28 (the same day of the month)
    assert forecast.closure == forecast.closure_low == forecast.closure_high == dt.date(2028, 2, 28)


def test_no_enrollment_yet_cannot_be_forecast():
    with pytest.raises(ValueError, match="no enrollment"):
        forecast_enrollment(
            enrollment_dates={"A": []}, planned=3, closure_months=CLOSURE_MONTHS,
            as_of=dt.date(2026, 6, 1),
        )  # fmt: skip


def test_a_plan_far_beyond_the_rate_so_far_is_not_forecast():
    """Two participants in a year with 720 to go: about 360 years at that rate, beyond any
    useful forecast (and any date pandas holds), so it is refused, not drawn."""
    import datetime as dt

    import pytest

    from mmtrial.analysis.enrollment_forecast import ForecastNotEstimable, forecast_enrollment

    with pytest.raises(ForecastNotEstimable, match="720 participants"):
        forecast_enrollment(
            enrollment_dates={"A": [dt.date(2026, 1, 1), dt.date(2026, 12, 1)]},
            planned=722,
            closure_months=24,
            as_of=dt.date(2026, 12, 31),
            seed=1,
        )
