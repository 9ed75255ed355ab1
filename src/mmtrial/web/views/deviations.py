"""Protocol deviations for the monitor and the data manager: the list across their sites
(filter by site, status, importance), entering one by hand on a participant, resolving one
(ICH E6(R3) 3.10; ICH E3 section 10.2)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from mmtrial.edc.permissions import Action, can
from mmtrial.edc.selectors.deviations import deviation_list
from mmtrial.edc.selectors.participants import participant_get
from mmtrial.edc.selectors.sites import site_list
from mmtrial.edc.services.deviations import deviation_enter, deviation_resolve
from mmtrial.web.errors import run_service

PAGE_SIZE = 100


class DeviationFilterForm(forms.Form):
    site = forms.ChoiceField(label=gettext_lazy("Site"), required=False)
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=[
            ("", gettext_lazy("Any status")),
            ("open", gettext_lazy("Open")),
            ("resolved", gettext_lazy("Resolved")),
            ("withdrawn", gettext_lazy("Withdrawn: data corrected")),
        ],
    )
    important = forms.ChoiceField(
        label=gettext_lazy("Importance"),
        required=False,
        choices=[
            ("", gettext_lazy("Important and not")),
            ("yes", gettext_lazy("Important only")),
            ("no", gettext_lazy("Not important only")),
        ],
    )

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", _("All my sites"))] + [
            (str(s.pk), s.code) for s in sites
        ]


class DeviationEntryForm(forms.Form):
    category = forms.CharField(label=gettext_lazy("Category"), max_length=64)
    description = forms.CharField(
        label=gettext_lazy("What happened"), widget=forms.Textarea(attrs={"rows": 3})
    )
    important = forms.BooleanField(
        label=gettext_lazy("Important deviation"),
        required=False,
        help_text=gettext_lazy(
            "Might significantly affect key trial data or the participant's rights, safety "
            "or well-being (ICH E6(R3))."
        ),
    )


class DeviationResolveForm(forms.Form):
    resolution = forms.CharField(
        label=gettext_lazy("How it was resolved"), widget=forms.Textarea(attrs={"rows": 2})
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


def deviation_list_view(request):
    sites = list(site_list(user=request.user))
    form = DeviationFilterForm(request.GET or None, sites=sites)
    filters = {}
    if form.is_bound:
        form.is_valid()  # an invalid filter value is ignored; the others apply
        filters = form.cleaned_data
    important = {"yes": True, "no": False}.get(filters.get("important") or "")
    site = filters.get("site") or None
    deviations = deviation_list(
        user=request.user,
        site_id=int(site) if site else None,
        status=filters.get("status") or None,
        important=important,
    )
    page = Paginator(deviations, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "web/deviations/list.html",
        {
            "form": form,
            "deviations": page.object_list,
            "page": page,
            "can_resolve": can(request.user, Action.QUERY_CLOSE),
        },
    )


def deviation_new(request, pk: int):
    participant = participant_get(user=request.user, pk=pk)
    form = DeviationEntryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        deviation = run_service(
            form,
            lambda: deviation_enter(
                user=request.user,
                participant_id=participant.pk,
                category=data["category"],
                description=data["description"],
                important=data["important"],
            ),
        )
        if deviation is not None:
            messages.success(request, _("Deviation %(pk)s recorded.") % {"pk": deviation.pk})
            return redirect("participant_detail", pk=participant.pk)
    return render(
        request,
        "web/deviations/new.html",
        {"participant": participant, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
def deviation_resolve_view(request, dev_pk: int):
    form = DeviationResolveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        deviation = run_service(
            form,
            lambda: deviation_resolve(
                user=request.user,
                deviation_id=dev_pk,
                resolution=data["resolution"],
                expected_version=data["version"],
            ),
        )
        if deviation is not None:
            messages.success(request, _("Deviation %(pk)s resolved.") % {"pk": deviation.pk})
            return redirect(_back(request))
    for error in form.errors.values():
        messages.error(request, " ".join(error))
    return redirect(_back(request))


def _back(request) -> str:
    """The page the resolve form was on (this site's pages only), else the list."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("deviation_list")
