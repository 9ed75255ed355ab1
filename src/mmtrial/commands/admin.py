"""`mmtrial site|user|security ...`: administration from the server's shell.

Every command that writes names the study user who acts (`--by`) and authenticates them
(commands._auth: token file, `--password-stdin` or a prompt); the audit events record that user
and the operating-system account. The one exception is the first account of an empty database
(`user add --sponsor-admin`, audited as a bootstrap). `security sweep-sessions` changes no
one's data and needs no user. The audit and signature commands are in `commands.audit`.
"""

from __future__ import annotations

import os
import sys

import typer

from mmtrial.commands._auth import USER_ENV, by_option, password_stdin_option
from mmtrial.commands._io import fail

PASSWORD_ENV = "MMTRIAL_NEW_PASSWORD"

site_app = typer.Typer(help="Study sites.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts and their roles.", no_args_is_help=True)
security_app = typer.Typer(help="Sessions and the security log.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(site_app, name="site")
    root.add_typer(user_app, name="user")
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
