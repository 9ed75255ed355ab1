"""The participant list (search and filters) and one participant's timeline."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render

from mmtrial.edc.selectors.participants import participant_get, participant_list
from mmtrial.web.forms import ParticipantFilterForm

PAGE_SIZE = 50


def _site_codes(user) -> list[str]:
    return sorted({p.site.code for p in participant_list(user=user)})


def participant_list_view(request):
    form = ParticipantFilterForm(request.GET or None, site_codes=_site_codes(request.user))
    filters = form.cleaned_data if form.is_valid() else {}
    participants = participant_list(
        user=request.user,
        search=filters.get("q", ""),
        site_code=filters.get("site") or None,
        status=filters.get("status") or None,
    ).select_related("response_summary")
    response = filters.get("response")
    if response:
        participants = [p for p in participants if _best_response(p) == response]
    page = Paginator(participants, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(p, _best_response(p)) for p in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "web/participants/list.html",
        {"form": form, "page": page, "rows": rows, "query": query.urlencode()},
    )


def _best_response(participant) -> str:
    summary = getattr(participant, "response_summary", None)
    return summary.best_overall_response if summary is not None else ""


def participant_detail(request, pk: int):
    participant = participant_get(user=request.user, pk=pk)
    return render(request, "web/participants/detail.html", {"participant": participant})


def entry_menu(request, pk: int):
    participant = participant_get(user=request.user, pk=pk)
    return render(request, "web/entry/menu.html", {"participant": participant})
