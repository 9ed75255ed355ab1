"""Many new records of one participant in one insert, under the rules of `record_create`.

For rows a service derives in numbers (a cycle's planned doses, the planned visits, derived
responses): the participant and visit locks are checked, each row is validated, the rows are
inserted together and each gets its own audit event; the participant's signatures are
invalidated once.

`insert_rows` and `records_insert_across` are for rows by the thousand (a lab import, the
responses derived after it): the rows are given as tuples of values, not model instances, and
go in through `audit.insert_tuples` (docs/benchmarks.md, central lab import).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import repeat
from operator import itemgetter
from typing import Any

from django.db import connection, models, transaction

from mmtrial.edc.audit import EventSpec, audit_record_many, insert_tuples
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


_INSERT_BATCH = 2000
_LOOKUP_CHUNK = 900  # below SQLite's smallest limit on query parameters (999)
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


def _prepared(field: models.Field, values: Sequence[Any]) -> Sequence[Any]:
    kinds = (*_UNCHANGED.get(field.get_internal_type(), ()), type(None))
    prep = field.get_db_prep_save
    if all(type(v) in kinds for v in values):
        return values
    return [v if type(v) in kinds else prep(v, connection) for v in values]


def insert_rows(
    model: type[models.Model],
    rows: Sequence[Sequence[Any]],
    *,
    fields: Sequence[str],
    key: Sequence[str],
    where: Mapping[str, Any] | None = None,
) -> list[int]:
    """Insert `rows` (values in the order of `fields`, by attname) and return their ids in order.

    Every value is prepared by its model field as `bulk_create` would prepare it; the fields
    not named get their defaults (and `auto_now` timestamps) from one template instance.
    The ids are read back by `key`, the fields of a unique constraint of the model (`where`
    names the condition of a conditional one), so they never depend on the order in which a
    database returns inserted rows. Runs in the caller's transaction.
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


@transaction.atomic
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
    """`records_create_across` for rows given as tuples of values (in the order of `fields`,
    which names `participant_id`): the same lock checks, audit events and signature
    invalidation, without a model instance per row. Returns the new ids in order."""
    if not rows:
        return []
    owner = list(fields).index("participant_id")
    owners = {row[owner] for row in rows}
    for pk in owners:
        if participants[pk].locked:  # derived rows have no visit: the participant lock decides
            assert_unlocked(participants[pk])
    ids = insert_rows(model, rows, fields=fields, key=key)
    label = model_label(model)
    # the audit names every field as a created instance would hold it, in the model's order
    names = _field_names(model)
    given = {name: i for i, name in enumerate(fields)}
    defaults = {
        name: model._meta.get_field(name).get_default() for name in names if name not in given
    }
    context = dict(context or {})
    specs = []
    for row, pk in zip(rows, ids, strict=True):
        participant = participants[row[owner]]
        specs.append(
            EventSpec(
                action="create",
                model=label,
                object_pk=str(pk),
                site_code=participant.site.code,
                subject=subject_label(participant),
                changes={
                    n: {"old": None, "new": row[given[n]] if n in given else defaults[n]}
                    for n in names
                },
                reason=reason,
                context=dict(context),
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
    return ids
