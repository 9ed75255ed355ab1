"""The report's central monitoring pages: the KRI table by site (flags marked), the funnel plot
of the indicator with the most flags, and the enrollment forecast (see `kri`,
`enrollment_forecast`). Given by the caller that read the database (`OperationsInput`)."""

from __future__ import annotations

from dataclasses import dataclass

from mmtrial.analysis import plots, report_tables
from mmtrial.analysis.enrollment_forecast import EnrollmentForecast
from mmtrial.analysis.kri import METRICS, KriReport
from mmtrial.analysis.plots_kri import enrollment_figure, funnel_figure, kri_text
from mmtrial.protocol.models import CentralMonitoring

__all__ = ["OperationsInput", "central_monitoring_pages"]

FLAG_MARK = {"red": " (!!)", "amber": " (!)", "": ""}


@dataclass(frozen=True)
class OperationsInput:
    kris: KriReport | None
    settings: CentralMonitoring | None
    forecast: EnrollmentForecast | None


def _block(kris: KriReport, lang: str) -> report_tables.Block:
    table = kris.table
    header = [kri_text("sites", lang)] + [kri_text(m.id, lang) for m in METRICS]
    rows = []
    for site in sorted(table["site"].unique()):
        cells = [site]
        for m in METRICS:
            row = table[(table["site"] == site) & (table["metric"] == m.id)].iloc[0]
            rate = "-" if row["denominator"] <= 0 else f"{row['rate']:.3g}"
            cells.append(rate + FLAG_MARK[row["flag"]])
        rows.append(cells)
    return (kri_text("kri_table", lang), header, rows)


def central_monitoring_pages(operations: OperationsInput, lang: str) -> list:
    from mmtrial.analysis.report import ReportPage

    pages = []
    kris = operations.kris
    if kris is not None and operations.settings is not None and len(kris.table):
        title = kri_text("kri_section", lang)
        block = _block(kris, lang)
        pages.append(ReportPage(title, lambda: plots.table_figure(title, [block]), [block]))
        flagged = kris.flagged
        metric = flagged["metric"].iloc[0] if len(flagged) else METRICS[0].id
        pages.append(
            ReportPage(
                kri_text("funnel_title", lang, metric=kri_text(metric, lang)),
                lambda: funnel_figure(
                    kris,
                    metric,
                    settings=operations.settings,
                    lang=lang,
                    size_in=plots.PAGE_SIZE_IN,
                ),
            )
        )
    if operations.forecast is not None:
        pages.append(
            ReportPage(
                kri_text("enrollment_title", lang),
                lambda: enrollment_figure(
                    operations.forecast, lang=lang, size_in=plots.PAGE_SIZE_IN
                ),
            )
        )
    return pages
