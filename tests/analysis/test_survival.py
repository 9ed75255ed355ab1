"""Kaplan-Meier median and its Brookmeyer-Crowley log(-log) interval.

References: hand computation (Greenwood variance, Kalbfleisch-Prentice log(-log) band) and
R `survival` output on the `lung` and `ovarian` data (lifelines ships `lung` as
`lifelines.datasets.load_lung`, with status already coded 1 = death).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_lung

from mmtrial.analysis.survival import days_to_months, km_estimate, survival_quantile


def test_hand_computed_example():
    """n = 8: S = 5/7 at 2, 15/28 at 5, 10/28 at 8, 0 at 9 (censored at 1, 3 and 8).

    Greenwood sums 2/35, +1/12, +1/6; band S^exp(-/+ z se / log S) gives, by hand,
    lower 0.25815 / 0.13199 / 0.05197 and upper 0.91980 / 0.82500 / 0.69873; undefined at S = 0.
    Median = 8 (first S <= 0.5); lower limit = 2 (lower band first <= 0.5); the upper band never
    falls to 0.5 where it is defined, so the upper limit is not reached.
    """
    est = km_estimate(durations=[1, 2, 2, 3, 5, 8, 8, 9], event_observed=[0, 1, 1, 0, 1, 1, 0, 1])
    assert (est.n, est.events) == (8, 5)
    at = {t: i for i, t in enumerate(est.timeline)}
    for t, s, lo, hi in [
        (2, 5 / 7, 0.25815, 0.91980),
        (5, 15 / 28, 0.13199, 0.82500),
        (8, 10 / 28, 0.05197, 0.69873),
    ]:
        assert est.survival[at[t]] == pytest.approx(s)
        assert est.lower[at[t]] == pytest.approx(lo, abs=5e-5)
        assert est.upper[at[t]] == pytest.approx(hi, abs=5e-5)
    assert math.isnan(est.lower[at[9]]) and math.isnan(est.upper[at[9]])
    assert est.median == 8
    assert est.median_lower == 2
    assert est.median_upper is None


def test_flat_at_one_half_takes_the_midpoint():
    """Four deaths at 1, 2, 3, 4: S = 0.5 on [2, 3), so the median is 2.5 (R, SAS); lifelines
    alone would say 2. Lower band at t=1 is 0.128 (<= 0.5), upper band 0.961, 0.845, 0.665 then
    undefined at S = 0: limits 1 and not reached."""
    est = km_estimate(durations=[1, 2, 3, 4], event_observed=[1, 1, 1, 1])
    assert est.median == 2.5
    assert est.median_lower == 1
    assert est.median_upper is None
    assert est.upper[1:4] == pytest.approx([0.96056, 0.84487, 0.66533], abs=5e-5)


def test_curve_ending_flat_at_one_half_uses_the_last_time():
    est = km_estimate(durations=[1, 2, 5], event_observed=[0, 1, 0])
    # S = 1/2 from 2 to the last (censored) time 5: R's findq gives (2 + 5) / 2.
    assert est.median == 3.5


def test_median_not_reached_is_none():
    est = km_estimate(durations=[10, 20, 30, 40], event_observed=[1, 0, 0, 0])
    assert est.median is None and est.median_upper is None


@pytest.mark.parametrize(
    ("sex", "n", "events", "median", "lower", "upper"),
    [(1, 138, 112, 270, 210, 306), (2, 90, 53, 426, 345, 524)],
)
def test_lung_by_sex_matches_r_survfit_log_log(sex, n, events, median, lower, upper):
    """R: survfit(Surv(time, status == 2) ~ sex, data = lung, conf.type = "log-log") prints
    sex=1: n 138, events 112, median 270, 0.95LCL 210, 0.95UCL 306;
    sex=2: n 90, events 53, median 426, 0.95LCL 345, 0.95UCL 524."""
    lung = load_lung()
    rows = lung[lung["sex"] == sex]
    est = km_estimate(durations=rows["time"], event_observed=rows["status"])
    assert (est.n, est.events) == (n, events)
    assert (est.median, est.median_lower, est.median_upper) == (median, lower, upper)


def test_lung_matches_r_survfit_default_log_interval():
    """R: survfit(Surv(time, status) ~ 1, data = lung) (conf.type "log") prints
    n 228, events 165, median 310, 0.95LCL 285, 0.95UCL 363."""
    lung = load_lung()
    est = km_estimate(durations=lung["time"], event_observed=lung["status"], conf_type="log")
    assert (est.n, est.events, est.median, est.median_lower, est.median_upper) == (
        228,
        165,
        310,
        285,
        363,
    )


def test_ovarian_matches_r_survfit_with_upper_limit_not_reached():
    """R: survfit(Surv(futime, fustat) ~ 1, data = ovarian) prints
    n 26, events 12, median 638, 0.95LCL 464, 0.95UCL NA."""
    futime = [
        59,
        115,
        156,
        421,
        431,
        448,
        464,
        475,
        477,
        563,
        638,
        744,
        769,
        770,
        803,
        855,
        1040,
        1106,
        1129,
        1206,
        1227,
        268,
        329,
        353,
        365,
        377,
    ]
    fustat = [1, 1, 1, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 0]
    est = km_estimate(durations=futime, event_observed=fustat, conf_type="log")
    assert (est.n, est.events, est.median, est.median_lower) == (26, 12, 638, 464)
    assert est.median_upper is None


def test_band_equals_lifelines_exponential_greenwood_where_defined():
    lung = load_lung()
    est = km_estimate(durations=lung["time"], event_observed=lung["status"])
    kmf = KaplanMeierFitter().fit(lung["time"], lung["status"])
    ci = kmf.confidence_interval_.reindex(est.timeline)
    defined = ~np.isnan(est.lower)
    assert np.allclose(est.lower[defined], ci.iloc[:, 0].to_numpy()[defined], atol=1e-9)
    assert np.allclose(est.upper[defined], ci.iloc[:, 1].to_numpy()[defined], atol=1e-9)


def test_number_at_risk_counts_subjects_still_followed():
    est = km_estimate(durations=[1, 2, 2, 3, 5, 8, 8, 9], event_observed=[0, 1, 1, 0, 1, 1, 0, 1])
    assert est.number_at_risk([0, 2, 4, 8, 10]) == [8, 7, 4, 3, 0]


def test_survival_quantile_of_a_curve_never_reaching_p():
    assert survival_quantile(timeline=np.array([1.0, 2.0]), curve=np.array([0.9, 0.6])) is None


def test_months_use_30_4375_days():
    assert days_to_months(30.4375 * 22) == pytest.approx(22.0)
    assert days_to_months(None) is None


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=60), st.booleans()), min_size=1, max_size=40
    )
)
def test_interval_contains_the_median(records):
    durations = [t for t, _ in records]
    events = [int(e) for _, e in records]
    est = km_estimate(durations=durations, event_observed=events)
    if est.median is not None:
        if est.median_lower is not None:
            assert est.median_lower <= est.median
        if est.median_upper is not None:
            assert est.median <= est.median_upper
    elif est.median_upper is not None:
        pytest.fail("an upper limit without a median")
