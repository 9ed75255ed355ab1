"""The audited create / update / soft-delete that every service builds on: each is a row change
handed to the current unit of work (`edc.unit_of_work`), which locks, checks versions, runs the
edit checks, writes, audits in one batch and invalidates signatures once. Called outside a
unit of work, each opens its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db import models
from django.utils import timezone

from mmtrial.edc.models import Participant
from mmtrial.edc.unit_of_work import (
    PARTICIPANT_LOCKED,
    REASON_REQUIRED,
    RECORD_CHANGED,
    SIGNATURE_INVALIDATED,
    VERSION_REQUIRED,
    field_names,
    model_label,
    participant_of,
    subject_label,
    unit_of_work,
    validate,
)

__all__ = [
    "PARTICIPANT_LOCKED",
    "REASON_REQUIRED",
    "RECORD_CHANGED",
    "SIGNATURE_INVALIDATED",
    "VERSION_REQUIRED",
    "assert_unlocked",
    "field_names",
    "invalidate_signatures",
    "latest_calendar_date",
    "model_label",
    "participant_of",
    "record_create",
    "record_soft_delete",
    "record_update",
    "subject_label",
    "today_utc",
    "validate",
]


def assert_unlocked(instance: models.Model) -> None:
    """Refuse when the participant or visit is locked (the unit of work's lock, taken once)."""
    with unit_of_work() as uow:
        uow.lock(instance)


def invalidate_signatures(participant: Participant, *, what: str) -> None:
    """The participant's valid signatures are invalidated when the unit of work ends."""
    with unit_of_work() as uow:
        uow.touch(participant, what)


def record_create(
    instance: models.Model, *, reason: str = "", context: Mapping[str, Any] | None = None
):
    """Validate, edit-check, save and audit a new record (a first entry needs no reason)."""
    with unit_of_work() as uow:
        return uow.create(instance, reason=reason, context=context)


def record_update(
    instance: models.Model,
    *,
    expected_version: int | None,
    values: Mapping[str, Any],
    reason: str,
    context: Mapping[str, Any] | None = None,
    reason_required: bool = True,
):
    """Change fields of an entered record at the version the caller read (never defaulted)."""
    with unit_of_work() as uow:
        return uow.update(
            instance,
            expected_version=expected_version,
            values=values,
            reason=reason,
            context=context,
            reason_required=reason_required,
        )


def record_soft_delete(
    instance: models.Model, *, expected_version: int | None, reason: str, context=None
):
    """Mark a record deleted (never removed: 21 CFR 11.10(c)); needs a reason."""
    with unit_of_work() as uow:
        return uow.soft_delete(
            instance, expected_version=expected_version, reason=reason, context=context
        )


def today_utc() -> dt.date:
    return timezone.now().date()


# The furthest time zone ahead of UTC (Kiribati, UTC+14).
_MAX_UTC_OFFSET = dt.timedelta(hours=14)


def latest_calendar_date() -> dt.date:
    """The latest date it is anywhere now: a sample dated after it is in the future for every site.

    A Tokyo sample collected today is dated a day ahead of UTC between 00:00 and 09:00 JST.
    """
    return (timezone.now() + _MAX_UTC_OFFSET).date()
