"""The records queries are about, read for many queries at once: the record itself (with its
visit or cycle) and who last entered the queried value, from the audit trail.

A query names its record by model and primary key. Showing "Lab result 1280 · value" leaves a
coordinator to guess; the pages show the record in words instead. The reads are bounded: one
query per record type named, one for the audit events, whatever the number of queries.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db.models import Q

from mmtrial.edc.models import AuditEvent, Query

__all__ = ["QueryRecord", "query_records"]

# The related rows a record is shown with (its visit, its cycle), read in the same query.
RELATED = {
    "labresult": ("visit",),
    "diseaseassessment": ("visit",),
    "doseadministration": ("cycle",),
}
# Audit actions that write a record's values (not lock, sign, ...).
WRITING_ACTIONS = ("create", "update", "delete")


@dataclass(frozen=True)
class QueryRecord:
    """The record a query is on, None when it no longer exists, and who last wrote the queried
    field (or the record, for a query on the whole record)."""

    record: Any | None
    entered_by: str
    entered_at: dt.datetime | None


def _records_by_model(queries: list[Query]) -> dict[tuple[str, str], Any]:
    wanted: dict[str, set[int]] = defaultdict(set)
    for query in queries:
        if str(query.object_pk).isdigit():
            wanted[query.model].add(int(query.object_pk))
    found: dict[tuple[str, str], Any] = {}
    for model_name, pks in wanted.items():
        try:
            model = apps.get_model("edc", model_name)
        except LookupError:
            continue
        rows = model.objects.filter(pk__in=pks).select_related(*RELATED.get(model_name, ()))
        for row in rows:
            found[(model_name, str(row.pk))] = row
    return found


def _writers(queries: list[Query]) -> dict[tuple[str, str, str], tuple[str, dt.datetime]]:
    """(model, pk, field) -> (printed name, time) of the last write of that field; field ""
    stands for the last write of the record."""
    by_model: dict[str, set[str]] = defaultdict(set)
    for query in queries:
        by_model[query.model].add(str(query.object_pk))
    if not by_model:
        return {}
    condition = Q()
    for model_name, pks in by_model.items():
        condition |= Q(model=model_name, object_pk__in=sorted(pks))
    events = (
        AuditEvent.objects.filter(condition, action__in=WRITING_ACTIONS)
        .select_related("actor")
        .order_by("occurred_at", "pk")
    )
    writers: dict[tuple[str, str, str], tuple[str, dt.datetime]] = {}
    for event in events:
        who = event.actor.printed_name if event.actor_id else event.actor_username
        writers[(event.model, event.object_pk, "")] = (who, event.occurred_at)
        for field in event.changes or {}:
            writers[(event.model, event.object_pk, field)] = (who, event.occurred_at)
    return writers


def query_records(queries: Iterable[Query]) -> dict[int, QueryRecord]:
    """For each query (by its pk), the record it is on and who last entered the queried value.

    Queries: one per record type among `queries`, plus one for the audit events.
    """
    queries = list(queries)
    records = _records_by_model(queries)
    writers = _writers(queries)
    out = {}
    for query in queries:
        key = (query.model, str(query.object_pk))
        who, when = writers.get((*key, query.field), writers.get((*key, ""), ("", None)))
        out[query.pk] = QueryRecord(record=records.get(key), entered_by=who, entered_at=when)
    return out
