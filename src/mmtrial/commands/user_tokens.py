"""`mmtrial user token create|revoke`: command-line tokens for scheduled jobs (cron).

A token is issued to the study user who asks for it, after their password, for the
operating-system account running the command; the file is mode 0600 and its secret is stored
only as a SHA-256 (mmtrial.edc.cli_auth). Issue and revocation are audited.
"""

from __future__ import annotations

import os

import typer

from mmtrial.commands._auth import USER_ENV, by_option, password_stdin_option
from mmtrial.commands._io import fail
from mmtrial.commands.admin import _django, _run, _run_unattended, user_app

BY = by_option()
PASSWORD_STDIN = password_stdin_option()


def register(root: typer.Typer) -> None:
    user_app.add_typer(token_app, name="token")


token_app = typer.Typer(
    help="Command-line tokens: authenticate scheduled jobs without a password prompt.",
    no_args_is_help=True,
)


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

    from mmtrial.commands._auth import _password
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
