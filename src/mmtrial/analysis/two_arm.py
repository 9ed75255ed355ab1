"""Two-arm analysis of a randomized study: the arms compared as the SAP of TOURMALINE-MM1 does.

- Kaplan-Meier by arm (the same estimator as the single-arm report: `survival.km_estimate`).
- Stratified log-rank test: per stratum, at each distinct event time, observed minus expected
  events of the first arm and the hypergeometric variance; summed over strata; chi-square with
  1 degree of freedom (Mantel 1966; Peto & Peto 1972).
- Stratified Cox proportional-hazards model with the arm as the only covariate, a baseline
  hazard of its own per stratum, Efron's handling of tied event times, fitted by Newton-Raphson;
  hazard ratio (first arm vs second) with the Wald 95% CI (Cox 1972; Efron 1977).
- Rates by arm with exact Clopper-Pearson CIs; their difference with Newcombe's hybrid score
  interval (Newcombe 1998, method 10).
- A forest of hazard ratios by stratum level (an unstratified Cox model within each level).
Every function takes plain arrays or ADaM-shaped frames; nothing reads the database.
Source: Moreau P, et al. N Engl J Med 2016;374:1621 (stratified log-rank and Cox for PFS).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import chi2, norm

from mmtrial.analysis.codelists import (
    CR_OR_BETTER_CATEGORIES,
    ORR_CATEGORIES,
    VGPR_OR_BETTER_CATEGORIES,
)
from mmtrial.analysis.efficacy import derive_best_response, response_rate
from mmtrial.analysis.survival import km_estimate
from mmtrial.analysis.time_to_event import summarise_km

__all__ = [
    "CoxResult",
    "LogRankResult",
    "newcombe_difference",
    "stratified_cox",
    "stratified_logrank",
    "two_arm_summary",
    "with_arms",
]


@dataclass(frozen=True)
class LogRankResult:
    chi2: float
    p_value: float
    observed_minus_expected: float
    variance: float


@dataclass(frozen=True)
class CoxResult:
    hazard_ratio: float
    ci95: tuple[float, float]
    p_value: float
    log_hr: float
    se: float
    events: int
    n: int


def _strata(strata: Sequence | None, n: int) -> np.ndarray:
    return np.zeros(n, dtype=int) if strata is None else pd.factorize(pd.Series(list(strata)))[0]


def stratified_logrank(durations, events, group, strata=None) -> LogRankResult:
    """Log-rank test of `group` (1 = first arm, 0 = second) stratified by `strata`."""
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=int)
    g = np.asarray(group, dtype=int)
    s = _strata(strata, len(t))
    o_minus_e = variance = 0.0
    for stratum in np.unique(s):
        mask = s == stratum
        ts, es, gs = t[mask], e[mask], g[mask]
        for time in np.unique(ts[es == 1]):
            at_risk = ts >= time
            n = at_risk.sum()
            n1 = (at_risk & (gs == 1)).sum()
            died = (ts == time) & (es == 1)
            d = died.sum()
            d1 = (died & (gs == 1)).sum()
            o_minus_e += d1 - d * n1 / n
            if n > 1:
                variance += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
    statistic = o_minus_e**2 / variance if variance > 0 else float("nan")
    p = float(chi2.sf(statistic, 1)) if variance > 0 else float("nan")
    return LogRankResult(float(statistic), p, float(o_minus_e), float(variance))


def _efron_terms(beta: float, t, e, x):
    """Log partial likelihood, score and information of one stratum (Efron ties)."""
    loglik = score = info = 0.0
    risk = np.exp(beta * x)
    for time in np.unique(t[e == 1]):
        at_risk = t >= time
        tied = (t == time) & (e == 1)
        d = int(tied.sum())
        s0r, s1r, s2r = (
            risk[at_risk].sum(),
            (x * risk)[at_risk].sum(),
            (x * x * risk)[at_risk].sum(),
        )
        s0d, s1d, s2d = risk[tied].sum(), (x * risk)[tied].sum(), (x * x * risk)[tied].sum()
        loglik += beta * x[tied].sum()
        score += x[tied].sum()
        for ell in range(d):
            frac = ell / d
            s0 = s0r - frac * s0d
            s1 = s1r - frac * s1d
            s2 = s2r - frac * s2d
            loglik -= math.log(s0)
            score -= s1 / s0
            info += s2 / s0 - (s1 / s0) ** 2
    return loglik, score, info


def stratified_cox(durations, events, group, strata=None, *, iterations: int = 50) -> CoxResult:
    """Hazard ratio of `group` 1 vs 0, stratified (module docstring)."""
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=int)
    x = np.asarray(group, dtype=float)
    s = _strata(strata, len(t))
    beta = 0.0
    info = 0.0
    for _ in range(iterations):
        score = info = 0.0
        for stratum in np.unique(s):
            mask = s == stratum
            _, sc, inf = _efron_terms(beta, t[mask], e[mask], x[mask])
            score += sc
            info += inf
        if info <= 0:
            break
        step = score / info
        beta += step
        if abs(step) < 1e-10:
            break
    se = 1 / math.sqrt(info) if info > 0 else float("nan")
    z = norm.ppf(0.975)
    p = float(2 * norm.sf(abs(beta / se))) if se == se else float("nan")
    return CoxResult(
        hazard_ratio=math.exp(beta),
        ci95=(math.exp(beta - z * se), math.exp(beta + z * se)),
        p_value=p,
        log_hr=beta,
        se=se,
        events=int(e.sum()),
        n=len(t),
    )


def _wilson(r: int, n: int, z: float) -> tuple[float, float]:
    p = r / n
    centre = (2 * r + z * z) / (2 * (n + z * z))
    half = z * math.sqrt(z * z + 4 * r * (1 - p)) / (2 * (n + z * z))
    return centre - half, centre + half


def newcombe_difference(r1: int, n1: int, r2: int, n2: int, *, conf_level: float = 0.95):
    """p1 - p2 with Newcombe's hybrid score interval (method 10), in percent."""
    z = norm.ppf(1 - (1 - conf_level) / 2)
    p1, p2 = r1 / n1, r2 / n2
    l1, u1 = _wilson(r1, n1, z)
    l2, u2 = _wilson(r2, n2, z)
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return 100 * d, (100 * low, 100 * high)


_RATES = {
    "orr": ORR_CATEGORIES,
    "vgpr_or_better": VGPR_OR_BETTER_CATEGORIES,
    "cr_or_better": CR_OR_BETTER_CATEGORIES,
}


def two_arm_summary(
    adsl: pd.DataFrame,
    *,
    adrs: pd.DataFrame,
    adtte: pd.DataFrame,
    arms: Sequence[tuple[str, str]],
    strata: Sequence[str],
) -> dict[str, object]:
    """The arms compared. `adsl` carries ARMCD (an arm id) and one column per stratum id;
    `arms` is [(id, name)] in the protocol's order, the first compared with the second."""
    first, second = arms[0][0], arms[1][0]
    out: dict[str, object] = {"arms": [{"id": a, "name": n} for a, n in arms]}
    evaluable = derive_best_response(adsl, adrs=adrs)  # the response-evaluable set, with BOR
    arm_of = dict(zip(adsl["USUBJID"], adsl["ARMCD"], strict=True))
    evaluable = evaluable.assign(ARMCD=evaluable["USUBJID"].map(arm_of))
    rates: dict[str, object] = {}
    for key, categories in _RATES.items():
        by_arm = {}
        counts = {}
        for arm_id, _ in arms:
            rows = evaluable[evaluable["ARMCD"] == arm_id]
            r = int(rows["BOR"].isin(categories).sum())
            counts[arm_id] = (r, len(rows))
            by_arm[arm_id] = response_rate(responders=r, n=len(rows)).as_dict()
        entry: dict[str, object] = {"by_arm": by_arm}
        (r1, n1), (r2, n2) = counts[first], counts[second]
        if n1 and n2:
            diff, ci = newcombe_difference(r1, n1, r2, n2)
            entry["difference"] = {
                "percent": diff,
                "ci95": list(ci),
                "method": "Newcombe hybrid score",
            }
        rates[key] = entry
    out["rates"] = rates
    tte: dict[str, object] = {}
    frame = adtte.merge(adsl[["USUBJID", "ARMCD", *strata]], on="USUBJID")
    for paramcd, rows in frame.groupby("PARAMCD", sort=False):
        rows = rows[rows["ARMCD"].isin([first, second])]
        durations = rows["AVAL"].astype(float).to_numpy()
        events = (rows["CNSR"].astype(int) == 0).astype(int).to_numpy()
        group = (rows["ARMCD"] == first).astype(int).to_numpy()
        stratum = rows[list(strata)].astype(str).agg("|".join, axis=1) if strata else None
        km = {}
        for arm_id, _ in arms:
            mine = rows["ARMCD"] == arm_id
            if mine.any():
                km[arm_id] = summarise_km(
                    km_estimate(
                        durations=durations[mine.to_numpy()], event_observed=events[mine.to_numpy()]
                    )
                )
        logrank = stratified_logrank(durations, events, group, stratum)
        cox = stratified_cox(durations, events, group, stratum)
        forest = []
        for column in strata:
            for level, sub in rows.groupby(column, sort=True):
                part = sub.index
                mask = rows.index.isin(part)
                if events[mask].sum() and 0 < group[mask].sum() < mask.sum():
                    fit = stratified_cox(durations[mask], events[mask], group[mask])
                    if not math.isfinite(fit.se):
                        continue
                    forest.append(
                        {"stratum": column, "level": str(level), "n": int(mask.sum()),
                         "hazard_ratio": fit.hazard_ratio, "ci95": list(fit.ci95)}
                    )  # fmt: skip
        estimable = cox.events > 0 and math.isfinite(cox.se)
        tte[str(paramcd)] = {
            "km_by_arm": km,
            "stratified_logrank": {
                "chi2": _finite(logrank.chi2),
                "p_value": _finite(logrank.p_value),
            },
            "stratified_cox": {
                "hazard_ratio": cox.hazard_ratio if estimable else None,
                "ci95": [_finite(v) for v in cox.ci95] if estimable else [None, None],
                "p_value": _finite(cox.p_value) if estimable else None,
                "events": cox.events,
                "n": cox.n,
            },
            "forest": forest,
        }
    out["time_to_event"] = tte
    return out


def _finite(value: float) -> float | None:
    """None (not estimable: no events, or no variance) where a statistic is NaN or infinite, so
    that the summary is valid JSON and says NE rather than a number."""
    return float(value) if math.isfinite(value) else None


def with_arms(
    adsl: pd.DataFrame, *, arms: Mapping[str, str], strata: Mapping[str, Mapping[str, str]]
) -> pd.DataFrame:
    """ADSL with ARMCD (from `arms`: USUBJID -> arm id) and a column per stratum id."""
    out = adsl.copy()
    out["ARMCD"] = out["USUBJID"].map(arms)
    columns = sorted({k for levels in strata.values() for k in levels})
    for column in columns:
        out[column] = out["USUBJID"].map(lambda u, c=column: strata.get(u, {}).get(c))
    return out
