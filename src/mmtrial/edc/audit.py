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
import hmac
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from mmtrial.edc.audit_seal import Anchor, audit_key, head_mac
from mmtrial.edc.models import AuditChainHead, AuditEvent
from mmtrial.errors import MmtrialError

GENESIS_HASH = "0" * 64


class AuditChainError(MmtrialError):
    """The audit chain is damaged: nothing more may be appended to it."""


@dataclass(frozen=True)
class Actor:
    """Who is acting and through which door (web, api, cli, import), with the source address.

    At the command line also the operating-system account (`os_account`) and how the study user
    proved who they are (`auth`: password, token, bootstrap); both go into every event's context.
    """

    user: Any | None
    username: str
    via: str = "system"
    source_ip: str = ""
    os_account: str = ""
    auth: str = ""

    def context(self) -> dict[str, str]:
        context = {"via": self.via, "source_ip": self.source_ip}
        if self.os_account:
            context["os_account"] = self.os_account
        if self.auth:
            context["auth"] = self.auth
        return context


_current_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar(
    "audit_actor", default=None
)


@contextlib.contextmanager
def audit_actor(
    user, *, via: str, source_ip: str = "", os_account: str = "", auth: str = ""
) -> Iterator[Actor]:
    actor = Actor(
        user=user,
        username=getattr(user, "username", "") or "anonymous",
        via=via,
        source_ip=source_ip,
        os_account=os_account,
        auth=auth,
    )
    token = _current_actor.set(actor)
    try:
        yield actor
    finally:
        _current_actor.reset(token)


def current_actor() -> Actor | None:
    return _current_actor.get()


# The simulated study date that the demo's events stand for (see `audit_stands_for`).
DEMO_VIA = "demo"
STANDS_FOR_DEMO_ONLY = (
    "Only the demo study records which study date an audit event stands for: real data is "
    "audited at the time it is entered."
)
_stands_for: contextvars.ContextVar[dt.date | None] = contextvars.ContextVar(
    "audit_stands_for", default=None
)


@contextlib.contextmanager
def audit_stands_for(day: dt.date) -> Iterator[None]:
    """Events appended inside record, beside their real time, the simulated study date they
    stand for (`stands_for` in the context, hashed like the rest). The demo enters a study
    of many months in minutes: every event keeps the real time of seeding (21 CFR 11.10(e):
    the server's clock, never a supplied one), and the audit views show the date it stands
    for next to it. Refused outside the demo's door (`via="demo"`), so that nothing can give
    real data a date other than its own."""
    actor = current_actor()
    if actor is None or actor.via != DEMO_VIA:
        raise MmtrialError(STANDS_FOR_DEMO_ONLY)
    token = _stands_for.set(day)
    try:
        yield
    finally:
        _stands_for.reset(token)


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


HEAD_MISSING = (
    "The audit trail's chain-head row is missing although {events} events exist: nothing can "
    "be recorded until it is investigated (run `mmtrial audit verify`)."
)


def _lock_head() -> AuditChainHead:
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    if head is None:
        # A chain starts once; a missing head over existing events is damage, not a new start.
        if AuditEvent.objects.exists():
            raise AuditChainError.coded(HEAD_MISSING, events=AuditEvent.objects.count())
        AuditChainHead.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS_HASH})
        head = AuditChainHead.objects.select_for_update().get(pk=1)
    return head


def lock_chain_head() -> AuditChainHead:
    """Lock the chain head in the caller's transaction: every audited write waits behind it
    (used where a decision must not race with any other write, e.g. the first account)."""
    return _lock_head()


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
    base_context = actor.context()
    stands_for = _stands_for.get()
    if stands_for is not None:
        if actor.via != DEMO_VIA:  # an actor of another door inside the demo's context
            raise MmtrialError(STANDS_FOR_DEMO_ONLY)
        base_context["stands_for"] = stands_for.isoformat()
    key = audit_key()
    # the parts of the content that every event of this call shares
    who = f'"actor_id":{_text(actor_id)},"actor_username":{_text(actor.username)}'
    when = f'"occurred_at":{_text(now.astimezone(dt.UTC).isoformat())}'
    sha256 = hashlib.sha256
    # Inside the caller's transaction (a unit of work) no savepoint is needed: an error rolls
    # back the whole unit. Called on its own, the append is its own transaction.
    joined = connection.in_atomic_block
    with contextlib.nullcontext() if joined else transaction.atomic():
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
        AuditChainHead.objects.filter(pk=1).update(
            last_event_id=next_id - 1,
            last_hash=prev_hash,
            mac=head_mac(key, next_id - 1, prev_hash) if key else "",
        )
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


CHAIN_EVENT_MISSING = "event {id} is missing"
CHAIN_LINK_BROKEN = "event {id} does not link to the event before it"
CHAIN_EVENT_CHANGED = "event {id} was changed after it was written"
CHAIN_HEAD_MISSING = (
    "the chain-head row is missing (the chain has {events} events): the last events may have "
    "been removed with it"
)
CHAIN_HEAD_AHEAD = (
    "the chain ends at event {last} but its head records event {head}: events were removed"
)
CHAIN_HEAD_BEHIND = (
    "the chain runs to event {last} but its head records event {head}: events were added "
    "around the audit writer"
)
CHAIN_HEAD_DIFFERS = (
    "the last event ({last}) is not the one its head records: the chain was rewritten"
)
ANCHOR_DIFFERS = (
    "event {id} differs from the anchor taken {at}: the chain was rewritten after that time"
)
ANCHOR_LONGER = (
    "the chain ends at event {last} but the anchor taken {at} records {events} events: "
    "events were removed"
)
SEAL_MISSING = (
    "the chain head carries no seal of the audit key: it was written by a process without the "
    "key, or the chain was rewritten"
)
SEAL_DIFFERS = (
    "the chain head's seal does not match the audit key: the chain was rewritten (or this is "
    "not the key the events were written with)"
)


@dataclass(frozen=True)
class ChainReport:
    """What `audit_verify` found. `last_id`/`last_hash`: the verified end of the chain."""

    events_checked: int
    first_broken_id: int | None
    problem: str
    last_id: int = 0
    last_hash: str = GENESIS_HASH
    anchors_checked: int = 0
    sealed: bool = False  # the head's seal was checked against the audit key and holds

    @property
    def ok(self) -> bool:
        return self.first_broken_id is None and not self.problem

    def anchor(self, *, at: dt.datetime | None = None) -> Anchor:
        """An anchor of the verified chain head, to keep outside the database."""
        moment = (at or timezone.now()).astimezone(dt.UTC)
        return Anchor(
            events=self.events_checked,
            last_id=self.last_id,
            last_hash=self.last_hash,
            at=moment.isoformat().replace("+00:00", "Z"),
        )


def audit_verify(*, batch_size: int = 5000, anchors: Sequence[Anchor] = ()) -> ChainReport:
    """Walk the chain in id order; name the first event whose hash or link does not hold.

    Then the head: it must exist once there are events, and name the last event (a missing
    head is never "intact": removing the last events with it is how a chain is cut). Events
    appended while the walk runs are walked too. Each anchor (taken earlier, kept outside the
    database) must still be in the chain with the same hash. With an audit key configured, the
    head's seal must match it, so a chain re-hashed without the key fails.
    """
    by_id: dict[int, list[Anchor]] = {}
    for anchor in anchors:
        by_id.setdefault(anchor.last_id, []).append(anchor)
    prev_hash, last_id, checked = GENESIS_HASH, 0, 0

    def broken(event_id: int | None, problem: str) -> ChainReport:
        return ChainReport(checked, event_id, problem, last_id, prev_hash)

    while True:
        events = AuditEvent.objects.filter(id__gt=last_id).order_by("id")
        for event in events.iterator(chunk_size=batch_size):
            expected = last_id + 1
            if event.id != expected:
                return broken(expected, CHAIN_EVENT_MISSING.format(id=expected))
            if event.prev_hash != prev_hash:
                return broken(event.id, CHAIN_LINK_BROKEN.format(id=event.id))
            if event_hash(prev_hash, event) != event.hash:
                return broken(event.id, CHAIN_EVENT_CHANGED.format(id=event.id))
            for anchor in by_id.get(event.id, ()):
                if anchor.last_hash != event.hash:
                    return broken(event.id, ANCHOR_DIFFERS.format(id=event.id, at=anchor.at))
            prev_hash, last_id, checked = event.hash, event.id, checked + 1
        head = AuditChainHead.objects.filter(pk=1).first()
        if head is None:
            if checked:
                return broken(None, CHAIN_HEAD_MISSING.format(events=checked))
            break
        if head.last_event_id > last_id:
            if AuditEvent.objects.filter(id__gt=last_id).exists():
                continue  # appended while the walk ran: walk on to the head
            return broken(
                last_id + 1, CHAIN_HEAD_AHEAD.format(last=last_id, head=head.last_event_id)
            )
        if head.last_event_id < last_id:
            return broken(
                head.last_event_id + 1,
                CHAIN_HEAD_BEHIND.format(last=last_id, head=head.last_event_id),
            )
        if head.last_hash != prev_hash:
            return broken(last_id, CHAIN_HEAD_DIFFERS.format(last=last_id))
        break
    for anchor in anchors:
        if anchor.last_id > last_id:
            return broken(
                last_id + 1, ANCHOR_LONGER.format(last=last_id, at=anchor.at, events=anchor.events)
            )
    sealed = False
    key = audit_key()
    if key is not None and head is not None:
        if not head.mac:
            return broken(None, SEAL_MISSING)
        if not hmac.compare_digest(head.mac, head_mac(key, head.last_event_id, head.last_hash)):
            return broken(None, SEAL_DIFFERS)
        sealed = True
    return ChainReport(checked, None, "", last_id, prev_hash, len(anchors), sealed)


TRIGGERS_MISSING = "the audit trail's append-only triggers are missing (system check mmtrial.E001)"
CHAIN_COUNT_SHORT = "the chain has {count} events but its last is event {last}: events were removed"


def audit_head_check() -> str:
    """A quick check before serving: the append-only triggers, and the head against the last
    event (and its seal, with an audit key). '' when fine, else the problem in words.

    Not the full walk of `audit_verify`: a changed event in the middle is found by that.
    """
    from mmtrial.edc import audit_triggers

    if not audit_triggers.triggers_installed(connection):
        return TRIGGERS_MISSING
    with transaction.atomic():
        # The head's lock keeps writers out between the two reads.
        head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
        last = AuditEvent.objects.order_by("-id").values_list("id", "hash").first()
        count = AuditEvent.objects.count() if last is not None else 0
    if last is None:
        if head is not None and head.last_event_id:
            return CHAIN_HEAD_AHEAD.format(last=0, head=head.last_event_id)
        return ""
    last_id, last_hash = last
    if head is None:
        return CHAIN_HEAD_MISSING.format(events=count)
    if count != last_id:
        return CHAIN_COUNT_SHORT.format(count=count, last=last_id)
    if head.last_event_id > last_id:
        return CHAIN_HEAD_AHEAD.format(last=last_id, head=head.last_event_id)
    if head.last_event_id < last_id:
        return CHAIN_HEAD_BEHIND.format(last=last_id, head=head.last_event_id)
    if head.last_hash != last_hash:
        return CHAIN_HEAD_DIFFERS.format(last=last_id)
    key = audit_key()
    if key is not None:
        if not head.mac:
            return SEAL_MISSING
        if not hmac.compare_digest(head.mac, head_mac(key, head.last_event_id, head.last_hash)):
            return SEAL_DIFFERS
    return ""
