"""Figures of the study report (matplotlib `Figure` objects, no pyplot global state).

Each function returns a new A4-landscape figure with a title and labelled axes; text comes from
`mmtrial.analysis.i18n` so the same figure renders in English or Japanese.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from mmtrial.analysis.codelists import DAYS_PER_MONTH, RESPONSE_CATEGORIES
from mmtrial.analysis.i18n import text
from mmtrial.analysis.survival import KaplanMeierEstimate

PAGE_SIZE_IN = (11.69, 8.27)

RESPONSE_COLOURS = {
    "sCR": "#08306b",
    "CR": "#2171b5",
    "VGPR": "#4292c6",
    "PR": "#6baed6",
    "MR": "#bdd7e7",
    "SD": "#bdbdbd",
    "PD": "#de2d26",
    "NE": "#737373",
}


def new_page(title: str) -> Figure:
    fig = Figure(figsize=PAGE_SIZE_IN)
    fig.suptitle(title, fontsize=14, fontweight="bold", x=0.03, ha="left", y=0.97)
    return fig


def _bars(ax, positions, lengths, *, width: float, colours: list[str], horizontal: bool) -> None:
    """Many bars as one collection (thousands of Rectangle patches are slow to build and draw)."""
    half = width / 2
    polygons = []
    for pos, length in zip(positions, lengths, strict=True):
        if horizontal:
            polygons.append(
                [(0, pos - half), (length, pos - half), (length, pos + half), (0, pos + half)]
            )
        else:
            polygons.append(
                [(pos - half, 0), (pos + half, 0), (pos + half, length), (pos - half, length)]
            )
    ax.add_collection(PolyCollection(polygons, facecolors=colours, edgecolors="none"))
    ax.autoscale_view()


def _limit_months(value: float | None, lang: str) -> str:
    """A confidence limit in months, or NE (not estimable) when the curve never reaches it."""
    return text("ne", lang) if value is None else f"{value / DAYS_PER_MONTH:.1f}"


def _response_legend(ax, categories: list[str], lang: str, **kwargs) -> None:
    handles = [
        Patch(color=RESPONSE_COLOURS[c], label=c) for c in RESPONSE_CATEGORIES if c in categories
    ]
    ax.legend(handles=handles, title=text("best_response_legend", lang), fontsize=8, **kwargs)


def km_figure(estimate: KaplanMeierEstimate, *, paramcd: str, lang: str) -> Figure:
    """Kaplan-Meier curve (months) with censor marks, pointwise band, the median and its CI,
    and the numbers at risk under the x axis."""
    name = text(paramcd, lang)
    fig = new_page(text("km_title", lang, name=name))
    ax = fig.add_axes((0.08, 0.30, 0.88, 0.58))
    risk_ax = fig.add_axes((0.08, 0.12, 0.88, 0.06))
    months = estimate.timeline / DAYS_PER_MONTH
    ax.step(months, estimate.survival, where="post", color="#08519c", lw=2, label=name)
    lower = np.where(np.isnan(estimate.lower), estimate.survival, estimate.lower)
    upper = np.where(np.isnan(estimate.upper), estimate.survival, estimate.upper)
    ax.fill_between(
        months, lower, upper, step="post", color="#6baed6", alpha=0.25, label=text("band", lang)
    )
    if estimate.censor_times.size:
        idx = np.searchsorted(estimate.timeline, estimate.censor_times, side="right") - 1
        ax.plot(
            estimate.censor_times / DAYS_PER_MONTH,
            estimate.survival[idx],
            "|",
            color="#08519c",
            ms=10,
            mew=1.5,
            label=text("censored", lang),
        )
    max_month = max(float(months.max()), 1.0)
    step = 3 if max_month <= 36 else 6 if max_month <= 72 else 12
    ticks = np.arange(0, max_month + step, step)
    ax.axhline(0.5, color="grey", ls=":", lw=1)
    limits = {
        "low": _limit_months(estimate.median_lower, lang),
        "high": _limit_months(estimate.median_upper, lang),
    }
    if estimate.median is None:
        label = text("median_not_reached_label", lang, **limits)
    else:
        label = text(
            "median_label", lang, median=f"{estimate.median / DAYS_PER_MONTH:.1f}", **limits
        )
    if estimate.median is not None:
        m = estimate.median / DAYS_PER_MONTH
        ax.plot([m, m], [0, 0.5], color="grey", ls=":", lw=1)
    ax.text(
        0.98,
        0.95,
        f"N = {estimate.n}, {text('events', lang)} = {estimate.events}\n{label}",
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize=10,
        multialignment="left",
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
    risk_ax.set_ylim(0, 1)
    risk_ax.axis("off")
    risk_ax.set_title(text("at_risk", lang), fontsize=10, loc="left")
    for tick, count in zip(ticks, estimate.number_at_risk(ticks * DAYS_PER_MONTH), strict=True):
        risk_ax.text(tick, 0.5, str(count), ha="center", va="center", fontsize=10)
    return fig


def swimmer_figure(swimmer: pd.DataFrame, *, lang: str) -> Figure:
    """Horizontal bars of months on treatment, coloured by best response, with markers for the
    first PR-or-better, first CR-or-better, progression, and an arrow when still on treatment."""
    fig = new_page(text("swimmer_title", lang))
    ax = fig.add_axes((0.10, 0.10, 0.70, 0.80))
    n = len(swimmer)
    y = np.arange(n)[::-1]
    months = swimmer["duration_days"].to_numpy(dtype=float) / DAYS_PER_MONTH
    colours = [RESPONSE_COLOURS.get(b, "#737373") for b in swimmer["BOR"]]
    _bars(ax, y, months, width=0.7, colours=colours, horizontal=True)
    ax.set_xlim(0, max(float(months.max()) if n else 1.0, 1.0) * 1.08)
    for column, marker, colour, size in (
        ("first_response_day", "^", "black", 30),
        ("first_cr_day", "*", "gold", 60),
        ("pd_day", "X", "#de2d26", 40),
    ):
        days = swimmer[column].to_numpy(dtype=float)
        ok = ~np.isnan(days)
        ax.scatter(
            days[ok] / DAYS_PER_MONTH,
            y[ok],
            marker=marker,
            color=colour,
            s=size if n <= 80 else 8,
            zorder=3,
            edgecolors="black",
            linewidths=0.3,
        )
    ongoing = swimmer["ongoing"].to_numpy(dtype=bool)
    if ongoing.any():
        # an arrow from the end of the bar (the data cut-off): treatment goes on after it
        length = ax.get_xlim()[1] * 0.035
        ax.quiver(
            months[ongoing],
            y[ongoing],
            np.full(int(ongoing.sum()), length),
            np.zeros(int(ongoing.sum())),
            angles="xy",
            scale_units="xy",
            scale=1,
            color="#31a354",
            width=0.003 if n <= 80 else 0.0015,
            headwidth=4,
            headlength=4,
            headaxislength=3.5,
            zorder=3,
        )
    if n <= 60:
        ax.set_yticks(y, swimmer["USUBJID"], fontsize=6)
    else:
        ax.set_yticks([])
    ax.set_ylim(-1, n)
    ax.set_xlabel(text("treatment_months", lang))
    ax.set_ylabel(text("subjects", lang) + f" (N = {n})")
    ax.grid(axis="x", alpha=0.3)
    markers = [
        Line2D([], [], marker="^", color="black", ls="", label=text("first_response", lang)),
        Line2D(
            [],
            [],
            marker="*",
            color="gold",
            mec="black",
            ls="",
            ms=10,
            label=text("first_cr", lang),
        ),
        Line2D([], [], marker="X", color="#de2d26", ls="", label=text("progression", lang)),
        Line2D(
            [],
            [],
            marker=r"$\rightarrow$",
            color="#31a354",
            ls="",
            ms=12,
            label=text("ongoing", lang),
        ),
    ]
    legend_ax = fig.add_axes((0.82, 0.10, 0.16, 0.80))
    legend_ax.axis("off")
    first = legend_ax.legend(handles=markers, loc="upper left", fontsize=8)
    legend_ax.add_artist(first)
    _response_legend(legend_ax, list(swimmer["BOR"].unique()), lang, loc="lower left")
    return fig


def waterfall_figure(best: pd.DataFrame, *, lang: str) -> Figure:
    """Bars of best % change from baseline, one per participant, largest increase first."""
    fig = new_page(text("waterfall_title", lang))
    ax = fig.add_axes((0.08, 0.10, 0.76, 0.80))
    values = best["best_pchg"].to_numpy(dtype=float)
    x = np.arange(len(values))
    _bars(
        ax,
        x,
        np.clip(values, -100, 200),
        width=0.85,
        horizontal=False,
        colours=[RESPONSE_COLOURS.get(b, "#737373") for b in best["BOR"]],
    )
    for level, style in ((-50, "--"), (-90, ":"), (25, "--")):
        ax.axhline(level, color="grey", ls=style, lw=0.8)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xlim(-1, len(values))
    ax.set_ylim(
        min(-105.0, float(np.nanmin(values)) - 5) if len(values) else -105.0,
        max(30.0, float(np.nanmax(np.clip(values, -100, 200))) + 5) if len(values) else 30.0,
    )
    ax.set_xticks([])
    ax.set_xlabel(text("subjects", lang) + f" (N = {len(values)})")
    ax.set_ylabel(text("best_change", lang))
    ax.grid(axis="y", alpha=0.3)
    _response_legend(
        ax, list(best["BOR"].unique()), lang, loc="upper left", bbox_to_anchor=(1.01, 1)
    )
    return fig


def spider_figure(change: pd.DataFrame, *, best_response: pd.Series, lang: str) -> Figure:
    """Lines of % change from baseline over months, one per participant, coloured by response."""
    fig = new_page(text("spider_title", lang))
    ax = fig.add_axes((0.08, 0.10, 0.76, 0.80))
    segments, colours = [], []
    for usubjid, rows in change.sort_values("ADY").groupby("USUBJID", sort=False):
        xs = np.concatenate([[0.0], rows["ADY"].to_numpy(dtype=float) / DAYS_PER_MONTH])
        ys = np.concatenate([[0.0], np.clip(rows["PCHG"].to_numpy(dtype=float), -100, 200)])
        segments.append(np.column_stack([xs, ys]))
        colours.append(RESPONSE_COLOURS.get(best_response.get(usubjid, "NE"), "#737373"))
    ax.add_collection(LineCollection(segments, colors=colours, linewidths=1.0, alpha=0.8))
    ax.autoscale()
    ax.axhline(0, color="black", lw=0.8)
    for level in (-50, -90, 25):
        ax.axhline(level, color="grey", ls="--", lw=0.6)
    ax.set_xlabel(text("months", lang))
    ax.set_ylabel(text("change", lang))
    ax.grid(alpha=0.3)
    _response_legend(
        ax, list(best_response.unique()), lang, loc="upper left", bbox_to_anchor=(1.01, 1)
    )
    return fig


def note_figure(title: str, lines: list[str]) -> Figure:
    """A page with a title and a note, for a plot that cannot be drawn."""
    fig = new_page(title)
    fig.text(0.05, 0.85, "\n".join(lines), fontsize=12, va="top")
    return fig


def _wrap_label(label: str, *, width_fraction: float, fontsize: float) -> str:
    """A column header broken into lines that fit its column (CJK characters count double)."""
    import textwrap

    column_pt = width_fraction * 0.90 * PAGE_SIZE_IN[0] * 72
    chars = max(4, int(column_pt / (fontsize * 0.62)))
    if any(ord(ch) > 0x2E80 for ch in label):
        chars = max(2, chars // 2)
    return textwrap.fill(label, width=chars) if len(label) > chars else label


def table_figure(
    title: str, blocks: list[tuple[str, list[str], list[list[str]]]], notes: list[str] | None = None
) -> Figure:
    """A page of one or more tables: (subtitle, header, rows) each, stacked top to bottom."""
    fig = new_page(title)
    top = 0.90
    gap = 0.08
    total_rows = sum(len(rows) + 1 for _, _, rows in blocks)
    row_height = min(0.045, (top - 0.08 - gap * len(blocks)) / max(total_rows, 1))
    for subtitle, header, rows in blocks:
        height = row_height * (len(rows) + 1)
        ax = fig.add_axes((0.05, top - height - 0.03, 0.90, height))
        ax.axis("off")
        ax.set_title(subtitle, loc="left", fontsize=11, fontweight="bold")
        widths = [0.4, *[0.6 / (len(header) - 1)] * (len(header) - 1)] if len(header) > 3 else None
        fontsize = 9 if len(rows) < 20 else 7
        labels = [
            _wrap_label(label, width_fraction=w, fontsize=fontsize)
            for label, w in zip(header, widths or [1 / len(header)] * len(header), strict=True)
        ]
        table = ax.table(
            cellText=rows or [[""] * len(header)],
            colLabels=labels,
            loc="upper left",
            cellLoc="center",
            colLoc="center",
            bbox=(0, 0, 1, 1),
            colWidths=widths,
        )
        table.auto_set_font_size(False)
        table.set_fontsize(fontsize)
        header_lines = max(label.count("\n") + 1 for label in labels)
        for (row, col), cell in table.get_celld().items():
            cell.set_edgecolor("#bbbbbb")
            if row == 0:
                cell.set_height(cell.get_height() * header_lines)
                cell.set_facecolor("#deebf7")
                cell.get_text().set_fontweight("bold")
            if col == 0:
                cell.get_text().set_ha("left")
                cell.PAD = 0.02
        top = top - height - gap
    if notes:
        fig.text(0.05, 0.03, "\n".join(notes), fontsize=9, va="bottom")
    return fig
