"""The audited record helpers every service uses (21 CFR 11.10(e), Annex 11 sections 7.1 and 9)."""

import datetime as dt

import pytest
from django.utils import timezone

from mmtrial.edc.models import AuditEvent, Signature
from mmtrial.edc.models.trust import SignatureStatus
from mmtrial.edc.services._records import (
    REASON_REQUIRED,
    record_soft_delete,
    record_update,
)
from mmtrial.errors import ConflictError, InputError, LockedRecordError
from tests.edc.factories import make_participant, make_site, make_user

pytestmark = pytest.mark.django_db


def test_create_writes_one_audit_event_with_every_field():
    participant = make_participant(make_site("A1"), year_of_birth=1950)
    event = AuditEvent.objects.get(model="participant", object_pk=str(participant.pk))
    assert event.action == "create"
    assert event.changes["year_of_birth"] == {"old": None, "new": 1950}
    assert event.site_code == "A1"
    assert event.occurred_at.tzinfo is not None


@pytest.mark.req("A11-9")
def test_changing_entered_data_needs_a_reason_and_stores_it():
    participant = make_participant(make_site())
    with pytest.raises(InputError, match=REASON_REQUIRED):
        record_update(participant, expected_version=1, values={"year_of_birth": 1951}, reason=" ")
    participant.refresh_from_db()
    assert participant.year_of_birth == 1955
    assert AuditEvent.objects.filter(action="update").count() == 0

    updated = record_update(
        participant,
        expected_version=1,
        values={"year_of_birth": 1951},
        reason="transcription error",
    )
    assert updated.version == 2
    event = AuditEvent.objects.get(action="update")
    assert event.changes == {"year_of_birth": {"old": 1955, "new": 1951}}
    assert event.reason == "transcription error"


@pytest.mark.req("A11-7.1")
def test_a_stale_version_is_a_conflict_not_a_lost_update():
    participant = make_participant(make_site())
    record_update(participant, expected_version=1, values={"year_of_birth": 1951}, reason="first")
    with pytest.raises(ConflictError, match="changed by someone else"):
        record_update(
            participant, expected_version=1, values={"year_of_birth": 1960}, reason="second"
        )
    participant.refresh_from_db()
    assert participant.year_of_birth == 1951
    assert AuditEvent.objects.filter(action="update").count() == 1


def test_a_locked_participant_refuses_changes_and_writes_no_audit():
    participant = make_participant(make_site())
    participant.locked = True
    participant.save(update_fields=["locked"])
    before = AuditEvent.objects.count()
    with pytest.raises(LockedRecordError, match="locked"):
        record_update(participant, expected_version=1, values={"year_of_birth": 1951}, reason="x")
    assert AuditEvent.objects.count() == before


def test_soft_delete_keeps_the_record_and_needs_a_reason():
    participant = make_participant(make_site())
    with pytest.raises(InputError):
        record_soft_delete(participant, expected_version=1, reason="")
    record_soft_delete(participant, expected_version=1, reason="duplicate")
    participant.refresh_from_db()
    assert participant.is_deleted
    assert AuditEvent.objects.filter(action="delete", reason="duplicate").exists()


@pytest.mark.req("P11-70")
def test_a_change_after_signing_invalidates_the_signature_with_an_audit_event():
    site = make_site()
    participant = make_participant(site)
    investigator = make_user(role="investigator", site=site)
    signature = Signature.objects.create(
        participant=participant,
        signer=investigator,
        printed_name="Test User",
        meaning="Approval",
        signed_at=timezone.now(),
        content_sha256="0" * 64,
        confirmation_text_version="1",
    )
    record_update(
        participant, expected_version=1, values={"consent_date": dt.date(2027, 1, 5)}, reason="typo"
    )
    signature.refresh_from_db()
    assert signature.status == SignatureStatus.INVALIDATED
    assert (
        AuditEvent.objects.filter(
            action="signature_invalidated", object_pk=str(signature.pk)
        ).count()
        == 1
    )
