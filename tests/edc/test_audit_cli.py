"""`mmtrial audit verify`, `site add`, `user add`, `signature verify` (tamper evidence, E6 4.2.2(b))."""

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError
from typer.testing import CliRunner

from mmtrial.cli import app
from mmtrial.edc import audit_triggers
from mmtrial.edc.models import AuditEvent, Membership, Site, User
from mmtrial.edc.services.users import password_must_change
from tests.edc.factories import make_participant, make_site
from tests.edc.trust_builders import fast_password_hashing, make_lab  # noqa: F401

pytestmark = pytest.mark.django_db


def _run(*args, env=None):
    result = CliRunner().invoke(app, list(args), env=env)
    assert "Traceback" not in result.output
    return result


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


def test_site_add_and_user_add_create_audited_records_as_the_operator():
    result = _run("site", "add", "jp-07", "--name", "Osaka Center", "--timezone", "Asia/Tokyo")
    assert result.exit_code == 0, result.output
    site = Site.objects.get(code="JP-07")
    result = _run(
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
    actions = list(AuditEvent.objects.values_list("action", "actor_username"))
    assert [a for a, _ in actions] == ["site_add", "user_create", "role_grant"]
    assert all(name.startswith("operator:") for _, name in actions)


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
def test_bad_input_is_one_line_on_stderr_and_exit_2(args, field):
    result = _run(*args, env={"MMTRIAL_NEW_PASSWORD": ""})
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert field.lower() in lines[0].lower()
    assert not AuditEvent.objects.exists()


def test_a_reused_user_name_in_another_case_is_refused():
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
    assert _run("user", "add", "jsmith", *args).exit_code == 0
    result = _run("user", "add", "JSmith", *args)
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
