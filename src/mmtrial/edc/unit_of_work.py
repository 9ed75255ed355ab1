"""The one way clinical data is written: a unit of work (after *Architecture Patterns with
Python*, chapter 6).

A service opens a unit of work (`with unit_of_work() as uow:` or the `@writes` decorator) and
hands it its row changes: `create`, `create_many`, `insert_rows` (the fast path for rows by the
thousand), `update` (each with the version the caller expects: required, never defaulted to
the current one), `update_many` (many rows of one participant at once, e.g. a cycle's dose
diary: one locked read, the same checks row by row, one UPDATE) and `soft_delete`. The unit of work, once per unit:

- locks each affected participant (and visit) once, refusing a locked one (LockedRecordError);
- checks versions (a stale one is a ConflictError, never a lost update; Annex 11 section 7.1);
- validates each row (the model's constraints) and runs the protocol's edit checks
  (`edc.edit_checks`: hard limits refuse, soft limits flag; dates in the future or before
  consent refuse);
- writes through one insert path (`audit.insert_tuples`: COPY on PostgreSQL);
- appends one batch of audit events at the end, in the same transaction (21 CFR 11.10(e)),
  so the audit chain head is held only for that final append;
- invalidates each touched participant's valid signatures once (21 CFR 11.70), and opens the
  edit checks' automatic queries;
- once the transaction commits, re-checks the protocol deviations of the participants whose
  visits, doses, labs, responses, cycles or screening changed (`edc.services.deviations`).

Units nest: a service calling another joins the outer unit (a failed inner part is rolled
back to its savepoint and its queued events dropped). Nothing is written half-way: an error
anywhere rolls the whole unit back, audit events included.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from operator import itemgetter
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, models, transaction
from django.utils import timezone

from mmtrial.edc.audit import Actor, EventSpec, audit_record_many, current_actor, insert_tuples
from mmtrial.edc.models import Participant, Signature
from mmtrial.edc.models.trust import SignatureStatus
from mmtrial.edc.permissions import memberships_cached
from mmtrial.errors import ConflictError, InputError, LockedRecordError

__all__ = [
    "PARTICIPANT_LOCKED",
    "REASON_REQUIRED",
    "RECORD_CHANGED",
    "SIGNATURE_INVALIDATED",
    "VERSION_REQUIRED",
    "RowChange",
    "UnitOfWork",
    "current",
    "model_label",
    "participant_of",
    "record_event",
    "subject_label",
    "unit_of_work",
    "writes",
]

REASON_REQUIRED = "A reason for change is required when changing data that was already entered."
RECORD_CHANGED = (
    "This record was changed by someone else since you opened it (your version {expected}, "
    "now {current}). Reload it to see their change, then edit again."
)
VERSION_REQUIRED = (
    "The version of the record you changed is missing, so a newer change could be overwritten: "
    "reload the page and enter your change again."
)
PARTICIPANT_LOCKED = (
    "Participant {subject} is locked by data management; unlock it before changing data."
)
VISIT_LOCKED = "Visit {code} is locked by data management; unlock it before changing data."
SIGNATURE_INVALIDATED = "Data signed on {signed_at} changed: {what}"

_INSERT_BATCH = 2000
_LOOKUP_CHUNK = 900  # below SQLite's smallest limit on query parameters (999)
_SKIPPED = frozenset({"id", "version", "created_at", "updated_at", "is_deleted"})


def model_label(instance_or_class) -> str:
    return instance_or_class._meta.model_name


def participant_of(instance: models.Model) -> Participant:
    if isinstance(instance, Participant):
        return instance
    if hasattr(instance, "participant"):
        return instance.participant
    if hasattr(instance, "cycle"):
        return instance.cycle.participant
    raise TypeError(f"{type(instance).__name__} has no participant")


def subject_label(participant: Participant) -> str:
    return participant.subject_id or participant.screening_number


def field_names(instance_or_model) -> list[str]:
    """The audited fields, by attname (`participant_id`, not the related object)."""
    return [f.attname for f in instance_or_model._meta.concrete_fields if f.name not in _SKIPPED]


def validate(
    instance: models.Model, changed: set[str] | None = None, *, constraints: bool = True
) -> None:
    """The model's own constraints, as an InputError naming the field. On an update only the
    changed fields (and the constraints that read them) are validated: the others were when
    they were written. `constraints=False` leaves the Meta constraints to the database (Django
    checks each with a query of its own: a batch's cost would grow with its rows)."""
    exclude = None
    if changed is not None:
        names = {f.name for f in instance._meta.concrete_fields}
        changed_names = {instance._meta.get_field(name).name for name in changed}
        exclude = names - changed_names
    try:
        instance.full_clean(exclude=exclude, validate_constraints=constraints)
    except ValidationError as exc:
        name, messages = next(iter(exc.message_dict.items()))
        try:  # the field as a form labels it, not its internal name
            shown = str(instance._meta.get_field(name).verbose_name).capitalize()
        except Exception:
            shown = name.replace("_", " ").capitalize()
        raise InputError(f"{shown}: {' '.join(messages)}", {"fields": exc.message_dict}) from None


def _comparable(value: Any) -> Any:
    from decimal import Decimal

    if isinstance(value, Decimal):
        return value.normalize()
    if isinstance(value, float):
        return Decimal(str(value)).normalize()
    return value


@dataclass(frozen=True)
class RowChange:
    """One row of `UnitOfWork.update_many`: the record as read, the version the caller read,
    the new values, the reason for change, and how a message names the row to the user."""

    instance: models.Model
    expected_version: int | None
    values: Mapping[str, Any]
    reason: str
    label: str
    reason_required: bool = True


@dataclass
class _Touched:
    participant: Participant
    what: list[str] = field(default_factory=list)
    models: set[str] = field(default_factory=set)


@dataclass
class _Flag:
    """A soft edit-check finding: the record is saved, and a query opened on it."""

    participant: Participant
    model: str
    object_pk: str
    field: str
    text: str


class UnitOfWork:
    """One write of clinical data (module docstring). Use `unit_of_work()`, not the class."""

    def __init__(self) -> None:
        self._events: list[tuple[EventSpec, Actor | None]] = []
        self._touched: dict[int, _Touched] = {}
        self._locked: set[int] = set()
        self._visits_checked: set[tuple[type, int]] = set()
        self._flags: list[_Flag] = []

    # --- locks ---------------------------------------------------------------------------------

    def lock(self, instance: models.Model) -> Participant:
        """Lock the participant of `instance` (once per unit) and refuse a locked one; check the
        visit's lock too when the record belongs to a visit. The flags are read from the
        database FOR UPDATE: an in-memory object may predate a lock."""
        participant = participant_of(instance)
        if participant.pk not in self._locked:
            locked = (
                Participant.objects.select_for_update()
                .filter(pk=participant.pk)
                .values_list("locked", flat=True)
                .first()
            )
            if locked or (locked is None and participant.locked):
                raise LockedRecordError.coded(
                    PARTICIPANT_LOCKED, subject=subject_label(participant)
                )
            self._locked.add(participant.pk)
        is_visit = model_label(instance) == "visit"
        visit_id = instance.pk if is_visit else getattr(instance, "visit_id", None)
        if visit_id is not None:
            model = type(instance) if is_visit else instance._meta.get_field("visit").related_model
            if (model, visit_id) not in self._visits_checked:
                row = (
                    model.objects.select_for_update()
                    .filter(pk=visit_id)
                    .values("locked", "code")
                    .first()
                )
                if row is not None and row["locked"]:
                    raise LockedRecordError.coded(VISIT_LOCKED, code=row["code"])
                self._visits_checked.add((model, visit_id))
        return participant

    # --- row changes ---------------------------------------------------------------------------

    def create(
        self,
        instance: models.Model,
        *,
        reason: str = "",
        context: Mapping[str, Any] | None = None,
    ) -> models.Model:
        """Validate, edit-check, save and (at the end of the unit) audit a new record."""
        participant = self.lock(instance)
        validate(instance)
        flags = _edit_check(instance)
        instance.save()
        changes = {
            name: {"old": None, "new": getattr(instance, name)} for name in field_names(instance)
        }
        self._queue(_event("create", instance, participant, changes, reason, context))
        self._touch(participant, f"{model_label(instance)} {instance.pk} created", instance)
        self._flag(instance, participant, flags)
        return instance

    def create_many(
        self,
        participant: Participant,
        instances: Sequence[models.Model],
        *,
        reason: str = "",
        context: Mapping[str, Any] | None = None,
        validate_rows: bool = True,
    ) -> list[models.Model]:
        """Many new records of one participant in one insert (a cycle's planned doses, the
        planned visits); each row validated and audited."""
        if not instances:
            return []
        self.lock(participant)
        flags = []
        for instance in instances:
            if validate_rows:
                validate(instance)
            flags.append(_edit_check(instance))
        model = type(instances[0])
        model.objects.bulk_create(instances)
        names = field_names(model)
        for instance, found in zip(instances, flags, strict=True):
            changes = {n: {"old": None, "new": getattr(instance, n)} for n in names}
            self._queue(_event("create", instance, participant, changes, reason, context))
            self._flag(instance, participant, found)
        self._touch(participant, f"{len(instances)} {model_label(model)} records created", model)
        return list(instances)

    def create_across(
        self,
        instances: Sequence[models.Model],
        *,
        participants: Mapping[int, Participant],
        reason: str = "",
        context: Mapping[str, Any] | None = None,
    ) -> list[models.Model]:
        """Derived rows of several participants (each with `participant_id`) in one insert."""
        if not instances:
            return []
        for pk in {instance.participant_id for instance in instances}:
            self.lock(participants[pk])
        model = type(instances[0])
        model.objects.bulk_create(instances, batch_size=_INSERT_BATCH)
        names = field_names(model)
        for instance in instances:
            participant = participants[instance.participant_id]
            changes = {n: {"old": None, "new": getattr(instance, n)} for n in names}
            self._queue(_event("create", instance, participant, changes, reason, context))
            self._touch(participant, f"{model_label(model)} records created", model)
        return list(instances)

    def insert_rows(
        self,
        model: type[models.Model],
        rows: Sequence[Sequence[Any]],
        *,
        fields: Sequence[str],
        key: Sequence[str],
        participants: Mapping[int, Participant],
        where: Mapping[str, Any] | None = None,
        reason: str = "",
        context: Mapping[str, Any] | None = None,
        contexts: Sequence[Mapping[str, Any]] | None = None,
        staged: bool = False,
    ) -> list[int]:
        """The fast path for rows by the thousand (a lab import, derived responses): rows as
        tuples of values in the order of `fields` (which names `participant_id`), checked by the
        caller, inserted as tuples and audited like `create`. `contexts` adds one context per
        row (e.g. its line in a file). Returns the new ids in order.

        `staged`: rows that nobody sees yet (`where` sets `is_deleted`), made visible later by
        `publish_staged` in a short unit of their own (the lab import's commit, which voids
        the signatures then): here they are inserted and audited, their participants locked
        but not touched. The lock is still taken, first: on PostgreSQL the rows' foreign keys
        take a share lock on each participant at commit, while this unit holds the audit
        chain's head; a save holding the participant and waiting for the head would deadlock
        with it. Participants are locked in id order, so writers of several never cross."""
        if not rows:
            return []
        owner = list(fields).index("participant_id")
        for pk in sorted({row[owner] for row in rows}):
            self.lock(participants[pk])
        ids = insert_tuples_returning(model, rows, fields=fields, key=key, where=where)
        label = model_label(model)
        names = field_names(model)
        given = {name: i for i, name in enumerate(fields)}
        defaults = {**dict(where or {})}
        for name in names:
            if name not in given and name not in defaults:
                defaults[name] = model._meta.get_field(name).get_default()
        base = dict(context or {})
        for i, (row, pk) in enumerate(zip(rows, ids, strict=True)):
            participant = participants[row[owner]]
            changes = {
                n: {"old": None, "new": row[given[n]] if n in given else defaults[n]} for n in names
            }
            row_context = {**base, **contexts[i]} if contexts is not None else base
            self._events.append(
                (
                    EventSpec(
                        action="create",
                        model=label,
                        object_pk=str(pk),
                        site_code=participant.site.code,
                        subject=subject_label(participant),
                        changes=changes,
                        reason=reason,
                        context=row_context,
                    ),
                    None,
                )
            )
            if not staged:
                self._touch(participant, f"{label} records created", model)
        return ids

    def publish_staged(self, model: type[models.Model], **where: Any) -> int:
        """Make rows staged by `insert_rows(staged=True)` visible, all at once (one UPDATE; the
        caller has locked their participants and touches them). Their `create` events were
        written when they were staged. Returns how many."""
        return model.objects.filter(**where, is_deleted=True).update(is_deleted=False)

    def remove_staged(self, model: type[models.Model], limit: int, **where: Any) -> int:
        """Remove up to `limit` staged rows that will never be published (their import was
        abandoned, and audited as such): they were never visible, so never trial data.
        Returns how many were removed."""
        ids = list(
            model.objects.filter(**where, is_deleted=True).values_list("pk", flat=True)[:limit]
        )
        if ids:
            model.objects.filter(pk__in=ids, is_deleted=True)._raw_delete(connection.alias)
        return len(ids)

    def update(
        self,
        instance: models.Model,
        *,
        expected_version: int | None,
        values: Mapping[str, Any],
        reason: str,
        context: Mapping[str, Any] | None = None,
        reason_required: bool = True,
    ) -> models.Model:
        """Change fields of an entered record at the version the caller read; returns the
        fresh record. Fields whose value does not change are ignored; with nothing changed
        nothing is written. `instance` must be as read from the database (not changed in
        memory): when its version is the expected one, its values are the stored ones, and the
        version-guarded UPDATE makes sure nobody changed the row since."""
        if expected_version is None or isinstance(expected_version, bool):
            raise ConflictError(VERSION_REQUIRED, {"field": "version"})
        participant = self.lock(instance)
        model = type(instance)
        if instance.version != expected_version:
            current_version = (
                model.objects.filter(pk=instance.pk).values_list("version", flat=True).first()
            )
            raise ConflictError.coded(
                RECORD_CHANGED,
                {"expected_version": expected_version, "current_version": current_version},
                expected=expected_version,
                current=current_version,
            )
        current = instance
        changes = {}
        for name, new in values.items():
            old = getattr(current, name)
            if _comparable(old) != _comparable(new):
                changes[name] = {"old": old, "new": new}
        if not changes:
            return current
        if reason_required and not (reason or "").strip():
            raise InputError(REASON_REQUIRED, {"field": "reason"})
        for name, change in changes.items():
            setattr(current, name, change["new"])
        validate(current, changed=set(changes))
        flags = _edit_check(current, changed=set(changes))
        updated = model.objects.filter(pk=current.pk, version=expected_version).update(
            **{name: getattr(current, name) for name in changes},
            version=expected_version + 1,
            updated_at=timezone.now(),
        )
        if updated != 1:
            for name, change in changes.items():
                setattr(current, name, change["old"])
            now_version = (
                model.objects.filter(pk=current.pk).values_list("version", flat=True).first()
            )
            raise ConflictError.coded(
                RECORD_CHANGED,
                {"expected_version": expected_version, "current_version": now_version},
                expected=expected_version,
                current=now_version,
            )
        current.version = expected_version + 1
        self._queue(_event("update", current, participant, changes, reason, context))
        self._touch(participant, f"{model_label(current)} {current.pk} changed", current)
        self._flag(current, participant, flags)
        return current

    def update_many(
        self,
        participant: Participant,
        changes: Sequence[RowChange],
        *,
        context: Mapping[str, Any] | None = None,
    ) -> list[models.Model]:
        """Many entered records of one participant and one model changed at once (a cycle's
        doses from one form): the same checks as `update`, row by row, then one UPDATE for all.

        The rows are re-read FOR UPDATE in one query, so each version compared is the stored
        one and cannot change before the write; a stale version is a ConflictError, a row that
        fails a check an InputError, both naming the row (`RowChange.label`) and raised before
        anything is written. Rows whose values do not change are skipped. Returns the changed
        records (fresh versions)."""
        if not changes:
            return []
        self.lock(participant)
        model = type(changes[0].instance)
        stored = {
            row.pk: row
            for row in model.objects.select_for_update().filter(
                pk__in=[c.instance.pk for c in changes]
            )
        }
        written: list[tuple[models.Model, dict, RowChange, list]] = []
        for change in changes:
            instance = change.instance
            try:
                if change.expected_version is None or isinstance(change.expected_version, bool):
                    raise ConflictError(VERSION_REQUIRED, {"field": "version"})
                row = stored.get(instance.pk)
                now_version = row.version if row is not None else None
                if now_version != change.expected_version or instance.version != now_version:
                    raise ConflictError.coded(
                        RECORD_CHANGED,
                        {
                            "expected_version": change.expected_version,
                            "current_version": now_version,
                        },
                        expected=change.expected_version,
                        current=now_version,
                    )
                diff = {}
                for name, new in change.values.items():
                    old = getattr(instance, name)
                    if _comparable(old) != _comparable(new):
                        diff[name] = {"old": old, "new": new}
                if not diff:
                    continue
                if change.reason_required and not (change.reason or "").strip():
                    raise InputError(REASON_REQUIRED, {"field": "reason"})
                for name, value in diff.items():
                    setattr(instance, name, value["new"])
                # The Meta constraints hold in the database: a violation fails the one UPDATE
                # below and rolls the unit back.
                validate(instance, changed=set(diff), constraints=False)
                flags = _edit_check(instance, changed=set(diff))
            except (InputError, ConflictError) as exc:
                raise type(exc)(
                    f"{change.label}: {exc.message}", {**exc.extra, "row": instance.pk}
                ) from None
            written.append((instance, diff, change, flags))
        if not written:
            return []
        now = timezone.now()
        names = sorted({name for _, diff, _, _ in written for name in diff})
        for instance, _diff, change, _flags in written:
            instance.version = change.expected_version + 1
            instance.updated_at = now
        model.objects.bulk_update(
            [instance for instance, *_ in written],
            [*names, "version", "updated_at"],
            batch_size=_INSERT_BATCH,
        )
        for instance, diff, change, flags in written:
            self._queue(_event("update", instance, participant, diff, change.reason, context))
            self._flag(instance, participant, flags)
        self._touch(participant, f"{len(written)} {model_label(model)} records changed", model)
        return [instance for instance, *_ in written]

    def soft_delete(
        self,
        instance: models.Model,
        *,
        expected_version: int | None,
        reason: str,
        context: Mapping[str, Any] | None = None,
    ) -> models.Model:
        """Mark a record deleted (never removed: 21 CFR 11.10(c)); needs a reason."""
        if not (reason or "").strip():
            raise InputError(REASON_REQUIRED, {"field": "reason"})
        if expected_version is None or isinstance(expected_version, bool):
            raise ConflictError(VERSION_REQUIRED, {"field": "version"})
        participant = self.lock(instance)
        model = type(instance)
        updated = model.objects.filter(pk=instance.pk, version=expected_version).update(
            is_deleted=True, version=expected_version + 1, updated_at=timezone.now()
        )
        if updated != 1:
            now_version = (
                model.objects.filter(pk=instance.pk).values_list("version", flat=True).first()
            )
            raise ConflictError.coded(
                RECORD_CHANGED,
                {"expected_version": expected_version, "current_version": now_version},
                expected=expected_version,
                current=now_version,
            )
        instance.is_deleted, instance.version = True, expected_version + 1
        changes = {"is_deleted": {"old": False, "new": True}}
        self._queue(_event("delete", instance, participant, changes, reason, context))
        self._touch(participant, f"{model_label(instance)} {instance.pk} deleted", instance)
        return instance

    def set_locked(
        self, instance: models.Model, *, locked: bool, reason: str, actor: Actor | None = None
    ) -> None:
        """Data management's lock of a participant or a visit (21 CFR 11.10(f)): not a data
        change, so no version bump and no signature voided; audited with its reason."""
        type(instance).objects.filter(pk=instance.pk).update(locked=locked)
        instance.locked = locked
        participant = participant_of(instance)
        self.audit(
            EventSpec(
                action="lock" if locked else "unlock",
                model=model_label(instance),
                object_pk=str(instance.pk),
                site_code=participant.site.code,
                subject=subject_label(participant),
                changes={"locked": {"old": not locked, "new": locked}},
                reason=reason,
            ),
            actor=actor,
        )

    def audit(self, spec: EventSpec, *, actor: Actor | None = None) -> None:
        """An audit event that is not a row change of clinical data (a query, a user, a lock),
        appended with the unit's batch."""
        self._events.append((spec, actor))

    def touch(self, participant: Participant, what: str, *, model=None) -> None:
        """A change to the participant's data made outside the row methods (rare); `model`
        names the kind of record changed (for the deviation re-check)."""
        self._touch(participant, what, model)

    # --- the end of the unit -------------------------------------------------------------------

    def _queue(self, spec: EventSpec) -> None:
        self._events.append((spec, None))

    def _touch(self, participant: Participant, what: str, model=None) -> None:
        entry = self._touched.setdefault(participant.pk, _Touched(participant))
        if model is not None:
            entry.models.add(model_label(model))
        if what not in entry.what:
            entry.what.append(what)

    def _flag(self, instance, participant: Participant, flags) -> None:
        for name, text in flags:
            self._flags.append(
                _Flag(participant, model_label(instance), str(instance.pk), name, text)
            )

    def _mark(self) -> tuple[int, dict[int, tuple[list[str], set[str]]], int]:
        return (
            len(self._events),
            {pk: (list(t.what), set(t.models)) for pk, t in self._touched.items()},
            len(self._flags),
        )

    def _rollback_to(self, mark) -> None:
        events, touched, flags = mark
        del self._events[events:]
        del self._flags[flags:]
        for pk in list(self._touched):
            if pk not in touched:
                del self._touched[pk]
            else:
                self._touched[pk].what, self._touched[pk].models = touched[pk]

    def flush(self) -> None:
        """Open the edit checks' queries, invalidate signatures once per participant, and append
        every queued audit event in one batch (runs of events by one actor)."""
        flags, self._flags = self._flags, []
        if flags:
            from mmtrial.edc.services.queries import query_open  # queries audit through here

            for flag in flags:
                query_open(
                    user=None,
                    participant=flag.participant,
                    model=flag.model,
                    object_pk=flag.object_pk,
                    field=flag.field,
                    text=flag.text,
                    origin="edit_check",
                )
        touched, self._touched = self._touched, {}
        if touched:
            _invalidate_signatures(self, touched)
            _after_commit_recheck(touched)
        events, self._events = self._events, []
        default = current_actor()
        start = 0
        while start < len(events):
            actor = events[start][1] or default
            end = start
            while end < len(events) and (events[end][1] or default) is actor:
                end += 1
            audit_record_many([spec for spec, _ in events[start:end]], actor=actor)
            start = end


def _event(action, instance, participant, changes, reason, context) -> EventSpec:
    return EventSpec(
        action=action,
        model=model_label(instance),
        object_pk=str(instance.pk),
        site_code=participant.site.code,
        subject=subject_label(participant),
        changes=changes,
        reason=reason,
        context=dict(context or {}),
    )


def _edit_check(instance: models.Model, changed: set[str] | None = None) -> list[tuple[str, str]]:
    from mmtrial.edc.edit_checks import check  # the checks read the protocol and the models

    return check(instance, changed=changed)


def _after_commit_recheck(touched: Mapping[int, _Touched]) -> None:
    """The one hook after a unit's writes: once it commits, the participants whose records the
    deviation rules read were changed are re-checked (`edc.services.deviations`), in a unit
    of their own and a fixed number of queries."""
    from mmtrial.edc.services.deviations import WATCHED_MODELS, recheck_after_commit

    ids = [pk for pk, entry in touched.items() if entry.models & WATCHED_MODELS]
    if ids:
        recheck_after_commit(ids)


def _invalidate_signatures(uow: UnitOfWork, touched: Mapping[int, _Touched]) -> None:
    signatures = list(
        Signature.objects.select_for_update().filter(
            participant_id__in=list(touched), status=SignatureStatus.VALID
        )
    )
    if not signatures:
        return
    now = timezone.now()
    for signature in signatures:
        entry = touched[signature.participant_id]
        what = "; ".join(entry.what)
        reason = SIGNATURE_INVALIDATED.format(signed_at=signature.signed_at.isoformat(), what=what)
        Signature.objects.filter(pk=signature.pk).update(
            status=SignatureStatus.INVALIDATED, invalidated_at=now, invalidated_reason=reason
        )
        uow.audit(
            EventSpec(
                action="signature_invalidated",
                model="signature",
                object_pk=str(signature.pk),
                site_code=entry.participant.site.code,
                subject=subject_label(entry.participant),
                changes={
                    "status": {"old": SignatureStatus.VALID, "new": SignatureStatus.INVALIDATED}
                },
                reason=reason,
            )
        )


_current: contextvars.ContextVar[UnitOfWork | None] = contextvars.ContextVar(
    "unit_of_work", default=None
)


def current() -> UnitOfWork | None:
    return _current.get()


@contextlib.contextmanager
def unit_of_work() -> Iterator[UnitOfWork]:
    """Open a unit of work, or join the one open: its changes commit or roll back together."""
    outer = _current.get()
    if outer is not None:
        # Joined without a savepoint: an error anywhere rolls the whole unit back.
        mark = outer._mark()
        try:
            with transaction.atomic(savepoint=False):
                yield outer
        except BaseException:
            outer._rollback_to(mark)
            raise
        return
    uow = UnitOfWork()
    token = _current.set(uow)
    try:
        with transaction.atomic(), memberships_cached():
            yield uow
            uow.flush()
    finally:
        _current.reset(token)


def writes[F: Callable[..., Any]](func: F) -> F:
    """Run a service inside a unit of work (joining the caller's one)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with unit_of_work():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


# --- the tuple insert (one tested adapter; used only through UnitOfWork.insert_rows) -----------

# Values that these fields' get_db_prep_save returns unchanged, so preparing them is skipped.
_UNCHANGED = {
    "CharField": (str,),
    "TextField": (str,),
    "BooleanField": (bool,),
    "ForeignKey": (int,),
    "OneToOneField": (int,),
    "IntegerField": (int,),
    "PositiveIntegerField": (int,),
    "PositiveSmallIntegerField": (int,),
    "BigIntegerField": (int,),
}


def _prepared(model_field: models.Field, values: Sequence[Any]) -> Sequence[Any]:
    kinds = (*_UNCHANGED.get(model_field.get_internal_type(), ()), type(None))
    prep = model_field.get_db_prep_save
    if all(type(v) in kinds for v in values):
        return values
    return [v if type(v) in kinds else prep(v, connection) for v in values]


def insert_tuples_returning(
    model: type[models.Model],
    rows: Sequence[Sequence[Any]],
    *,
    fields: Sequence[str],
    key: Sequence[str],
    where: Mapping[str, Any] | None = None,
) -> list[int]:
    """Insert `rows` (values in the order of `fields`, by attname) and return their ids in order.

    Every value is prepared by its model field as `bulk_create` would prepare it; the fields
    not named get their defaults (and `auto_now` timestamps) from one template instance, or
    their value in `where`. The ids are read back by `key`, the fields of a unique constraint of
    the model (`where` names the condition of a conditional one), so they never depend on the
    order in which a database returns inserted rows. Runs in the caller's transaction.
    """
    if not rows:
        return []
    meta = model._meta
    by_name = {f.attname: f for f in meta.concrete_fields}
    named = [by_name[name] for name in fields]
    template = model(**dict(where or {}))
    others = [f for f in meta.concrete_fields if not f.primary_key and f.attname not in fields]
    constants = [f.get_db_prep_save(f.pre_save(template, add=True), connection) for f in others]
    columns = [f.column for f in named] + [f.column for f in others]
    before = model.objects.aggregate(last=models.Max("pk"))["last"] or 0
    for start in range(0, len(rows), _INSERT_BATCH):
        batch = rows[start : start + _INSERT_BATCH]
        prepared = [
            _prepared(f, values) for f, values in zip(named, zip(*batch, strict=True), strict=True)
        ]
        insert_tuples(
            meta.db_table, columns, list(zip(*prepared, *map(repeat, constants), strict=False))
        )
    positions = [list(fields).index(name) for name in key]
    key_of = itemgetter(*positions) if len(positions) > 1 else lambda row: (row[positions[0]],)
    filters = dict(where or {})
    # One query for all new rows: their ids come from the table's sequence after this moment,
    # so they are above every id visible now; a row of another transaction read with them
    # cannot have one of their keys (the unique constraint), so it maps to nothing.
    found = model.objects.filter(**filters, pk__gt=before).values_list(*key, "pk")
    ids = {values[:-1]: values[-1] for values in found}
    missing = sorted({row[positions[0]] for row in rows if key_of(row) not in ids})
    for start in range(0, len(missing), _LOOKUP_CHUNK):  # ids given out of order: by key
        found = model.objects.filter(
            **filters, **{f"{key[0]}__in": missing[start : start + _LOOKUP_CHUNK]}
        ).values_list(*key, "pk")
        ids.update((values[:-1], values[-1]) for values in found)
    return [ids[key_of(row)] for row in rows]


def record_event(spec: EventSpec, *, actor: Actor | None = None) -> None:
    """An audit event appended with the current unit of work's batch (one opened if none)."""
    with unit_of_work() as uow:
        uow.audit(spec, actor=actor)
