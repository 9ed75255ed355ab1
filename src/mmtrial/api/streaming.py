"""Streamed exports: JSON Lines read in chunks from the database (bounded memory)."""

from __future__ import annotations

from collections.abc import Iterator

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import QuerySet

__all__ = ["CHUNK_ROWS", "ndjson_lines"]

CHUNK_ROWS = 2000


def ndjson_lines(queryset: QuerySet, schema, *, cursor: int) -> Iterator[bytes]:
    """One JSON object per row in `schema`'s shape, then `{"cursor": N}`; rows are fetched
    `CHUNK_ROWS` at a time (a server-side cursor on PostgreSQL) and dropped once written."""
    encoder = DjangoJSONEncoder(ensure_ascii=False, separators=(",", ":"))
    for row in queryset.iterator(chunk_size=CHUNK_ROWS):
        data = schema.from_orm(row).model_dump()
        yield (encoder.encode(data) + "\n").encode()
    yield (encoder.encode({"cursor": cursor}) + "\n").encode()
