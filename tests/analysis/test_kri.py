"""Site KRIs (gsm KRI metric set, funnel z-scores): hand-checked small tables, and a simulated
study where one site is made an outlier on purpose."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from mmtrial.analysis.kri import BINOMIAL, POISSON, KriInputs, funnel_limits, site_kris
from mmtrial.protocol.loader import PROTOCOLS_DIR, load_protocol_file

SETTINGS = load_protocol_file(PROTOCOLS_DIR / "irdj.yaml").central_monitoring
AS_OF = dt.date(2026, 3, 31)


def _people(site: str, n: int, *, enrolled_on: dt.date, prefix: str = "") -> list[dict]:
    return [
        {
            "site": site,
            "participant_id": f"{prefix or site}-{i}",
            "screened": True,
            "screen_failed": False,
            "enrolled_on": enrolled_on,
            "off_study_on": None,
            "discontinued": False,
        }
        for i in range(n)
    ]


def test_hand_checked_rates_and_study_rate():
    # Site A: 2 participants enrolled 2026-01-01 (90 days each to 2026-03-31 inclusive);
    # site B: 1 participant enrolled 2026-03-02 (30 days). Exposure: A 180/30.4375 months,
    # B 30/30.4375 months. AEs: A 3 (one serious), B 2 (grade 1 and 2).
    people = pd.DataFrame(
        _people("A", 2, enrolled_on=dt.date(2026, 1, 1))
        + _people("B", 1, enrolled_on=dt.date(2026, 3, 2))
        + [
            {
                "site": "B", "participant_id": "B-sf", "screened": True, "screen_failed": True,
                "enrolled_on": None, "off_study_on": None, "discontinued": False,
            }
        ]
    )  # fmt: skip
    aes = pd.DataFrame(
        {"site": ["A", "A", "A", "B", "B"], "grade": [1, 3, 2, 1, 2], "serious": [0, 1, 0, 0, 0]}
    )
    queries = pd.DataFrame(
        {
            "site": ["A", "A", "B"],
            "opened_on": [dt.date(2026, 1, 10), dt.date(2026, 3, 20), dt.date(2026, 2, 27)],
            "open": [True, True, False],
        }
    )
    visits = pd.DataFrame(
        {
            "site": ["A", "A", "B"],
            "visit_date": [dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 2)],
            "entered_on": [dt.date(2026, 1, 12), dt.date(2026, 2, 11), dt.date(2026, 3, 2)],
        }
    )
    inputs = KriInputs(participants=people, adverse_events=aes, queries=queries, visits=visits)
    report = site_kris(inputs, settings=SETTINGS, as_of=AS_OF)
    ae = report.metric("ae_rate").set_index("site")
    months_a, months_b = 180 / 30.4375, 30 / 30.4375
    assert ae.loc["A", "numerator"] == 3
    assert ae.loc["A", "denominator"] == pytest.approx(months_a)
    assert ae.loc["A", "rate"] == pytest.approx(3 / months_a)
    assert ae.loc["B", "rate"] == pytest.approx(2 / months_b)
    assert ae.loc["A", "study_rate"] == pytest.approx(5 / (months_a + months_b))
    sae = report.metric("sae_rate").set_index("site")
    assert (sae.loc["A", "numerator"], sae.loc["B", "numerator"]) == (1, 0)
    # queries open > 30 days on 2026-03-31: only A's of 2026-01-10 (80 days); B's is closed
    aged = report.metric("query_aged_rate").set_index("site")
    assert (aged.loc["A", "numerator"], aged.loc["A", "denominator"]) == (1, 2)
    assert (aged.loc["B", "numerator"], aged.loc["B", "denominator"]) == (0, 1)
    # entry lag > 10 days: A's first visit (11 days) is late, its second (10 days) is not
    lag = report.metric("entry_lag_rate").set_index("site")
    assert (lag.loc["A", "numerator"], lag.loc["A", "denominator"]) == (1, 2)
    assert lag.loc["B", "numerator"] == 0
    sf = report.metric("screen_failure_rate").set_index("site")
    assert sf.loc["B", "rate"] == pytest.approx(1 / 2)
    assert sf.loc["A", "rate"] == 0
    assert sf.loc["A", "study_rate"] == pytest.approx(1 / 4)
    # no deviations recorded yet: zero numerators, no flag
    dev = report.metric("important_deviation_rate")
    assert list(dev["numerator"]) == [0, 0]
    assert list(dev["flag"]) == ["", ""]


def test_poisson_z_score_and_winsorised_phi_by_hand():
    # Two sites, 304 days (9.988 participant-months, E) each; 2 and 18 AEs; study rate
    # r = 20 / 2E. z0 = (18/E - r) / sqrt(r / E) for B, the opposite for A. Winsorised at the
    # 10th / 90th percentiles of two values (linear interpolation): +-0.8 z0, so
    # phi = 0.64 z0^2 and z = z0 / sqrt(phi) = +-1.25.
    people = pd.DataFrame(
        _people("A", 1, enrolled_on=dt.date(2026, 1, 1))
        + _people("B", 1, enrolled_on=dt.date(2026, 1, 1))
    )
    people["off_study_on"] = dt.date(2026, 10, 31)  # 304 days, both counted
    aes = pd.DataFrame({"site": ["A"] * 2 + ["B"] * 18, "grade": 1, "serious": False})
    report = site_kris(
        KriInputs(participants=people, adverse_events=aes),
        settings=SETTINGS,
        as_of=dt.date(2027, 1, 1),
    )
    ae = report.metric("ae_rate").set_index("site")
    exposure = 304 / 30.4375
    rate = 20 / (2 * exposure)
    z0 = (18 / exposure - rate) / math.sqrt(rate / exposure)
    assert ae.loc["B", "denominator"] == pytest.approx(exposure)
    assert report.phi["ae_rate"] == pytest.approx(0.64 * z0**2)
    assert ae.loc["B", "z"] == pytest.approx(1.25)
    assert ae.loc["A", "z"] == pytest.approx(-1.25)
    assert list(ae["flag"]) == ["", ""]


def _simulated_study(*, outlier_factor: float, seed: int) -> KriInputs:
    """12 sites of 8 participants, each on study 12 months; AEs at 0.5 per participant-month,
    site S05 at `outlier_factor` times that."""
    rng = np.random.default_rng(seed)
    people, aes = [], []
    start = AS_OF - dt.timedelta(days=round(12 * 30.4375) - 1)
    for k in range(12):
        site = f"S{k:02d}"
        people += _people(site, 8, enrolled_on=start)
        rate = 0.5 * (outlier_factor if site == "S05" else 1)
        n = rng.poisson(rate * 8 * 12)
        aes += [{"site": site, "grade": 1 + int(rng.integers(0, 3)), "serious": False}] * n
    return KriInputs(participants=pd.DataFrame(people), adverse_events=pd.DataFrame(aes))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_site_with_five_times_the_ae_rate_is_flagged_red_and_no_other_site_is(seed):
    report = site_kris(
        _simulated_study(outlier_factor=5, seed=seed), settings=SETTINGS, as_of=AS_OF
    )
    ae = report.metric("ae_rate").set_index("site")
    assert ae.loc["S05", "flag"] == "red"
    assert ae.loc["S05", "z"] > SETTINGS.thresholds["ae_rate"].z_red
    others = ae.drop(index="S05")
    assert (others["flag"] != "red").all()
    assert (others["z"].abs() < SETTINGS.thresholds["ae_rate"].z_red).all()


def test_without_an_outlier_no_site_is_red():
    report = site_kris(_simulated_study(outlier_factor=1, seed=7), settings=SETTINGS, as_of=AS_OF)
    assert (report.metric("ae_rate")["flag"] != "red").all()


def test_low_side_flag_only_where_the_threshold_is_two_sided():
    # AE rate is two-sided in the protocol file: a site reporting a fifth of the others is flagged
    report = site_kris(
        _simulated_study(outlier_factor=0.05, seed=4), settings=SETTINGS, as_of=AS_OF
    )
    ae = report.metric("ae_rate").set_index("site")
    assert ae.loc["S05", "z"] < -SETTINGS.thresholds["ae_rate"].z_amber
    assert ae.loc["S05", "flag"] in ("amber", "red")


def test_funnel_limits_by_hand():
    # Poisson, rate 0.5, exposure 50, z 2, phi 1: 0.5 +- 2 sqrt(0.5 / 50) = 0.5 +- 0.2
    lower, upper = funnel_limits(
        study_rate=0.5, exposure=np.array([50.0]), z=2, phi=1, model=POISSON
    )
    assert (lower[0], upper[0]) == (pytest.approx(0.3), pytest.approx(0.7))
    # binomial, p 0.5, n 100, z 2, phi 4: 0.5 +- 2 sqrt(4 * 0.25 / 100) = 0.5 +- 0.2
    lower, upper = funnel_limits(
        study_rate=0.5, exposure=np.array([100.0]), z=2, phi=4, model=BINOMIAL
    )
    assert (lower[0], upper[0]) == (pytest.approx(0.3), pytest.approx(0.7))
