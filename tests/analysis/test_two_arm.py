"""Two-arm analysis against independent computations (issue 16 item 4).

- Stratified Cox hazard ratio: lifelines' CoxPHFitter with `strata` (Efron ties), a separate
  implementation from ours.
- Stratified log-rank: by hand below (per stratum O - E and the hypergeometric variance), and
  with one stratum, lifelines' `logrank_test`.
- Newcombe's difference interval: the worked example of Newcombe (Stat Med 1998;17:873, table
  II, example (a): 56/70 vs 48/80 -> 0.2000, 95% CI 0.0524 to 0.3339).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from lifelines.statistics import logrank_test

from mmtrial.analysis.two_arm import newcombe_difference, stratified_cox, stratified_logrank


def _data(seed: int = 7, n: int = 400):
    """A fixed simulated data set: hazard ratio 0.74 between arms, two strata with their own
    baseline hazards, uniform censoring."""
    rng = np.random.default_rng(seed)
    group = rng.integers(0, 2, n)
    stratum = rng.integers(0, 2, n)
    base = np.where(stratum == 1, 1 / 300, 1 / 600)
    event_time = rng.exponential(1 / (base * np.where(group == 1, 0.74, 1.0)))
    censor = rng.uniform(100, 900, n)
    t = np.minimum(event_time, censor).round()
    e = (event_time <= censor).astype(int)
    return t, e, group, stratum


def test_the_stratified_cox_equals_lifelines():
    t, e, g, s = _data()
    mine = stratified_cox(t, e, g, s)
    frame = pd.DataFrame({"T": t, "E": e, "arm": g, "stratum": s})
    fitter = CoxPHFitter().fit(frame, duration_col="T", event_col="E", strata=["stratum"])
    assert mine.log_hr == pytest.approx(fitter.params_["arm"], abs=1e-6)
    assert mine.se == pytest.approx(fitter.standard_errors_["arm"], abs=1e-6)
    low, high = np.exp(fitter.confidence_intervals_.loc["arm"])
    assert mine.ci95 == pytest.approx((low, high), abs=1e-6)


def _hand_logrank(t, e, g, s):
    num = var = 0.0
    for stratum in set(s.tolist()):
        idx = [i for i in range(len(t)) if s[i] == stratum]
        times = sorted({t[i] for i in idx if e[i] == 1})
        for time in times:
            risk = [i for i in idx if t[i] >= time]
            n = len(risk)
            n1 = sum(1 for i in risk if g[i] == 1)
            d = sum(1 for i in risk if t[i] == time and e[i] == 1)
            d1 = sum(1 for i in risk if t[i] == time and e[i] == 1 and g[i] == 1)
            num += d1 - d * n1 / n
            if n > 1:
                var += d * n1 * (n - n1) * (n - d) / (n * n * (n - 1))
    return num * num / var


def test_the_stratified_logrank_equals_a_hand_computation():
    t, e, g, s = _data()
    assert stratified_logrank(t, e, g, s).chi2 == pytest.approx(_hand_logrank(t, e, g, s))


def test_with_one_stratum_the_logrank_is_lifelines():
    t, e, g, _ = _data(seed=11)
    mine = stratified_logrank(t, e, g)
    ref = logrank_test(t[g == 1], t[g == 0], e[g == 1], e[g == 0])
    assert mine.chi2 == pytest.approx(ref.test_statistic, rel=1e-9)
    assert mine.p_value == pytest.approx(ref.p_value, rel=1e-9)


def test_newcombes_worked_example():
    diff, (low, high) = newcombe_difference(56, 70, 48, 80)
    assert diff == pytest.approx(20.0)
    assert (round(low, 2), round(high, 2)) == (5.24, 33.39)
