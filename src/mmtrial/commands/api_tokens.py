"""`mmtrial token create|list|revoke`: your own API tokens (for `/api/v1/`).

You authenticate as for every command that writes (`--by`, then your token file,
`--password-stdin` or a prompt: commands._auth); creation and revocation are audited. The
token's text is printed once, on standard output, and never stored.
"""

from __future__ import annotations

import typer

from mmtrial.commands._auth import by_option, password_stdin_option
from mmtrial.commands.admin import _django, _run

BY = by_option()
PASSWORD_STDIN = password_stdin_option()

token_app = typer.Typer(
    help="API tokens: let a script use the REST API (/api/v1/) in your name.",
    no_args_is_help=True,
)


def register(root: typer.Typer) -> None:
    root.add_typer(token_app, name="token")


@token_app.command("create")
def token_create_cmd(
    name: str = typer.Option(..., "--name", help="What the token is for, e.g. 'nightly sync'."),
    scope: str = typer.Option("read", "--scope", help="read, or read_write."),
    days: int = typer.Option(90, "--days", help="How long it is valid (1 to 365)."),
    by: str = BY,
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Create an API token for yourself; its text is printed once."""
    _django()
    from mmtrial.edc.api_tokens import api_token_create

    token, text = _run(
        lambda user: api_token_create(user=user, name=name, scope=scope, days=days),
        by=by,
        password_stdin=password_stdin,
    )
    typer.echo(text)
    typer.echo(
        f"API token {token.pk} ({token.scope}) of {token.user.username}, valid until "
        f"{token.expires_at.date().isoformat()}: copy it now, it is not shown again.",
        err=True,
    )


@token_app.command("list")
def token_list_cmd(by: str = BY, password_stdin: bool = PASSWORD_STDIN) -> None:
    """Your API tokens: number, name, scope, expiry and whether revoked."""
    _django()
    from django.utils import timezone

    from mmtrial.edc.api_tokens import api_token_list

    tokens = _run(lambda user: api_token_list(user=user), by=by, password_stdin=password_stdin)
    now = timezone.now()
    for token in tokens:
        state = (
            "revoked" if token.revoked_at else "expired" if token.expires_at <= now else "active"
        )
        typer.echo(
            f"{token.pk}\t{token.name}\t{token.scope}\t"
            f"{token.expires_at.date().isoformat()}\t{state}"
        )


@token_app.command("revoke")
def token_revoke_cmd(
    token_id: int = typer.Argument(..., help="The token's number (mmtrial token list)."),
    reason: str = typer.Option("", "--reason"),
    by: str = BY,
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Revoke one of your API tokens."""
    _django()
    from mmtrial.edc.api_tokens import api_token_revoke

    token = _run(
        lambda user: api_token_revoke(user=user, token_id=token_id, reason=reason),
        by=by,
        password_stdin=password_stdin,
    )
    typer.echo(f"API token {token.pk} revoked")
