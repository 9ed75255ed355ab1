"""Figures of central monitoring: a KRI's funnel plot and the enrollment forecast.

matplotlib `Figure` objects (no pyplot global state), drawn the same for the web page (as SVG)
and the report (a PDF page); text in English or Japanese from the table below.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mmtrial.analysis.enrollment_forecast import EnrollmentForecast
from mmtrial.analysis.kri import METRIC_BY_ID, KriReport, funnel_limits
from mmtrial.protocol.models import CentralMonitoring

__all__ = ["enrollment_figure", "figure_svg", "funnel_figure", "kri_text"]

STRINGS = {
    "ae_rate": {"en": "AE rate", "ja": "有害事象発現率"},
    "sae_rate": {"en": "SAE rate", "ja": "重篤な有害事象発現率"},
    "lab_abnormality_rate": {
        "en": "Grade >= 3 lab abnormality rate",
        "ja": "グレード3以上の臨床検査値異常率",
    },
    "important_deviation_rate": {"en": "Important deviation rate", "ja": "重要な逸脱の発生率"},
    "query_rate": {"en": "Query rate", "ja": "クエリ発行率"},
    "query_aged_rate": {"en": "Queries open too long", "ja": "長期未解決クエリの割合"},
    "entry_lag_rate": {"en": "Late data entry", "ja": "データ入力遅延の割合"},
    "data_change_rate": {"en": "Data change rate", "ja": "データ変更率"},
    "screen_failure_rate": {"en": "Screen failure rate", "ja": "スクリーニング脱落率"},
    "discontinuation_rate": {"en": "Treatment discontinuation rate", "ja": "治療中止率"},
    "participant-months": {"en": "participant-months", "ja": "被験者・月"},
    "study_rate": {"en": "Study rate", "ja": "試験全体の率"},
    "limit": {"en": "|z| = {z:g}", "ja": "|z| = {z:g}"},
    "sites": {"en": "Sites", "ja": "施設"},
    "flagged": {"en": "Flagged", "ja": "要注意"},
    "exposure": {"en": "Denominator ({unit})", "ja": "分母（{unit}）"},
    "rate": {"en": "Rate", "ja": "率"},
    "funnel_title": {"en": "Funnel plot: {metric}", "ja": "ファネルプロット：{metric}"},
    "enrollment_title": {"en": "Enrollment: actual and forecast", "ja": "登録状況：実績と予測"},
    "actual": {"en": "Enrolled (actual)", "ja": "登録数（実績）"},
    "forecast": {"en": "Forecast (median)", "ja": "予測（中央値）"},
    "band": {"en": "{level:.0%} interval", "ja": "{level:.0%}予測区間"},
    "planned": {"en": "Planned ({n})", "ja": "目標症例数（{n}）"},
    "cumulative": {"en": "Participants enrolled (cumulative)", "ja": "累積登録数"},
    "date": {"en": "Date", "ja": "日付"},
    "kri_section": {"en": "Central monitoring", "ja": "中央モニタリング"},
    "kri_table": {
        "en": "Key risk indicators by site ((!) amber, (!!) red flag)",
        "ja": "施設別の主要リスク指標（(!) 黄、(!!) 赤）",
    },
    "closure_note": {
        "en": "Last enrollment {last} ({low} to {high}); study closure {closure}",
        "ja": "最終登録 {last}（{low}〜{high}）、試験終了 {closure}",
    },
    "closure_exact": {
        "en": "Enrollment complete: last enrollment {last}; study closure {closure}",
        "ja": "登録完了：最終登録 {last}、試験終了 {closure}",
    },
}


def kri_text(key: str, lang: str, **values: object) -> str:
    entry = STRINGS[key]
    return entry.get(lang, entry["en"]).format(**values)


def funnel_figure(
    report: KriReport,
    metric_id: str,
    *,
    settings: CentralMonitoring,
    lang: str = "en",
    visible_sites: set[str] | None = None,
    size_in: tuple[float, float] = (7.5, 4.5),
) -> Figure:
    """The sites' rates against their denominators, with the study rate and the funnel's
    control limits at the protocol's z thresholds (amber dashed, red solid); flagged sites
    in their colour and named. `visible_sites`: the sites a reader may see (None: all);
    the others are left out of the drawing, the limits stay the study's."""
    metric = METRIC_BY_ID[metric_id]
    rows = report.metric(metric_id)
    if visible_sites is not None:
        rows = rows[rows["site"].isin(visible_sites)]
    fig = Figure(figsize=size_in)
    ax = fig.add_subplot()
    title = kri_text(metric_id, lang)
    ax.set_title(kri_text("funnel_title", lang, metric=title), loc="left", fontsize=11)
    unit = (
        kri_text(metric.denominator, lang) if metric.denominator in STRINGS else metric.denominator
    )
    ax.set_xlabel(kri_text("exposure", lang, unit=unit))
    ax.set_ylabel(kri_text("rate", lang))
    study_rate = (
        float(report.metric(metric_id)["study_rate"].iloc[0]) if len(report.table) else np.nan
    )
    top_n = float(report.metric(metric_id)["denominator"].max() or 1) if len(report.table) else 1.0
    if np.isfinite(study_rate):
        exposure = np.linspace(max(top_n / 200, 1e-3), top_n * 1.1, 200)
        ax.axhline(study_rate, color="#333333", linewidth=1, label=kri_text("study_rate", lang))
        threshold = settings.thresholds.get(metric_id)
        if threshold is not None:
            for z, colour, style in (
                (threshold.z_amber, "#d08c00", "--"),
                (threshold.z_red, "#b7472a", "-"),
            ):
                lower, upper = funnel_limits(
                    study_rate=study_rate,
                    exposure=exposure,
                    z=z,
                    phi=report.phi[metric_id],
                    model=metric.model,
                )
                ax.plot(exposure, upper, color=colour, linestyle=style, linewidth=1,
                        label=kri_text("limit", lang, z=z))  # fmt: skip
                ax.plot(exposure, lower, color=colour, linestyle=style, linewidth=1)
    colours = rows["flag"].map({"red": "#b7472a", "amber": "#d08c00"}).fillna("#1f5f8b")
    shown = rows[rows["denominator"] > 0]
    ax.scatter(shown["denominator"], shown["rate"], c=colours[shown.index], s=36, zorder=3,
               label=kri_text("sites", lang))  # fmt: skip
    for _, row in shown.iterrows():
        if row["flag"] or visible_sites is not None:
            ax.annotate(row["site"], (row["denominator"], row["rate"]), xytext=(4, 4),
                        textcoords="offset points", fontsize=8)  # fmt: skip
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def enrollment_figure(
    forecast: EnrollmentForecast, *, lang: str = "en", size_in: tuple[float, float] = (7.5, 4.0)
) -> Figure:
    """Cumulative enrollment to date, the forecast median and its interval band, the planned
    number, and the forecast (or exact) last enrollment and closure in a note."""
    fig = Figure(figsize=size_in)
    ax = fig.add_subplot()
    ax.set_title(kri_text("enrollment_title", lang), loc="left", fontsize=11)
    actual = forecast.actual
    if not actual.empty:
        ax.step(pd.to_datetime(actual["date"]), actual["cumulative"], where="post",
                color="#1f5f8b", label=kri_text("actual", lang))  # fmt: skip
    band = forecast.band
    if not band.empty:
        dates = pd.to_datetime(band["date"])
        ax.fill_between(dates, band["low"], band["high"], color="#1f5f8b", alpha=0.18,
                        label=kri_text("band", lang, level=forecast.level))  # fmt: skip
        ax.plot(dates, band["median"], color="#1f5f8b", linestyle="--",
                label=kri_text("forecast", lang))  # fmt: skip
    ax.axhline(forecast.planned, color="#b7472a", linewidth=1,
               label=kri_text("planned", lang, n=forecast.planned))  # fmt: skip
    ax.set_xlabel(kri_text("date", lang))
    ax.set_ylabel(kri_text("cumulative", lang))
    ax.set_ylim(0, forecast.planned * 1.08)
    ax.legend(fontsize=8, loc="lower right")
    ax.text(0.01, 0.97, closure_note(forecast, lang), transform=ax.transAxes, fontsize=8,
            va="top")  # fmt: skip
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def closure_note(forecast: EnrollmentForecast, lang: str) -> str:
    if forecast.complete:
        return kri_text("closure_exact", lang, last=forecast.last_enrollment.isoformat(),
                        closure=forecast.closure.isoformat())  # fmt: skip
    return kri_text(
        "closure_note",
        lang,
        last=forecast.last_enrollment.isoformat(),
        low=forecast.last_enrollment_low.isoformat(),
        high=forecast.last_enrollment_high.isoformat(),
        closure=forecast.closure.isoformat(),
    )


def figure_svg(fig: Figure) -> str:
    """The figure as an inline SVG document (text as paths: no font needed by the browser)."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    text = buffer.getvalue()
    return text[text.index("<svg") :]
