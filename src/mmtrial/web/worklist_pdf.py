"""The worklist as a printable PDF (A4, the casebook's page layout: `cdisc.casebook_layout`).

Texts arrive translated (the view renders in the user's language); Japanese needs the Noto
Sans CJK font, as the report and the casebook (`analysis.report.font_settings`).
"""

from __future__ import annotations

import io

from django.utils.translation import gettext as _
from matplotlib import rc_context
from matplotlib.backends.backend_pdf import PdfPages

import mmtrial
from mmtrial.cdisc.casebook_layout import Line, draw, paginate
from mmtrial.edc.selectors.worklist import Worklist, WorklistItem

__all__ = ["worklist_pdf"]


def _item_line(item: WorklistItem, what: str) -> Line:
    window = f"{item.window_start.isoformat()} – {item.window_end.isoformat()}"
    state = (
        _("overdue by %(days)d days") % {"days": item.place.days_overdue}
        if item.place.overdue
        else _("due")
    )
    return Line(
        "field",
        label=f"{item.planned.isoformat()}  {item.site_code}  {item.subject}",
        text=f"{what} · {_('window')} {window} · {state}",
    )


def worklist_pdf(worklist: Worklist, *, title: str, describe, lang: str) -> bytes:
    """The worklist's pages as PDF bytes. `describe(item)` names an item in words."""
    from mmtrial.analysis.report import font_settings

    lines = [Line("h1", title)]
    sections = [(_("Overdue"), worklist.overdue)]
    for (monday, sunday), items in zip(worklist.weeks, worklist.by_week, strict=True):
        sections.append((f"{_('Week')} {monday.isoformat()} – {sunday.isoformat()}", items))
    for heading, items in sections:
        lines.append(Line("h2", f"{heading} ({len(items)})"))
        if not items:
            lines.append(Line("text", _("Nothing due."), indent=1))
        lines.extend(_item_line(item, describe(item)) for item in items)
    header = f"{title} · {worklist.today.isoformat()}"
    footer = f"mmtrial {mmtrial.__version__}"
    buffer = io.BytesIO()
    with rc_context(font_settings(lang)):
        metadata = {"Title": header, "Author": "mmtrial", "Creator": footer}
        with PdfPages(buffer, metadata=metadata) as pdf:
            draw(pdf, paginate(lines), header=header, footer=footer, page_word=_("Page"))
    return buffer.getvalue()
