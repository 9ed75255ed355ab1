"""The participant list (search and filters) and one participant's timeline."""

from __future__ import annotations

from dataclasses import asdict

from django.core.paginator import Paginator
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import get_language

from mmtrial.edc.permissions import Action, can, memberships_cached
from mmtrial.edc.selectors.deviations import participant_deviations
from mmtrial.edc.selectors.participants import participant_get, participant_list
from mmtrial.edc.selectors.randomization import allocation_view
from mmtrial.edc.selectors.sites import site_list
from mmtrial.edc.selectors.timeline import participant_timeline, participant_visible
from mmtrial.edc.services.participants import protocol_of
from mmtrial.web import timeline_view
from mmtrial.web.forms import ParticipantFilterForm
from mmtrial.web.query_context import query_contexts
from mmtrial.web.timeline_cache import (
    CSRF_PLACEHOLDER,
    Viewer,
    fill_csrf,
    timeline_key,
    timeline_store,
)

PAGE_SIZE = 50


def _site_codes(user) -> list[str]:
    return list(site_list(user=user).values_list("code", flat=True))


def participant_list_view(request):
    form = ParticipantFilterForm(request.GET or None, site_codes=_site_codes(request.user))
    # An invalid filter value (a status that does not exist) is ignored; the others apply.
    filters = {}
    if form.is_bound:
        form.is_valid()
        filters = form.cleaned_data
    participants = participant_list(
        user=request.user,
        search=filters.get("q", ""),
        site_code=filters.get("site") or None,
        status=filters.get("status") or None,
        response=filters.get("response") or None,
    )
    page = Paginator(participants, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(p, _best_response(p)) for p in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "web/participants/list.html",
        {"form": form, "page": page, "rows": rows, "query": query.urlencode()},
    )


NOT_YET_ASSESSED = "not_assessed"


def _best_response(participant) -> str:
    """The confirmed best response, NOT_YET_ASSESSED before the first assessment (the summary
    then says NE, which would read as "not evaluable"), or "" without a summary."""
    summary = getattr(participant, "response_summary", None)
    if summary is None or summary.is_deleted:
        return ""
    if not participant.has_response_assessment:
        return NOT_YET_ASSESSED
    return summary.best_overall_response


def participant_detail(request, pk: int):
    # the user's memberships are read once for the page's six permission checks
    with memberships_cached():
        participant = participant_visible(user=request.user, participant_id=pk)
        site_id = participant.site_id
        viewer = Viewer(
            # a locked participant's page offers no entry links: every change would be refused
            can_enter=can(request.user, Action.ENTER_DATA, site_id) and not participant.locked,
            can_query=can(request.user, Action.QUERY_OPEN, site_id),
            can_lock=can(request.user, Action.LOCK, site_id),
            can_decide_dose=can(request.user, Action.INVESTIGATOR_DECISION, site_id),
            can_resolve=can(request.user, Action.QUERY_CLOSE, site_id),
        )
        store, key = timeline_store(), timeline_key(participant, viewer)
        fragments = store.get(key)
        if fragments is None:
            fragments = _timeline_fragments(request, pk, viewer)
            store.set(key, fragments)
        context = {
            "participant": participant,
            "fragments": {name: fill_csrf(request, html) for name, html in fragments.items()},
            **asdict(viewer),
            **_allocation(request, participant),
        }
    return render(request, "web/participants/detail.html", context)


def _timeline_fragments(request, pk: int, viewer: Viewer) -> dict[str, str]:
    """The cached parts of the timeline page (web.timeline_cache), rendered from the selector."""
    timeline = participant_timeline(user=request.user, participant_id=pk, with_dose_preview=True)
    participant = timeline.participant
    context = {
        "participant": participant,
        "timeline": timeline,
        "page": timeline_view.build(timeline),
        # no further query without queries; else one per record type and one for the audit
        "query_contexts": query_contexts(timeline.queries),
        "deviations": participant_deviations(participant),
        **asdict(viewer),
        # the forms inside carry a placeholder, replaced by each request's own token
        "csrf_token": CSRF_PLACEHOLDER,
    }
    return {
        part: render_to_string(f"web/participants/_timeline_{part}.html", context, request)
        for part in ("top", "body")
    }


def _allocation(request, participant) -> dict:
    protocol = protocol_of(participant)
    allocation = allocation_view(user=request.user, participant=participant, protocol=protocol)
    if allocation is None or allocation.arm_id is None:
        return {"allocation": allocation}
    arm = protocol.arm(allocation.arm_id)
    name = arm.name_ja if get_language() == "ja" else arm.name
    return {"allocation": allocation, "arm_name": name}


def entry_menu(request, pk: int):
    participant = participant_get(user=request.user, pk=pk)
    return render(request, "web/entry/menu.html", {"participant": participant})
