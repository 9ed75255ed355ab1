"""Locks by data management (21 CFR 11.10(f); E6 4.2.2(a)(iii); compliance KF-7)."""

import datetime as dt
import re
from decimal import Decimal

import pytest

from mmtrial.edc.models import AuditEvent, LabResult
from mmtrial.edc.services._records import (
    record_create,
    record_soft_delete,
    record_update,
)
from mmtrial.edc.services.locking import (
    ALREADY_LOCKED,
    LOCK_REASON_REQUIRED,
    NOT_LOCKED,
    UNLOCK_REASON_REQUIRED,
    participant_lock,
    participant_unlock,
    visit_lock,
    visit_unlock,
)
from mmtrial.errors import InputError, LockedRecordError, PermissionDenied
from tests.edc.factories import make_participant, make_site, make_user
from tests.edc.trust_builders import fast_password_hashing, make_lab, make_visit  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def locked_study():
    site = make_site("LK")
    participant = make_participant(site)
    visit = make_visit(participant, code="C1D1")
    return {
        "site": site,
        "participant": participant,
        "visit": visit,
        "lab_in_visit": make_lab(participant, visit=visit),
        "lab_elsewhere": make_lab(participant, analyte="AST"),
        "data_manager": make_user(role="data_manager", site=None),
    }


def _new_lab(participant, visit=None):
    return LabResult(
        participant=participant,
        visit=visit,
        analyte="CREAT",
        value=Decimal("1.1"),
        unit="mg/dL",
        collected_on=dt.date(2027, 1, 11),
        source="local",
    )


def _every_change(study):
    """Each way to change data through the audited helpers, for a locked participant."""
    participant, visit = study["participant"], study["visit"]
    lab = study["lab_in_visit"]
    return {
        "edit participant": lambda: record_update(
            participant, expected_version=1, values={"year_of_birth": 1950}, reason="x"
        ),
        "delete participant": lambda: record_soft_delete(
            participant, expected_version=1, reason="x"
        ),
        "edit visit": lambda: record_update(
            visit, expected_version=1, values={"notes": "late"}, reason="x"
        ),
        "new lab in visit": lambda: record_create(_new_lab(participant, visit)),
        "new lab outside visit": lambda: record_create(_new_lab(participant)),
        "edit lab": lambda: record_update(
            lab, expected_version=1, values={"value": Decimal("41")}, reason="x"
        ),
        "delete lab": lambda: record_soft_delete(lab, expected_version=1, reason="x"),
        "new visit": lambda: make_visit(participant, code="C1D8"),
    }


@pytest.mark.req("P11-10f")
@pytest.mark.req("KF-7")
def test_a_locked_participant_refuses_every_change_and_writes_no_audit(locked_study):
    participant_lock(
        user=locked_study["data_manager"],
        participant=locked_study["participant"],
        reason="data review complete",
    )
    before = AuditEvent.objects.count()
    for name, change in _every_change(locked_study).items():
        with pytest.raises(LockedRecordError, match="is locked"):
            change()
        assert AuditEvent.objects.count() == before, name


@pytest.mark.req("KF-7")
def test_a_locked_visit_refuses_changes_to_it_and_its_records_only(locked_study):
    visit_lock(user=locked_study["data_manager"], visit=locked_study["visit"], reason="SDV done")
    changes = _every_change(locked_study)
    for name in ("edit visit", "new lab in visit", "edit lab", "delete lab"):
        with pytest.raises(LockedRecordError, match="Visit C1D1 is locked"):
            changes[name]()
    # Data outside the locked visit can still change.
    record_update(
        locked_study["lab_elsewhere"],
        expected_version=1,
        values={"value": Decimal("30")},
        reason="corrected",
    )
    changes["new lab outside visit"]()


@pytest.mark.req("E6-4.2.2a-iii")
def test_lock_and_unlock_are_audited_and_unlock_needs_a_reason(locked_study):
    dm, participant = locked_study["data_manager"], locked_study["participant"]
    participant = participant_lock(user=dm, participant=participant, reason="ready for analysis")
    assert participant.locked
    with pytest.raises(InputError, match=re.escape(UNLOCK_REASON_REQUIRED)):
        participant_unlock(user=dm, participant=participant, reason="  ")
    participant.refresh_from_db()
    assert participant.locked
    participant_unlock(user=dm, participant=participant, reason="late lab correction")
    events = list(AuditEvent.objects.filter(model="participant", action__in=["lock", "unlock"]))
    assert [(e.action, e.reason, e.actor_id) for e in events] == [
        ("lock", "ready for analysis", dm.pk),
        ("unlock", "late lab correction", dm.pk),
    ]
    assert events[0].changes == {"locked": {"old": False, "new": True}}
    # Locking is not a data change: the version an editor holds is still current.
    record_update(participant, expected_version=1, values={"year_of_birth": 1950}, reason="typo")


def test_locking_a_participant_or_a_visit_needs_a_reason(locked_study):
    dm = locked_study["data_manager"]
    with pytest.raises(InputError, match=re.escape(LOCK_REASON_REQUIRED)):
        participant_lock(user=dm, participant=locked_study["participant"], reason=" ")
    with pytest.raises(InputError, match=re.escape(LOCK_REASON_REQUIRED)):
        visit_lock(user=dm, visit=locked_study["visit"], reason="")
    locked_study["participant"].refresh_from_db()
    locked_study["visit"].refresh_from_db()
    assert not locked_study["participant"].locked
    assert not locked_study["visit"].locked
    assert not AuditEvent.objects.filter(action="lock").exists()


def test_visit_unlock_needs_a_reason_and_is_audited(locked_study):
    dm, visit = locked_study["data_manager"], locked_study["visit"]
    visit_lock(user=dm, visit=visit, reason="data review complete")
    with pytest.raises(InputError, match=re.escape(UNLOCK_REASON_REQUIRED)):
        visit_unlock(user=dm, visit=visit, reason="")
    visit = visit_unlock(user=dm, visit=visit, reason="query answered with a correction")
    assert not visit.locked
    assert AuditEvent.objects.filter(model="visit", action="unlock").count() == 1


def test_locking_twice_or_unlocking_an_unlocked_record_is_refused(locked_study):
    dm, participant = locked_study["data_manager"], locked_study["participant"]
    participant_lock(user=dm, participant=participant, reason="data review complete")
    with pytest.raises(InputError, match=ALREADY_LOCKED.format(what=f"Participant {participant}")):
        participant_lock(user=dm, participant=participant, reason="data review complete")
    with pytest.raises(
        InputError, match=NOT_LOCKED.format(what=f"Visit C1D1 of participant {participant}")
    ):
        visit_unlock(user=dm, visit=locked_study["visit"], reason="x")


@pytest.mark.parametrize(
    "role", ["coordinator", "investigator", "monitor", "statistician", "sponsor_admin"]
)
def test_only_data_managers_lock_and_unlock(locked_study, role):
    user = make_user(role=role, site=locked_study["site"])
    with pytest.raises(PermissionDenied):
        participant_lock(
            user=user, participant=locked_study["participant"], reason="data review complete"
        )
    with pytest.raises(PermissionDenied):
        visit_lock(user=user, visit=locked_study["visit"], reason="data review complete")
    participant_lock(
        user=locked_study["data_manager"],
        participant=locked_study["participant"],
        reason="data review complete",
    )
    with pytest.raises(PermissionDenied):
        participant_unlock(user=user, participant=locked_study["participant"], reason="x")


def test_a_site_data_manager_cannot_lock_another_site(locked_study):
    other_dm = make_user(role="data_manager", site=make_site("LX"))
    with pytest.raises(PermissionDenied):
        participant_lock(
            user=other_dm, participant=locked_study["participant"], reason="data review complete"
        )
