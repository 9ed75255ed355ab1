"""The audit writer's fast path writes exactly what `audit_verify` recomputes (21 CFR 11.10(e)).

The writer converts values with `_jsonable` and writes the hash content from a template instead
of `to_jsonable` and `_content`; a difference of one character would break the chain, so these
tests compare the two paths and verify chains written with Decimals, dates and odd keys.
"""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection, transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from mmtrial.edc.audit import (
    EventSpec,
    _canonical,
    _changes_texts,
    _content,
    _flat,
    _jsonable,
    _stored,
    audit_actor,
    audit_record,
    audit_record_many,
    audit_verify,
    event_hash,
    to_jsonable,
)
from mmtrial.edc.models import AuditEvent
from mmtrial.edc.models.assessments import LabSource

REAL_CLOCK = True  # the fast path is chosen on the exact built-in date types


class _Label(str):
    """A str subclass whose str() differs from its text, like a lazy or enum label."""

    def __str__(self) -> str:
        return f"label:{super().__str__()}"


class _Record:
    def __init__(self, pk):
        self.pk = pk


_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
    st.decimals(allow_nan=True, allow_infinity=True).filter(lambda d: not d.is_snan()),
    st.dates(),
    st.datetimes(timezones=st.one_of(st.none(), st.just(dt.UTC))),
    st.builds(_Label, st.text(max_size=5)),
    st.builds(_Record, st.integers()),
    st.sampled_from(list(LabSource)),
)
_keys = st.one_of(st.text(max_size=8), st.integers(), st.booleans(), st.none(), st.builds(_Label))
_values = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=4).map(tuple),
        st.dictionaries(_keys, inner, max_size=4),
    ),
    max_leaves=20,
)


@given(_values)
@settings(max_examples=400, deadline=None)
def test_the_fast_conversion_is_the_reference_conversion(value):
    reference = to_jsonable(value)
    fast = _jsonable(value)
    assert _canonical(fast) == _canonical(reference)
    assert json.dumps(fast, ensure_ascii=False) == json.dumps(reference, ensure_ascii=False)


_flat_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(),
    st.decimals(allow_nan=True).filter(lambda d: not d.is_snan()),
    st.dates(),
    st.datetimes(timezones=st.one_of(st.none(), st.just(dt.UTC))),
)
_changes = st.dictionaries(
    st.text(max_size=12),
    st.one_of(
        st.fixed_dictionaries({"old": _flat_leaves, "new": _flat_leaves}),
        st.dictionaries(st.text(max_size=4), _flat_leaves, max_size=3),
        _values,  # not flat: the general path
    ),
    max_size=6,
)


@given(_changes)
@settings(max_examples=400, deadline=None)
def test_the_texts_of_changes_are_those_of_the_reference_conversion(changes):
    reference = to_jsonable(changes)
    assert _changes_texts(changes) == (_canonical(reference), _stored(reference))


def test_the_changes_of_a_created_lab_result_take_the_flat_path():
    assert _flat(_specs()[1].changes)
    assert not _flat(_specs()[0].changes)


def _specs():
    return [
        EventSpec(
            action="create",
            model="labresult",
            object_pk=7,  # not a str: written as its text, as before
            site_code="C1",
            subject="C1-001",
            changes={
                "value": {"old": None, "new": Decimal("2.4000")},
                "ratio": {"old": Decimal("1E+2"), "new": Decimal("NaN")},
                "collected_on": {"old": dt.date(2027, 1, 11), "new": dt.date(2027, 2, 8)},
                "signed_at": {"old": None, "new": dt.datetime(2027, 2, 8, 9, 30, tzinfo=dt.UTC)},
                "reasons": {"old": [], "new": ["ß élevé", ("a", 1), {"k": Decimal("0.10")}]},
                "values": {"old": {}, "new": {1: "one", 10: "ten", 2: "two", None: True}},
                "source": {"old": None, "new": LabSource.CENTRAL},
                "weight_kg": {"old": 70.5, "new": 71},
            },
            reason='central laboratory file ümlaut.csv (SHA-256 ab)\n\tline two \\N, a backslash \\ and a "quote"',
            context={"file": "ümlaut.csv", "row": 3, "when": dt.date(2027, 2, 9)},
        ),
        EventSpec(
            action="create",
            model="labresult",
            object_pk="8",
            changes={
                "participant_id": {"old": None, "new": 3},
                "value": {"old": Decimal("12.50"), "new": Decimal("0.000")},
                "collected_on": {"old": None, "new": dt.date(2027, 2, 8)},
                "at": {"old": None, "new": dt.datetime(2027, 2, 8, 9, 30, tzinfo=dt.UTC)},
                "ratio": {"old": 1.5, "new": 0.1},
                "unit": {"old": "g/L", "new": "g/dL ✓"},
            },
            context={"row": 4},
        ),
        EventSpec(action="login"),
        EventSpec(action="update", model="visit", object_pk="12", changes={"x": {"old": 1}}),
    ]


@pytest.mark.django_db
def test_a_chain_written_by_the_fast_path_verifies_and_reads_back_as_written(data_manager):
    before = AuditEvent.objects.count()
    with audit_actor(data_manager, via="cli", source_ip="10.0.0.1"), transaction.atomic():
        genesis = audit_record(EventSpec(action="genesis"))
        recorded = audit_record_many(_specs())
    report = audit_verify()
    assert report.ok
    assert report.events_checked == before + 5
    stored = {e.id: e for e in AuditEvent.objects.all()}
    for spec, event in zip(_specs(), recorded, strict=True):
        row = stored[event.id]
        assert (event.pk, event.hash, event.prev_hash) == (row.id, row.hash, row.prev_hash)
        assert event_hash(row.prev_hash, row) == row.hash
        assert json.loads(_content(row))["changes"] == to_jsonable(spec.changes)
        assert row.changes == to_jsonable(spec.changes)
        assert row.context == to_jsonable({"via": "cli", "source_ip": "10.0.0.1", **spec.context})
        assert (row.actor_id, row.actor_username) == (data_manager.pk, data_manager.username)
        assert row.object_pk == str(spec.object_pk)
        assert row.reason == spec.reason  # tabs, newlines and backslashes survive COPY
    assert recorded[0].prev_hash == genesis.hash == stored[genesis.id].hash


@pytest.mark.django_db
def test_a_changed_decimal_in_a_fast_path_event_is_found(data_manager):
    from mmtrial.edc import audit_triggers

    with audit_actor(data_manager, via="cli"), transaction.atomic():
        recorded = audit_record_many(_specs())
    audit_triggers.drop(connection)
    try:
        row = AuditEvent.objects.get(pk=recorded[0].id)
        changes = dict(row.changes, value={"old": None, "new": "2.41"})
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {audit_triggers.TABLE} SET changes = %s WHERE id = %s",
                [json.dumps(changes), row.id],
            )
    finally:
        audit_triggers.install(connection)
    report = audit_verify()
    assert report.first_broken_id == recorded[0].id


@pytest.mark.django_db
def test_the_stored_changes_keep_the_order_the_service_gave(data_manager):
    with transaction.atomic():
        (event,) = audit_record_many(
            [EventSpec(action="create", changes={"z": {"old": None, "new": 1}, "a": {"new": 2}})]
        )
    stored = AuditEvent.objects.get(pk=event.id).changes
    # SQLite keeps the JSON text as written (the audit page lists the fields in that order);
    # PostgreSQL's jsonb orders keys itself
    assert list(stored) == (["z", "a"] if connection.vendor == "sqlite" else ["a", "z"])
    assert audit_verify().ok


@pytest.fixture
def data_manager():
    from tests.edc.builders import Study

    return Study("C1").data_manager
