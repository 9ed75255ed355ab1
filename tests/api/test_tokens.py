"""API tokens: created and revoked by their owner (CLI and web page), stored hashed, with
expiry and scope; every write attributed to the token and its user; the lockout and a rate
limit per token."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.test import override_settings
from django.utils import timezone
from typer.testing import CliRunner

from mmtrial.cli import app
from mmtrial.edc.models import ApiToken, AuditEvent
from tests.api.conftest import Api
from tests.edc.factories import make_site, make_user
from tests.edc.trust_builders import fast_password_hashing  # noqa: F401

pytestmark = pytest.mark.django_db

PASSWORD = "own-chosen-pass-42"


@pytest.fixture(autouse=True)
def no_token_file(monkeypatch, tmp_path):
    monkeypatch.setenv("MMTRIAL_TOKEN_FILE", str(tmp_path / "no-token"))
    monkeypatch.delenv("MMTRIAL_USER", raising=False)


@pytest.fixture
def person():
    user = make_user(role="coordinator", site=make_site("JP01"), username="sato", password=PASSWORD)
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password_changed_at"])
    return user


def _cli(*args):
    result = CliRunner().invoke(
        app, [*args, "--by", "sato", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert "Traceback" not in result.output
    return result


def test_cli_creates_lists_and_revokes_a_token_stored_as_a_hash(client, person):
    created = _cli("token", "create", "--name", "nightly sync", "--scope", "read")
    assert created.exit_code == 0, created.output
    text = created.stdout.splitlines()[0]
    assert text.startswith("mmtrial-api-")
    token = ApiToken.objects.get()
    assert token.secret_sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert text not in str(list(ApiToken.objects.values()))
    assert token.scope == "read" and token.user == person
    assert Api(client, text).get("me").json()["username"] == "sato"

    listed = _cli("token", "list")
    assert f"{token.pk}\tnightly sync\tread" in listed.stdout and "active" in listed.stdout
    revoked = _cli("token", "revoke", str(token.pk))
    assert revoked.exit_code == 0, revoked.output
    assert Api(client, text).get("me").status_code == 401
    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert "api_token_create" in actions and "api_token_revoke" in actions


def test_cli_refuses_without_the_users_password(person):
    result = CliRunner().invoke(
        app, ["token", "create", "--name", "x", "--by", "sato", "--password-stdin"], input="no\n"
    )
    assert result.exit_code == 2
    assert not ApiToken.objects.exists()


def test_the_web_page_creates_shows_once_and_revokes(client, person):
    client.force_login(person)
    page = client.post("/tokens/", {"name": "R script", "scope": "read_write", "days": "30"})
    assert page.status_code == 200
    text = page.context["created"]
    assert text in page.content.decode()
    token = ApiToken.objects.get()
    assert token.expires_at.date() == (timezone.now() + dt.timedelta(days=30)).date()
    assert text not in client.get("/tokens/").content.decode()
    client.post(f"/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_an_expired_token_is_refused(client, person):
    from mmtrial.edc.api_tokens import api_token_create

    token, text = api_token_create(user=person, name="x", scope="read", days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert Api(client, text).get("me").status_code == 401


def test_wrong_secrets_count_toward_the_lockout_of_the_owner(client, person):
    from mmtrial.edc.api_tokens import api_token_create

    token, text = api_token_create(user=person, name="x", scope="read")
    wrong = f"mmtrial-api-{token.pk}-" + "A" * 43
    for _ in range(5):
        assert Api(client, wrong).get("me").status_code == 401
    refused = Api(client, text).get("me")
    assert refused.status_code == 401
    assert refused.json()["code"] == "api_token_locked"
    # the web login is locked too: one lockout for every door
    client.post("/login/", {"username": "sato", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="login_failed", context__via="api").count() >= 5


@override_settings(MMTRIAL_API_RATE_LIMIT_PER_MINUTE=3)
def test_a_token_over_its_rate_limit_gets_429(client, person):
    from django.core.cache import cache

    from mmtrial.edc.api_tokens import api_token_create

    cache.clear()
    _token, text = api_token_create(user=person, name="x", scope="read")
    api = Api(client, text)
    statuses = [api.get("me").status_code for _ in range(4)]
    limited = api.get("me")
    assert statuses[:3] == [200, 200, 200]
    assert limited.status_code == 429
    assert limited.json()["parameters"]["limit"] == 3
    assert int(limited["Retry-After"]) >= 1
