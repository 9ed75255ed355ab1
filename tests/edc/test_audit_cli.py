"""`mmtrial audit verify`, `site add`, `user add`, `signature verify` (tamper evidence, E6 4.2.2(b))."""

import getpass

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone
from typer.testing import CliRunner

from mmtrial.cli import app
from mmtrial.edc import audit_triggers
from mmtrial.edc.models import AuditEvent, Membership, Site, User
from mmtrial.edc.services.users import password_must_change
from tests.edc.factories import make_participant, make_site, make_user
from tests.edc.trust_builders import fast_password_hashing, make_lab  # noqa: F401

pytestmark = pytest.mark.django_db


ADMIN = "admin.kato"
ADMIN_PASSWORD = "admin-pass-long-77"


@pytest.fixture
def admin(db):
    """A sponsor administrator who chose their own password (so may act at the command line)."""
    user = make_user(role="sponsor_admin", site=None, username=ADMIN, password=ADMIN_PASSWORD)
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password_changed_at"])
    return user


def _run(*args, env=None, input=None):
    result = CliRunner().invoke(app, list(args), env=env, input=input)
    assert "Traceback" not in result.output
    return result


def _as_admin(*args, env=None):
    """The command run by the administrator, authenticated with --password-stdin."""
    return _run(*args, "--by", ADMIN, "--password-stdin", env=env, input=ADMIN_PASSWORD + "\n")


def _tamper(sql, params):
    audit_triggers.drop(connection)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    finally:
        audit_triggers.install(connection)


def test_verify_reports_the_number_of_events_and_an_intact_chain():
    make_participant(make_site("CL"))
    result = _run("audit", "verify")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"{AuditEvent.objects.count()} events, chain intact"


@pytest.mark.req("E6-4.2.2b")
def test_direct_sql_update_and_delete_of_audit_rows_fail():
    make_participant(make_site("CU"))
    for statement in (
        f"UPDATE {audit_triggers.TABLE} SET reason = 'rewritten'",
        f"DELETE FROM {audit_triggers.TABLE}",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert _run("audit", "verify").exit_code == 0


@pytest.mark.req("E6-4.2.2b")
def test_with_the_trigger_dropped_a_modified_event_is_named_by_verify():
    participant = make_participant(make_site("CT"))
    make_lab(participant)
    make_lab(participant, analyte="AST")
    target = AuditEvent.objects.order_by("id")[1]
    _tamper(
        f"UPDATE {audit_triggers.TABLE} SET changes = %s WHERE id = %s",
        ['{"value": {"old": null, "new": "4"}}', target.id],
    )
    result = _run("audit", "verify")
    assert result.exit_code == 1
    assert f"event {target.id}" in result.stderr
    assert "changed after it was written" in result.stderr


def test_with_the_trigger_dropped_a_deleted_event_is_named_by_verify():
    participant = make_participant(make_site("CD"))
    make_lab(participant)
    make_lab(participant, analyte="AST")
    target = AuditEvent.objects.order_by("id")[1]
    _tamper(f"DELETE FROM {audit_triggers.TABLE} WHERE id = %s", [target.id])
    result = _run("audit", "verify")
    assert result.exit_code == 1
    assert f"event {target.id}" in result.stderr


def test_verify_fails_when_the_triggers_are_missing_even_if_the_chain_holds():
    make_participant(make_site("CM"))
    audit_triggers.drop(connection)
    try:
        result = _run("audit", "verify")
    finally:
        audit_triggers.install(connection)
    assert result.exit_code == 1
    assert "triggers are missing" in result.stderr


def test_the_first_account_then_site_add_and_user_add_are_audited_with_the_os_account():
    os_login = getpass.getuser()
    result = _run(
        "user",
        "add",
        ADMIN,
        "--sponsor-admin",
        "--full-name",
        "Kato Ken",
        env={"MMTRIAL_NEW_PASSWORD": ADMIN_PASSWORD},
    )
    assert result.exit_code == 0, result.output
    admin = User.objects.get(username=ADMIN)
    assert not password_must_change(admin)  # chosen by the person at the shell
    assert Membership.objects.get(user=admin).role == "sponsor_admin"
    result = _as_admin("site", "add", "jp-07", "--name", "Osaka Center", "--timezone", "Asia/Tokyo")
    assert result.exit_code == 0, result.output
    site = Site.objects.get(code="JP-07")
    result = _as_admin(
        "user",
        "add",
        "dr.kimura",
        "--role",
        "investigator",
        "--site",
        "JP-07",
        "--full-name",
        "Kimura Taro",
        env={"MMTRIAL_NEW_PASSWORD": "long-enough-pass-77"},
    )
    assert result.exit_code == 0, result.output
    user = User.objects.get(username="dr.kimura")
    assert user.check_password("long-enough-pass-77")
    assert password_must_change(user)
    assert Membership.objects.get(user=user).site == site
    events = list(AuditEvent.objects.order_by("id"))
    assert [(e.action, e.actor_username) for e in events] == [
        ("user_create", f"operator:{os_login}"),
        ("role_grant", f"operator:{os_login}"),
        ("site_add", ADMIN),
        ("user_create", ADMIN),
        ("role_grant", ADMIN),
    ]
    assert events[0].context["bootstrap"] is True and events[0].actor_id is None
    assert {e.context["os_account"] for e in events} == {os_login}
    assert [e.context["auth"] for e in events] == ["bootstrap"] * 2 + ["password"] * 3
    assert {e.context["via"] for e in events} == {"cli"}
    assert {e.actor_id for e in events[2:]} == {admin.pk}


def test_a_write_without_authentication_is_refused_and_writes_nothing(admin):
    make_site("JP-08")
    before = AuditEvent.objects.count()
    for args in (
        ["site", "add", "JP-09", "--name", "x"],  # nobody named
        ["site", "add", "JP-09", "--name", "x", "--by", ADMIN],  # named, no password
    ):
        result = _run(*args, env={"MMTRIAL_USER": ""})
        assert result.exit_code == 2, result.output
        assert len(result.stderr.strip().splitlines()) == 1
        assert result.stderr.startswith("error: --by:")
    wrong = _run(
        "site", "add", "JP-09", "--name", "x", "--by", ADMIN, "--password-stdin", input="nope\n"
    )
    assert wrong.exit_code == 2
    assert "password for 'admin.kato' is not right" in wrong.stderr
    assert not Site.objects.filter(code="JP-09").exists()
    # the wrong password is a failed login in the security log, and nothing else was written
    assert list(AuditEvent.objects.filter(id__gt=before).values_list("action", flat=True)) == [
        "login_failed"
    ]


def test_the_bootstrap_is_refused_once_an_account_exists(admin):
    result = _run(
        "user",
        "add",
        "intruder",
        "--sponsor-admin",
        "--full-name",
        "I",
        env={"MMTRIAL_NEW_PASSWORD": "long-enough-pass-77", "MMTRIAL_USER": ""},
    )
    assert result.exit_code == 2
    assert "error: --by:" in result.stderr
    assert not User.objects.filter(username="intruder").exists()


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["site", "add", "BAD CODE!", "--name", "x"], "Site code"),
        (["site", "add", "JP-09", "--name", "x", "--timezone", "Nowhere/City"], "time zone"),
        (["user", "add", "a", "--role", "wizard", "--all-sites", "--full-name", "A"], "role"),
        (["user", "add", "a", "--role", "monitor", "--full-name", "A"], "--site"),
        (
            ["user", "add", "a", "--role", "monitor", "--all-sites", "--full-name", "A"],
            "--password",
        ),
        (
            [
                "user",
                "add",
                "a",
                "--role",
                "monitor",
                "--all-sites",
                "--full-name",
                "A",
                "--password",
                "short",
            ],
            "password",
        ),
        (
            [
                "user",
                "add",
                "a",
                "--role",
                "monitor",
                "--site",
                "NOPE",
                "--full-name",
                "A",
                "--password",
                "long-enough-pass-77",
            ],
            "site",
        ),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_2(admin, args, field):
    result = _as_admin(*args, env={"MMTRIAL_NEW_PASSWORD": ""})
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert field.lower() in lines[0].lower()
    assert not AuditEvent.objects.exists()


def test_a_reused_user_name_in_another_case_is_refused(admin):
    make_site("JP-01")
    args = [
        "--role",
        "monitor",
        "--all-sites",
        "--full-name",
        "J",
        "--password",
        "long-enough-pass-77",
    ]
    assert _as_admin("user", "add", "jsmith", *args).exit_code == 0
    result = _as_admin("user", "add", "JSmith", *args)
    assert result.exit_code == 2
    assert "taken" in result.stderr


def test_signature_verify_exits_1_after_a_direct_sql_change():
    from mmtrial.edc.services.signatures import participant_sign
    from tests.edc.trust_builders import PASSWORD, make_verified_investigator

    site = make_site("SV")
    participant = make_participant(site)
    lab = make_lab(participant)
    investigator = make_verified_investigator(site, username="dr.sv")
    participant_sign(
        user=investigator,
        participant=participant,
        username="dr.sv",
        password=PASSWORD,
        meaning="Approval",
        confirm=True,
        session_state={},
    )
    assert _run("signature", "verify").exit_code == 0
    with connection.cursor() as cursor:
        cursor.execute("UPDATE edc_labresult SET unit = 'IU/L' WHERE id = %s", [lab.pk])
    result = _run("signature", "verify")
    assert result.exit_code == 1
    assert participant.screening_number in result.stderr
