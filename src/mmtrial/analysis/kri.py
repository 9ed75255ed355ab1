"""Site-level key risk indicators for central monitoring, as the gsm KRI metric set computes them.

Rule
----
For each site and each metric: a numerator, a denominator, the site's rate (numerator /
denominator) and the study's overall rate (all numerators / all denominators). The site is
compared with the study by a funnel-plot z-score (gsm's normal approximation,
`Analyze_NormalApprox`):

- a *rate* metric (events per participant-month, per data point): Poisson,
  z0 = (y/n - r) / sqrt(r / n);
- a *proportion* metric (screen failures per participant screened, ...): binomial,
  z0 = (p - r) / sqrt(r (1 - r) / n).

Over-dispersion (Spiegelhalter 2005): phi = the mean of the site z0^2 after winsorising them at
their 10th and 90th percentiles (so the outlier we look for does not hide itself by widening
the funnel), phi = max(phi, 1) (the limits are only ever widened), and z = z0 / sqrt(phi). A
site is **red** when |z| passes the protocol's `z_red`, **amber** past `z_amber`; on the high
side only unless the threshold is `two_sided` (AE under-reporting is a risk too). Metrics the
protocol file names no threshold for are shown, never flagged. A site with a zero denominator
has no rate and no flag. Funnel limits at exposure n are r +- z sqrt(phi r / n) (Poisson) or
r +- z sqrt(phi r (1 - r) / n) (binomial).

Source
------
ICH E6(R3) (2025) section 3.10 (risk-based quality management: key risk indicators, centralised
monitoring); Gilead Sciences / OpenRBQM `gsm` (Good Statistical Monitoring) 2.x, the KRI metric
set kri0001-kri0012 and `Analyze_NormalApprox` / `Flag_NormalApprox` (default thresholds
-3, -2, 2, 3); Spiegelhalter DJ. Funnel plots for comparing institutional performance.
Stat Med 2005;24:1185-1202 (over-dispersion, winsorised phi).

Inputs are plain DataFrames (`KriInputs`); `edc.selectors.kri_inputs` builds them from the
database. Exposure is participant-months on study: from enrollment to the end of treatment,
death or the as-of date, inclusive, in months of `codelists.DAYS_PER_MONTH` days.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mmtrial.analysis.codelists import DAYS_PER_MONTH
from mmtrial.protocol.models import CentralMonitoring

__all__ = [
    "METRICS",
    "KriInputs",
    "KriMetric",
    "KriReport",
    "funnel_limits",
    "participant_months",
    "site_kris",
]

POISSON, BINOMIAL = "poisson", "binomial"
# Spiegelhalter's winsorisation of the z-scores before phi is estimated.
WINSOR_LOWER, WINSOR_UPPER = 0.1, 0.9


@dataclass(frozen=True)
class KriMetric:
    id: str
    name: str
    numerator: str
    denominator: str
    model: str  # POISSON or BINOMIAL


METRICS: tuple[KriMetric, ...] = (
    KriMetric("ae_rate", "AE rate", "adverse events", "participant-months", POISSON),
    KriMetric("sae_rate", "SAE rate", "serious adverse events", "participant-months", POISSON),
    KriMetric(
        "lab_abnormality_rate",
        "Grade >= 3 lab abnormality rate",
        "lab results of grade >= 3",
        "graded lab results",
        BINOMIAL,
    ),
    KriMetric(
        "important_deviation_rate",
        "Important deviation rate",
        "important deviations",
        "participant-months",
        POISSON,
    ),
    KriMetric("query_rate", "Query rate", "queries", "data points", POISSON),
    KriMetric(
        "query_aged_rate", "Queries open too long", "queries open too long", "queries", BINOMIAL
    ),
    KriMetric(
        "entry_lag_rate", "Late data entry", "visits entered late", "visits entered", BINOMIAL
    ),
    KriMetric("data_change_rate", "Data change rate", "data changes", "data points", POISSON),
    KriMetric(
        "screen_failure_rate",
        "Screen failure rate",
        "screen failures",
        "participants screened",
        BINOMIAL,
    ),
    KriMetric(
        "discontinuation_rate",
        "Treatment discontinuation rate",
        "discontinued (not for progression or death)",
        "participants enrolled",
        BINOMIAL,
    ),
)
METRIC_BY_ID = {m.id: m for m in METRICS}


def _frame(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


@dataclass
class KriInputs:
    """The study's operational data, one row per fact, each with its `site` (a code).

    - participants: site, participant_id, screened (bool), screen_failed (bool),
      enrolled_on (date or None), off_study_on (date or None: end of treatment or death),
      discontinued (bool: treatment ended for a reason other than progression or death)
    - adverse_events: site, grade, serious (bool)
    - labs: site, grade (CTCAE grade of a graded lab result)
    - deviations: site, important (bool); may be empty (no deviation records yet)
    - queries: site, opened_on (date), open (bool)
    - visits: site, visit_date, entered_on (the date the visit's date was first entered)
    - data_points: site, data_points (fields first entered), changes (fields changed after)
    """

    participants: pd.DataFrame
    adverse_events: pd.DataFrame = field(
        default_factory=lambda: _frame(["site", "grade", "serious"])
    )
    labs: pd.DataFrame = field(default_factory=lambda: _frame(["site", "grade"]))
    deviations: pd.DataFrame = field(default_factory=lambda: _frame(["site", "important"]))
    queries: pd.DataFrame = field(default_factory=lambda: _frame(["site", "opened_on", "open"]))
    visits: pd.DataFrame = field(
        default_factory=lambda: _frame(["site", "visit_date", "entered_on"])
    )
    data_points: pd.DataFrame = field(
        default_factory=lambda: _frame(["site", "data_points", "changes"])
    )


@dataclass
class KriReport:
    """`table`: one row per site and metric (site, metric, numerator, denominator, rate,
    study_rate, z, flag, threshold basis); `phi`: each metric's over-dispersion factor."""

    table: pd.DataFrame
    phi: dict[str, float]
    as_of: dt.date

    def metric(self, metric_id: str) -> pd.DataFrame:
        return self.table[self.table["metric"] == metric_id].reset_index(drop=True)

    @property
    def flagged(self) -> pd.DataFrame:
        return self.table[self.table["flag"] != ""].reset_index(drop=True)


def participant_months(participants: pd.DataFrame, *, as_of: dt.date) -> pd.Series:
    """Months on study of each enrolled participant: enrollment to off-study (or `as_of`),
    both days counted, / DAYS_PER_MONTH; 0 for a participant never enrolled."""
    start = pd.to_datetime(participants["enrolled_on"], errors="coerce")
    end = pd.to_datetime(participants["off_study_on"], errors="coerce")
    end = end.fillna(pd.Timestamp(as_of)).clip(upper=pd.Timestamp(as_of))
    days = (end - start).dt.days + 1
    return (days.clip(lower=0) / DAYS_PER_MONTH).fillna(0.0)


def _count(frame: pd.DataFrame, mask: pd.Series | None = None) -> pd.Series:
    if frame.empty:
        return pd.Series(dtype=float)
    rows = frame if mask is None else frame[mask.astype(bool)]
    return rows.groupby("site").size().astype(float)


def _counts(inputs: KriInputs, settings: CentralMonitoring, as_of: dt.date) -> dict:
    """{metric id: (numerator by site, denominator by site)}."""
    people = inputs.participants.copy()
    people["months"] = participant_months(people, as_of=as_of) if not people.empty else []
    enrolled = people["enrolled_on"].notna() if not people.empty else pd.Series(dtype=bool)
    exposure = people.groupby("site")["months"].sum() if not people.empty else pd.Series()
    ae = inputs.adverse_events
    ae_kept = ae["grade"].astype(float) >= settings.ae_grade_at_least if not ae.empty else None
    labs = inputs.labs
    queries = inputs.queries
    aged = None
    if not queries.empty:
        opened = pd.to_datetime(queries["opened_on"])
        age_days = (pd.Timestamp(as_of) - opened).dt.days
        aged = queries["open"].astype(bool) & (age_days > settings.query_open_days)
    visits = inputs.visits
    entered = visits.dropna(subset=["entered_on"]) if not visits.empty else visits
    late = None
    if not entered.empty:
        lag = (pd.to_datetime(entered["entered_on"]) - pd.to_datetime(entered["visit_date"])).dt
        late = lag.days > settings.entry_lag_days
    points = inputs.data_points
    data_points = points.groupby("site")["data_points"].sum().astype(float)
    changes = points.groupby("site")["changes"].sum().astype(float)
    deviations = inputs.deviations
    important = deviations["important"].astype(bool) if not deviations.empty else None
    serious = ae["serious"].astype(bool) if not ae.empty else None
    return {
        "ae_rate": (_count(ae, ae_kept), exposure),
        "sae_rate": (_count(ae, serious & ae_kept if serious is not None else None), exposure),
        "lab_abnormality_rate": (
            _count(labs, labs["grade"].astype(float) >= settings.lab_grade_at_least)
            if not labs.empty
            else pd.Series(dtype=float),
            _count(labs),
        ),
        "important_deviation_rate": (_count(deviations, important), exposure),
        "query_rate": (_count(queries), data_points),
        "query_aged_rate": (_count(queries, aged), _count(queries)),
        "entry_lag_rate": (_count(entered, late), _count(entered)),
        "data_change_rate": (changes, data_points),
        "screen_failure_rate": (
            _count(people, people["screen_failed"]) if not people.empty else pd.Series(),
            _count(people, people["screened"]) if not people.empty else pd.Series(),
        ),
        "discontinuation_rate": (
            _count(people, people["discontinued"] & enrolled) if not people.empty else pd.Series(),
            _count(people, enrolled) if not people.empty else pd.Series(),
        ),
    }


def _z0(y: np.ndarray, n: np.ndarray, rate: float, model: str) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        p = y / n
        variance = rate / n if model == POISSON else rate * (1 - rate) / n
        z = (p - rate) / np.sqrt(variance)
    z[(n <= 0) | ~np.isfinite(z)] = np.nan
    return z


def _phi(z0: np.ndarray) -> float:
    """Spiegelhalter's over-dispersion factor from winsorised z-scores, never below 1."""
    z = z0[np.isfinite(z0)]
    if len(z) == 0:
        return 1.0
    low, high = np.quantile(z, [WINSOR_LOWER, WINSOR_UPPER])
    return max(float(np.mean(np.clip(z, low, high) ** 2)), 1.0)


def _flag(z: float, threshold) -> str:
    if threshold is None or not math.isfinite(z):
        return ""
    side = abs(z) if threshold.two_sided else z
    if side > threshold.z_red:
        return "red"
    if side > threshold.z_amber:
        return "amber"
    return ""


def site_kris(
    inputs: KriInputs,
    *,
    settings: CentralMonitoring,
    as_of: dt.date,
    sites: list[str] | None = None,
) -> KriReport:
    """Every metric of `METRICS` for every site (see the module docstring for the rule).

    `sites`: the sites to report (default: every site in the participants frame), so a site
    with no data yet still has its rows (zero numerators, no rate)."""
    required = {"site", "participant_id", "screened", "screen_failed", "enrolled_on"}
    missing = required - set(inputs.participants.columns)
    if missing and not inputs.participants.empty:
        raise ValueError(f"participants: missing columns {', '.join(sorted(missing))}")
    counts = _counts(inputs, settings, as_of)
    codes = sorted(sites if sites is not None else set(inputs.participants.get("site", [])))
    rows, phis = [], {}
    for metric in METRICS:
        numerator, denominator = counts[metric.id]
        y = numerator.reindex(codes).fillna(0.0).to_numpy(dtype=float)
        n = denominator.reindex(codes).fillna(0.0).to_numpy(dtype=float)
        total_n = n.sum()
        study_rate = y.sum() / total_n if total_n > 0 else math.nan
        if (
            math.isfinite(study_rate)
            and study_rate > 0
            and (metric.model == POISSON or study_rate < 1)
        ):
            z0 = _z0(y, n, study_rate, metric.model)
        else:  # no events anywhere (or all): nothing to compare
            z0 = np.full(len(codes), np.nan)
        phi = _phi(z0)
        phis[metric.id] = phi
        z = z0 / math.sqrt(phi)
        threshold = settings.thresholds.get(metric.id)
        for i, code in enumerate(codes):
            rows.append(
                {
                    "site": code,
                    "metric": metric.id,
                    "numerator": y[i],
                    "denominator": n[i],
                    "rate": y[i] / n[i] if n[i] > 0 else math.nan,
                    "study_rate": study_rate,
                    "z": z[i],
                    "flag": _flag(z[i], threshold),
                    "basis": threshold.basis if threshold is not None else "",
                }
            )
    return KriReport(table=pd.DataFrame(rows), phi=phis, as_of=as_of)


def funnel_limits(
    *, study_rate: float, exposure: np.ndarray, z: float, phi: float, model: str
) -> tuple[np.ndarray, np.ndarray]:
    """The funnel's lower and upper control limits at each exposure (see the module rule);
    the lower limit is never below 0, a proportion's upper never above 1."""
    exposure = np.asarray(exposure, dtype=float)
    spread = study_rate if model == POISSON else study_rate * (1 - study_rate)
    with np.errstate(divide="ignore"):
        half = z * np.sqrt(phi * spread / exposure)
    lower = np.clip(study_rate - half, 0, None)
    upper = study_rate + half
    if model == BINOMIAL:
        upper = np.clip(upper, None, 1)
    return lower, upper
