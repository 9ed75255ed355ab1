"""Optimistic concurrency over HTTP (RFC 9110 section 13): the `ETag` of a record is its
version; a change must send it back in `If-Match`.

A change without `If-Match` is refused with 428 (the unit of work never defaults the expected
version to the current one: a client that did not read the record cannot overwrite it); a
stale one with 412 and the current version, both in the body and as the `ETag` header.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext, gettext_noop

from mmtrial.api.messages import Message
from mmtrial.api.problems import ApiProblem

__all__ = ["etag", "expected_version", "refuse_stale", "with_etag"]

IF_MATCH_REQUIRED = gettext_noop(
    'Send the record\'s version in the If-Match header (the ETag you read, e.g. If-Match: "3"), '
    "so that a change made by someone else since is not overwritten."
)
IF_MATCH_INVALID = gettext_noop('If-Match must be one ETag of this record, e.g. "3"; got {value}.')
RECORD_STALE = gettext_noop(
    "This record was changed by someone else since you read it (your version {expected}, now "
    "{current}). Read it again, then send your change with the new ETag."
)

_ETAG_RE = re.compile(r'^(?:W/)?"(\d{1,9})"$')


def etag(version: int) -> str:
    return f'"{version}"'


def with_etag(response, record):
    response["ETag"] = etag(record.version)
    return record


def expected_version(request) -> int:
    """The version the client read, from If-Match (428 when absent, 412 when not one of ours)."""
    value = (request.headers.get("If-Match") or "").strip()
    if not value:
        raise ApiProblem(
            428, Message(code="if_match_required", parameters={}, text=gettext(IF_MATCH_REQUIRED))
        )
    match = _ETAG_RE.match(value)
    if match is None:
        raise ApiProblem(
            412,
            Message(
                code="if_match_invalid",
                parameters={"if_match": value[:40]},
                text=gettext(IF_MATCH_INVALID).format(value=value[:40]),
            ),
        )
    return int(match.group(1))


def refuse_stale(record, expected: int) -> None:
    """412 with the current version unless the record is still at the version the client read."""
    if record.version != expected:
        raise ApiProblem(
            412,
            Message(
                code="record_stale",
                parameters={"expected_version": expected, "current_version": record.version},
                text=gettext(RECORD_STALE).format(expected=expected, current=record.version),
            ),
            headers={"ETag": etag(record.version)},
        )
