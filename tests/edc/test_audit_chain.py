"""The audit trail is append-only in the database and hash-chained (21 CFR 11.10(e); E6 4.2.2(b))."""

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from mmtrial.edc import audit_triggers
from mmtrial.edc.audit import EventSpec, audit_record, audit_record_many, audit_verify
from mmtrial.edc.models import AuditEvent

pytestmark = pytest.mark.django_db


def _three_events():
    with transaction.atomic():
        return audit_record_many(
            [
                EventSpec(
                    action="create",
                    model="labresult",
                    object_pk=str(i),
                    changes={"value": {"old": None, "new": i}},
                )
                for i in range(3)
            ]
        )


def test_chain_links_each_event_to_the_one_before():
    events = _three_events()
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    report = audit_verify()
    assert report.ok and report.events_checked == 3


@pytest.mark.req("E6-4.2.2b")
def test_update_and_delete_of_audit_rows_are_refused_by_the_database():
    event = _three_events()[0]
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(reason="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"UPDATE {audit_triggers.TABLE} SET reason = 'x'")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {audit_triggers.TABLE}")
    assert AuditEvent.objects.count() == 3


def test_verify_names_the_first_changed_event_when_the_trigger_was_dropped():
    events = _three_events()
    audit_triggers.drop(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {audit_triggers.TABLE} SET reason = 'tampered' WHERE id = %s",
                [events[1].id],
            )
    finally:
        audit_triggers.install(connection)
    report = audit_verify()
    assert report.first_broken_id == events[1].id
    assert "changed" in report.problem


def test_verify_finds_a_removed_last_event():
    events = _three_events()
    audit_triggers.drop(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {audit_triggers.TABLE} WHERE id = %s", [events[2].id])
    finally:
        audit_triggers.install(connection)
    report = audit_verify()
    assert not report.ok
    assert report.first_broken_id == events[2].id


def test_triggers_are_installed_by_the_migrations():
    assert audit_triggers.triggers_installed(connection)


@pytest.mark.django_db(transaction=True)
def test_a_single_event_outside_a_service_transaction_still_chains():
    audit_record(EventSpec(action="login"))
    audit_record(EventSpec(action="logout"))
    assert audit_verify().ok
