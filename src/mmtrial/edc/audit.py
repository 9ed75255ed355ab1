"""Writing and verifying the audit trail.

Services call `audit_record` inside their transaction, so a change and its audit event commit
or roll back together. Who acts comes from `audit_actor(...)`, set by the web middleware, the
API and the CLI; it is never a shared service account (compliance KF-3).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from mmtrial.edc.models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who is acting and through which door (web, api, cli, import), with the source address."""

    user: Any | None
    username: str
    via: str = "system"
    source_ip: str = ""


_current_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar(
    "audit_actor", default=None
)


@contextlib.contextmanager
def audit_actor(user, *, via: str, source_ip: str = "") -> Iterator[Actor]:
    actor = Actor(
        user=user,
        username=getattr(user, "username", "") or "anonymous",
        via=via,
        source_ip=source_ip,
    )
    token = _current_actor.set(actor)
    try:
        yield actor
    finally:
        _current_actor.reset(token)


def current_actor() -> Actor | None:
    return _current_actor.get()


def to_jsonable(value: Any) -> Any:
    """Audit values as JSON: Decimals and dates as their exact text."""
    if isinstance(value, Decimal):
        return _decimal_text(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "pk"):
        return value.pk
    return value


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _jsonable(value: Any) -> Any:
    """`to_jsonable`, faster on the shapes the services write (a dict of {old, new} dicts of
    plain values): exact built-in types are dispatched on `type()` without walking the plain
    leaves again; anything else (subclasses, model instances) goes through `to_jsonable`, so the
    result is always equal to `to_jsonable(value)` (tests/edc/test_audit_fast_path.py)."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    if kind is dict:
        out = {}
        for k, v in value.items():
            inner = type(v)
            if inner is dict:  # {"old": ..., "new": ...}: one level more, without a call
                v = {
                    (ik if type(ik) is str else str(ik)): (
                        iv if type(iv) in _PLAIN else _jsonable(iv)
                    )
                    for ik, iv in v.items()
                }
            elif inner not in _PLAIN:
                v = _jsonable(v)
            out[k if type(k) is str else str(k)] = v
        return out
    if kind is list or kind is tuple:
        return [v if type(v) in _PLAIN else _jsonable(v) for v in value]
    if kind is Decimal:
        return _decimal_text(value)
    if kind is dt.date or kind is dt.datetime:
        return value.isoformat()
    return to_jsonable(value)


def _decimal_text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value else str(value)


_LEAF = _PLAIN | {Decimal, dt.date, dt.datetime}


def _flat(changes: Any) -> bool:
    """Whether `changes` is {str: {str: leaf}} with leaves of exact built-in types: then JSON
    with `_leaf` as its default is the text of `to_jsonable(changes)`, without building it."""
    if type(changes) is not dict:
        return False
    for key, change in changes.items():
        if type(key) is not str or type(change) is not dict:
            return False
        for inner, value in change.items():
            if type(inner) is not str or type(value) not in _LEAF:
                return False
    return True


def _leaf(value: Any) -> str:
    if type(value) is Decimal:
        return _decimal_text(value)
    if isinstance(value, dt.date):  # dates and datetimes (subclasses too)
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a leaf of flat changes")


@dataclass
class EventSpec:
    """An audit event about to be written."""

    action: str
    model: str = ""
    object_pk: str = ""
    site_code: str = ""
    subject: str = ""
    changes: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    context: dict[str, Any] = field(default_factory=dict)


def _content(event: AuditEvent) -> bytes:
    payload = {
        "id": event.id,
        "occurred_at": event.occurred_at.astimezone(dt.UTC).isoformat(),
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "action": event.action,
        "model": event.model,
        "object_pk": event.object_pk,
        "site_code": event.site_code,
        "subject": event.subject,
        "changes": event.changes,
        "reason": event.reason,
        "context": event.context,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256(prev_hash.encode() + _content(event)).hexdigest()


def _lock_head() -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        AuditChainHead.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS_HASH})
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head


class RecordedEvent(NamedTuple):
    """An event as appended to the chain: its id and the two hashes that link it."""

    id: int
    prev_hash: str
    hash: str

    @property
    def pk(self) -> int:
        return self.id


# Encoders of the canonical content (as `_content`: sorted keys, compact, no ASCII escaping) and
# of the stored text. The values are fresh from `_jsonable` or checked by `_flat`: no cycles.
_CANONICAL = {"sort_keys": True, "separators": (",", ":"), "ensure_ascii": False}
_canonical = json.JSONEncoder(**_CANONICAL, check_circular=False).encode
_stored = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode  # as always stored
_canonical_flat = json.JSONEncoder(**_CANONICAL, check_circular=False, default=_leaf).encode
_stored_flat = json.JSONEncoder(ensure_ascii=False, check_circular=False, default=_leaf).encode


def _text(value: Any) -> str:
    return encode_basestring(value) if type(value) is str else _canonical(value)


def _changes_texts(changes: Any) -> tuple[str, str]:
    """The canonical text of `to_jsonable(changes)` (hashed) and its text as stored (in the
    order the service gave, which the audit pages show)."""
    if _flat(changes):
        return _canonical_flat(changes), _stored_flat(changes)
    plain = _jsonable(changes)
    return _canonical(plain), _stored(plain)


def audit_record_many(
    specs: Sequence[EventSpec], *, actor: Actor | None = None
) -> list[RecordedEvent]:
    """Append events to the chain, in order, in the caller's transaction.

    Returns each event's id and hashes. The rows go to the database as tuples: building
    `AuditEvent` instances and letting Django prepare them costs more than the rest of a large
    import (docs/benchmarks.md); the hash is the same `event_hash` that `audit_verify` checks.
    """
    if not specs:
        return []
    actor = actor or current_actor() or Actor(user=None, username="system")
    now = timezone.now()
    occurred_db = connection.ops.adapt_datetimefield_value(now)
    actor_id = actor.user.pk if getattr(actor.user, "pk", None) else None
    base_context = {"via": actor.via, "source_ip": actor.source_ip}
    # the parts of the content that every event of this call shares
    who = f'"actor_id":{_text(actor_id)},"actor_username":{_text(actor.username)}'
    when = f'"occurred_at":{_text(now.astimezone(dt.UTC).isoformat())}'
    sha256 = hashlib.sha256
    with transaction.atomic(savepoint=False):
        head = _lock_head()
        prev_hash, next_id = head.last_hash, head.last_event_id + 1
        rows = []
        recorded = []
        for spec in specs:
            changes, changes_stored = _changes_texts(spec.changes)
            # nothing lists the context: it is stored as hashed
            context = _canonical(_jsonable({**base_context, **spec.context}))
            object_pk = str(spec.object_pk)
            # `_content` of this event, in its sorted key order (JSON is compositional: a value
            # encoded alone is the same text as inside the payload)
            text = (
                f'{{"action":{_text(spec.action)},{who},"changes":{changes},'
                f'"context":{context},"id":{next_id},"model":{_text(spec.model)},'
                f'"object_pk":{_text(object_pk)},{when},"reason":{_text(spec.reason)},'
                f'"site_code":{_text(spec.site_code)},"subject":{_text(spec.subject)}}}'
            )
            digest = sha256(prev_hash.encode() + text.encode()).hexdigest()
            rows.append(
                (
                    next_id, occurred_db, actor_id, actor.username, spec.action, spec.model,
                    object_pk, spec.site_code, spec.subject, changes_stored, spec.reason,
                    context, prev_hash, digest,
                )
            )  # fmt: skip
            recorded.append(RecordedEvent(next_id, prev_hash, digest))
            prev_hash, next_id = digest, next_id + 1
        _insert(rows)
        AuditChainHead.objects.filter(pk=1).update(last_event_id=next_id - 1, last_hash=prev_hash)
    return recorded


_COLUMNS = (
    "id", "occurred_at", "actor_id", "actor_username", "action", "model", "object_pk",
    "site_code", "subject", "changes", "reason", "context", "prev_hash", "hash",
)  # fmt: skip
_INSERT_BATCH = 2000


def insert_tuples(table: str, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """Insert rows of values already prepared for the database, in the caller's transaction.

    PostgreSQL: one COPY (an executemany runs one INSERT per row on the server, and a large
    lab import would spend most of its time there); other databases: one executemany per
    batch. Used for the audit rows and for the lab import's results (`services._bulk`).
    """
    quote = connection.ops.quote_name
    names = ", ".join(quote(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        sql = f"INSERT INTO {quote(table)} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"
        for start in range(0, len(rows), _INSERT_BATCH):
            cursor.executemany(sql, rows[start : start + _INSERT_BATCH])


def _insert(rows: list[tuple]) -> None:
    """The audit writer is the hot path of a lab import: its rows go in as tuples, without the
    field preparation of `bulk_create` (the values are already prepared)."""
    insert_tuples(AuditEvent._meta.db_table, _COLUMNS, rows)


def audit_record(spec: EventSpec, *, actor: Actor | None = None) -> RecordedEvent:
    return audit_record_many([spec], actor=actor)[0]


@dataclass(frozen=True)
class ChainReport:
    events_checked: int
    first_broken_id: int | None
    problem: str

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None and not self.problem


def audit_verify(*, batch_size: int = 5000) -> ChainReport:
    """Walk the chain in id order; name the first event whose hash or link does not hold."""
    prev_hash, expected_id, checked = GENESIS_HASH, 1, 0
    queryset = AuditEvent.objects.order_by("id")
    for event in queryset.iterator(chunk_size=batch_size):
        if event.id != expected_id:
            return ChainReport(checked, expected_id, f"event {expected_id} is missing")
        if event.prev_hash != prev_hash:
            return ChainReport(
                checked, event.id, f"event {event.id} does not link to the event before it"
            )
        if event_hash(prev_hash, event) != event.hash:
            return ChainReport(
                checked, event.id, f"event {event.id} was changed after it was written"
            )
        prev_hash, expected_id, checked = event.hash, expected_id + 1, checked + 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.last_event_id != expected_id - 1 or head.last_hash != prev_hash):
        return ChainReport(
            checked,
            expected_id,
            f"the chain ends at event {expected_id - 1} "
            f"but its head records event {head.last_event_id}: events were removed",
        )
    return ChainReport(checked, None, "")
