"""Lists: keyset pages by id (bounded memory whatever the size of the study) and incremental
sync by the audit sequence (`changed_since`).

Every list answers `{items, next, next_after, cursor}`:

- `next` is the relative URL of the next page (null on the last one); `next_after` is its
  `after` value. A page is one query of at most `limit` rows after the id `after`.
- `cursor` is the audit sequence read *before* the rows, so a change committed while the
  page is read is below no cursor handed out: passing it later as `?changed_since=` returns
  every record changed since (soft-deleted ones too, with `is_deleted: true`, so a client can
  drop them). Follow `next` links to the end and keep the `cursor` they carry: all pages of one
  pull report the cursor of its first page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from ninja import Query, Schema
from pydantic import Field

from mmtrial.edc.selectors.records import audit_cursor, changed_after

__all__ = ["MAX_ID", "ListParams", "ListQuery", "Page", "page_of"]

MAX_ID = 2**53  # ids are database bigints; bounded so no client number overflows a query
LIMIT_DEFAULT = 100
LIMIT_MAX = 1000


class ListParams(Schema):
    after: Annotated[int, Field(ge=0, le=MAX_ID)] = 0
    limit: Annotated[int, Field(ge=1, le=LIMIT_MAX)] = LIMIT_DEFAULT
    changed_since: Annotated[int, Field(ge=0, le=MAX_ID)] | None = None
    cursor: (
        Annotated[
            int, Field(ge=0, le=MAX_ID, description="set by `next` links: the first page's cursor")
        ]
        | None
    ) = None


ListQuery = Query[ListParams]


def page_of(
    request,
    queryset: QuerySet,
    params: ListParams,
    *,
    model,
    out: Callable[[Any], Any] = lambda row: row,
    filters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One page of `queryset` (already scoped to the user's sites, ordered by id)."""
    now = audit_cursor()
    cursor = now if params.cursor is None else min(params.cursor, now)
    if params.changed_since is not None:
        queryset = changed_after(queryset, model=model, since=params.changed_since, until=cursor)
    rows = list(queryset.filter(pk__gt=params.after)[: params.limit + 1])
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    next_after = rows[-1].pk if more else None
    next_url = None
    if next_after is not None:
        query = {
            **{k: v for k, v in (filters or {}).items() if v not in (None, "")},
            "after": next_after,
            "limit": params.limit,
            "cursor": cursor,
        }
        if params.changed_since is not None:
            query["changed_since"] = params.changed_since
        next_url = f"{request.path}?{urlencode(query)}"
    return {
        "items": [out(row) for row in rows],
        "next": next_url,
        "next_after": next_after,
        "cursor": cursor,
    }


def Page(item: type) -> type[Schema]:
    """The response schema of a list of `item`."""
    return type(
        f"{item.__name__}Page",
        (Schema,),
        {
            "__annotations__": {
                "items": list[item],
                "next": str | None,
                "next_after": int | None,
                "cursor": int,
            },
        },
    )
