"""`mmtrial site|user|audit|signature|security ...`: administration from the server's shell.

Every command that writes names the study user who acts (`--by`) and authenticates them
(commands._auth: token file, `--password-stdin` or a prompt); the audit events record that user
and the operating-system account. The one exception is the first account of an empty database
(`user add --sponsor-admin`, audited as a bootstrap). `audit verify`, `audit anchor`,
`signature verify` and `security sweep-sessions` change no one's data and need no user.
`audit verify` and `signature verify` exit 0 when everything holds, 1 naming the first problem,
2 on bad input.
"""

from __future__ import annotations

import os
import sys

import typer

from mmtrial.commands._auth import USER_ENV, by_option, password_stdin_option
from mmtrial.commands._io import fail

PASSWORD_ENV = "MMTRIAL_NEW_PASSWORD"
EXIT_FINDING = 1

site_app = typer.Typer(help="Study sites.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts and their roles.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
signature_app = typer.Typer(help="Electronic signatures.", no_args_is_help=True)
security_app = typer.Typer(help="Sessions and the security log.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(site_app, name="site")
    root.add_typer(user_app, name="user")
    root.add_typer(audit_app, name="audit")
    root.add_typer(signature_app, name="signature")
    root.add_typer(security_app, name="security")


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmtrial.settings")
    import django

    django.setup()


def _run(action, *, by: str | None = None, password_stdin: bool = False, option="--by"):
    """Run `action(user)` as the authenticated study user named by `by` (see commands._auth);
    user errors and a missing database are one line, exit 2."""
    _django()
    from django.db import DatabaseError

    from mmtrial.commands._auth import acting_as
    from mmtrial.errors import MmtrialError

    try:
        with acting_as(by, password_stdin=password_stdin, option=option) as user:
            return action(user)
    except MmtrialError as exc:
        fail(exc.message)
    except DatabaseError as exc:
        _database_failed(exc)


def _run_unattended(action):
    """Run a command that writes no one's data (verify, sweep) as the server's operator."""
    _django()
    from django.db import DatabaseError

    from mmtrial.edc.audit import audit_actor
    from mmtrial.edc.cli_auth import os_account
    from mmtrial.edc.services._acting import SYSTEM_OPERATOR
    from mmtrial.errors import MmtrialError

    try:
        with audit_actor(None, via="cli", os_account=os_account()):
            return action(SYSTEM_OPERATOR)
    except MmtrialError as exc:
        fail(exc.message)
    except DatabaseError as exc:
        _database_failed(exc)


def _database_failed(exc) -> None:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    fail(f"database: {first_line} (is it set up? run `mmtrial manage migrate`)")


def _site_or_all(site: str | None, all_sites: bool):
    from mmtrial.edc.services.sites import site_get_by_code

    if bool(site) == bool(all_sites):
        fail("--site: give either --site CODE or --all-sites")
    return site_get_by_code(code=site) if site else None


def _new_password(password: str | None) -> str:
    if password:
        return password
    if os.environ.get(PASSWORD_ENV):
        return os.environ[PASSWORD_ENV]
    if not sys.stdin.isatty():
        fail(f"--password: give --password, set ${PASSWORD_ENV}, or run in a terminal to be asked")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


BY = by_option()
PASSWORD_STDIN = password_stdin_option()


@site_app.command("add")
def site_add_cmd(
    code: str = typer.Argument(..., help="Site code, e.g. JP-01."),
    name: str = typer.Option(..., "--name", help="Site name."),
    timezone: str = typer.Option("Asia/Tokyo", "--timezone", help="IANA time zone."),
    name_ja: str = typer.Option("", "--name-ja", help="Site name in Japanese."),
    by: str = BY,
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Add a study site (a sponsor administrator, authenticated)."""
    _django()
    from mmtrial.edc.services.sites import site_add

    site = _run(
        lambda op: site_add(actor=op, code=code, name=name, timezone=timezone, name_ja=name_ja),
        by=by,
        password_stdin=password_stdin,
    )
    typer.echo(f"site {site.code} added: {site.name} ({site.timezone})")


@user_app.command("add")
def user_add_cmd(
    username: str = typer.Argument(..., help="User name (unique whatever its case)."),
    role: str = typer.Option(None, "--role", help="coordinator, investigator, monitor, ..."),
    sponsor_admin: bool = typer.Option(
        False,
        "--sponsor-admin",
        help="A sponsor administrator for every site (the first account of a new database).",
    ),
    site: str = typer.Option(None, "--site", help="Site code where the role applies."),
    all_sites: bool = typer.Option(False, "--all-sites", help="The role applies at every site."),
    full_name: str = typer.Option(..., "--full-name", help="Printed name on signatures."),
    email: str = typer.Option("", "--email"),
    password: str = typer.Option(
        None, "--password", help=f"Initial password (else ${PASSWORD_ENV}, else asked)."
    ),
    by: str = BY,
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Create an account with one role; the user must change the password at first login.

    On a database without any account, `--sponsor-admin` creates the first one without --by
    (audited as the bootstrap by your operating-system account); it is yours, with your password.
    """
    _django()
    from mmtrial.edc.models.people import Role
    from mmtrial.edc.services.users import user_create

    if sponsor_admin:
        if role or site or all_sites:
            fail("--sponsor-admin: it is the sponsor_admin role at all sites; drop --role/--site")
        role, all_sites = Role.SPONSOR_ADMIN.value, True
    elif not role:
        fail("--role: give the role (or --sponsor-admin)")
    if role not in Role.values:
        fail(f"--role: unknown role {role!r}; choose one of: {', '.join(Role.values)}")
    if bool(site) == bool(all_sites):
        fail("--site: give either --site CODE or --all-sites")
    if sponsor_admin and not (by or os.environ.get(USER_ENV)) and _no_accounts_yet():
        user = _bootstrap(username, full_name, email, password)
        typer.echo(
            f"user {user.username} added: sponsor_admin at all sites (first account, "
            "bootstrapped by the operating-system account)"
        )
        return
    new_password = _new_password(password)

    def action(op):
        return user_create(
            actor=op,
            username=username,
            full_name=full_name,
            password=new_password,
            role=role,
            site=_site_or_all(site, all_sites),
            email=email,
        )

    user = _run(action, by=by, password_stdin=password_stdin)
    where = f"site {site.upper()}" if site else "all sites"
    typer.echo(f"user {user.username} added: {role} at {where}; password must be changed")


def _no_accounts_yet() -> bool:
    from django.db import DatabaseError

    from mmtrial.edc.models import User

    try:
        return not User.objects.exists()
    except DatabaseError as exc:
        _database_failed(exc)


def _bootstrap(username: str, full_name: str, email: str, password: str | None):
    from django.db import DatabaseError

    from mmtrial.edc.cli_auth import os_account
    from mmtrial.edc.services.users import user_bootstrap_sponsor_admin
    from mmtrial.errors import MmtrialError

    try:
        return user_bootstrap_sponsor_admin(
            username=username,
            full_name=full_name,
            email=email,
            password=_new_password(password),
            os_account=os_account(),
        )
    except MmtrialError as exc:
        fail(exc.message)
    except DatabaseError as exc:
        _database_failed(exc)


def _role_change(grant: bool, username, role, site, all_sites, reason, by, password_stdin) -> None:
    from mmtrial.edc.services.users import role_grant, role_revoke, user_get_by_username

    service = role_grant if grant else role_revoke

    def action(op):
        user = user_get_by_username(username=username)
        where = _site_or_all(site, all_sites)
        return service(actor=op, user=user, role=role, site=where, reason=reason)

    _run(action, by=by, password_stdin=password_stdin)
    verb = "granted to" if grant else "revoked from"
    typer.echo(f"role {role} {verb} {username} at {site.upper() if site else 'all sites'}")


@user_app.command("grant")
def user_grant_cmd(
    username: str = typer.Argument(...),
    role: str = typer.Option(..., "--role"),
    site: str = typer.Option(None, "--site"),
    all_sites: bool = typer.Option(False, "--all-sites"),
    reason: str = typer.Option("", "--reason"),
    by: str = BY,
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Give a user a role at a site (or at all sites)."""
    _django()
    _role_change(True, username, role, site, all_sites, reason, by, password_stdin)


@user_app.command("revoke")
def user_revoke_cmd(
    username: str = typer.Argument(...),
    role: str = typer.Option(..., "--role"),
    site: str = typer.Option(None, "--site"),
    all_sites: bool = typer.Option(False, "--all-sites"),
    reason: str = typer.Option("", "--reason"),
    by: str = BY,
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Take a role away (effective on the user's next request)."""
    _django()
    _role_change(False, username, role, site, all_sites, reason, by, password_stdin)


@user_app.command("deactivate")
def user_deactivate_cmd(
    username: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit trail)."),
    by: str = BY,
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Deactivate an account (accounts are never deleted or renamed)."""
    _django()
    from mmtrial.edc.services.users import user_deactivate, user_get_by_username

    _run(
        lambda op: user_deactivate(
            actor=op, user=user_get_by_username(username=username), reason=reason
        ),
        by=by,
        password_stdin=password_stdin,
    )
    typer.echo(f"user {username} deactivated")


@user_app.command("verify-identity")
def user_verify_identity_cmd(
    username: str = typer.Argument(..., help="Whose identity was verified."),
    by: str = typer.Option(
        None, "--by", help="The administrator who verified it; they authenticate."
    ),
    evidence: str = typer.Option("", "--evidence", help="How, e.g. 'passport seen 2027-01-05'."),
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Record that an administrator verified a user's identity (needed before signing)."""
    _django()
    from mmtrial.edc.services.users import user_get_by_username, user_verify_identity

    verifier = _run(
        lambda op: (
            user_verify_identity(
                actor=op, user=user_get_by_username(username=username), evidence=evidence
            ).identity_verified_by
        ),
        by=by,
        password_stdin=password_stdin,
    )
    typer.echo(f"identity of {username} verified by {verifier.username}")


@user_app.command("unlock")
def user_unlock_cmd(
    username: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason"),
    by: str = BY,
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Unlock an account locked after repeated failed passwords."""
    _django()
    from mmtrial.edc.services.users import user_get_by_username, user_unlock

    _run(
        lambda op: user_unlock(
            actor=op, user=user_get_by_username(username=username), reason=reason
        ),
        by=by,
        password_stdin=password_stdin,
    )
    typer.echo(f"user {username} unlocked")


@user_app.command("set-password")
def user_set_password_cmd(
    username: str = typer.Argument(...),
    password: str = typer.Option(None, "--password"),
    by: str = BY,
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Set a user's password (logged; the user must change it at next login)."""
    _django()
    from mmtrial.edc.services.users import user_get_by_username, user_password_set

    new_password = _new_password(password)

    def action(op):
        user = user_get_by_username(username=username)
        return user_password_set(actor=op, user=user, password=new_password)

    _run(action, by=by, password_stdin=password_stdin)
    typer.echo(f"password of {username} set; it must be changed at next login")


token_app = typer.Typer(
    help="Command-line tokens: authenticate scheduled jobs without a password prompt.",
    no_args_is_help=True,
)
user_app.add_typer(token_app, name="token")


@token_app.command("create")
def token_create_cmd(
    by: str = BY,
    file: str = typer.Option(
        None,
        "--file",
        help="Where to write it (default $MMTRIAL_TOKEN_FILE, else ~/.config/mmtrial/token).",
    ),
    days: int = typer.Option(365, "--days", help="How long it is valid."),
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Issue yourself a token for this operating-system account (needs your password)."""
    _django()
    from pathlib import Path

    from mmtrial.commands._auth import USER_ENV, _password
    from mmtrial.edc.cli_auth import (
        cli_authenticate_password,
        cli_token_issue,
        default_token_path,
    )

    name = (by or os.environ.get(USER_ENV) or "").strip()
    if not name:
        fail("--by: name the study user the token is for (yourself)")
    path = Path(file).expanduser() if file else default_token_path()

    def action(op):
        user = cli_authenticate_password(
            username=name, password=_password(name, password_stdin=password_stdin, option="--by")
        )
        with _acting_cli(user, "password"):
            return cli_token_issue(user=user, path=path, days=days)

    token = _run_unattended(action)
    typer.echo(
        f"token for {token.user.username} written to {path} (mode 0600, operating-system "
        f"account {token.os_account}); valid until {token.expires_at.date().isoformat()}"
    )


def _acting_cli(user, method: str):
    from mmtrial.edc.audit import audit_actor
    from mmtrial.edc.cli_auth import os_account

    return audit_actor(user, via="cli", os_account=os_account(), auth=method)


@token_app.command("revoke")
def token_revoke_cmd(
    username: str = typer.Argument(None, help="Whose tokens (default: your own)."),
    reason: str = typer.Option("", "--reason"),
    by: str = BY,
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Revoke every active command-line token of a user (yours, or any as sponsor admin)."""
    _django()
    from mmtrial.edc.cli_auth import cli_token_revoke
    from mmtrial.edc.services.users import user_get_by_username

    def action(op):
        target = user_get_by_username(username=username) if username else op
        return target, cli_token_revoke(actor=op, user=target, reason=reason)

    target, count = _run(action, by=by, password_stdin=password_stdin)
    typer.echo(f"{count} token(s) of {target.username} revoked")


@audit_app.command("verify")
def audit_verify_cmd(
    anchor: list[str] = typer.Option(
        None, "--anchor", help="A file of anchors (mmtrial audit anchor --append); repeatable."
    ),
) -> None:
    """Walk the hash chain and check the append-only triggers; name the first broken event.

    With --anchor, the chain must still hold every anchor; with an audit key configured
    ($MMTRIAL_AUDIT_KEY or $MMTRIAL_AUDIT_KEY_FILE), the head's seal must match it.
    """
    _django()
    from django.db import connection

    from mmtrial.edc import audit_triggers
    from mmtrial.edc.audit import audit_verify
    from mmtrial.edc.audit_seal import anchors_read

    def action(op):
        anchors = [a for path in anchor or [] for a in anchors_read(path)]
        return audit_verify(anchors=anchors)

    report = _run_unattended(action)
    if not report.ok:
        typer.echo(f"error: {chain_problem(report)}", err=True)
        raise typer.Exit(EXIT_FINDING)
    if not audit_triggers.triggers_installed(connection):
        typer.echo(
            f"error: {report.events_checked} events, chain intact, but the append-only "
            "triggers are missing (see system check mmtrial.E001)",
            err=True,
        )
        raise typer.Exit(EXIT_FINDING)
    line = f"{report.events_checked} events, chain intact"
    if anchor:
        line += f"; {report.anchors_checked} anchors hold"
    if report.sealed:
        line += "; head sealed with the audit key"
    typer.echo(line)


def chain_problem(report) -> str:
    """The one line naming what `audit_verify` found broken."""
    if report.first_broken_id is not None:
        return (
            f"audit chain broken at event {report.first_broken_id}: {report.problem} "
            f"({report.events_checked} events verified before it)"
        )
    return f"audit chain broken: {report.problem} ({report.events_checked} events verified)"


@audit_app.command("anchor")
def audit_anchor_cmd(
    append: str = typer.Option(
        None, "--append", help="Also append the anchor to this file (keep it off this server)."
    ),
) -> None:
    """Verify the chain, then print its head (events, last id, last hash, time) as one line."""
    _django()
    from mmtrial.edc.audit import audit_verify
    from mmtrial.edc.audit_seal import anchor_append

    report = _run_unattended(lambda op: audit_verify())
    if not report.ok:
        typer.echo(f"error: {chain_problem(report)}; no anchor taken", err=True)
        raise typer.Exit(EXIT_FINDING)
    anchor = report.anchor()
    if append:
        try:
            anchor_append(append, anchor)
        except OSError as exc:
            fail(f"--append: cannot write {append} ({exc.strerror})")
    typer.echo(anchor.line())


@audit_app.command("install-triggers")
def audit_install_triggers_cmd(
    reason: str = typer.Option(..., "--reason", help="Why they were missing (kept)."),
    by: str = BY,
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Put back the append-only triggers (after `audit verify` says they are missing)."""
    _django()
    from mmtrial.edc.audit_triggers import triggers_reinstall

    _run(
        lambda op: triggers_reinstall(actor=op, reason=reason),
        by=by,
        password_stdin=password_stdin,
    )
    typer.echo("append-only triggers installed; run `mmtrial audit verify`")


@signature_app.command("verify")
def signature_verify_cmd() -> None:
    """Recompute the data hash behind every valid signature; list those that differ."""
    _django()
    from mmtrial.edc.services.signatures import signature_verify

    report = _run_unattended(lambda op: signature_verify())
    for mismatch in report.mismatches:
        typer.echo(
            f"error: signature {mismatch.signature_id} (participant {mismatch.subject}): "
            "the signed data changed outside the audited services",
            err=True,
        )
    if not report.ok:
        raise typer.Exit(EXIT_FINDING)
    typer.echo(f"{report.checked} valid signatures, 0 mismatches")


@security_app.command("sweep-sessions")
def sweep_sessions_cmd() -> None:
    """Log every expired session ("session_expired") and remove it; run it from cron."""
    _django()
    from mmtrial.edc.security import session_expiry_sweep

    count = _run_unattended(lambda op: session_expiry_sweep())
    typer.echo(f"{count} expired sessions logged")


@security_app.command("password-max-age")
def password_max_age_cmd(
    days: str = typer.Argument(..., help="Days a password stays valid, or 'none' (no expiry)."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit trail)."),
    by: str = BY,
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Set how old a password may get before it must be changed at login (sponsor admin)."""
    _django()
    from mmtrial.edc.services.users import password_max_age_set

    if days.strip().lower() == "none":
        value = None
    else:
        try:
            value = int(days)
        except ValueError:
            fail(f"DAYS: {days!r} is not a whole number of days or 'none'")
    _run(
        lambda op: password_max_age_set(actor=op, days=value, reason=reason),
        by=by,
        password_stdin=password_stdin,
    )
    typer.echo(
        "passwords never expire" if value is None else f"passwords expire after {value} days"
    )
