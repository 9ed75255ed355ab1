"""Many new records of one participant in one insert, under the rules of `record_create`.

For rows a service derives in numbers (a cycle's planned doses, the planned visits, derived
responses): the participant and visit locks are checked, each row is validated, the rows are
inserted together and each gets its own audit event; the participant's signatures are
invalidated once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.db import models, transaction

from mmtrial.edc.audit import EventSpec, audit_record_many, to_jsonable
from mmtrial.edc.models import Participant
from mmtrial.edc.services._records import (
    _field_names,
    _validate,
    assert_unlocked,
    invalidate_signatures,
    model_label,
    subject_label,
)


@transaction.atomic
def records_create_many(
    participant: Participant,
    instances: Sequence[models.Model],
    *,
    reason: str = "",
    context: Mapping[str, Any] | None = None,
    validate: bool = True,
) -> list[models.Model]:
    if not instances:
        return []
    assert_unlocked(participant)
    for instance in instances:
        if validate:
            _validate(instance)
    model = type(instances[0])
    model.objects.bulk_create(instances)
    names = _field_names(instances[0])
    label = model_label(instances[0])
    site, subject = participant.site.code, subject_label(participant)
    audit_record_many(
        [
            EventSpec(
                action="create",
                model=label,
                object_pk=str(instance.pk),
                site_code=site,
                subject=subject,
                changes={n: {"old": None, "new": to_jsonable(getattr(instance, n))} for n in names},
                reason=reason,
                context=dict(context or {}),
            )
            for instance in instances
        ]
    )
    invalidate_signatures(participant, what=f"{len(instances)} {label} records created")
    return list(instances)
