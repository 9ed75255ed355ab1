"""Authentication of the command line's writers: `--by USER` (or `--user`) and a proof.

The proof is, in order: the token file (`$MMTRIAL_TOKEN_FILE`, default
`~/.config/mmtrial/token`) when it belongs to the user named (or no user is named); the first line
of standard input with `--password-stdin`; else a hidden password prompt in a terminal. Without
a terminal and without either, the command is refused: nobody writes in someone's name by only
typing it. Django must be set up before these are called.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import sys
from collections.abc import Iterator

import typer

from mmtrial.commands._io import fail

USER_ENV = "MMTRIAL_USER"
BY_HELP = (
    "The study user who does this; they authenticate (default: $MMTRIAL_USER, else the owner "
    "of your token file)."
)
PASSWORD_STDIN_HELP = "Read that user's password from the first line of standard input."


def by_option(flag: str = "--by"):
    return typer.Option(None, flag, help=BY_HELP)


def password_stdin_option():
    return typer.Option(False, "--password-stdin", help=PASSWORD_STDIN_HELP)


def _password(name: str, *, password_stdin: bool, option: str) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("--password-stdin: standard input held no password")
        return password
    if sys.stdin.isatty():
        return getpass.getpass(f"Password for {name}: ")
    fail(
        f"{option}: {name} must authenticate: give --password-stdin, use a token file "
        "(mmtrial user token create), or run in a terminal to be asked"
    )


def authenticated_user(name: str | None, *, password_stdin: bool, option: str = "--by"):
    """The study user who acts, authenticated; (user, method). Refusals exit 2 in one line."""
    from mmtrial.edc.cli_auth import (
        cli_authenticate_password,
        cli_authenticate_token,
        cli_user_get,
        default_token_path,
    )
    from mmtrial.errors import MmtrialError

    name = (name or os.environ.get(USER_ENV) or "").strip() or None
    # django-axes logs each failure as a warning; here the refusal is the one line to show
    # (the failure is in the security log).
    logging.getLogger("axes").setLevel(logging.ERROR)
    try:
        token_path = default_token_path()
        if not password_stdin and token_path.is_file():
            user = cli_authenticate_token(path=token_path, username=name)
            if user is not None:
                return user, "token"
        if not name:
            fail(
                f"{option}: name the study user who does this (or set ${USER_ENV}, or issue a "
                "token file with `mmtrial user token create`)"
            )
        cli_user_get(username=name)  # an unknown or deactivated name is said before asking
        password = _password(name, password_stdin=password_stdin, option=option)
        return cli_authenticate_password(username=name, password=password), "password"
    except MmtrialError as exc:
        fail(f"{option}: {exc.message}")


@contextlib.contextmanager
def acting_as(name: str | None, *, password_stdin: bool, option: str = "--by") -> Iterator:
    """Authenticate, then attribute every audit event inside to that user and this OS account."""
    from mmtrial.edc.audit import audit_actor
    from mmtrial.edc.cli_auth import os_account

    user, method = authenticated_user(name, password_stdin=password_stdin, option=option)
    with audit_actor(user, via="cli", os_account=os_account(), auth=method):
        yield user
