"""Exact (Clopper-Pearson) intervals against published values and the edge cases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import beta

from mmtrial.analysis.efficacy import clopper_pearson_ci, response_rate


@pytest.mark.parametrize(
    ("responders", "n", "low_pct", "high_pct"),
    [
        # Iida et al. 2022: ORR 84.4% (67.2-94.7), VGPR or better 50.0% (31.9-68.1), N = 32.
        (27, 32, 67.21, 94.72),
        (16, 32, 31.89, 68.11),
    ],
)
def test_published_intervals_to_two_decimals(responders, n, low_pct, high_pct):
    rate = response_rate(responders=responders, n=n)
    assert round(rate.ci95[0], 2) == low_pct
    assert round(rate.ci95[1], 2) == high_pct
    assert rate.method == "Clopper-Pearson"


def test_no_responders_gives_lower_limit_zero():
    rate = response_rate(responders=0, n=32)
    assert rate.percent == 0.0
    assert rate.ci95[0] == 0.0
    # Upper limit is 1 - (alpha/2)^(1/n) when k = 0.
    assert rate.ci95[1] == pytest.approx((1 - 0.025 ** (1 / 32)) * 100, abs=1e-9)


def test_all_responders_gives_upper_limit_hundred():
    rate = response_rate(responders=32, n=32)
    assert rate.percent == 100.0
    assert rate.ci95[1] == 100.0
    assert rate.ci95[0] == pytest.approx(0.025 ** (1 / 32) * 100, abs=1e-9)


def test_empty_population_has_no_rate():
    rate = response_rate(responders=0, n=0)
    assert rate.percent is None and rate.ci95 == (None, None)


def test_percent_is_unrounded():
    assert response_rate(responders=27, n=32).percent == 84.375


@given(
    st.integers(min_value=1, max_value=300).flatmap(
        lambda n: st.tuples(st.integers(0, n), st.just(n))
    )
)
def test_interval_is_the_beta_quantile_interval(kn):
    k, n = kn
    low, high = clopper_pearson_ci(responders=k, n=n)
    expected_low = 0.0 if k == 0 else beta.ppf(0.025, k, n - k + 1)
    expected_high = 1.0 if k == n else beta.ppf(0.975, k + 1, n - k)
    assert low == pytest.approx(expected_low, abs=1e-9)
    assert high == pytest.approx(expected_high, abs=1e-9)
    assert low <= k / n <= high


@pytest.mark.parametrize(("k", "n"), [(-1, 5), (6, 5), (0, 0)])
def test_impossible_counts_are_rejected(k, n):
    with pytest.raises(ValueError):
        clopper_pearson_ci(responders=k, n=n)
