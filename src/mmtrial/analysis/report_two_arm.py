"""The two-arm pages of the study report (a randomized study, for a reader who may see the
arms): the arms compared as a table, Kaplan-Meier by arm with the numbers at risk per arm, and
a forest plot of the hazard ratio by stratum level. The numbers are `two_arm.two_arm_summary`'s;
these functions only draw them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mmtrial.analysis import plots
from mmtrial.analysis.codelists import DAYS_PER_MONTH
from mmtrial.analysis.i18n import text
from mmtrial.analysis.survival import KaplanMeierEstimate, km_estimate

__all__ = [
    "TwoArmInput",
    "arms_table_block",
    "forest_figure",
    "format_hr",
    "format_p",
    "km_by_arm_figure",
]

ARM_COLOURS = ("#08519c", "#a50f15", "#238b45", "#6a51a3")


@dataclass(frozen=True)
class TwoArmInput:
    """ADSL with ARMCD and one column per stratum id; the arms [(id, name)] in protocol order."""

    adsl: pd.DataFrame
    arms: Sequence[tuple[str, str]]
    strata: Sequence[str]
    #: (stratum id, level id) -> "Number of prior therapies: 2 or 3", for the forest plot
    level_names: Mapping[tuple[str, str], str] = field(default_factory=dict)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def format_hr(cox: dict, lang: str) -> str:
    """ "0.74 (0.59-0.94)", or NE when the model is not estimable (no events)."""
    if cox["hazard_ratio"] is None:
        return text("ne", lang)
    low, high = cox["ci95"]
    return f"{cox['hazard_ratio']:.2f} ({low:.2f}-{high:.2f})"


def format_p(value: float | None, lang: str) -> str:
    return text("ne", lang) if value is None else f"{value:.4f}"


def arms_table_block(compared: dict, lang: str) -> list[tuple[str, list[str], list[list[str]]]]:
    """Rates by arm with their difference, and each time-to-event's medians and HR."""
    arms = compared["arms"]
    first, second = arms[0]["id"], arms[1]["id"]
    names = [a["name"] for a in arms[:2]]
    rates = []
    for key in ("orr", "vgpr_or_better", "cr_or_better"):
        entry = compared["rates"][key]
        cells = []
        for arm in (first, second):
            r = entry["by_arm"][arm]
            low, high = r["ci95"]
            cells.append(f"{r['responders']}/{r['n']} {_pct(r['percent'])}% ({low:.1f}-{high:.1f})")
        diff = entry.get("difference")
        shown = (
            f"{diff['percent']:+.1f} ({diff['ci95'][0]:.1f} to {diff['ci95'][1]:.1f})"
            if diff
            else "-"
        )
        rates.append([text(key, lang), *cells, shown])
    tte = []
    for paramcd, entry in compared["time_to_event"].items():
        medians = []
        for arm in (first, second):
            km = entry["km_by_arm"].get(arm)
            value = km["median_months"] if km else None
            medians.append(text("not_reached", lang) if value is None else f"{value:.1f}")
        tte.append(
            [
                text(paramcd, lang),
                *medians,
                format_hr(entry["stratified_cox"], lang),
                format_p(entry["stratified_logrank"]["p_value"], lang),
            ]
        )
    return [
        (text("arm_rates", lang), ["", *names, text("difference", lang)], rates),
        (
            text("arm_tte", lang),
            ["", *names, text("hr_ci", lang), text("logrank_p", lang)],
            tte,
        ),
    ]


def km_by_arm_figure(
    two: TwoArmInput, adtte: pd.DataFrame, *, paramcd: str, cox: dict, lang: str
) -> Figure:
    """One Kaplan-Meier curve per arm (months), censor marks, and a numbers-at-risk row per arm
    under the x axis; the stratified HR with its CI in the corner."""
    rows = adtte[adtte["PARAMCD"] == paramcd].merge(two.adsl[["USUBJID", "ARMCD"]], on="USUBJID")
    name = text(paramcd, lang)
    fig = plots.new_page(text("km_by_arm_title", lang, name=name))
    ax = fig.add_axes((0.08, 0.34, 0.88, 0.54))
    risk_ax = fig.add_axes((0.08, 0.08, 0.88, 0.14))
    estimates: list[tuple[str, KaplanMeierEstimate, str]] = []
    for (arm_id, arm_name), colour in zip(two.arms, ARM_COLOURS, strict=False):
        mine = rows[rows["ARMCD"] == arm_id]
        if mine.empty:
            continue
        estimate = km_estimate(
            durations=mine["AVAL"].astype(float).to_numpy(),
            event_observed=(mine["CNSR"].astype(int) == 0).astype(int).to_numpy(),
        )
        estimates.append((arm_id, estimate, colour))
        months = estimate.timeline / DAYS_PER_MONTH
        ax.step(months, estimate.survival, where="post", color=colour, lw=2, label=arm_name)
        if estimate.censor_times.size:
            idx = np.searchsorted(estimate.timeline, estimate.censor_times, side="right") - 1
            ax.plot(
                estimate.censor_times / DAYS_PER_MONTH,
                estimate.survival[idx],
                "|",
                color=colour,
                ms=8,
            )
    max_month = max([float(e.timeline.max()) / DAYS_PER_MONTH for _, e, _ in estimates] + [1.0])
    step = 3 if max_month <= 36 else 6
    ticks = np.arange(0, max_month + step, step)
    ax.text(
        0.98,
        0.95,
        text("hr_line", lang, hr=format_hr(cox, lang)),
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=10,
        bbox={"facecolor": "white", "edgecolor": "#cccccc"},
    )
    ax.set_xlim(0, ticks[-1])
    ax.set_ylim(0, 1.02)
    ax.set_xticks(ticks)
    ax.set_xlabel(text("months", lang))
    ax.set_ylabel(text("survival_probability", lang))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=9)
    risk_ax.set_xlim(ax.get_xlim())
    risk_ax.set_ylim(0, len(estimates) + 0.5)
    risk_ax.axis("off")
    risk_ax.set_title(text("at_risk", lang), fontsize=10, loc="left")
    for row, (arm_id, estimate, colour) in enumerate(estimates):
        y = len(estimates) - row - 0.5
        risk_ax.text(-0.035, y, arm_id, transform=risk_ax.get_yaxis_transform(), ha="right",
                     va="center", fontsize=9, color=colour)  # fmt: skip
        counts = estimate.number_at_risk(ticks * DAYS_PER_MONTH)
        for tick, count in zip(ticks, counts, strict=True):
            risk_ax.text(tick, y, str(count), ha="center", va="center", fontsize=9, color=colour)
    return fig


def forest_figure(
    forest: list[dict],
    *,
    overall: dict,
    paramcd: str,
    lang: str,
    level_names: Mapping[tuple[str, str], str] | None = None,
) -> Figure:
    """Hazard ratio (first arm vs second) with its 95% CI per stratum level, on a log axis, and
    the overall stratified HR at the bottom."""
    fig = plots.new_page(text("forest_title", lang, name=text(paramcd, lang)))
    ax = fig.add_axes((0.34, 0.12, 0.46, 0.74))
    names = level_names or {}
    entries = [
        (
            f"{names.get((row['stratum'], row['level']), row['stratum'] + ': ' + row['level'])}"
            f" (n = {row['n']})",
            row["hazard_ratio"],
            row["ci95"],
        )
        for row in forest
    ]
    entries.append((text("overall_stratified", lang), overall["hazard_ratio"], overall["ci95"]))
    ys = np.arange(len(entries))[::-1]
    for y, (label, hr, (low, high)) in zip(ys, entries, strict=True):
        overall_row = label == entries[-1][0]
        ax.plot([low, high], [y, y], color="black", lw=1.5)
        ax.plot(hr, y, "D" if overall_row else "s", color="#a50f15" if overall_row else "#08519c")
        ax.text(1.02, y, f"{hr:.2f} ({low:.2f}-{high:.2f})", transform=ax.get_yaxis_transform(),
                va="center", fontsize=8)  # fmt: skip
    ax.axvline(1.0, color="grey", ls=":")
    ax.set_xscale("log")
    ticks = [0.125, 0.25, 0.5, 1, 2, 4]
    low_end = min(low for _, _, (low, _) in entries)
    high_end = max(high for _, _, (_, high) in entries)
    shown = [t for t in ticks if low_end / 2 <= t <= high_end * 2]
    ax.set_xticks(shown, [f"{t:g}" for t in shown])
    ax.minorticks_off()
    ax.set_yticks(ys)
    ax.set_yticklabels([label for label, _, _ in entries], fontsize=9)
    ax.set_xlabel(text("hr_axis", lang))
    ax.grid(alpha=0.3, axis="x")
    return fig
