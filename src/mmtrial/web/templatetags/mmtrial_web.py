"""Template filters for the web pages: ISO dates, site-time stamps and translated labels."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import template
from django.utils import timezone

from mmtrial.web.labels import label as _label

register = template.Library()


@register.filter
def iso_date(value) -> str:
    """A date as YYYY-MM-DD in every language (datetimes are first put in the site's zone)."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        return value[:10]
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


@register.filter
def site_time(value) -> str:
    """An instant as YYYY-MM-DD HH:MM with the site's zone name (e.g. 2027-01-11 09:30 JST)."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.strftime("%Y-%m-%d %H:%M %Z").strip()


@register.filter
def label(value, kind: str) -> str:
    return _label(value, kind)


@register.filter
def number(value) -> str:
    """A decimal without trailing zeros (4.0000 -> 4); blank for no value."""
    if value in (None, ""):
        return ""
    if isinstance(value, Decimal | float | int):
        d = Decimal(str(value)).normalize()
        text = format(d, "f")
        return text
    return str(value)


@register.filter
def get_item(mapping, key):
    if mapping is None:
        return None
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def study_title(identification) -> str:
    """The protocol's title in the page's language (`title_ja` on Japanese pages)."""
    from django.utils.translation import get_language

    lang = "ja" if (get_language() or "").startswith("ja") else "en"
    return identification.display_title(lang)


@register.filter
def deviation_text(deviation) -> str:
    from mmtrial.web.deviation_text import deviation_text as text

    return text(deviation)


@register.filter
def response_reasons(response) -> list[str]:
    """A derived IMWG response's reasons in the page's language (web/imwg_text.py)."""
    from mmtrial.web.imwg_text import response_reason_texts

    return response_reason_texts(response)


@register.filter
def deviation_category(category: str) -> str:
    from mmtrial.web.deviation_text import category_text

    return category_text(category)


@register.simple_tag
def protocol_identification():
    """The current protocol's identification (title, version) for page footers."""
    from mmtrial.protocol import load_protocol

    return load_protocol().identification


@register.simple_tag
def dose_cell(dose) -> str:
    from mmtrial.web.timeline_view import dose_text

    return dose_text(dose)


@register.simple_tag
def analyte_name(code: str) -> str:
    from mmtrial.web.entry_forms import analyte_label

    return str(analyte_label(code))


@register.filter
def audit_value(value) -> str:
    """An audited value as people read it: JSON for structures, yes/no for booleans."""
    import json

    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), default=str)
    return str(value)


# How far ahead a visit's window opening is shown as "due soon": the dashboard's week.
DUE_SOON_DAYS = 7


@register.filter
def visit_state(visit) -> str:
    """Where the visit stands today in the site's zone (clinical.visit_state): planned, due
    soon, due, overdue, done, done out of window or missed."""
    from mmtrial.clinical.visit_state import visit_state as state_on

    return state_on(
        status=visit.status,
        window_start=visit.window_start,
        window_end=visit.window_end,
        today=timezone.localdate(),
        due_soon_days=DUE_SOON_DAYS,
    )


@register.filter
def service_message(value) -> str:
    """A service's refusal (an exception or its text) in the page's language."""
    from mmtrial.errors import MmtrialError
    from mmtrial.web.errors import render_error, translate_message

    if isinstance(value, MmtrialError):
        return render_error(value)
    return translate_message(str(value)) if value not in (None, "") else ""


@register.filter
def sae_hours(value) -> str:
    """A time left as "5 h 03 min"."""
    if value in (None, ""):
        return ""
    hours, rest = divmod(value, dt.timedelta(hours=1))
    return f"{hours} h {rest // dt.timedelta(minutes=1):02d} min"
