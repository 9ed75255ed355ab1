"""Many new records in one insert, handed to the unit of work like `record_create`.

For rows a service derives in numbers (a cycle's planned doses, the planned visits, derived
responses) and rows by the thousand (a lab import): the participant and visit locks, the
validation and edit checks, the audit events and the signature invalidation are the unit of
work's (`edc.unit_of_work`); `records_insert_across` is its tuple fast path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import models

from mmtrial.edc.models import Participant
from mmtrial.edc.unit_of_work import insert_tuples_returning, unit_of_work

__all__ = ["insert_rows", "records_create_across", "records_create_many", "records_insert_across"]

insert_rows = insert_tuples_returning  # the adapter itself, for tests of the tuple path


def records_create_many(
    participant: Participant,
    instances: Sequence[models.Model],
    *,
    reason: str = "",
    context: Mapping[str, Any] | None = None,
    validate: bool = True,
) -> list[models.Model]:
    with unit_of_work() as uow:
        return uow.create_many(
            participant, instances, reason=reason, context=context, validate_rows=validate
        )


def records_create_across(
    instances: Sequence[models.Model],
    *,
    participants: Mapping[int, Participant],
    reason: str = "",
    context: Mapping[str, Any] | None = None,
) -> list[models.Model]:
    """Derived rows of several participants (each row has `participant_id`) in one insert."""
    with unit_of_work() as uow:
        return uow.create_across(
            instances, participants=participants, reason=reason, context=context
        )


def records_insert_across(
    model: type[models.Model],
    rows: Sequence[Sequence[Any]],
    *,
    fields: Sequence[str],
    key: Sequence[str],
    participants: Mapping[int, Participant],
    reason: str = "",
    context: Mapping[str, Any] | None = None,
) -> list[int]:
    """Rows given as tuples of values (in the order of `fields`, which names `participant_id`)."""
    with unit_of_work() as uow:
        return uow.insert_rows(
            model,
            rows,
            fields=fields,
            key=key,
            participants=participants,
            reason=reason,
            context=context,
        )
