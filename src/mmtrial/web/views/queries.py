"""The query inbox, one query with its conversation, and raising a query on a record."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from mmtrial.edc.models import Query
from mmtrial.edc.permissions import Action, can
from mmtrial.edc.selectors.participants import participant_get
from mmtrial.edc.selectors.queries import query_get, query_inbox
from mmtrial.edc.selectors.sites import site_list
from mmtrial.edc.services.queries import query_answer, query_close, query_open, query_reopen
from mmtrial.web.errors import run_service
from mmtrial.web.forms import QueryFilterForm, QueryOpenForm, QueryReplyForm
from mmtrial.web.query_context import query_contexts

SERVICES = {"answer": query_answer, "close": query_close, "reopen": query_reopen}


INBOX_PAGE_SIZE = 100


def inbox(request):
    site_codes = list(site_list(user=request.user).values_list("code", flat=True))
    form = QueryFilterForm(request.GET or None, site_codes=site_codes)
    # An invalid filter value is ignored; the others apply.
    filters = {}
    if form.is_bound:
        form.is_valid()
        filters = form.cleaned_data
    status = filters.get("status") or ""
    age_days = filters.get("age") or ""
    queries = query_inbox(
        user=request.user,
        statuses=[status] if status else None,
        site_code=filters.get("site") or None,
        participant_search=filters.get("participant") or "",
        opened_before=timezone.now() - dt.timedelta(days=int(age_days)) if age_days else None,
    )
    page = Paginator(queries, INBOX_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "queries": page.object_list,
        "page": page,
        "query_string": query.urlencode(),
        "contexts": query_contexts(page.object_list),
    }
    return render(request, "web/queries/inbox.html", context)


def detail(request, pk: int):
    query = query_get(user=request.user, pk=pk)
    form = QueryReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        service = SERVICES[data["action"]]
        done = run_service(
            form,
            lambda: service(
                user=request.user,
                query=query,
                text=data.get("text", ""),
                expected_version=data.get("version"),
            ),
        )
        if done is not None:
            messages.success(request, _("Query %(pk)s updated.") % {"pk": query.pk})
            return redirect("query_detail", pk=query.pk)
    context = {
        "query": query,
        "form": form,
        "actions": _actions(request.user, query),
        "context": query_contexts([query])[query.pk],
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "web/queries/detail.html", context, status=status)


def raise_query(request, pk: int):
    participant = participant_get(user=request.user, pk=pk)
    form = QueryOpenForm(request.POST or None, initial=request.GET.dict())
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        query = run_service(
            form,
            lambda: query_open(
                user=request.user,
                participant=participant,
                model=data["model"],
                object_pk=data["object_pk"],
                field=data.get("field", ""),
                text=data["text"],
            ),
        )
        if query is not None:
            messages.success(request, _("Query %(pk)s opened.") % {"pk": query.pk})
            return redirect("participant_detail", pk=participant.pk)
    target = {
        k: request.POST.get(k) or request.GET.get(k, "") for k in ("model", "object_pk", "field")
    }
    # the record the query will be on, in words (not saved: only its target is read)
    unsaved = Query(participant=participant, **target)
    return render(
        request,
        "web/queries/raise.html",
        {
            "participant": participant,
            "form": form,
            "target": target,
            "context": query_contexts([unsaved])[None],
        },
        status=400 if request.method == "POST" else 200,
    )


def _actions(user, query) -> list[str]:
    """The steps this user may take on the query in its current state."""
    site_id = query.participant.site_id
    actions = []
    if query.status == "open" and can(user, Action.QUERY_ANSWER, site_id):
        actions.append("answer")
    if query.status != "closed" and can(user, Action.QUERY_CLOSE, site_id):
        actions.append("close")
    if query.status != "open" and can(user, Action.QUERY_OPEN, site_id):
        actions.append("reopen")
    return actions
