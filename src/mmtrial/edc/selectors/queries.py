"""Reading data queries, scoped to the user's sites: the query inbox and one query."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, Q, QuerySet

from mmtrial.edc.models import Query, QueryMessage
from mmtrial.edc.models.trust import QueryStatus
from mmtrial.edc.permissions import Action, scope_to_sites
from mmtrial.errors import NotFound

SEARCH_MAX_LENGTH = 32
QUERY_NOT_FOUND = "No query {pk} at the sites you can see."


def _scoped(user) -> QuerySet[Query]:
    return scope_to_sites(
        Query.objects.select_related("participant__site", "opened_by"),
        user,
        Action.VIEW,
        site_field="participant__site_id",
    )


def query_inbox(
    *,
    user,
    statuses: list[str] | tuple[str, ...] | None = None,
    site_code: str | None = None,
    participant_id: int | None = None,
    participant_search: str = "",
    opened_before: dt.datetime | None = None,
) -> QuerySet[Query]:
    """Queries at the user's sites, oldest first; by default the unresolved ones.

    Site staff work the open ones; monitors and data managers review the answered ones.
    `participant_search` matches part of the subject id or screening number; `opened_before`
    keeps the queries opened before that instant (the inbox's "open more than 7 days").
    """
    statuses = statuses or (QueryStatus.OPEN, QueryStatus.ANSWERED)
    queryset = _scoped(user).filter(status__in=list(statuses))
    if site_code:
        queryset = queryset.filter(participant__site__code=site_code)
    if participant_id is not None:
        queryset = queryset.filter(participant_id=participant_id)
    search = (participant_search or "").strip()[:SEARCH_MAX_LENGTH]
    if search:
        queryset = queryset.filter(
            Q(participant__subject_id__icontains=search)
            | Q(participant__screening_number__icontains=search)
        )
    if opened_before is not None:
        queryset = queryset.filter(opened_at__lt=opened_before)
    return queryset.order_by("opened_at", "pk")


def query_get(*, user, pk: int | str) -> Query:
    """One query with its messages; NotFound when it is at a site the user cannot see."""
    try:
        pk_int = int(pk)
    except (TypeError, ValueError):
        raise NotFound.coded(QUERY_NOT_FOUND, {"query": str(pk)}, pk=pk) from None
    found = (
        _scoped(user)
        .prefetch_related(
            Prefetch("messages", queryset=QueryMessage.objects.select_related("author"))
        )
        .filter(pk=pk_int)
        .first()
    )
    if found is None:
        raise NotFound.coded(QUERY_NOT_FOUND, {"query": str(pk)}, pk=pk)
    return found
