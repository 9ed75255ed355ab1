"""Central monitoring: every site's key risk indicators (flags highlighted), a funnel plot of a
chosen indicator, and the enrollment forecast. Monitors, data managers and the sponsor see
every site; site staff see only their own site's rows, compared with the whole study."""

from __future__ import annotations

import math

from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from mmtrial.protocol.loader import load_protocol


def _lang() -> str:
    return "ja" if (get_language() or "en").startswith("ja") else "en"


def _figure(fig) -> str:
    from matplotlib import rc_context

    from mmtrial.analysis.plots_kri import figure_svg
    from mmtrial.analysis.report import font_settings
    from mmtrial.errors import MmtrialError

    try:
        settings = font_settings(_lang())
    except MmtrialError:  # no Japanese font on this machine: the English figure
        settings = font_settings("en")
    with rc_context(settings):
        return mark_safe(figure_svg(fig))


def _rate(value: float) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.3g}"


def kri_page(request):
    from mmtrial.analysis.kri import METRICS
    from mmtrial.analysis.plots_kri import (
        closure_note,
        enrollment_figure,
        funnel_figure,
        kri_text,
    )
    from mmtrial.edc.selectors.kri_inputs import (
        kri_sites_visible,
        study_enrollment_forecast,
        study_kris,
    )

    protocol = load_protocol()
    today = timezone.localdate()
    visible = kri_sites_visible(request.user)
    report = study_kris(protocol=protocol, as_of=today)
    lang = _lang()
    context = {"today": today, "report": report, "metrics": [], "sites": [], "funnel": ""}
    if report is not None:
        table = report.table
        if visible is not None:
            table = table[table["site"].isin(visible)]
        metric_ids = [m.id for m in METRICS]
        chosen = request.GET.get("metric")
        if chosen not in metric_ids:
            flagged = report.flagged
            chosen = flagged["metric"].iloc[0] if len(flagged) else metric_ids[0]
        cells = {(r.site, r.metric): r for r in table.itertuples()}
        context["metrics"] = [
            {
                "id": m.id,
                "name": kri_text(m.id, lang),
                "study_rate": _rate(report.metric(m.id)["study_rate"].iloc[0])
                if len(report.table)
                else "–",
                "chosen": m.id == chosen,
            }
            for m in METRICS
        ]
        context["sites"] = [
            {
                "code": site,
                "cells": [
                    {
                        "metric": m.id,
                        "rate": _rate(cells[(site, m.id)].rate),
                        "numerator": f"{cells[(site, m.id)].numerator:g}",
                        "denominator": f"{cells[(site, m.id)].denominator:.1f}".removesuffix(".0"),
                        "flag": cells[(site, m.id)].flag,
                        "z": _rate(cells[(site, m.id)].z),
                    }
                    for m in METRICS
                ],
                "flagged": any(cells[(site, m.id)].flag == "red" for m in METRICS),
            }
            for site in sorted(table["site"].unique())
        ]
        context["chosen"] = chosen
        context["chosen_name"] = kri_text(chosen, lang)
        context["funnel"] = _figure(
            funnel_figure(
                report,
                chosen,
                settings=protocol.central_monitoring,
                lang=lang,
                visible_sites=visible,
            )
        )
        context["thresholds"] = [
            (kri_text(metric_id, lang), t)
            for metric_id, t in protocol.central_monitoring.thresholds.items()
        ]
    forecast = (
        study_enrollment_forecast(protocol=protocol, as_of=today) if visible is None else None
    )
    context["forecast"] = forecast
    if forecast is not None:
        context["forecast_svg"] = _figure(enrollment_figure(forecast, lang=lang))
        context["forecast_note"] = closure_note(forecast, lang)
    context["title"] = _("Central monitoring")
    return render(request, "web/kri.html", context)


def enrollment_forecast_context(request) -> dict:
    """The dashboard's enrollment plot, for the roles that see every site (sponsor, monitor,
    data manager); empty for site staff."""
    from mmtrial.analysis.plots_kri import closure_note, enrollment_figure
    from mmtrial.edc.selectors.kri_inputs import kri_sites_visible, study_enrollment_forecast

    if kri_sites_visible(request.user) is not None:
        return {}
    protocol = load_protocol()
    forecast = study_enrollment_forecast(protocol=protocol, as_of=timezone.localdate())
    if forecast is None:
        return {}
    lang = _lang()
    return {
        "forecast": forecast,
        "forecast_svg": _figure(enrollment_figure(forecast, lang=lang)),
        "forecast_note": closure_note(forecast, lang),
    }
