"""The security log (E6 4.2.2(a)(i); 21 CFR 11.300(d); compliance KF-2, KF-8) and the admin."""

import datetime as dt

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core import mail
from django.db import connection
from freezegun import freeze_time

from mmtrial.edc import audit_triggers
from mmtrial.edc.audit import audit_actor, audit_verify
from mmtrial.edc.checks import audit_triggers_check
from mmtrial.edc.models import AuditEvent, Membership, User
from mmtrial.edc.security import session_expiry_sweep
from mmtrial.edc.selectors.audit import SECURITY_ACTIONS, security_log
from mmtrial.edc.services.signatures import participant_sign
from mmtrial.edc.services.users import (
    password_must_change,
    role_grant,
    role_revoke,
    user_create,
    user_password_change,
    user_password_set,
    user_unlock,
)
from mmtrial.errors import PermissionDenied
from tests.edc.factories import make_participant, make_site, make_user
from tests.edc.trust_builders import (  # noqa: F401
    PASSWORD,
    fast_password_hashing,
    make_verified_investigator,
)

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def staff():
    user = make_user(role="sponsor_admin", site=None, username="admin.kato")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def _events(action):
    return list(AuditEvent.objects.filter(action=action))


@pytest.mark.req("E6-4.2.2a-i")
@pytest.mark.req("KF-8")
def test_login_and_logout_each_write_one_event_with_user_and_source_ip(client, staff):
    response = client.post(
        LOGIN, {"username": "admin.kato", "password": PASSWORD}, REMOTE_ADDR="10.1.2.3"
    )
    assert response.status_code == 302
    client.post("/admin/logout/", REMOTE_ADDR="10.1.2.3")
    [login], [logout] = _events("login"), _events("logout")
    for event in (login, logout):
        assert event.actor_id == staff.pk
        assert event.context["source_ip"] == "10.1.2.3"
        assert event.context["via"] == "admin"
        assert event.occurred_at.tzinfo is not None
    assert login.id < logout.id


@pytest.mark.req("E6-4.2.2a-i")
def test_a_failed_login_writes_one_event_naming_the_attempted_user(client, staff):
    client.post(LOGIN, {"username": "admin.kato", "password": "nope"}, REMOTE_ADDR="10.9.9.9")
    [event] = _events("login_failed")
    assert event.actor_id is None
    assert event.actor_username == "admin.kato"
    assert event.object_pk == str(staff.pk)
    assert event.context["source_ip"] == "10.9.9.9"
    assert "password" not in str(event.context)  # never the password tried


@pytest.mark.req("P11-300d")
@pytest.mark.req("KF-2")
def test_repeated_login_failures_lock_the_account_until_an_admin_unlocks_it(
    client, staff, settings
):
    settings.ADMINS = [("Security", "security@example.org")]
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(LOGIN, {"username": "admin.kato", "password": "nope"})
    assert len(_events("lockout")) == 1
    assert any("locked" in m.subject for m in mail.outbox)
    # The right password is refused now, and a further attempt is no second lockout event.
    response = client.post(LOGIN, {"username": "admin.kato", "password": PASSWORD})
    assert response.status_code != 302 or "_auth_user_id" not in client.session
    assert len(_events("lockout")) == 1
    assert len(_events("login")) == 0
    # Only a logged administrator action unlocks.
    other_admin = make_user(role="sponsor_admin", site=None)
    user_unlock(actor=other_admin, user=staff, reason="identity confirmed by phone")
    assert len(_events("account_unlock")) == 1
    client.post(LOGIN, {"username": "admin.kato", "password": PASSWORD})
    assert len(_events("login")) == 1


@pytest.mark.req("KF-2")
def test_failed_signing_passwords_lock_the_web_login_too(client, settings):
    site = make_site("LS")
    investigator = make_verified_investigator(site, username="dr.abe")
    investigator.is_staff = True
    investigator.save(update_fields=["is_staff"])
    participant = make_participant(site)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        with pytest.raises(PermissionDenied):
            participant_sign(
                user=investigator,
                participant=participant,
                username="dr.abe",
                password="not-my-password",
                meaning="Approval",
                confirm=True,
                session_state={},
            )
    assert len(_events("esign_failed")) == settings.AXES_FAILURE_LIMIT
    assert len(_events("lockout")) == 1
    client.post(LOGIN, {"username": "dr.abe", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert len(_events("login")) == 0


@pytest.mark.req("E6-4.2.2a-i")
def test_account_management_writes_one_event_each():
    admin = make_user(role="sponsor_admin", site=None)
    site = make_site("SL")
    with audit_actor(admin, via="web", source_ip="192.0.2.7"):
        user = user_create(
            actor=admin,
            username="crc.ito",
            full_name="Ito Yui",
            password="long-enough-pass-77",
            role="coordinator",
            site=site,
        )
        role_grant(actor=admin, user=user, role="investigator", site=site)
        role_revoke(actor=admin, user=user, role="coordinator", site=site, reason="moved")
        user_password_set(actor=admin, user=user, password="another-long-pass-88")
    assert password_must_change(User.objects.get(pk=user.pk))
    user_password_change(
        user=user, old_password="another-long-pass-88", new_password="her-own-choice-99"
    )
    assert not password_must_change(User.objects.get(pk=user.pk))
    counts = {a: len(_events(a)) for a in SECURITY_ACTIONS}
    assert counts["user_create"] == 1
    assert counts["role_grant"] == 2  # at creation, then investigator
    assert counts["role_revoke"] == 1
    assert counts["password_set"] == 1
    assert counts["password_change"] == 1
    grant = _events("role_grant")[1]
    assert grant.actor_id == admin.pk
    assert grant.context["source_ip"] == "192.0.2.7"
    assert grant.site_code == "SL"
    assert _events("password_change")[0].actor_id == user.pk
    assert audit_verify().ok


@pytest.mark.req("KF-8")
def test_the_sweep_logs_each_expired_user_session_and_removes_it(staff, settings):
    from django.contrib.sessions.models import Session

    start = dt.datetime(2027, 5, 1, 8, 0, tzinfo=dt.UTC)
    with freeze_time(start):
        session = SessionStore()
        session["_auth_user_id"] = str(staff.pk)
        session.create()
        anonymous = SessionStore()
        anonymous.create()
    assert session_expiry_sweep(now=start + dt.timedelta(minutes=1)) == 0
    later = start + dt.timedelta(seconds=settings.SESSION_COOKIE_AGE + 1)
    assert session_expiry_sweep(now=later) == 1
    assert session_expiry_sweep(now=later) == 0
    [event] = _events("session_expired")
    assert event.actor_id == staff.pk
    assert not Session.objects.filter(session_key=session.session_key).exists()


def test_the_security_log_is_for_all_site_auditors_only(staff):
    coordinator = make_user(role="coordinator", site=make_site())
    with pytest.raises(PermissionDenied):
        security_log(user=coordinator)
    user_unlock(actor=staff, user=coordinator, reason="x")
    assert [e.action for e in security_log(user=staff)] == ["account_unlock"]


@pytest.mark.req("E6-4.2.2b")
def test_the_admin_refuses_to_add_change_or_delete_audit_events_even_for_a_superuser(client):
    superuser = User.objects.create_superuser("root.admin", "r@example.org", PASSWORD)
    client.force_login(superuser)
    participant = make_participant(make_site("AD"))
    event = AuditEvent.objects.filter(object_pk=str(participant.pk)).first()
    base = "/admin/edc/auditevent/"
    assert client.get(base).status_code == 200
    assert client.get(f"{base}{event.pk}/change/").status_code == 200  # read-only view
    assert client.post(f"{base}{event.pk}/change/", {"reason": "x"}).status_code == 403
    assert client.get(f"{base}{event.pk}/delete/").status_code == 403
    assert client.post(f"{base}{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get(f"{base}add/").status_code == 403
    event.refresh_from_db()
    assert event.reason == ""


@pytest.mark.req("E6-4.2.2a-i")
def test_role_changes_and_password_sets_in_the_admin_are_logged(client):
    superuser = User.objects.create_superuser("root.admin", "r@example.org", PASSWORD)
    client.force_login(superuser)
    site = make_site("AM")
    user = make_user(role="coordinator", site=site, username="crc.mori")
    membership = Membership.objects.get(user=user)
    url = f"/admin/edc/user/{user.pk}/change/"
    form = {
        "full_name": "Mori Ken",
        "email": "",
        "preferred_language": "en",
        "is_active": "on",
        "memberships-TOTAL_FORMS": "2",
        "memberships-INITIAL_FORMS": "1",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        "memberships-0-id": str(membership.pk),
        "memberships-0-user": str(user.pk),
        "memberships-0-site": str(site.pk),
        "memberships-0-role": "coordinator",
        "memberships-1-user": str(user.pk),
        "memberships-1-site": str(site.pk),
        "memberships-1-role": "investigator",
        "memberships-1-active": "on",
    }
    response = client.post(url, form, REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 302, response.content[:2000]
    actions = [e.action for e in AuditEvent.objects.filter(model="user", object_pk=str(user.pk))]
    assert actions.count("role_grant") == 1
    assert actions.count("role_revoke") == 1  # memberships-0 was deactivated
    assert actions.count("user_update") == 1  # full name
    revoke = AuditEvent.objects.get(action="role_revoke")
    assert revoke.actor_id == superuser.pk
    assert revoke.context["source_ip"] == "198.51.100.4"

    response = client.post(
        f"/admin/edc/user/{user.pk}/password/",
        {"password1": "set-by-admin-long-1", "password2": "set-by-admin-long-1"},
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="password_set", object_pk=str(user.pk)).count() == 1
    assert password_must_change(User.objects.get(pk=user.pk))
    # Users cannot be deleted in the admin.
    assert client.get(f"/admin/edc/user/{user.pk}/delete/").status_code == 403


def test_system_check_e001_reports_missing_audit_triggers():
    assert audit_triggers_check() == []
    audit_triggers.drop(connection)
    try:
        errors = audit_triggers_check()
    finally:
        audit_triggers.install(connection)
    assert [e.id for e in errors] == ["mmtrial.E001"]


@pytest.mark.req("E6-4.3.8b-site")
def test_the_audit_changelist_of_a_site_user_shows_only_their_site(client):
    from django.contrib.auth.models import Permission

    site_a, site_b = make_site("VA"), make_site("VB")
    make_participant(site_a, screening_number="SCR-VA1")
    make_participant(site_b, screening_number="SCR-VB1")
    viewer = make_user(role="monitor", site=site_a, username="cra.site.a")
    viewer.is_staff = True
    viewer.save(update_fields=["is_staff"])
    viewer.user_permissions.add(Permission.objects.get(codename="view_auditevent"))
    client.force_login(viewer)
    response = client.get("/admin/edc/auditevent/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "SCR-VA1" in body
    assert "SCR-VB1" not in body
    assert {e.site_code for e in response.context["cl"].result_list} == {"VA"}
    searched = client.get("/admin/edc/auditevent/?q=SCR-VB1")
    assert searched.context["cl"].result_count == 0
