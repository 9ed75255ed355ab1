"""Password policy (P11-300b) and the lockout on the password-change page (P11-300d, KF-2)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.utils import timezone

from mmtrial.edc.models import AuditEvent, PasswordHistory, SecurityPolicy
from mmtrial.edc.passwords import PASSWORD_REUSED
from mmtrial.edc.services.users import (
    PASSWORD_LOCKED_OUT,
    password_max_age_set,
    user_password_change,
    user_password_set,
)
from mmtrial.errors import InputError, PermissionDenied
from tests.web.conftest import PASSWORD

NEW = [f"fresh phrase number {n}" for n in range(1, 8)]


def _change(client, old: str, new: str):
    return client.post(
        "/password/", {"old_password": old, "new_password": new, "new_password_again": new}
    )


@pytest.mark.req("P11-300d")
def test_wrong_current_passwords_on_the_change_page_lock_the_account(client, users):
    client.force_login(users["coordinator"])
    for _ in range(4):
        response = _change(client, "not my password", NEW[0])
        assert response.status_code == 400
        assert "current password is not correct" in response.content.decode()
    fifth = _change(client, "not my password", NEW[0])
    assert fifth.status_code in (403, 429)
    assert "Account locked" in fifth.content.decode()
    # the session that guessed is ended, and the right password no longer logs in
    assert client.get("/").status_code == 302
    login = client.post("/login/", {"username": "coord_a", "password": PASSWORD})
    assert login.status_code in (403, 429)
    users["coordinator"].refresh_from_db()
    assert users["coordinator"].check_password(PASSWORD)  # unchanged
    failed = AuditEvent.objects.filter(action="login_failed", context__path="/password/")
    assert failed.count() == 5
    assert AuditEvent.objects.filter(action="lockout").count() == 1


def test_a_locked_account_cannot_change_its_password_with_the_right_one(users, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = users["coordinator"]
    user.set_password(PASSWORD)
    user.save(update_fields=["password"])
    for _ in range(5):
        with pytest.raises(PermissionDenied):
            user_password_change(user=user, old_password="wrong", new_password=NEW[0])
    with pytest.raises(PermissionDenied, match=PASSWORD_LOCKED_OUT):
        user_password_change(user=user, old_password=PASSWORD, new_password=NEW[0])


@pytest.mark.req("P11-300b")
def test_none_of_the_last_five_passwords_can_be_chosen_again(users, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = user_password_set(actor=_sponsor_admin(), user=users["data_manager"], password=NEW[0])
    for old, new in itertools.pairwise(NEW[:6]):  # five changes: NEW[0] -> ... -> NEW[5]
        user = user_password_change(user=user, old_password=old, new_password=new)
    assert PasswordHistory.objects.filter(user=user).count() == 6
    # the last five are NEW[1] (oldest) ... NEW[5] (current)
    for reused in NEW[1:5]:
        with pytest.raises(InputError) as refused:
            user_password_change(user=user, old_password=NEW[5], new_password=reused)
        assert PASSWORD_REUSED.format(count=5) in refused.value.message
    # the sixth back (in the history, but older than the last five) is allowed again
    user = user_password_change(user=user, old_password=NEW[5], new_password=NEW[0])
    assert user.check_password(NEW[0])


@pytest.mark.req("P11-300b")
def test_validate_password_refuses_common_similar_and_recent_passwords(users, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = users["monitor"]
    for weak in ("password123", "monitor2024"):
        with pytest.raises(ValidationError):
            validate_password(weak, user)
    user_password_set(actor=_sponsor_admin(), user=user, password=NEW[3])
    with pytest.raises(ValidationError) as refused:
        validate_password(NEW[3], user)
    assert [e.code for e in refused.value.error_list] == ["password_reused"]
    validate_password(NEW[4], user)  # a new one passes


def _sponsor_admin():
    from tests.web.conftest import make_user

    return make_user("sponsor", "sponsor_admin", None, full_name="Sachi Sponsor")


def test_the_change_page_names_a_recent_password_as_refused(client, users):
    user = user_password_change(
        user=users["coordinator"], old_password=PASSWORD, new_password=NEW[0]
    )
    client.force_login(user)
    assert _change(client, NEW[0], NEW[1]).status_code == 302
    response = _change(client, NEW[1], NEW[0])
    assert response.status_code == 400
    assert PASSWORD_REUSED.format(count=5) in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(NEW[1])


@pytest.mark.req("P11-300b")
def test_an_expired_password_must_be_changed_at_login(client, users):
    user = users["coordinator"]
    password_max_age_set(actor=_sponsor_admin(), days=90, reason="SOP-12: 90 days")
    assert SecurityPolicy.objects.get(pk=1).password_max_age_days == 90
    user.password_changed_at = timezone.now() - dt.timedelta(days=91)
    user.save(update_fields=["password_changed_at"])
    login = client.post("/login/", {"username": "coord_a", "password": PASSWORD})
    assert login.status_code == 302
    for url in ("/", "/participants/", "/queries/"):
        response = client.get(url)
        assert response.status_code == 302 and response.url == "/password/", url
    assert "Your password has expired" in client.get("/password/").content.decode()
    assert _change(client, PASSWORD, NEW[0]).status_code == 302
    assert client.get("/").status_code == 200
    user.refresh_from_db()
    assert timezone.now() - user.password_changed_at < dt.timedelta(minutes=1)


def test_a_password_younger_than_the_maximum_age_goes_straight_in(client, users):
    password_max_age_set(actor=_sponsor_admin(), days=90, reason="SOP-12: 90 days")
    user = users["coordinator"]
    user.password_changed_at = timezone.now() - dt.timedelta(days=89)
    user.save(update_fields=["password_changed_at"])
    assert client.post("/login/", {"username": "coord_a", "password": PASSWORD}).status_code == 302
    assert client.get("/").status_code == 200


def test_the_maximum_age_is_the_sponsor_admins_audited_setting(users):
    admin = _sponsor_admin()
    with pytest.raises(PermissionDenied):
        password_max_age_set(actor=users["data_manager"], days=30, reason="x")
    with pytest.raises(InputError):
        password_max_age_set(actor=admin, days=0, reason="x")
    with pytest.raises(InputError):
        password_max_age_set(actor=admin, days=30, reason="")
    password_max_age_set(actor=admin, days=30, reason="SOP")
    password_max_age_set(actor=admin, days=None, reason="SOP withdrawn")
    changes = list(
        AuditEvent.objects.filter(action="security_policy_change").values_list("changes", "reason")
    )
    assert changes == [
        ({"password_max_age_days": {"old": None, "new": 30}}, "SOP"),
        ({"password_max_age_days": {"old": 30, "new": None}}, "SOP withdrawn"),
    ]
