"""The tables of the study report as (subtitle, header, rows) blocks of text, in en or ja."""

from __future__ import annotations

import pandas as pd

from mmtrial.analysis.adam_io import AdamDatasets
from mmtrial.analysis.codelists import RESPONSE_CATEGORIES
from mmtrial.analysis.exposure import exposure_summary
from mmtrial.analysis.i18n import ae_term, drug_name, text
from mmtrial.analysis.safety import ae_by_grade_and_term, ae_overview

Block = tuple[str, list[str], list[list[str]]]

#: Preferred terms shown in the AE table (most frequent first); the HTML report shows all.
AE_TERMS_ON_PAGE = 20


def _pct(value: float | None) -> str:
    return "-" if value is None or pd.isna(value) else f"{value:.1f}"


def _median_months(value: float | None, lang: str) -> str:
    """A Kaplan-Meier median: "not reached" while fewer than half had the event."""
    return text("not_reached", lang) if value is None else f"{value:.1f}"


def _limit_months(value: float | None, lang: str) -> str:
    """A confidence limit of a median: NE (not estimable) when the curve never reaches it."""
    return text("ne", lang) if value is None else f"{value:.1f}"


def population_block(summary: dict, lang: str) -> Block:
    pops = summary["populations"]
    rows = [
        [text("enrolled", lang), str(pops["enrolled"])],
        [text("safety", lang), str(pops["safety"])],
        [text("evaluable", lang), str(pops["response_evaluable"])],
    ]
    return text("populations", lang), ["", "N"], rows


def best_response_block(summary: dict, lang: str) -> Block:
    best = summary["best_response"]
    n = best["n"]
    rows = [
        [
            category,
            str(best["counts"][category]),
            _pct(best["counts"][category] / n * 100 if n else None),
        ]
        for category in RESPONSE_CATEGORIES
    ]
    return f"{text('bor_title', lang)} (N = {n})", [text("response", lang), "n", "%"], rows


def rates_block(summary: dict, lang: str) -> Block:
    rows = []
    for key in ("vgpr_or_better", "orr", "cr_or_better"):
        rate = summary[key]
        low, high = rate["ci95"]
        rows.append(
            [
                text(key, lang),
                f"{rate['responders']}/{rate['n']}",
                _pct(rate["percent"]),
                f"{_pct(low)} - {_pct(high)}",
            ]
        )
    return text("rates_title", lang), [text("endpoint", lang), "n/N", "%", text("ci95", lang)], rows


def tte_block(summary: dict, lang: str) -> Block:
    rows = []
    for paramcd, entry in summary["time_to_event"].items():
        low, high = entry["ci95_months"]
        rows.append(
            [
                f"{text(paramcd, lang)} ({paramcd})",
                str(entry["n"]),
                str(entry["events"]),
                _median_months(entry["median_months"], lang),
                f"{_limit_months(low, lang)} - {_limit_months(high, lang)}",
            ]
        )
    header = [
        text("endpoint", lang),
        "N",
        text("events", lang),
        text("median_months", lang),
        text("ci95_months", lang),
    ]
    return text("tte_title", lang), header, rows


def safety_blocks(
    data: AdamDatasets, n_safety: int, lang: str, *, max_terms: int | None
) -> list[Block]:
    adae = data.get("adae")
    if adae is None:
        return []
    overview = ae_overview(adae, n_safety=n_safety)
    over_rows = [
        [text(row.category, lang), str(row.n), _pct(row.percent)] for row in overview.itertuples()
    ]
    terms = ae_by_grade_and_term(adae, n_safety=n_safety)
    if max_terms is not None:
        terms = terms.head(max_terms)
    term_rows = [
        [
            ae_term(row.AEDECOD, lang),
            f"{row.any_n} ({_pct(row.any_percent)})",
            *[str(getattr(row, f"grade_{g}")) for g in (1, 2, 3, 4, 5)],
            f"{row.grade_3_plus_n} ({_pct(row.grade_3_plus_percent)})",
        ]
        for row in terms.itertuples()
    ]
    header = [
        text("term", lang),
        f"{text('any_grade', lang)} n (%)",
        *[f"{text('grade', lang)} {g}" for g in (1, 2, 3, 4, 5)],
        f"{text('grade_3_plus', lang)} n (%)",
    ]
    return [
        (f"{text('ae_overview', lang)} (N = {n_safety})", ["", "n", "%"], over_rows),
        (f"{text('ae_by_term', lang)} (N = {n_safety})", header, term_rows),
    ]


def exposure_blocks(data: AdamDatasets, lang: str) -> list[Block]:
    adex = data.get("adex")
    if adex is None:
        return []
    summary = exposure_summary(adex, adsl=data.adsl)
    rows = [
        [
            drug_name(row.EXTRT, lang),
            str(row.subjects),
            f"{row.cycles_median:g} ({row.cycles_min:g}-{row.cycles_max:g})",
            str(row.rdi_subjects),
            (
                f"{row.rdi_median_pct:.1f} ({row.rdi_min_pct:.1f}-{row.rdi_max_pct:.1f})"
                if row.rdi_subjects
                else "-"
            ),
            str(row.subjects_with_reduction),
            str(row.subjects_with_hold),
        ]
        for row in summary.itertuples()
    ]
    header = [
        text("drug", lang),
        "N",
        text("cycles", lang),
        text("rdi_n", lang),
        text("rdi", lang),
        text("reductions", lang),
        text("holds", lang),
    ]
    return [(text("exposure_title", lang), header, rows)]
