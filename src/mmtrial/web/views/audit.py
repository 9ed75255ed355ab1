"""Audit history: every change to a participant's data or to one record (old -> new, who, when,
why), read from the append-only trail."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render

from mmtrial.edc.selectors.audit import audit_trail_for_participant, audit_trail_for_record
from mmtrial.edc.selectors.participants import participant_get

PAGE_SIZE = 100


def participant_audit(request, pk: int):
    events = audit_trail_for_participant(user=request.user, participant_id=pk)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    participant = participant_get(user=request.user, pk=pk)
    return render(
        request,
        "web/audit/participant.html",
        {"participant": participant, "page": page, "events": page.object_list},
    )


def record_audit(request, model: str, object_pk: str):
    events = audit_trail_for_record(user=request.user, model=model, object_pk=object_pk)
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "web/audit/record.html",
        {"model": model, "object_pk": object_pk, "page": page, "events": page.object_list},
    )
