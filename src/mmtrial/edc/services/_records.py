"""The audited create / update / soft-delete that every service builds on.

Rules applied here, once, for every clinical record:
- the record is validated (`full_clean`) before it is written;
- a locked participant or visit refuses every change (LockedRecordError);
- changing data that was already entered needs a reason for change (EU Annex 11 section 9);
- a stale `expected_version` is a ConflictError, never a lost update (Annex 11 section 7.1);
- the audit event is written in the same transaction as the change;
- any change to a participant's data invalidates that participant's valid signatures
  (21 CFR 11.70), with its own audit event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone

from mmtrial.edc.audit import EventSpec, audit_record, audit_record_many
from mmtrial.edc.models import Participant, Signature
from mmtrial.edc.models.trust import SignatureStatus
from mmtrial.errors import ConflictError, InputError, LockedRecordError

REASON_REQUIRED = "A reason for change is required when changing data that was already entered."
RECORD_CHANGED = (
    "This record was changed by someone else since you opened it (your version {expected}, "
    "now {current}). Reload it to see their change, then edit again."
)
PARTICIPANT_LOCKED = (
    "Participant {subject} is locked by data management; unlock it before changing data."
)
VISIT_LOCKED = "Visit {code} is locked by data management; unlock it before changing data."
SIGNATURE_INVALIDATED = "Data signed on {signed_at} changed: {what}"


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


def assert_unlocked(instance: models.Model) -> None:
    """Refuse when the participant or visit is locked, reading the flags from the database.

    The in-memory related objects may predate a lock (a form loaded before data management
    locked): their `locked` flag is not trusted. The rows are read FOR UPDATE so that a lock
    being taken concurrently waits for this change or this change waits for the lock.
    """
    participant = participant_of(instance)
    locked = (
        Participant.objects.select_for_update()
        .filter(pk=participant.pk)
        .values_list("locked", flat=True)
        .first()
    )
    if locked or (locked is None and participant.locked):
        raise LockedRecordError(PARTICIPANT_LOCKED.format(subject=subject_label(participant)))
    is_visit = model_label(instance) == "visit"
    visit_id = instance.pk if is_visit else getattr(instance, "visit_id", None)
    if visit_id is None:
        return
    visit_model = type(instance) if is_visit else instance._meta.get_field("visit").related_model
    row = (
        visit_model.objects.select_for_update().filter(pk=visit_id).values("locked", "code").first()
    )
    if row is not None and row["locked"]:
        raise LockedRecordError(VISIT_LOCKED.format(code=row["code"]))


def _field_names(instance: models.Model) -> list[str]:
    skip = {"id", "version", "created_at", "updated_at", "is_deleted"}
    names = []
    for f in instance._meta.concrete_fields:
        if f.name in skip:
            continue
        names.append(f.attname)  # `participant_id`, not the related object
    return names


def _comparable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return value.normalize()
    if isinstance(value, float):
        return Decimal(str(value)).normalize()
    return value


def _validate(instance: models.Model) -> None:
    try:
        instance.full_clean()
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise InputError(
            f"{field.replace('_', ' ')}: {' '.join(messages)}", {"fields": exc.message_dict}
        ) from None


def _event(action: str, instance: models.Model, *, changes, reason, context) -> EventSpec:
    participant = participant_of(instance)
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


def invalidate_signatures(participant: Participant, *, what: str) -> int:
    """Mark the participant's valid signatures invalidated by a change, each with an audit event."""
    signatures = list(
        Signature.objects.select_for_update().filter(
            participant=participant, status=SignatureStatus.VALID
        )
    )
    now = timezone.now()
    specs = []
    for signature in signatures:
        reason = SIGNATURE_INVALIDATED.format(signed_at=signature.signed_at.isoformat(), what=what)
        Signature.objects.filter(pk=signature.pk).update(
            status=SignatureStatus.INVALIDATED, invalidated_at=now, invalidated_reason=reason
        )
        specs.append(
            EventSpec(
                action="signature_invalidated",
                model="signature",
                object_pk=str(signature.pk),
                site_code=participant.site.code,
                subject=subject_label(participant),
                changes={
                    "status": {"old": SignatureStatus.VALID, "new": SignatureStatus.INVALIDATED}
                },
                reason=reason,
            )
        )
    audit_record_many(specs)
    return len(signatures)


@transaction.atomic
def record_create(
    instance: models.Model, *, reason: str = "", context: Mapping[str, Any] | None = None
):
    """Validate, save and audit a new record (a first entry needs no reason)."""
    assert_unlocked(instance)
    _validate(instance)
    instance.save()
    changes = {
        name: {"old": None, "new": getattr(instance, name)} for name in _field_names(instance)
    }
    audit_record(_event("create", instance, changes=changes, reason=reason, context=context))
    invalidate_signatures(
        participant_of(instance), what=f"{model_label(instance)} {instance.pk} created"
    )
    return instance


@transaction.atomic
def record_update(
    instance: models.Model,
    *,
    expected_version: int,
    values: Mapping[str, Any],
    reason: str,
    context: Mapping[str, Any] | None = None,
    reason_required: bool = True,
):
    """Change fields of an entered record, refusing stale versions; returns the fresh record.

    `values` maps field names (use `<fk>_id` for foreign keys) to new values. Fields whose value
    does not change are ignored; with nothing changed no audit event is written.
    """
    model = type(instance)
    current = model.objects.select_for_update().get(pk=instance.pk)
    if current.version != expected_version:
        raise ConflictError(
            RECORD_CHANGED.format(expected=expected_version, current=current.version),
            {"expected_version": expected_version, "current_version": current.version},
        )
    assert_unlocked(current)
    changes = {}
    for name, new in values.items():
        old = getattr(current, name)
        if _comparable(old) != _comparable(new):
            changes[name] = {"old": old, "new": new}
            setattr(current, name, new)
    if not changes:
        return current
    if reason_required and not (reason or "").strip():
        raise InputError(REASON_REQUIRED, {"field": "reason"})
    _validate(current)
    updated = model.objects.filter(pk=current.pk, version=expected_version).update(
        **{name: getattr(current, name) for name in changes},
        version=expected_version + 1,
        updated_at=timezone.now(),
    )
    if updated != 1:  # pragma: no cover - the row lock above makes this unreachable on PostgreSQL
        raise ConflictError(RECORD_CHANGED.format(expected=expected_version, current="newer"))
    current.version = expected_version + 1
    audit_record(_event("update", current, changes=changes, reason=reason, context=context))
    invalidate_signatures(
        participant_of(current), what=f"{model_label(current)} {current.pk} changed"
    )
    return current


@transaction.atomic
def record_soft_delete(instance: models.Model, *, expected_version: int, reason: str, context=None):
    """Mark a record deleted (never removed: 21 CFR 11.10(c)); needs a reason."""
    if not (reason or "").strip():
        raise InputError(REASON_REQUIRED, {"field": "reason"})
    model = type(instance)
    current = model.objects.select_for_update().get(pk=instance.pk)
    if current.version != expected_version:
        raise ConflictError(
            RECORD_CHANGED.format(expected=expected_version, current=current.version)
        )
    assert_unlocked(current)
    model.objects.filter(pk=current.pk).update(
        is_deleted=True, version=expected_version + 1, updated_at=timezone.now()
    )
    current.is_deleted, current.version = True, expected_version + 1
    audit_record(
        _event(
            "delete",
            current,
            changes={"is_deleted": {"old": False, "new": True}},
            reason=reason,
            context=context,
        )
    )
    invalidate_signatures(
        participant_of(current), what=f"{model_label(current)} {current.pk} deleted"
    )
    return current


def today_utc() -> dt.date:
    return timezone.now().date()


# The furthest time zone ahead of UTC (Kiribati, UTC+14).
_MAX_UTC_OFFSET = dt.timedelta(hours=14)


def latest_calendar_date() -> dt.date:
    """The latest date it is anywhere now: a sample dated after it is in the future for every site.

    A Tokyo sample collected today is dated a day ahead of UTC between 00:00 and 09:00 JST.
    """
    return (timezone.now() + _MAX_UTC_OFFSET).date()
