"""Who acts at the command line: a study user who authenticates (compliance KF-3; 11.10(d)).

A command that writes data names a study user and proves it is them, in one of two ways:

- **password**: checked like a web login (django-axes in front of `authenticate`), so wrong
  passwords count toward the same lockout and a locked account is refused;
- **token**: a secret issued to the user by `cli_token_issue` (after a password check), kept in
  a file that only the operating-system account it was issued to may read (mode 0600, owned by
  that account: both checked on use). Only its SHA-256 is stored. For scheduled jobs (backups).

A failed attempt is a "login_failed" event (via "cli") and counts toward the lockout. A successful
one writes nothing by itself (a command that is refused or killed leaves the database as it
was); every audit event the command writes records the study user, the operating-system account
and the method (`context.os_account`, `context.auth`).
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import os
import secrets
import stat
from pathlib import Path

from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone

from mmtrial.edc.audit import EventSpec, audit_record
from mmtrial.edc.models import CommandLineToken, User
from mmtrial.edc.passwords import password_expired
from mmtrial.edc.permissions import ALL_SITES, Action, sites_allowed
from mmtrial.edc.security import authentication_request
from mmtrial.edc.services._acting import actor_for
from mmtrial.errors import InputError, NotFound, PermissionDenied

TOKEN_FILE_ENV = "MMTRIAL_TOKEN_FILE"
TOKEN_PREFIX = "mmtrial-cli-"
TOKEN_DAYS_DEFAULT = 365

CLI_USER_UNKNOWN = "There is no active mmtrial user named '{username}'."
CLI_USER_INACTIVE = "The account '{username}' is deactivated."
CLI_WRONG_PASSWORD = (
    "The password for '{username}' is not right (after 5 wrong attempts the account is locked)."
)
CLI_LOCKED_OUT = (
    "The account '{username}' is locked after repeated wrong passwords; an administrator must "
    "unlock it (mmtrial user unlock)."
)
CLI_PASSWORD_MUST_CHANGE = (
    "'{username}' must first choose their own password (log in to the web interface): the "
    "current one was set by an administrator."
)
CLI_PASSWORD_EXPIRED = (
    "The password of '{username}' has expired: change it in the web interface first."
)
TOKEN_FILE_OPEN = (
    "The token file {path} can be read by other users (mode {mode}); `chmod 600 {path}` "
    "or issue a new token."
)
TOKEN_FILE_OWNER = "The token file {path} belongs to another operating-system account."
TOKEN_FILE_EXISTS = (
    "The token file {path} exists already: revoke its token (mmtrial user token revoke) and "
    "remove the file, or give another --file."
)
TOKEN_UNKNOWN = "The token in {path} is not a valid mmtrial token (revoked, or never issued)."
TOKEN_EXPIRED = (
    "The token in {path} expired on {date}: issue a new one (mmtrial user token create)."
)
TOKEN_OTHER_ACCOUNT = (
    "The token in {path} was issued to the operating-system account '{issued}', not '{account}'."
)
TOKEN_DAYS_INVALID = "A token lasts between 1 and 3650 days; got {days}."
TOKEN_REVOKE_DENIED = "Only the token's owner or a sponsor administrator can revoke it."
TOKEN_NONE_ACTIVE = "{username} has no active command-line token."


def os_account() -> str:
    """The operating-system login running this process."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no passwd entry in some containers
        return f"uid:{os.getuid()}"


def default_token_path() -> Path:
    configured = os.environ.get(TOKEN_FILE_ENV)
    if configured:
        return Path(configured).expanduser()
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "mmtrial" / "token"


def cli_user_get(*, username: str) -> User:
    """The active user of that name (any case), or NotFound / PermissionDenied in words."""
    user = User.objects.filter(username__iexact=(username or "").strip()).first()
    if user is None:
        raise NotFound.coded(CLI_USER_UNKNOWN, {"field": "by"}, username=username)
    if not user.is_active:
        raise PermissionDenied.coded(CLI_USER_INACTIVE, {"field": "by"}, username=user.username)
    return user


def cli_authenticate_password(*, username: str, password: str) -> User:
    """The user named, if `password` is theirs and the account may act (not locked, not due for
    a password change). A wrong password counts toward the lockout."""
    user = cli_user_get(username=username)
    request = authentication_request(None, channel="cli", os_account=os_account())
    authenticated = authenticate(request, username=user.username, password=password or "")
    if getattr(request, "axes_locked_out", False):
        raise PermissionDenied.coded(CLI_LOCKED_OUT, {"field": "by"}, username=user.username)
    if authenticated is None or authenticated.pk != user.pk:
        raise PermissionDenied.coded(CLI_WRONG_PASSWORD, {"field": "by"}, username=user.username)
    if user.password_changed_at is None:
        raise PermissionDenied.coded(CLI_PASSWORD_MUST_CHANGE, username=user.username)
    if password_expired(user):
        raise PermissionDenied.coded(CLI_PASSWORD_EXPIRED, username=user.username)
    return user


def _secret_sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _read_private_file(path: Path) -> str:
    info = path.stat()
    if info.st_uid != os.getuid():
        raise PermissionDenied.coded(TOKEN_FILE_OWNER, {"field": "token"}, path=path)
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        mode = oct(info.st_mode & 0o777)[2:]
        raise PermissionDenied.coded(TOKEN_FILE_OPEN, {"field": "token"}, path=path, mode=mode)
    return path.read_text(encoding="utf-8").strip()


def cli_authenticate_token(*, path: Path, username: str | None = None) -> User | None:
    """The token file's user, or None when it belongs to someone else than `username`.

    Refused (PermissionDenied) when the file may be read by others or belongs to another
    account, the token is unknown, revoked or expired, was issued to another operating-system
    account, or its user is deactivated or locked out.
    """
    secret = _read_private_file(path)
    token = (
        CommandLineToken.objects.select_related("user")
        .filter(secret_sha256=_secret_sha256(secret), revoked_at__isnull=True)
        .first()
    )
    if token is None:
        raise PermissionDenied.coded(TOKEN_UNKNOWN, {"field": "token"}, path=path)
    user = token.user
    if username and user.username.lower() != username.strip().lower():
        return None
    if token.expires_at <= timezone.now():
        raise PermissionDenied.coded(
            TOKEN_EXPIRED, {"field": "token"}, path=path, date=token.expires_at.date().isoformat()
        )
    account = os_account()
    if token.os_account != account:
        raise PermissionDenied.coded(
            TOKEN_OTHER_ACCOUNT,
            {"field": "token"},
            path=path,
            issued=token.os_account,
            account=account,
        )
    if not user.is_active:
        raise PermissionDenied.coded(CLI_USER_INACTIVE, {"field": "by"}, username=user.username)
    from axes.handlers.proxy import AxesProxyHandler

    request = authentication_request(None, channel="cli")
    if AxesProxyHandler.is_locked(request, {"username": user.username}):
        raise PermissionDenied.coded(CLI_LOCKED_OUT, {"field": "by"}, username=user.username)
    return user


def cli_token_issue(*, user: User, path: Path, days: int = TOKEN_DAYS_DEFAULT) -> CommandLineToken:
    """Issue a token to `user` (already authenticated by password) for this operating-system
    account, written to `path` with mode 0600; audited ("cli_token_issue")."""
    if not 1 <= days <= 3650:
        raise InputError.coded(TOKEN_DAYS_INVALID, {"field": "days"}, days=days)
    if path.exists():
        raise InputError.coded(TOKEN_FILE_EXISTS, {"field": "file"}, path=path)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        with transaction.atomic():
            token = CommandLineToken.objects.create(
                user=user,
                secret_sha256=_secret_sha256(secret),
                os_account=os_account(),
                created_at=now,
                expires_at=now + dt.timedelta(days=days),
            )
            audit_record(
                EventSpec(
                    action="cli_token_issue",
                    model="user",
                    object_pk=str(user.pk),
                    context={
                        "target_username": user.username,
                        "token_id": token.pk,
                        "token_os_account": token.os_account,
                        "file": str(path),
                        "expires_at": token.expires_at,
                    },
                ),
                actor=actor_for(user),
            )
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(secret + "\n")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return token


@transaction.atomic
def cli_token_revoke(*, actor: User, user: User, reason: str = "") -> int:
    """Revoke every active token of `user` (by the user, or a sponsor administrator)."""
    if actor.pk != user.pk and sites_allowed(actor, Action.MANAGE_USERS) is not ALL_SITES:
        raise PermissionDenied(TOKEN_REVOKE_DENIED)
    now = timezone.now()
    tokens = list(
        CommandLineToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True)
    )
    if not tokens:
        raise InputError.coded(TOKEN_NONE_ACTIVE, username=user.username)
    CommandLineToken.objects.filter(pk__in=[t.pk for t in tokens]).update(revoked_at=now)
    audit_record(
        EventSpec(
            action="cli_token_revoke",
            model="user",
            object_pk=str(user.pk),
            reason=(reason or "").strip(),
            context={"target_username": user.username, "token_ids": [t.pk for t in tokens]},
        ),
        actor=actor_for(actor),
    )
    return len(tokens)
