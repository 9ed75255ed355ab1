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

from mmtrial.edc.audit import EventSpec, audit_record_many
from mmtrial.edc.models import Participant, Signature
from mmtrial.edc.models.trust import SignatureStatus
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
                changes={n: {"old": None, "new": getattr(instance, n)} for n in names},
                reason=reason,
                context=dict(context or {}),
            )
            for instance in instances
        ]
    )
    invalidate_signatures(participant, what=f"{len(instances)} {label} records created")
    return list(instances)


@transaction.atomic
def records_create_across(
    instances: Sequence[models.Model],
    *,
    participants: Mapping[int, Participant],
    reason: str = "",
    context: Mapping[str, Any] | None = None,
) -> list[models.Model]:
    """`records_create_many` for rows of several participants (each row has `participant_id`).

    Derived rows only (they are not validated one by one); one insert, one audit event per row,
    signatures invalidated for the participants that have valid ones.
    """
    if not instances:
        return []
    owners = {instance.participant_id for instance in instances}
    for pk in owners:
        if participants[pk].locked:  # derived rows have no visit: the participant lock decides
            assert_unlocked(participants[pk])
    model = type(instances[0])
    model.objects.bulk_create(instances, batch_size=2000)
    names = _field_names(instances[0])
    label = model_label(instances[0])
    specs = []
    for instance in instances:
        participant = participants[instance.participant_id]
        specs.append(
            EventSpec(
                action="create",
                model=label,
                object_pk=str(instance.pk),
                site_code=participant.site.code,
                subject=subject_label(participant),
                changes={n: {"old": None, "new": getattr(instance, n)} for n in names},
                reason=reason,
                context=dict(context or {}),
            )
        )
    audit_record_many(specs)
    signed = set(
        Signature.objects.filter(
            participant_id__in=list(owners), status=SignatureStatus.VALID
        ).values_list("participant_id", flat=True)
    )
    for pk in sorted(signed):
        invalidate_signatures(participants[pk], what=f"{label} records created")
    return list(instances)
