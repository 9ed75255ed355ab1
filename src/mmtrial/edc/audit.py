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
from typing import Any

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
        return format(value.normalize(), "f") if value == value else str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "pk"):
        return value.pk
    return value


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


def audit_record_many(
    specs: Sequence[EventSpec], *, actor: Actor | None = None
) -> list[AuditEvent]:
    """Append events to the chain, in order, in the caller's transaction."""
    if not specs:
        return []
    actor = actor or current_actor() or Actor(user=None, username="system")
    now = timezone.now()
    with transaction.atomic():
        head = _lock_head()
        prev_hash, next_id = head.last_hash, head.last_event_id + 1
        events = []
        for spec in specs:
            event = AuditEvent(
                id=next_id,
                occurred_at=now,
                actor=actor.user if getattr(actor.user, "pk", None) else None,
                actor_username=actor.username,
                action=spec.action,
                model=spec.model,
                object_pk=str(spec.object_pk),
                site_code=spec.site_code,
                subject=spec.subject,
                changes=to_jsonable(spec.changes),
                reason=spec.reason,
                context=to_jsonable(
                    {"via": actor.via, "source_ip": actor.source_ip, **spec.context}
                ),
                prev_hash=prev_hash,
            )
            event.hash = event_hash(prev_hash, event)
            events.append(event)
            prev_hash, next_id = event.hash, next_id + 1
        _insert(events)
        AuditChainHead.objects.filter(pk=1).update(last_event_id=next_id - 1, last_hash=prev_hash)
    return events


_COLUMNS = (
    "id", "occurred_at", "actor_id", "actor_username", "action", "model", "object_pk",
    "site_code", "subject", "changes", "reason", "context", "prev_hash", "hash",
)  # fmt: skip
_INSERT_BATCH = 2000


def _insert(events: list[AuditEvent]) -> None:
    """Insert with one executemany per batch: the audit writer is the hot path of a lab import,
    and Django's bulk_create spends most of its time preparing fields we have already prepared."""
    ops = connection.ops
    quote = ops.quote_name
    sql = (
        f"INSERT INTO {quote(AuditEvent._meta.db_table)} "
        f"({', '.join(quote(c) for c in _COLUMNS)}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})"
    )
    rows = []
    for e in events:
        rows.append(
            (
                e.id, ops.adapt_datetimefield_value(e.occurred_at), e.actor_id, e.actor_username,
                e.action, e.model, e.object_pk, e.site_code, e.subject,
                json.dumps(e.changes, ensure_ascii=False), e.reason,
                json.dumps(e.context, ensure_ascii=False), e.prev_hash, e.hash,
            )
        )  # fmt: skip
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _INSERT_BATCH):
            cursor.executemany(sql, rows[start : start + _INSERT_BATCH])


def audit_record(spec: EventSpec, *, actor: Actor | None = None) -> AuditEvent:
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
