"""The site worklist: what is due this week, next week (or this month) and overdue, as a page
and as a printable PDF. One selector call (`selectors.worklist.worklist`)."""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from mmtrial.edc.selectors.sites import site_list
from mmtrial.edc.selectors.worklist import ASSESSMENT, worklist
from mmtrial.errors import NotFound
from mmtrial.web.forms import with_blank
from mmtrial.web.labels import label
from mmtrial.web.worklist_pdf import worklist_pdf

VIEW_CHOICES = [("week", gettext_lazy("This week and next week")), ("month", gettext_lazy("Month"))]


class WorklistFilterForm(forms.Form):
    site = forms.ChoiceField(label=gettext_lazy("Site"), required=False)
    view = forms.ChoiceField(label=gettext_lazy("Show"), required=False, choices=VIEW_CHOICES)

    def __init__(self, *args, site_codes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = with_blank(
            [(code, code) for code in site_codes], gettext_lazy("All my sites")
        )


def describe(item) -> str:
    """An item in words: "Response assessment 3", "Treatment visit C3D1", ..."""
    if item.kind == ASSESSMENT:
        return _("Response assessment %(number)s") % {"number": item.code}
    return f"{label(item.kind, 'visit_kind')} {item.code}"


def link(item) -> str:
    """The form that records the item."""
    if item.kind == ASSESSMENT:
        return reverse("lab_new", args=[item.participant_id])
    if item.kind == "follow_up":
        return reverse("follow_up_new", args=[item.participant_id])
    return reverse("visit_edit", args=[item.participant_id, item.visit_id])


def _worklist(request):
    sites = list(site_list(user=request.user))
    form = WorklistFilterForm(request.GET or None, site_codes=[s.code for s in sites])
    form.is_valid()
    if "site" in form.errors:
        raise Http404  # a site the user may not see, or none such: nothing to tell
    cleaned = getattr(form, "cleaned_data", {})
    code = cleaned.get("site")
    site_id = next(s.pk for s in sites if s.code == code) if code else None
    view = cleaned.get("view") or "week"
    try:
        data = worklist(user=request.user, today=timezone.localdate(), site_id=site_id, view=view)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    return form, data


def worklist_page(request):
    form, data = _worklist(request)
    sections = [("overdue", _("Overdue"), None, data.overdue)]
    names = [_("This week"), _("Next week")]
    for index, ((monday, sunday), items) in enumerate(zip(data.weeks, data.by_week, strict=True)):
        name = names[index] if index < len(names) else _("Week")
        sections.append((f"week{index}", name, (monday, sunday), items))
    rows = {
        id(item): (describe(item), link(item))
        for item in [*data.overdue, *(i for week in data.by_week for i in week)]
    }
    return render(
        request,
        "web/worklist.html",
        {
            "form": form,
            "worklist": data,
            "sections": [
                (key, name, span, [(item, *rows[id(item)]) for item in items])
                for key, name, span, items in sections
            ],
            "pdf_query": request.GET.urlencode(),
        },
    )


def worklist_pdf_view(request):
    _form, data = _worklist(request)
    lang = (get_language() or "en")[:2]
    body = worklist_pdf(data, title=_("Worklist"), describe=describe, lang=lang)
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="worklist-{data.today.isoformat()}.pdf"'
    return response
