"""A cycle's doses in one save (issue 12 item 5): one unit of work, one audit batch, the same
rules and edit checks as a single dose, nothing saved when one row fails (the row named), and a
number of queries that does not grow with the rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from mmtrial.edc.audit import audit_verify
from mmtrial.edc.models import AuditEvent, DoseAdministration, Query
from mmtrial.edc.models.treatment import DoseStatus
from mmtrial.edc.services.doses import DoseEntry, cycle_doses_record
from mmtrial.edc.services.treatment import dose_record
from mmtrial.errors import ConflictError, InputError
from tests.edc.builders import C1D1, Study, started

pytestmark = pytest.mark.django_db


def _doses(cycle) -> list[DoseAdministration]:
    return list(DoseAdministration.objects.filter(cycle=cycle).order_by("date", "drug"))


def _taken(doses, **kwargs) -> list[DoseEntry]:
    return [
        DoseEntry(dose_id=d.pk, status="taken", expected_version=d.version, **kwargs) for d in doses
    ]


def _chain_head_reads(ctx) -> int:
    return sum(1 for q in ctx.captured_queries if 'FROM "edc_auditchainhead"' in q["sql"])


def test_the_batch_writes_every_dose_with_one_audit_batch():
    study = Study("CD1")
    participant, cycle = started(study)
    doses = _doses(cycle)[:10]
    before = AuditEvent.objects.count()
    with CaptureQueriesContext(connection) as ctx:
        written = cycle_doses_record(
            user=study.coordinator,
            participant_id=participant.pk,
            cycle_number=1,
            entries=_taken(doses),
        )
    assert len(written) == 10
    stored = {d.pk: d for d in _doses(cycle)}
    for dose in doses:
        row = stored[dose.pk]
        assert row.status == DoseStatus.TAKEN
        assert row.taken_dose_mg == dose.planned_dose_mg
        assert row.version == dose.version + 1
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [e.action for e in events] == ["update"] * 10
    assert sorted(int(e.object_pk) for e in events) == sorted(d.pk for d in doses)
    # One batch: consecutive ids, the chain head read once.
    assert [e.id for e in events] == list(range(events[0].id, events[0].id + 10))
    assert _chain_head_reads(ctx) == 1
    assert audit_verify().ok


def test_one_failing_row_saves_nothing_and_names_the_row():
    study = Study("CD2")
    participant, cycle = started(study)
    doses = _doses(cycle)[:6]
    entries = _taken(doses)
    bad = doses[3]
    entries[3] = DoseEntry(dose_id=bad.pk, status="held", expected_version=bad.version)
    before = AuditEvent.objects.count()
    with pytest.raises(InputError) as caught:
        cycle_doses_record(
            user=study.coordinator, participant_id=participant.pk, cycle_number=1, entries=entries
        )
    assert caught.value.extra["row"] == bad.pk
    assert f"day {bad.day} ({bad.date.isoformat()})" in caught.value.message
    assert "reason" in caught.value.message
    assert all(d.status == DoseStatus.PLANNED for d in _doses(cycle))
    assert AuditEvent.objects.count() == before


def test_the_edit_checks_of_a_single_dose_apply_to_each_row():
    """A dose dated after today at the site is refused (edc.edit_checks) as for one dose."""
    study = Study("CD3")
    participant, cycle = started(study)
    doses = _doses(cycle)
    later = next(d for d in doses if d.date > C1D1 + dt.timedelta(days=10))
    with (
        freeze_time(f"{C1D1 + dt.timedelta(days=10)} 03:00:00"),
        pytest.raises(InputError, match="in the future") as caught,
    ):
        cycle_doses_record(
            user=study.coordinator,
            participant_id=participant.pk,
            cycle_number=1,
            entries=_taken([doses[0], later]),
        )
    assert caught.value.extra["row"] == later.pk
    assert f"day {later.day}" in caught.value.message
    assert _doses(cycle)[0].status == DoseStatus.PLANNED


def test_a_dose_off_the_ladder_is_saved_with_its_reason_and_queried_as_for_one_dose():
    study = Study("CD4")
    participant, cycle = started(study)
    dex = next(d for d in _doses(cycle) if d.drug == "dexamethasone")
    entry = DoseEntry(
        dose_id=dex.pk,
        status="reduced",
        expected_version=dex.version,
        taken_dose_mg="13",
        reason="vomiting",
    )
    cycle_doses_record(
        user=study.coordinator, participant_id=participant.pk, cycle_number=1, entries=[entry]
    )
    query = Query.objects.get(model="doseadministration", object_pk=str(dex.pk))
    assert query.field == "taken_dose_mg" and "13" in query.text


def test_a_row_changed_since_the_form_was_read_is_a_conflict_and_nothing_is_saved():
    study = Study("CD5")
    participant, cycle = started(study)
    first, second = _doses(cycle)[:2]
    dose_record(
        user=study.coordinator, dose_id=second.pk, status="taken", expected_version=second.version
    )
    with pytest.raises(ConflictError) as caught:
        cycle_doses_record(
            user=study.coordinator,
            participant_id=participant.pk,
            cycle_number=1,
            entries=_taken([first, second]),  # second at the version read before the save
        )
    assert caught.value.extra["row"] == second.pk
    assert DoseAdministration.objects.get(pk=first.pk).status == DoseStatus.PLANNED


def test_changing_a_recorded_dose_needs_a_reason_and_unchanged_rows_are_skipped():
    study = Study("CD6")
    participant, cycle = started(study)
    first, second = _doses(cycle)[:2]
    cycle_doses_record(
        user=study.coordinator,
        participant_id=participant.pk,
        cycle_number=1,
        entries=_taken([first, second]),
    )
    first, second = (DoseAdministration.objects.get(pk=d.pk) for d in (first, second))
    held = DoseEntry(dose_id=first.pk, status="held", expected_version=first.version)
    same = DoseEntry(dose_id=second.pk, status="taken", expected_version=second.version)
    with pytest.raises(InputError, match="reason"):
        cycle_doses_record(
            user=study.coordinator,
            participant_id=participant.pk,
            cycle_number=1,
            entries=[held, same],
        )
    held = DoseEntry(
        dose_id=first.pk, status="held", expected_version=first.version, reason="nausea"
    )
    written = cycle_doses_record(
        user=study.coordinator, participant_id=participant.pk, cycle_number=1, entries=[held, same]
    )
    assert [d.pk for d in written] == [first.pk]
    assert DoseAdministration.objects.get(pk=second.pk).version == second.version


def _count_queries(study, participant, cycle, n: int) -> int:
    doses = [
        d
        for d in _doses(cycle)
        if d.status == DoseStatus.PLANNED and d.date <= C1D1 + dt.timedelta(days=20)
    ][:n]
    assert len(doses) == n
    with CaptureQueriesContext(connection) as ctx:
        cycle_doses_record(
            user=study.coordinator,
            participant_id=participant.pk,
            cycle_number=1,
            entries=_taken(doses),
        )
    return len(ctx.captured_queries)


def test_the_number_of_queries_does_not_grow_with_the_rows():
    study = Study("CD7")
    participant, cycle = started(study)
    few = _count_queries(study, participant, cycle, 3)
    study_b = Study("CD8")
    participant_b, cycle_b = started(study_b)
    many = _count_queries(study_b, participant_b, cycle_b, 9)
    assert many == few
    assert Decimal(0) <= few <= 25
