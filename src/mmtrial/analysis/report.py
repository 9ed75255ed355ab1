"""The study report: a PDF (matplotlib PdfPages, no LaTeX) and/or a self-contained HTML page.

Pages: title (study, data cut-off, populations), efficacy tables, time-to-event table, Kaplan-
Meier plots of PFS and OS with numbers at risk, swimmer, waterfall and spider plots, adverse
events, exposure. A plot whose data is absent becomes a page that says which data is missing.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from matplotlib import font_manager, rc_context
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

import mmtrial
from mmtrial.analysis import plots, report_tables, report_two_arm
from mmtrial.analysis.adam_io import AdamDatasets
from mmtrial.analysis.i18n import FONT_FAMILIES, LANGUAGES, text
from mmtrial.analysis.profiles import (
    best_response_by_subject,
    derive_best_change,
    derive_mprotein_change,
    derive_swimmer,
)
from mmtrial.analysis.report_kri import OperationsInput, central_monitoring_pages
from mmtrial.analysis.report_swimmer import derive_swimmer_to_data_cut
from mmtrial.analysis.report_two_arm import TwoArmInput
from mmtrial.analysis.summary import efficacy_summary
from mmtrial.analysis.time_to_event import km_by_parameter
from mmtrial.analysis.two_arm import two_arm_summary
from mmtrial.errors import MmtrialError
from mmtrial.protocol import load_protocol
from mmtrial.protocol.models import Identification

MESSAGE_NO_CJK_FONT = (
    "a Japanese report needs the Noto Sans CJK JP font, which is not installed "
    "(Debian: apt-get install fonts-noto-cjk)"
)


@dataclass
class ReportPage:
    """One page: its title, how to draw it, and its tables (for the HTML version)."""

    title: str
    draw: Callable[[], Figure]
    blocks: list[report_tables.Block] | None = None
    note: str | None = None
    kind: str = "content"  # "title" for the title page
    subtitle: str = ""


def data_cut_date(data: AdamDatasets) -> str | None:
    """ADSL DCUTDT (the latest, if several), or None."""
    if "DCUTDT" not in data.adsl.columns:
        return None
    values = data.adsl["DCUTDT"].dropna().astype(str)
    return max(values) if len(values) else None


def font_settings(lang: str) -> dict[str, object]:
    """rcParams for `lang`.

    English embeds TrueType (type 42) fonts. Noto Sans CJK is an OpenType/CFF font, which the PDF
    backend cannot embed as TrueType without producing a font some readers reject, so Japanese
    glyphs are embedded as Type 3 (drawn outlines; the text stays extractable).
    """
    families = [f for f in FONT_FAMILIES[lang] if _font_available(f)] or ["DejaVu Sans"]
    if lang == "ja" and families[0] == "DejaVu Sans":
        raise MmtrialError(MESSAGE_NO_CJK_FONT)
    return {
        "font.family": "sans-serif",
        "font.sans-serif": families,
        "pdf.fonttype": 3 if lang == "ja" else 42,
        "axes.unicode_minus": False,
    }


def _font_available(family: str) -> bool:
    try:
        font_manager.findfont(family, fallback_to_default=False)
    except ValueError:
        return False
    return True


def _study_of(study: Identification | None) -> Identification:
    """The study the report is about: the one given, else the deployment's protocol."""
    return study if study is not None else load_protocol().identification


def report_title(study: Identification, lang: str) -> str:
    return text("report_title", lang, study=study.display_name())


def _title_page(data: AdamDatasets, summary: dict, lang: str, study: Identification) -> Figure:
    fig = Figure(figsize=plots.PAGE_SIZE_IN)
    fig.text(0.5, 0.78, report_title(study, lang), ha="center", fontsize=22, fontweight="bold")
    fig.text(0.5, 0.71, study.display_subtitle(lang), ha="center", fontsize=11, wrap=True)
    cut = data_cut_date(data) or text("not_stated", lang)
    pops = summary["populations"]
    lines = [
        f"{text('data_cut', lang)}: {cut}",
        f"{text('enrolled', lang)}: {pops['enrolled']}",
        f"{text('safety', lang)}: {pops['safety']}",
        f"{text('evaluable', lang)}: {pops['response_evaluable']}",
        "",
        f"{text('generated', lang)}: {date.today().isoformat()} (mmtrial {mmtrial.__version__})",
        f"{text('source', lang)}: {', '.join(Path(p).name for p in data.files.values()) or 'database'}",
    ]
    fig.text(0.5, 0.58, "\n".join(lines), ha="center", va="top", fontsize=13, linespacing=1.8)
    return fig


def report_pages(
    data: AdamDatasets,
    *,
    lang: str = "en",
    two_arm: TwoArmInput | None = None,
    study: Identification | None = None,
    operations: OperationsInput | None = None,
) -> list[ReportPage]:
    """Every page of the report, in order; drawing is deferred until the page is rendered.

    `two_arm`: the arms of a randomized study, given only for a reader who may see them; the
    arms compared then follow the pooled pages."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    estimates = km_by_parameter(data.adtte)
    summary = efficacy_summary(data.adsl, adrs=data.adrs, adtte=data.adtte, estimates=estimates)
    study = _study_of(study)
    pages = [
        ReportPage(
            report_title(study, lang),
            lambda: _title_page(data, summary, lang, study),
            kind="title",
            subtitle=study.display_subtitle(lang),
        )
    ]
    efficacy_blocks = [
        report_tables.population_block(summary, lang),
        report_tables.best_response_block(summary, lang),
        report_tables.rates_block(summary, lang),
    ]
    title = text("efficacy_title", lang)
    pages.append(
        ReportPage(title, lambda t=title: plots.table_figure(t, efficacy_blocks), efficacy_blocks)
    )
    tte = [report_tables.tte_block(summary, lang)]
    tte_title = text("tte_title", lang)
    pages.append(
        ReportPage(
            tte_title, lambda: plots.table_figure(tte_title, tte, [text("nr_note", lang)]), tte
        )
    )
    for paramcd in ("PFS", "OS"):
        km_title = text("km_title", lang, name=text(paramcd, lang))
        if paramcd in estimates:
            est = estimates[paramcd]
            pages.append(
                ReportPage(
                    km_title, lambda est=est, p=paramcd: plots.km_figure(est, paramcd=p, lang=lang)
                )
            )
        else:
            pages.append(_skipped(km_title, text("no_tte", lang, param=paramcd), lang))

    swimmer = derive_swimmer_to_data_cut(derive_swimmer(data.adsl, adrs=data.adrs), adsl=data.adsl)
    title = text("swimmer_title", lang)
    if swimmer.empty:
        pages.append(_skipped(title, text("no_ovr", lang), lang))
    else:
        pages.append(ReportPage(title, lambda: plots.swimmer_figure(swimmer, lang=lang)))

    adlb = data.get("adlb")
    change = derive_mprotein_change(adlb) if adlb is not None else None
    for key, make in (
        (
            "waterfall_title",
            lambda c: plots.waterfall_figure(derive_best_change(c, adrs=data.adrs), lang=lang),
        ),
        (
            "spider_title",
            lambda c: plots.spider_figure(
                c, best_response=best_response_by_subject(data.adrs), lang=lang
            ),
        ),
    ):
        title = text(key, lang)
        if change is None or change.empty:
            pages.append(_skipped(title, text("no_adlb", lang), lang))
        else:
            pages.append(ReportPage(title, lambda make=make: make(change)))

    n_safety = summary["populations"]["safety"]
    title = text("safety_title", lang)
    safety_page = report_tables.safety_blocks(
        data, n_safety, lang, max_terms=report_tables.AE_TERMS_ON_PAGE
    )
    if safety_page:
        safety_all = report_tables.safety_blocks(data, n_safety, lang, max_terms=None)
        pages.append(
            ReportPage(title, lambda t=title: plots.table_figure(t, safety_page), safety_all)
        )
    else:
        pages.append(_skipped(title, text("no_adae", lang), lang))
    exposure = report_tables.exposure_blocks(data, lang)
    ex_title = text("exposure_title", lang)
    if exposure:
        ex_note = [text("rdi_note", lang)]
        pages.append(
            ReportPage(ex_title, lambda: plots.table_figure(ex_title, exposure, ex_note), exposure)
        )
    else:
        pages.append(_skipped(ex_title, text("no_adex", lang), lang))
    if two_arm is not None:
        pages.extend(_two_arm_pages(data, two_arm, lang))
    if operations is not None:  # central monitoring and the enrollment forecast (the database)
        pages.extend(central_monitoring_pages(operations, lang))
    return pages


def _two_arm_pages(data: AdamDatasets, two: TwoArmInput, lang: str) -> list[ReportPage]:
    compared = two_arm_summary(
        two.adsl, adrs=data.adrs, adtte=data.adtte, arms=two.arms, strata=two.strata
    )
    blocks = report_two_arm.arms_table_block(compared, lang)
    title = text("two_arm_title", lang)
    pages = [ReportPage(title, lambda: plots.table_figure(title, blocks), blocks)]
    for paramcd in ("PFS", "OS"):
        entry = compared["time_to_event"].get(paramcd)
        if entry is None:
            continue
        cox = entry["stratified_cox"]
        km_title = text("km_by_arm_title", lang, name=text(paramcd, lang))
        pages.append(
            ReportPage(
                km_title,
                lambda p=paramcd, c=cox: report_two_arm.km_by_arm_figure(
                    two, data.adtte, paramcd=p, cox=c, lang=lang
                ),
            )
        )
        if paramcd == "PFS" and entry["forest"] and cox["hazard_ratio"] is not None:
            forest_title = text("forest_title", lang, name=text(paramcd, lang))
            pages.append(
                ReportPage(
                    forest_title,
                    lambda e=entry, c=cox, p=paramcd: report_two_arm.forest_figure(
                        e["forest"], overall=c, paramcd=p, lang=lang, level_names=two.level_names
                    ),
                )
            )
    return pages


def _skipped(title: str, reason: str, lang: str) -> ReportPage:
    note = text("plot_skipped", lang, plot=title, reason=reason)
    return ReportPage(title, lambda: plots.note_figure(title, [note]), note=note)


def _figure_png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _html_table(block: report_tables.Block) -> str:
    subtitle, header, rows = block
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<h3>{html.escape(subtitle)}</h3><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_document(sections: list[str], lang: str, title: str) -> str:
    style = (
        "body{font-family:'Noto Sans CJK JP','Noto Sans',sans-serif;margin:2em;max-width:70em}"
        "table{border-collapse:collapse;margin:0.5em 0 1.5em}th,td{border:1px solid #bbb;"
        "padding:0.25em 0.6em;text-align:right}th{background:#deebf7}td:first-child,th:first-child{text-align:left}"
        "img{max-width:100%;border:1px solid #eee}.note{color:#a00}"
    )
    title = html.escape(title)
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{style}</style></head><body>{''.join(sections)}</body></html>"
    )


def build_report(
    data: AdamDatasets,
    *,
    pdf_path: str | Path | None = None,
    html_path: str | Path | None = None,
    lang: str = "en",
    progress: bool = False,
    two_arm: TwoArmInput | None = None,
    study: Identification | None = None,
    operations: OperationsInput | None = None,
) -> list[str]:
    """Render the report to `pdf_path` and/or `html_path`; returns the page titles in order.

    `study`: the study named on the title page (default: the deployment's protocol)."""
    pages = report_pages(data, lang=lang, two_arm=two_arm, study=study, operations=operations)
    sections: list[str] = []
    with rc_context(font_settings(lang)), _progress(progress, len(pages), lang) as advance:
        pdf = (
            PdfPages(pdf_path, metadata={"Title": pages[0].title, "Creator": "mmtrial"})
            if pdf_path
            else None
        )
        try:
            for page in pages:
                fig = page.draw()
                if pdf is not None:
                    pdf.savefig(fig)
                if html_path is not None:
                    sections.append(_html_section(page, fig, data, lang))
                advance()
        finally:
            if pdf is not None:
                pdf.close()
    if html_path is not None:
        Path(html_path).write_text(_html_document(sections, lang, pages[0].title), encoding="utf-8")
    return [page.title for page in pages]


def _html_section(page: ReportPage, fig: Figure, data: AdamDatasets, lang: str) -> str:
    heading = f"<h2>{html.escape(page.title)}</h2>"
    if page.note:
        return f'{heading}<p class="note">{html.escape(page.note)}</p>'
    if page.blocks:
        return heading + "".join(_html_table(block) for block in page.blocks)
    if page.kind == "title":
        cut = data_cut_date(data) or text("not_stated", lang)
        return (
            f"<h1>{html.escape(page.title)}</h1><p>{html.escape(page.subtitle)}</p>"
            f"<p>{html.escape(text('data_cut', lang))}: {html.escape(cut)}</p>"
        )
    return f'{heading}<img alt="{html.escape(page.title)}" src="data:image/png;base64,{_figure_png(fig)}">'


class _progress:
    """A rich progress bar on standard error (or nothing), yielding an `advance()` callable."""

    def __init__(self, enabled: bool, total: int, lang: str) -> None:
        self.enabled, self.total, self.lang = enabled, total, lang
        self._bar = None

    def __enter__(self) -> Callable[[], None]:
        if not self.enabled:
            return lambda: None
        from rich.console import Console
        from rich.progress import Progress

        self._bar = Progress(console=Console(stderr=True), transient=True)
        self._bar.start()
        task = self._bar.add_task(text("building", self.lang), total=self.total)
        return lambda: self._bar.advance(task)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
