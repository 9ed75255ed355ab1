"""Drug accountability through the unit of work: audited, versioned, a mismatch between the
count and the dose diary opens one query, and the correction closes it (ICH E6(R3)
investigational product accountability)."""

from __future__ import annotations

import datetime as dt

import pytest

from mmtrial.edc.audit import audit_verify
from mmtrial.edc.models import AuditEvent, DoseAdministration, DrugAccountability, Query
from mmtrial.edc.models.trust import QueryStatus
from mmtrial.edc.services.accountability import (
    ACCOUNTABILITY_RESOLVED,
    RETURNED_TOO_MANY,
    accountability_record,
)
from mmtrial.edc.services.doses import DoseEntry, cycle_doses_record
from mmtrial.edc.services.locking import participant_lock
from mmtrial.errors import ConflictError, InputError, LockedRecordError, NotFound
from tests.edc.builders import C1D1, Study, started

pytestmark = pytest.mark.django_db

DISPENSED_ON = C1D1
RETURNED_ON = C1D1 + dt.timedelta(days=27)


def _take_lenalidomide(study, participant, cycle, days: int) -> None:
    doses = DoseAdministration.objects.filter(cycle=cycle, drug="lenalidomide").order_by("day")
    cycle_doses_record(
        user=study.coordinator,
        participant_id=participant.pk,
        cycle_number=1,
        entries=[
            DoseEntry(dose_id=d.pk, status="taken", expected_version=d.version)
            for d in list(doses)[:days]
        ],
    )


def _record(study, participant, **values):
    fields = dict(
        participant_id=participant.pk,
        cycle_number=1,
        drug="lenalidomide",
        dispensed_count=21,
        dispensed_on=DISPENSED_ON,
    )
    fields.update(values)
    return accountability_record(user=study.coordinator, **fields)


def _queries(row):
    return Query.objects.filter(model="drugaccountability", object_pk=str(row.pk))


@pytest.fixture
def nineteen_taken():
    study = Study("AC1")
    participant, cycle = started(study)
    _take_lenalidomide(study, participant, cycle, 19)
    return study, participant


def test_a_count_matching_the_diary_is_saved_audited_without_a_query(nineteen_taken):
    study, participant = nineteen_taken
    before = AuditEvent.objects.count()
    row = _record(study, participant)  # dispensing only: nothing to compare yet
    assert row.unit == "capsule"
    assert row.version == 1
    row = _record(
        study, participant, returned_count=2, returned_on=RETURNED_ON, expected_version=1
    )  # 21 - 2 = 19 = the diary
    assert row.version == 2
    assert not _queries(row).exists()
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [(e.action, e.model) for e in events] == [
        ("create", "drugaccountability"),
        ("update", "drugaccountability"),
    ]
    assert events[1].changes["returned_count"] == {"old": None, "new": 2}
    assert audit_verify().ok


def test_a_mismatch_opens_one_query_and_the_correction_closes_it(nineteen_taken):
    study, participant = nineteen_taken
    row = _record(study, participant, returned_count=3, returned_on=RETURNED_ON)  # 18 vs 19
    (query,) = _queries(row)
    assert query.status == QueryStatus.OPEN
    assert query.field == "returned_count"
    assert "18 capsule(s) taken" in query.text and "diary records 19" in query.text
    row = _record(
        study,
        participant,
        returned_count=3,
        returned_on=RETURNED_ON,
        comment="one capsule found later",
        expected_version=row.version,
    )
    assert _queries(row).count() == 1  # still a mismatch: not opened twice
    row = _record(
        study,
        participant,
        returned_count=2,
        returned_on=RETURNED_ON,
        comment="recounted",
        expected_version=row.version,
        reason="recounted the bottle",
    )
    (query,) = _queries(row)
    assert query.status == QueryStatus.CLOSED
    assert query.messages.last().text == ACCOUNTABILITY_RESOLVED
    assert AuditEvent.objects.filter(action="query_close", object_pk=str(query.pk)).exists()


def test_a_correction_needs_a_reason_and_the_version_read(nineteen_taken):
    study, participant = nineteen_taken
    row = _record(study, participant, returned_count=2, returned_on=RETURNED_ON)
    with pytest.raises(InputError):
        _record(
            study,
            participant,
            returned_count=1,
            returned_on=RETURNED_ON,
            expected_version=row.version,
        )
    with pytest.raises(ConflictError):
        _record(
            study, participant, returned_count=1, returned_on=RETURNED_ON, reason="recount"
        )  # no version: refused, never defaulted
    with pytest.raises(ConflictError):
        _record(
            study,
            participant,
            returned_count=1,
            returned_on=RETURNED_ON,
            reason="recount",
            expected_version=row.version + 5,
        )
    assert DrugAccountability.objects.get(pk=row.pk).returned_count == 2


def test_returned_and_lost_beyond_dispensed_is_refused(nineteen_taken):
    study, participant = nineteen_taken
    with pytest.raises(InputError) as exc:
        _record(study, participant, returned_count=20, lost_count=2, returned_on=RETURNED_ON)
    assert exc.value.message == RETURNED_TOO_MANY.format(returned=20, lost=2, dispensed=21)
    assert not DrugAccountability.objects.exists()


def test_a_drug_outside_the_protocol_and_a_cycle_not_started_are_refused(nineteen_taken):
    study, participant = nineteen_taken
    with pytest.raises(InputError):
        _record(study, participant, drug="bortezomib")
    with pytest.raises(NotFound):
        _record(study, participant, cycle_number=2)


def test_another_sites_participant_is_not_found(nineteen_taken):
    _study, participant = nineteen_taken
    other = Study("AC2")
    with pytest.raises(NotFound):
        _record(other, participant)


def test_a_locked_participant_refuses(nineteen_taken):
    study, participant = nineteen_taken
    participant.refresh_from_db()
    participant_lock(user=study.data_manager, participant=participant, reason="database lock")
    with pytest.raises(LockedRecordError):
        _record(study, participant)


def test_a_diary_correction_re_checks_the_count_and_closes_the_query(nineteen_taken):
    study, participant = nineteen_taken
    row = _record(study, participant, returned_count=1, returned_on=RETURNED_ON)  # 20 vs 19
    (query,) = _queries(row)
    assert query.status == QueryStatus.OPEN
    cycle = participant.cycles.get(number=1)
    _take_lenalidomide(study, participant, cycle, 20)  # day 20 was taken after all
    query.refresh_from_db()
    assert query.status == QueryStatus.CLOSED


def test_a_diary_change_opens_the_query_when_the_count_no_longer_agrees(nineteen_taken):
    from mmtrial.edc.services.treatment import dose_record

    study, participant = nineteen_taken
    row = _record(study, participant, returned_count=2, returned_on=RETURNED_ON)  # 19 = 19
    assert not _queries(row).exists()
    dose = DoseAdministration.objects.get(
        cycle__participant=participant, drug="lenalidomide", day=20
    )
    dose_record(
        user=study.coordinator, dose_id=dose.pk, status="taken", expected_version=dose.version
    )  # 20 in the diary, 19 by the count
    assert _queries(row).filter(status=QueryStatus.OPEN).count() == 1
