"""Who acts at the command line: a study user who authenticates (KF-3, KF-2, P11-300d).

Password on standard input, a token file only its owner may read, the shared lockout, and the
Django commands that would write around the audit trail.
"""

import datetime as dt
import getpass
import socket
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from typer.testing import CliRunner

from mmtrial.cli import app
from mmtrial.edc import audit_triggers
from mmtrial.edc.audit import audit_head_check
from mmtrial.edc.cli_auth import TOKEN_PREFIX
from mmtrial.edc.models import AuditEvent, CommandLineToken, SecurityPolicy, Site, User
from tests.edc.factories import make_site, make_user
from tests.edc.trust_builders import fast_password_hashing  # noqa: F401

pytestmark = pytest.mark.django_db

PASSWORD = "own-chosen-pass-42"


@pytest.fixture(autouse=True)
def no_token_of_the_person_running_the_tests(monkeypatch, tmp_path):
    monkeypatch.setenv("MMTRIAL_TOKEN_FILE", str(tmp_path / "default-token"))
    monkeypatch.delenv("MMTRIAL_USER", raising=False)


def _person(username: str, role: str, site=None) -> User:
    """A user who chose their own password: they may act at the command line."""
    user = make_user(role=role, site=site, username=username, password=PASSWORD)
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password_changed_at"])
    return user


@pytest.fixture
def admin():
    return _person("admin.sato", "sponsor_admin")


def _run(*args, input=None, env=None):
    result = CliRunner().invoke(app, list(args), input=input, env=env)
    assert "Traceback" not in result.output
    return result


def _with_password(*args, by="admin.sato", password=PASSWORD, env=None):
    return _run(*args, "--by", by, "--password-stdin", input=password + "\n", env=env)


def _token(tmp_path, by="admin.sato") -> Path:
    path = tmp_path / "cron" / "token"
    result = _with_password("user", "token", "create", "--file", str(path), by=by)
    assert result.exit_code == 0, result.output
    return path


# --- tokens ----------------------------------------------------------------------------


def test_a_token_is_written_0600_stored_as_a_hash_and_its_issue_audited(admin, tmp_path):
    path = _token(tmp_path)
    assert path.stat().st_mode & 0o777 == 0o600
    secret = path.read_text().strip()
    assert secret.startswith(TOKEN_PREFIX)
    token = CommandLineToken.objects.get(user=admin)
    assert token.os_account == getpass.getuser()
    assert secret not in token.secret_sha256 and len(token.secret_sha256) == 64
    assert token.expires_at.date() == (token.created_at + dt.timedelta(days=365)).date()
    event = AuditEvent.objects.get(action="cli_token_issue")
    assert (event.actor_id, event.context["auth"]) == (admin.pk, "password")
    assert event.context["os_account"] == getpass.getuser()


def test_a_token_authenticates_its_owner_without_a_password(admin, tmp_path):
    path = _token(tmp_path)
    result = _run("site", "add", "JP-21", "--name", "Sendai", env={"MMTRIAL_TOKEN_FILE": str(path)})
    assert result.exit_code == 0, result.output
    event = AuditEvent.objects.get(action="site_add")
    assert (event.actor_id, event.context["auth"], event.context["via"]) == (
        admin.pk,
        "token",
        "cli",
    )
    assert event.context["os_account"] == getpass.getuser()


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (lambda path, token: path.chmod(0o644), "can be read by other users"),
        (
            lambda path, token: CommandLineToken.objects.filter(pk=token.pk).update(
                revoked_at=timezone.now()
            ),
            "not a valid mmtrial token",
        ),
        (
            lambda path, token: CommandLineToken.objects.filter(pk=token.pk).update(
                os_account="someone-else"
            ),
            "issued to the operating-system account 'someone-else'",
        ),
        (
            lambda path, token: CommandLineToken.objects.filter(pk=token.pk).update(
                expires_at=timezone.now() - dt.timedelta(minutes=1)
            ),
            "expired on",
        ),
        (lambda path, token: path.write_text(TOKEN_PREFIX + "guessed\n"), "not a valid"),
        (
            lambda path, token: User.objects.filter(pk=token.user_id).update(is_active=False),
            "is deactivated",
        ),
    ],
)
def test_a_token_that_cannot_be_trusted_is_refused(admin, tmp_path, spoil, message):
    path = _token(tmp_path)
    spoil(path, CommandLineToken.objects.get(user=admin))
    before = AuditEvent.objects.count()
    result = _run("site", "add", "JP-22", "--name", "X", env={"MMTRIAL_TOKEN_FILE": str(path)})
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not Site.objects.filter(code="JP-22").exists()
    assert AuditEvent.objects.count() == before


def test_someone_elses_token_does_not_stand_in_for_the_user_named(admin, tmp_path):
    path = _token(tmp_path)
    _person("dm.ito", "data_manager")
    result = _run(
        "site", "add", "JP-23", "--name", "X", "--by", "dm.ito",
        env={"MMTRIAL_TOKEN_FILE": str(path)},
    )  # fmt: skip
    assert result.exit_code == 2
    assert "dm.ito must authenticate" in result.stderr


def test_a_revoked_token_is_audited_and_no_longer_works(admin, tmp_path):
    path = _token(tmp_path)
    result = _with_password("user", "token", "revoke", "--reason", "laptop lost")
    assert result.exit_code == 0, result.output
    event = AuditEvent.objects.get(action="cli_token_revoke")
    assert event.reason == "laptop lost" and event.actor_id == admin.pk
    refused = _run("site", "add", "JP-24", "--name", "X", env={"MMTRIAL_TOKEN_FILE": str(path)})
    assert refused.exit_code == 2 and "not a valid mmtrial token" in refused.stderr


# --- passwords and the lockout ---------------------------------------------------------


@pytest.mark.req("P11-300d")
def test_wrong_passwords_at_the_command_line_lock_the_account_everywhere(admin, client):
    for _ in range(5):
        wrong = _with_password("site", "add", "JP-25", "--name", "X", password="wrong-pass-1")
        assert wrong.exit_code == 2
    right = _with_password("site", "add", "JP-25", "--name", "X")
    assert right.exit_code == 2
    assert "locked after repeated wrong passwords" in right.stderr
    assert not Site.objects.filter(code="JP-25").exists()
    failed = AuditEvent.objects.filter(action="login_failed", context__via="cli")
    assert failed.count() == 6
    assert {e.context["os_account"] for e in failed} == {getpass.getuser()}
    assert AuditEvent.objects.filter(action="lockout").count() == 1
    # the same lockout holds on the web login (one counter for every way in)
    response = client.post("/login/", {"username": "admin.sato", "password": PASSWORD})
    assert response.status_code in (403, 429)


def test_a_password_set_by_an_administrator_or_expired_cannot_be_used(admin):
    admin.password_changed_at = None
    admin.save(update_fields=["password_changed_at"])
    result = _with_password("site", "add", "JP-26", "--name", "X")
    assert result.exit_code == 2 and "must first choose their own password" in result.stderr
    admin.password_changed_at = timezone.now() - dt.timedelta(days=91)
    admin.save(update_fields=["password_changed_at"])
    SecurityPolicy.objects.create(pk=1, password_max_age_days=90)
    result = _with_password("site", "add", "JP-26", "--name", "X")
    assert result.exit_code == 2 and "has expired" in result.stderr
    assert not Site.objects.filter(code="JP-26").exists()


@pytest.mark.req("P11-100")
def test_verify_identity_needs_the_verifier_to_authenticate(admin):
    site = make_site("JP-27")
    investigator = _person("dr.kudo", "investigator", site)
    refused = _run("user", "verify-identity", "dr.kudo", "--by", "admin.sato")
    assert refused.exit_code == 2
    investigator.refresh_from_db()
    assert investigator.identity_verified_by is None
    done = _with_password(
        "user", "verify-identity", "dr.kudo", "--evidence", "passport seen 2027-01-05"
    )
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == "identity of dr.kudo verified by admin.sato"
    investigator.refresh_from_db()
    assert investigator.identity_verified_by == admin
    event = AuditEvent.objects.get(action="identity_verified")
    assert (event.actor_id, event.context["os_account"]) == (admin.pk, getpass.getuser())


def test_the_sponsor_admin_sets_the_password_expiry_audited(admin):
    result = _with_password("security", "password-max-age", "90", "--reason", "SOP-12 rev 3")
    assert result.exit_code == 0, result.output
    assert SecurityPolicy.objects.get(pk=1).password_max_age_days == 90
    event = AuditEvent.objects.get(action="security_policy_change")
    assert event.changes == {"password_max_age_days": {"old": None, "new": 90}}
    assert (event.actor_id, event.reason) == (admin.pk, "SOP-12 rev 3")
    _person("crc.abe", "coordinator", make_site("JP-28"))
    refused = _with_password("security", "password-max-age", "none", "--reason", "x", by="crc.abe")
    assert refused.exit_code == 2
    assert SecurityPolicy.objects.get(pk=1).password_max_age_days == 90


# --- Django's commands that write around the audit trail; serving ----------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["createsuperuser", "--noinput", "--username", "root"], "mmtrial user add"),
        (["changepassword", "admin.sato"], "mmtrial user set-password"),
        (["loaddata", "dump.json"], "mmtrial restore"),
        (["flush", "--noinput"], "never deleted"),
        (["migrate", "edc", "0001"], "append-only triggers"),
        (["migrate", "edc", "zero"], "append-only triggers"),
    ],
)
def test_manage_refuses_what_would_write_around_the_audit_trail(admin, args, says):
    before = (User.objects.count(), AuditEvent.objects.count())
    result = _run("manage", *args)
    assert result.exit_code == 2
    assert says in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert (User.objects.count(), AuditEvent.objects.count()) == before
    assert audit_triggers.triggers_installed(connection)


_NEWEST = max(
    p.name[:4] for p in (Path(__file__).parents[2] / "src/mmtrial/edc/migrations").glob("0*.py")
)


def test_manage_lets_forward_migrations_and_a_backwards_plan_through():
    """Only what would unapply migrations is refused (called directly: Django's command would
    close the test's connection)."""
    from mmtrial.commands._guard import check_manage

    for args in (
        ["migrate"],
        ["migrate", "edc"],
        ["migrate", "edc", _NEWEST],  # the newest: nothing to unapply
        ["migrate", "edc", "0005", "--plan"],  # only shows the plan
        ["check", "--deploy"],
    ):
        assert check_manage(args) is None, args


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_refuses_to_start_without_the_audit_triggers(admin):
    assert audit_head_check() == ""
    audit_triggers.drop(connection)
    try:
        assert "triggers are missing" in audit_head_check()
        result = _run("serve", "--no-migrate", "--port", str(_free_port()))
    finally:
        audit_triggers.install(connection)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: not serving: the audit trail's append-only triggers")
    assert "mmtrial is running" not in result.stdout


def test_the_triggers_are_put_back_by_an_authenticated_sponsor_admin_audited(admin):
    audit_triggers.drop(connection)
    try:
        refused = _run("audit", "install-triggers", "--reason", "x")
        assert refused.exit_code == 2 and not audit_triggers.triggers_installed(connection)
        done = _with_password("audit", "install-triggers", "--reason", "dropped in INC-7")
        assert done.exit_code == 0, done.output
        assert audit_triggers.triggers_installed(connection)
    finally:
        if not audit_triggers.triggers_installed(connection):
            audit_triggers.install(connection)
    event = AuditEvent.objects.get(action="audit_triggers_install")
    assert (event.actor_id, event.reason) == (admin.pk, "dropped in INC-7")
    again = _with_password("audit", "install-triggers", "--reason", "again")
    assert again.exit_code == 2 and "in place already" in again.stderr
