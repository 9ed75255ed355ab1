"""The audit chain against someone who can write to the database (E6 4.2.2(b); P11 11.10(e)).

Three attacks: cutting the end off (with or without the head row) and re-hashing the chain after
an edited event. The chain alone catches a missing head; anchors kept outside the database
catch a cut and a rewrite up to the anchor; the audit key catches a rewrite without the key.
"""

import json
import os

import pytest
from django.db import connection, transaction
from typer.testing import CliRunner

from mmtrial.cli import app
from mmtrial.edc import audit_triggers
from mmtrial.edc.audit import (
    AuditChainError,
    EventSpec,
    audit_record,
    audit_record_many,
    audit_verify,
    event_hash,
)
from mmtrial.edc.audit_seal import AuditKeyError, anchors_read, audit_key
from mmtrial.edc.models import AuditChainHead, AuditEvent

pytestmark = pytest.mark.django_db

KEY = "k3y-kept-outside-the-database-0123456789"


def _events(n: int = 5):
    with transaction.atomic():
        return audit_record_many(
            [
                EventSpec(
                    action="create",
                    model="labresult",
                    object_pk=str(i),
                    changes={"value": {"old": None, "new": i}},
                )
                for i in range(n)
            ]
        )


def _run(*args):
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


def _sql(statement: str, params=()):
    """Direct SQL with the append-only triggers out of the way (the attacker's position)."""
    audit_triggers.drop(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement, list(params))
    finally:
        audit_triggers.install(connection)


def _cut_after(last_id: int) -> None:
    """Remove the events after `last_id` and set the head to the new end, consistently."""
    kept = AuditEvent.objects.get(id=last_id)
    _sql(f"DELETE FROM {audit_triggers.TABLE} WHERE id > %s", [last_id])
    AuditChainHead.objects.filter(pk=1).update(last_event_id=last_id, last_hash=kept.hash)


def _rehash_from(event_id: int, *, reason: str) -> None:
    """Edit one event, then recompute every hash from it on, and the head: a chain that holds."""
    _sql(f"UPDATE {audit_triggers.TABLE} SET reason = %s WHERE id = %s", [reason, event_id])
    prev = AuditEvent.objects.get(id=event_id - 1).hash if event_id > 1 else "0" * 64
    for event in AuditEvent.objects.filter(id__gte=event_id).order_by("id"):
        new = event_hash(prev, event)
        _sql(
            f"UPDATE {audit_triggers.TABLE} SET prev_hash = %s, hash = %s WHERE id = %s",
            [prev, new, event.id],
        )
        prev = new
    AuditChainHead.objects.filter(pk=1).update(last_hash=prev)


@pytest.fixture
def anchor_file(tmp_path):
    return tmp_path / "anchors.jsonl"


def test_anchor_prints_the_verified_head_and_appends_it(anchor_file):
    events = _events(3)
    first = _run("audit", "anchor", "--append", str(anchor_file))
    assert first.exit_code == 0, first.output
    printed = json.loads(first.stdout)
    assert printed["events"] == 3 and printed["last_id"] == events[-1].id
    assert printed["last_hash"] == events[-1].hash
    assert printed["at"].endswith("Z")
    _events(2)
    assert _run("audit", "anchor", "--append", str(anchor_file)).exit_code == 0
    anchors = anchors_read(anchor_file)
    assert [(a.events, a.last_id) for a in anchors] == [(3, 3), (5, 5)]
    result = _run("audit", "verify", "--anchor", str(anchor_file))
    assert result.exit_code == 0
    assert result.stdout.strip() == "5 events, chain intact; 2 anchors hold"


@pytest.mark.req("E6-4.2.2b")
def test_a_truncated_chain_passes_alone_but_fails_against_an_anchor(anchor_file):
    _events(5)
    assert _run("audit", "anchor", "--append", str(anchor_file)).exit_code == 0
    _cut_after(3)
    # the cut is consistent: the chain alone cannot tell (this is what anchors are for)
    assert _run("audit", "verify").exit_code == 0
    result = _run("audit", "verify", "--anchor", str(anchor_file))
    assert result.exit_code == 1
    assert "the chain ends at event 3" in result.stderr
    assert "records 5 events: events were removed" in result.stderr


@pytest.mark.req("E6-4.2.2b")
def test_deleting_the_last_events_with_the_head_row_is_an_error_never_intact():
    _events(4)
    _cut_after(2)
    AuditChainHead.objects.filter(pk=1).delete()
    report = audit_verify()
    assert not report.ok
    assert "chain-head row is missing" in report.problem
    result = _run("audit", "verify")
    assert result.exit_code == 1
    assert "chain-head row is missing (the chain has 2 events)" in result.stderr
    # and the chain does not silently start again at event 1
    with pytest.raises(AuditChainError, match="chain-head row is missing"):
        audit_record(EventSpec(action="create", model="labresult", object_pk="9"))
    assert AuditEvent.objects.count() == 2


@pytest.mark.req("E6-4.2.2b")
def test_a_rehashed_chain_differs_from_the_anchor_taken_before(anchor_file):
    _events(5)
    assert _run("audit", "anchor", "--append", str(anchor_file)).exit_code == 0
    _rehash_from(2, reason="rewritten")
    assert _run("audit", "verify").exit_code == 0  # internally consistent
    result = _run("audit", "verify", "--anchor", str(anchor_file))
    assert result.exit_code == 1
    assert "event 5 differs from the anchor taken" in result.stderr


@pytest.mark.req("E6-4.2.2b")
def test_a_rehashed_chain_fails_verification_with_the_audit_key(settings):
    settings.MMTRIAL_AUDIT_KEY = KEY
    _events(5)
    head = AuditChainHead.objects.get(pk=1)
    assert len(head.mac) == 64
    ok = _run("audit", "verify")
    assert ok.stdout.strip() == "5 events, chain intact; head sealed with the audit key"
    _rehash_from(3, reason="rewritten")
    result = _run("audit", "verify")
    assert result.exit_code == 1
    assert "seal does not match the audit key" in result.stderr
    # clearing the seal does not help either
    AuditChainHead.objects.filter(pk=1).update(mac="")
    assert "carries no seal" in _run("audit", "verify").stderr
    # without the key the re-hashed chain looks intact: that is what the key is for
    settings.MMTRIAL_AUDIT_KEY = ""
    assert _run("audit", "verify").exit_code == 0


def test_an_anchor_of_a_broken_chain_is_refused(anchor_file):
    events = _events(3)
    _sql(f"UPDATE {audit_triggers.TABLE} SET reason = 'x' WHERE id = %s", [events[1].id])
    result = _run("audit", "anchor", "--append", str(anchor_file))
    assert result.exit_code == 1
    assert "no anchor taken" in result.stderr
    assert not anchor_file.exists()


def test_a_malformed_anchor_file_names_its_line(anchor_file):
    _events(1)
    anchor_file.write_text('# anchors\n{"events": 1, "last_id": 1}\n')
    result = _run("audit", "verify", "--anchor", str(anchor_file))
    assert result.exit_code == 2
    assert f"{anchor_file}, line 2: not an audit anchor" in result.stderr
    missing = _run("audit", "verify", "--anchor", str(anchor_file) + ".nope")
    assert missing.exit_code == 2 and "no such anchor file" in missing.stderr


def test_a_key_file_others_can_read_is_refused(settings, tmp_path):
    path = tmp_path / "audit.key"
    path.write_text(KEY + "\n")
    path.chmod(0o644)
    settings.MMTRIAL_AUDIT_KEY_FILE = str(path)
    with pytest.raises(AuditKeyError, match="can be read by other users"):
        audit_key()
    private = tmp_path / "private.key"
    private.write_text(KEY + "\n")
    os.chmod(private, 0o600)
    settings.MMTRIAL_AUDIT_KEY_FILE = str(private)
    assert audit_key() == KEY.encode()


def test_a_short_key_and_two_keys_are_refused(settings, tmp_path):
    settings.MMTRIAL_AUDIT_KEY = "short"
    with pytest.raises(AuditKeyError, match="at least 32 characters"):
        audit_key()
    settings.MMTRIAL_AUDIT_KEY_FILE = str(tmp_path / "k")
    with pytest.raises(AuditKeyError, match="not both"):
        audit_key()
