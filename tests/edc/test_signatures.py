"""Electronic signatures (21 CFR 11.50, 11.70, 11.100, 11.200; compliance KF-5)."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from freezegun import freeze_time

from mmtrial.edc.models import AuditEvent, Signature
from mmtrial.edc.models.trust import SignatureStatus
from mmtrial.edc.services._records import record_soft_delete, record_update
from mmtrial.edc.services.locking import participant_lock
from mmtrial.edc.services.queries import query_close, query_open
from mmtrial.edc.services.signatures import (
    CONFIRMATION_TEXT_VERSION,
    SESSION_SIGNER_KEY,
    SIGN_CONFIRMATION_REQUIRED,
    SIGN_IDENTITY_NOT_VERIFIED,
    SIGN_IMPERSONATION,
    SIGN_LOCKED_OUT,
    SIGN_MEANING_INVALID,
    SIGN_NOT_YOUR_USERNAME,
    SIGN_PASSWORD_REQUIRED,
    SIGN_USERNAME_REQUIRED,
    SIGN_WRONG_PASSWORD,
    SIGNATURE_MEANINGS,
    participant_content_sha256,
    participant_sign,
    signature_verify,
)
from mmtrial.errors import InputError, PermissionDenied, ProtocolViolation
from tests.edc.factories import make_participant, make_site, make_user
from tests.edc.trust_builders import (  # noqa: F401
    PASSWORD,
    fast_password_hashing,
    make_lab,
    make_verified_investigator,
    make_visit,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def signing():
    site = make_site("SG")
    participant = make_participant(site)
    lab = make_lab(participant)
    investigator = make_verified_investigator(site, username="dr.sato")
    investigator.full_name = "Sato Hanako"
    investigator.save(update_fields=["full_name"])
    return {"site": site, "participant": participant, "lab": lab, "investigator": investigator}


def _sign(signing, **overrides):
    args = dict(
        user=signing["investigator"],
        participant=signing["participant"],
        username="dr.sato",
        password=PASSWORD,
        meaning="Approval",
        confirm=True,
        session_state={},
    )
    args.update(overrides)
    return participant_sign(**args)


@pytest.mark.req("P11-50")
def test_a_signature_stores_name_utc_time_meaning_confirmation_and_content_hash(signing):
    with freeze_time("2027-03-01 09:30:00"):
        signature = _sign(signing)
    assert signature.printed_name == "Sato Hanako"
    assert signature.signed_at == dt.datetime(2027, 3, 1, 9, 30, tzinfo=dt.UTC)
    assert signature.meaning == "Approval"
    assert signature.confirmation_text_version == CONFIRMATION_TEXT_VERSION
    assert signature.content_sha256 == participant_content_sha256(signing["participant"])
    assert signature.status == SignatureStatus.VALID
    event = AuditEvent.objects.get(action="sign")
    assert event.object_pk == str(signature.pk)
    assert event.actor_id == signing["investigator"].pk
    assert event.changes["meaning"]["new"] == "Approval"
    assert event.context["confirmation_text_version"] == CONFIRMATION_TEXT_VERSION


@pytest.mark.req("P11-50")
def test_without_the_handwritten_equivalence_confirmation_nothing_is_signed(signing):
    with pytest.raises(InputError, match=re.escape(SIGN_CONFIRMATION_REQUIRED)):
        _sign(signing, confirm=False)
    assert not Signature.objects.exists()
    assert not AuditEvent.objects.filter(action="sign").exists()


def test_the_meaning_must_be_one_of_the_stated_meanings(signing):
    with pytest.raises(InputError) as raised:
        _sign(signing, meaning="whatever")
    assert raised.value.message == SIGN_MEANING_INVALID.format(
        choices=", ".join(SIGNATURE_MEANINGS)
    )


@pytest.mark.req("P11-200")
def test_first_signing_needs_both_components_later_ones_the_password_only(signing):
    session = {}
    with pytest.raises(InputError, match=SIGN_PASSWORD_REQUIRED):
        _sign(signing, password="", session_state=session)
    with pytest.raises(InputError, match=SIGN_USERNAME_REQUIRED):
        _sign(signing, username="", session_state=session)
    _sign(signing, session_state=session)
    assert session[SESSION_SIGNER_KEY] == signing["investigator"].pk
    second = _sign(signing, username="", session_state=session, meaning="Review")
    assert second.meaning == "Review"
    # After logout the session is empty again: the user name is needed again.
    with pytest.raises(InputError, match=SIGN_USERNAME_REQUIRED):
        _sign(signing, username="", session_state={})


@pytest.mark.req("P11-200")
def test_after_session_expiry_a_password_only_signing_is_rejected(signing, settings):
    with freeze_time("2027-03-01 09:00:00"):
        session = SessionStore()
        session.create()
        _sign(signing, session_state=session)
        session.save()
    with freeze_time("2027-03-01 09:10:00"):
        same = SessionStore(session_key=session.session_key)
        assert same.get(SESSION_SIGNER_KEY) == signing["investigator"].pk
        _sign(signing, username="", session_state=same)
        same.save()
    later = dt.timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)
    with freeze_time(dt.datetime(2027, 3, 1, 9, 10) + later):
        expired = SessionStore(session_key=session.session_key)
        with pytest.raises(InputError, match=SIGN_USERNAME_REQUIRED):
            _sign(signing, username="", session_state=expired)


@pytest.mark.req("P11-200a2")
def test_another_users_name_with_ones_own_password_is_rejected(signing):
    make_user(role="investigator", site=signing["site"], username="dr.tanaka")
    with pytest.raises(PermissionDenied, match=SIGN_NOT_YOUR_USERNAME):
        _sign(signing, username="dr.tanaka")
    assert not Signature.objects.exists()


@pytest.mark.req("P11-200a2")
def test_signing_while_impersonating_is_refused(signing):
    with pytest.raises(PermissionDenied, match=SIGN_IMPERSONATION):
        _sign(signing, session_state={"_hijack_history": ["1"]})


@pytest.mark.req("P11-200a2")
@pytest.mark.parametrize("role", ["coordinator", "monitor", "data_manager", "sponsor_admin"])
def test_roles_without_signing_authority_get_permission_denied(signing, role):
    user = make_user(role=role, site=signing["site"], username=f"u-{role}")
    user.identity_verified_by = signing["investigator"]
    user.save(update_fields=["identity_verified_by"])
    with pytest.raises(PermissionDenied):
        _sign(signing, user=user, username=user.username)


def test_an_investigator_of_another_site_cannot_sign(signing):
    other = make_verified_investigator(make_site("SX"), username="dr.other")
    with pytest.raises(PermissionDenied):
        _sign(signing, user=other, username="dr.other")


@pytest.mark.req("P11-100")
def test_signing_needs_identity_verified_by_someone_else(signing):
    investigator = signing["investigator"]
    investigator.identity_verified_by = None
    investigator.save(update_fields=["identity_verified_by"])
    with pytest.raises(PermissionDenied, match=SIGN_IDENTITY_NOT_VERIFIED[:40]):
        _sign(signing)
    investigator.identity_verified_by = investigator
    investigator.save(update_fields=["identity_verified_by"])
    with pytest.raises(PermissionDenied, match=SIGN_IDENTITY_NOT_VERIFIED[:40]):
        _sign(signing)


@pytest.mark.req("P11-200")
@pytest.mark.req("P11-300d")
def test_wrong_signing_passwords_count_toward_lockout(signing, settings):
    from axes.models import AccessAttempt

    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        with pytest.raises(PermissionDenied, match=SIGN_WRONG_PASSWORD):
            _sign(signing, password="wrong-password-1")
    attempts = AccessAttempt.objects.get(username="dr.sato")
    assert attempts.failures_since_start == settings.AXES_FAILURE_LIMIT - 1
    with pytest.raises(PermissionDenied, match=SIGN_LOCKED_OUT):
        _sign(signing, password="wrong-password-1")
    # Locked: even the right password is refused now.
    with pytest.raises(PermissionDenied, match=SIGN_LOCKED_OUT):
        _sign(signing)
    assert not Signature.objects.exists()


@pytest.mark.req("P11-10f")
def test_signing_is_refused_while_a_query_is_unresolved(signing):
    monitor = make_user(role="monitor", site=None)
    query = query_open(
        user=monitor,
        participant=signing["participant"],
        model="labresult",
        object_pk=signing["lab"].pk,
        text="check",
    )
    with pytest.raises(ProtocolViolation, match="1 unresolved query"):
        _sign(signing)
    assert not Signature.objects.exists()
    query_close(user=monitor, query=query, text="raised in error")
    assert _sign(signing).status == SignatureStatus.VALID


def test_the_content_hash_is_stable_and_covers_every_record(signing):
    participant = signing["participant"]
    first = participant_content_sha256(participant)
    assert participant_content_sha256(participant) == first
    visit = make_visit(participant)
    with_visit = participant_content_sha256(participant)
    assert with_visit != first
    participant_lock(
        user=make_user(role="data_manager", site=None),
        participant=participant,
        reason="data review complete",
    )
    assert participant_content_sha256(participant) == with_visit, "locking is not a data change"
    del visit


@pytest.mark.req("P11-70")
@pytest.mark.req("KF-5")
def test_an_audited_edit_or_delete_after_signing_invalidates_the_signature(signing):
    signature = _sign(signing)
    lab = record_update(
        signing["lab"], expected_version=1, values={"value": Decimal("44")}, reason="typo"
    )
    signature.refresh_from_db()
    assert signature.status == SignatureStatus.INVALIDATED
    assert "labresult" in signature.invalidated_reason
    assert (
        AuditEvent.objects.filter(
            action="signature_invalidated", object_pk=str(signature.pk)
        ).count()
        == 1
    )
    second = _sign(signing)
    record_soft_delete(lab, expected_version=lab.version, reason="duplicate")
    second.refresh_from_db()
    assert second.status == SignatureStatus.INVALIDATED


@pytest.mark.req("P11-70")
def test_verify_finds_no_mismatch_on_untouched_data_and_one_after_a_direct_sql_change(signing):
    signature = _sign(signing)
    assert signature_verify().ok
    assert signature_verify().checked == 1
    with connection.cursor() as cursor:
        cursor.execute("UPDATE edc_labresult SET value = 99 WHERE id = %s", [signing["lab"].pk])
    report = signature_verify()
    assert not report.ok
    assert [m.signature_id for m in report.mismatches] == [signature.pk]
    assert report.mismatches[0].current_sha256 != signature.content_sha256


@pytest.mark.req("KF-5")
@pytest.mark.req("P11-70")
def test_a_central_lab_import_voids_a_signature_like_any_other_change():
    from mmtrial.edc.lab_import import lab_import
    from tests.edc.builders import Study, started

    study = Study("SI")
    participant, _ = started(study)
    investigator = study.investigator
    investigator.set_password(PASSWORD)
    investigator.identity_verified_by = study.data_manager
    investigator.save()
    signature = participant_sign(
        user=investigator,
        participant=participant,
        username=investigator.username,
        password=PASSWORD,
        meaning="Approval",
        confirm=True,
        session_state={},
    )
    csv = (
        "subject_id,accession,collected_on,analyte,value,unit\n"
        f"{participant.subject_id},ACC-SIG-1,2027-02-08,serum_m_protein,1.1,g/dL\n"
    ).encode()
    lab_import(
        user=study.data_manager, data=csv, file_name="central.csv", today=dt.date(2027, 6, 1)
    )
    signature.refresh_from_db()
    assert signature.status == SignatureStatus.INVALIDATED
    assert "central.csv" in signature.invalidated_reason
    assert (
        AuditEvent.objects.filter(
            action="signature_invalidated", object_pk=str(signature.pk)
        ).count()
        == 1
    )
    assert signature_verify().ok, "an invalidated signature is no longer checked"


@pytest.mark.req("P11-100")
def test_a_signer_cannot_be_deleted_and_a_user_name_is_never_reused(signing):
    from django.db import transaction
    from django.db.models import ProtectedError

    from mmtrial.edc.services.users import (
        SELF_VERIFICATION,
        USERNAME_TAKEN,
        user_create,
        user_deactivate,
        user_verify_identity,
    )

    _sign(signing)
    with pytest.raises(ProtectedError), transaction.atomic():
        signing["investigator"].delete()
    admin = make_user(role="sponsor_admin", site=None)
    user_deactivate(actor=admin, user=signing["investigator"], reason="left the site")
    with pytest.raises(InputError) as raised:
        user_create(
            actor=admin,
            username="DR.SATO",
            full_name="Someone Else",
            password="long-enough-pass-77",
            role="investigator",
            site=signing["site"],
        )
    assert raised.value.message == USERNAME_TAKEN.format(username="DR.SATO")
    with pytest.raises(PermissionDenied, match=SELF_VERIFICATION):
        user_verify_identity(actor=admin, user=admin)
