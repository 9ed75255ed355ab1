"""`mmtrial site|user|audit|signature|security ...`: administration from the server's shell.

Sites and users are managed by the operator at the server (like Django's `createsuperuser`);
the audit trail names the operating-system login ("operator:<login>"). `audit verify` and
`signature verify` exit 0 when everything holds, 1 naming the first problem, 2 on bad input.
"""

from __future__ import annotations

import os
import sys

import typer

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


def _run(action):
    """Run `action()` as the server operator: user errors and a missing database are one line."""
    _django()
    from django.db import DatabaseError

    from mmtrial.edc.audit import audit_actor
    from mmtrial.edc.services._acting import SYSTEM_OPERATOR
    from mmtrial.errors import MmtrialError

    try:
        with audit_actor(None, via="cli"):
            return action(SYSTEM_OPERATOR)
    except MmtrialError as exc:
        fail(exc.message)
    except DatabaseError as exc:
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


@site_app.command("add")
def site_add_cmd(
    code: str = typer.Argument(..., help="Site code, e.g. JP-01."),
    name: str = typer.Option(..., "--name", help="Site name."),
    timezone: str = typer.Option("Asia/Tokyo", "--timezone", help="IANA time zone."),
    name_ja: str = typer.Option("", "--name-ja", help="Site name in Japanese."),
) -> None:
    """Add a study site."""
    _django()
    from mmtrial.edc.services.sites import site_add

    site = _run(
        lambda op: site_add(actor=op, code=code, name=name, timezone=timezone, name_ja=name_ja)
    )
    typer.echo(f"site {site.code} added: {site.name} ({site.timezone})")


@user_app.command("add")
def user_add_cmd(
    username: str = typer.Argument(..., help="User name (unique whatever its case)."),
    role: str = typer.Option(..., "--role", help="coordinator, investigator, monitor, ..."),
    site: str = typer.Option(None, "--site", help="Site code where the role applies."),
    all_sites: bool = typer.Option(False, "--all-sites", help="The role applies at every site."),
    full_name: str = typer.Option(..., "--full-name", help="Printed name on signatures."),
    email: str = typer.Option("", "--email"),
    password: str = typer.Option(
        None, "--password", help=f"Initial password (else ${PASSWORD_ENV}, else asked)."
    ),
) -> None:
    """Create an account with one role; the user must change the password at first login."""
    _django()
    from mmtrial.edc.services.users import user_create

    def action(op):
        from mmtrial.edc.models.people import Role

        if role not in Role.values:
            fail(f"--role: unknown role {role!r}; choose one of: {', '.join(Role.values)}")
        where = _site_or_all(site, all_sites)
        return user_create(
            actor=op,
            username=username,
            full_name=full_name,
            password=_new_password(password),
            role=role,
            site=where,
            email=email,
        )

    user = _run(action)
    where = f"site {site.upper()}" if site else "all sites"
    typer.echo(f"user {user.username} added: {role} at {where}; password must be changed")


def _role_change(grant: bool, username, role, site, all_sites, reason) -> None:
    from mmtrial.edc.services.users import role_grant, role_revoke, user_get_by_username

    service = role_grant if grant else role_revoke

    def action(op):
        user = user_get_by_username(username=username)
        where = _site_or_all(site, all_sites)
        return service(actor=op, user=user, role=role, site=where, reason=reason)

    _run(action)
    verb = "granted to" if grant else "revoked from"
    typer.echo(f"role {role} {verb} {username} at {site.upper() if site else 'all sites'}")


@user_app.command("grant")
def user_grant_cmd(
    username: str = typer.Argument(...),
    role: str = typer.Option(..., "--role"),
    site: str = typer.Option(None, "--site"),
    all_sites: bool = typer.Option(False, "--all-sites"),
    reason: str = typer.Option("", "--reason"),
) -> None:
    """Give a user a role at a site (or at all sites)."""
    _django()
    _role_change(True, username, role, site, all_sites, reason)


@user_app.command("revoke")
def user_revoke_cmd(
    username: str = typer.Argument(...),
    role: str = typer.Option(..., "--role"),
    site: str = typer.Option(None, "--site"),
    all_sites: bool = typer.Option(False, "--all-sites"),
    reason: str = typer.Option("", "--reason"),
) -> None:
    """Take a role away (effective on the user's next request)."""
    _django()
    _role_change(False, username, role, site, all_sites, reason)


@user_app.command("deactivate")
def user_deactivate_cmd(
    username: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the audit trail)."),
) -> None:
    """Deactivate an account (accounts are never deleted or renamed)."""
    _django()
    from mmtrial.edc.services.users import user_deactivate, user_get_by_username

    _run(
        lambda op: user_deactivate(
            actor=op, user=user_get_by_username(username=username), reason=reason
        )
    )
    typer.echo(f"user {username} deactivated")


@user_app.command("verify-identity")
def user_verify_identity_cmd(
    username: str = typer.Argument(..., help="Whose identity was verified."),
    by: str = typer.Option(..., "--by", help="User name of the administrator who verified it."),
    evidence: str = typer.Option("", "--evidence", help="How, e.g. 'passport seen 2027-01-05'."),
) -> None:
    """Record that an administrator verified a user's identity (needed before signing)."""
    _django()
    from mmtrial.edc.audit import audit_actor
    from mmtrial.edc.services.users import user_get_by_username, user_verify_identity

    def action(op):
        verifier = user_get_by_username(username=by)
        with audit_actor(verifier, via="cli"):
            return user_verify_identity(
                actor=verifier, user=user_get_by_username(username=username), evidence=evidence
            )

    _run(action)
    typer.echo(f"identity of {username} verified by {by}")


@user_app.command("unlock")
def user_unlock_cmd(
    username: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason"),
) -> None:
    """Unlock an account locked after repeated failed passwords."""
    _django()
    from mmtrial.edc.services.users import user_get_by_username, user_unlock

    _run(
        lambda op: user_unlock(
            actor=op, user=user_get_by_username(username=username), reason=reason
        )
    )
    typer.echo(f"user {username} unlocked")


@user_app.command("set-password")
def user_set_password_cmd(
    username: str = typer.Argument(...),
    password: str = typer.Option(None, "--password"),
) -> None:
    """Set a user's password (logged; the user must change it at next login)."""
    _django()
    from mmtrial.edc.services.users import user_get_by_username, user_password_set

    def action(op):
        user = user_get_by_username(username=username)
        return user_password_set(actor=op, user=user, password=_new_password(password))

    _run(action)
    typer.echo(f"password of {username} set; it must be changed at next login")


@audit_app.command("verify")
def audit_verify_cmd() -> None:
    """Walk the hash chain and check the append-only triggers; name the first broken event."""
    _django()
    from django.db import connection

    from mmtrial.edc import audit_triggers
    from mmtrial.edc.audit import audit_verify

    report = _run(lambda op: audit_verify())
    if not report.ok:
        typer.echo(
            f"error: audit chain broken at event {report.first_broken_id}: {report.problem} "
            f"({report.events_checked} events verified before it)",
            err=True,
        )
        raise typer.Exit(EXIT_FINDING)
    if not audit_triggers.triggers_installed(connection):
        typer.echo(
            f"error: {report.events_checked} events, chain intact, but the append-only "
            "triggers are missing (see system check mmtrial.E001)",
            err=True,
        )
        raise typer.Exit(EXIT_FINDING)
    typer.echo(f"{report.events_checked} events, chain intact")


@signature_app.command("verify")
def signature_verify_cmd() -> None:
    """Recompute the data hash behind every valid signature; list those that differ."""
    _django()
    from mmtrial.edc.services.signatures import signature_verify

    report = _run(lambda op: signature_verify())
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

    count = _run(lambda op: session_expiry_sweep())
    typer.echo(f"{count} expired sessions logged")
