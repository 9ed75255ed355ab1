"""Serious adverse events: the SAE reporting clocks (site and sponsor/safety view), the
initial and follow-up reports, the grade options of a CTCAE term (htmx)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django import forms
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mmtrial.edc.selectors.sae import sae_list
from mmtrial.edc.selectors.timeline import participant_timeline
from mmtrial.edc.services.sae_reports import sae_report_record
from mmtrial.web.entry_forms import ctcae_grade_choices
from mmtrial.web.errors import run_service
from mmtrial.web.views.entry import form_page, from_timeline, saved_redirect


def ae_grade_options(request):
    """The <option>s of the grade select for the CTCAE term typed (htmx, on change)."""
    choices = ctcae_grade_choices(request.GET.get("ctcae_term", ""))
    return render(request, "web/entry/_grade_options.html", {"choices": choices})


def sae_clocks(request):
    """Every serious AE the user may see with its reporting clock, open clocks first."""
    rows = sae_list(user=request.user, now=timezone.now())
    return render(request, "web/safety/sae_list.html", {"rows": rows})


class SaeReportForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Report"),
        choices=[
            ("initial", gettext_lazy("Initial report")),
            ("follow_up", gettext_lazy("Follow-up report")),
        ],
    )
    sent_at = forms.DateTimeField(
        label=gettext_lazy("Sent to the sponsor at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        help_text=gettext_lazy("Local time at the site."),
    )
    summary = forms.CharField(
        label=gettext_lazy("What the report contains"), widget=forms.Textarea(attrs={"rows": 4})
    )


def sae_report_new(request, pk: int, ae_pk: int):
    timeline = participant_timeline(user=request.user, participant_id=pk)
    participant = timeline.participant
    ae = from_timeline(timeline, "adverse_events", ae_pk)
    form = SaeReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        sent = (
            data["sent_at"].replace(tzinfo=None).replace(tzinfo=ZoneInfo(participant.site.timezone))
        )
        saved = run_service(
            form,
            lambda: sae_report_record(
                user=request.user,
                ae_id=ae.pk,
                kind=data["kind"],
                sent_at=sent,
                summary=data["summary"],
            ),
        )
        if saved is not None:
            return saved_redirect(request, participant, _("SAE report saved."))
    return form_page(
        request,
        "web/entry/form.html",
        participant,
        form,
        title=_("Report of a serious adverse event"),
        intro=ae.ctcae_term or ae.term,
    )
