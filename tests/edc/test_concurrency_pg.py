"""Concurrency on PostgreSQL with real threads (EU Annex 11 section 7.1; compliance KF-6, KF-3).

Each thread has its own database connection and transaction, as two web workers would.
SQLite serialises writers on one file lock, so these run on PostgreSQL only
(`make test-postgres`).
"""

import os
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections

from mmtrial.edc.audit import EventSpec, audit_actor, audit_record, audit_verify
from mmtrial.edc.models import AuditEvent, LabResult
from mmtrial.edc.services._records import record_update
from mmtrial.errors import ConflictError
from tests.edc.factories import make_participant, make_site, make_user
from tests.edc.trust_builders import fast_password_hashing, make_lab  # noqa: F401

pytestmark = [
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="needs PostgreSQL (make test-postgres)",
    ),
    pytest.mark.django_db(transaction=True),
]


def _in_threads(targets):
    """Run each callable in its own thread, started together; return results or exceptions."""
    barrier = threading.Barrier(len(targets))
    results: list = [None] * len(targets)

    def run(index, target):
        try:
            barrier.wait(timeout=10)
            results[index] = target()
        except Exception as exc:  # collected and asserted on by the test
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, t)) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    return results


@pytest.mark.req("A11-7.1")
@pytest.mark.req("KF-6")
@pytest.mark.req("KF-3")
def test_two_simultaneous_edits_of_one_version_one_wins_the_other_conflicts():
    assert connection.vendor == "postgresql"
    site = make_site("CC")
    lab = make_lab(make_participant(site), value="40")
    alice = make_user(role="coordinator", site=site, username="alice")
    bob = make_user(role="coordinator", site=site, username="bob")

    def edit(user, value):
        def run():
            with audit_actor(user, via="web", source_ip="10.0.0.1"):
                stale = LabResult.objects.get(pk=lab.pk)
                return record_update(
                    stale, expected_version=1, values={"value": Decimal(value)}, reason="fix"
                )

        return run

    results = _in_threads([edit(alice, "41"), edit(bob, "42")])
    winners = [r for r in results if isinstance(r, LabResult)]
    losers = [r for r in results if isinstance(r, ConflictError)]
    assert len(winners) == 1 and len(losers) == 1, results
    lab.refresh_from_db()
    assert lab.version == 2
    assert lab.value == winners[0].value
    [event] = AuditEvent.objects.filter(action="update", model="labresult")
    assert Decimal(event.changes["value"]["new"]) == lab.value
    winner_name = "alice" if lab.value == Decimal("41") else "bob"
    assert event.actor_username == winner_name, "the audit names who actually saved"
    assert audit_verify().ok


def test_concurrent_audit_appends_keep_one_unbroken_chain():
    audit_record(EventSpec(action="genesis"))  # the chain head exists before the race
    threads, per_thread = 8, 25

    def append(n):
        def run():
            for i in range(per_thread):
                audit_record(EventSpec(action="test_append", object_pk=f"{n}-{i}"))
            return True

        return run

    results = _in_threads([append(n) for n in range(threads)])
    assert results == [True] * threads, results
    assert AuditEvent.objects.filter(action="test_append").count() == threads * per_thread
    report = audit_verify()
    assert report.ok, report.problem
    assert report.events_checked == threads * per_thread + 1
