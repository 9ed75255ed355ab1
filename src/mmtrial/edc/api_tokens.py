"""API tokens: created, listed and revoked by their owner; checked on every API request.

A token's text is `mmtrial-api-<id>-<secret>`: only the SHA-256 of the whole text is stored
(the secret is 256 random bits, so a fast hash is enough; a password hash would only slow every
request). The id in the text names the token's owner, so that a wrong secret for a real token
counts as a failed sign-in of its owner through django-axes, exactly like a wrong password at
the web login (21 CFR 11.300(d)): a locked account's tokens stop working until an administrator
unlocks it. Creation and revocation are audit events; each write made with a token carries
`context.auth = "api_token:<id>"` and the user (compliance KF-3).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets

from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from mmtrial.edc.audit import EventSpec, audit_record
from mmtrial.edc.models import ApiToken, User
from mmtrial.edc.models.security import ApiTokenScope
from mmtrial.edc.passwords import password_expired
from mmtrial.edc.security import authentication_request
from mmtrial.edc.services._acting import actor_for
from mmtrial.errors import InputError, NotFound, PermissionDenied

__all__ = [
    "API_TOKEN_DAYS_DEFAULT",
    "ApiTokenRefused",
    "api_token_authenticate",
    "api_token_create",
    "api_token_list",
    "api_token_revoke",
    "auth_label",
]

TOKEN_PREFIX = "mmtrial-api-"
API_TOKEN_DAYS_DEFAULT = 90
API_TOKEN_DAYS_MAX = 365
NAME_MAX_LENGTH = 100

API_TOKEN_NAME_REQUIRED = gettext_noop(
    "Give the token a name that says what it is for (e.g. nightly sync)."
)
API_TOKEN_DAYS_INVALID = gettext_noop(
    "An API token lasts between 1 and {max_days} days; got {days}."
)
API_TOKEN_SCOPE_INVALID = gettext_noop(
    "The scope of an API token is read or read_write; got {scope}."
)
API_TOKEN_NOT_FOUND = gettext_noop("You have no API token {token_id}.")
API_TOKEN_ALREADY_REVOKED = gettext_noop("API token {token_id} is already revoked.")
API_TOKEN_PASSWORD_MUST_CHANGE = gettext_noop(
    "Choose your own password first (the current one was set by an administrator): then create "
    "a token."
)
# Refusals of a request: one text whatever the cause that tells an outsider nothing more.
API_TOKEN_INVALID = gettext_noop("The API token is not valid (unknown, revoked or expired).")
API_TOKEN_LOCKED = gettext_noop(
    "The account of this API token is locked after repeated failed sign-ins; an administrator "
    "must unlock it."
)

_TOKEN_RE = re.compile(r"^mmtrial-api-(\d{1,18})-([A-Za-z0-9_-]{20,100})$")


class ApiTokenRefused(PermissionDenied):
    """The token of a request is missing, malformed, unknown, revoked, expired or locked."""


def auth_label(token: ApiToken) -> str:
    """What the audit trail's `context.auth` says for a request made with `token`."""
    return f"api_token:{token.pk}"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@transaction.atomic
def api_token_create(
    *, user: User, name: str, scope: str, days: int = API_TOKEN_DAYS_DEFAULT
) -> tuple[ApiToken, str]:
    """A new token of `user` (who is authenticated already); returns it with its text, which
    is shown once and never stored. Audited ("api_token_create")."""
    name = (name or "").strip()
    if not name:
        raise InputError(API_TOKEN_NAME_REQUIRED, {"field": "name"})
    if scope not in ApiTokenScope.values:
        raise InputError.coded(API_TOKEN_SCOPE_INVALID, {"field": "scope"}, scope=scope)
    if isinstance(days, bool) or not 1 <= days <= API_TOKEN_DAYS_MAX:
        raise InputError.coded(
            API_TOKEN_DAYS_INVALID, {"field": "days"}, max_days=API_TOKEN_DAYS_MAX, days=days
        )
    if user.password_changed_at is None:
        raise PermissionDenied(API_TOKEN_PASSWORD_MUST_CHANGE)
    now = timezone.now()
    # The id is part of the text, so the row is written first with a placeholder hash.
    token = ApiToken.objects.create(
        user=user,
        name=name[:NAME_MAX_LENGTH],
        secret_sha256=secrets.token_hex(32),
        scope=scope,
        created_at=now,
        expires_at=now + dt.timedelta(days=days),
    )
    text = f"{TOKEN_PREFIX}{token.pk}-{secrets.token_urlsafe(32)}"
    token.secret_sha256 = _sha256(text)
    ApiToken.objects.filter(pk=token.pk).update(secret_sha256=token.secret_sha256)
    audit_record(
        EventSpec(
            action="api_token_create",
            model="user",
            object_pk=str(user.pk),
            context={
                "token_id": token.pk,
                "token_name": token.name,
                "scope": token.scope,
                "expires_at": token.expires_at,
            },
        ),
        actor=actor_for(user),
    )
    return token, text


def api_token_list(*, user: User) -> list[ApiToken]:
    """The user's own tokens, newest first, revoked and expired ones included."""
    return list(ApiToken.objects.filter(user=user).order_by("-created_at", "-pk"))


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int, reason: str = "") -> ApiToken:
    """Revoke one of the user's own tokens (audited, "api_token_revoke")."""
    token = ApiToken.objects.select_for_update().filter(pk=token_id, user=user).first()
    if token is None:
        raise NotFound.coded(API_TOKEN_NOT_FOUND, {"token_id": token_id}, token_id=token_id)
    if token.revoked_at is not None:
        raise InputError.coded(API_TOKEN_ALREADY_REVOKED, token_id=token_id)
    token.revoked_at = timezone.now()
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=token.revoked_at)
    audit_record(
        EventSpec(
            action="api_token_revoke",
            model="user",
            object_pk=str(user.pk),
            reason=(reason or "").strip(),
            context={"token_id": token.pk, "token_name": token.name},
        ),
        actor=actor_for(user),
    )
    return token


def _failed(request, user: User) -> None:
    """A wrong secret for a real token: a failed sign-in of its owner (security log, lockout).

    Counted on a stand-in request: the API answers with its own 401, not django-axes' page."""
    attempt = authentication_request(None, channel="api", auth="api_token")
    user_login_failed.send(
        sender=__name__, credentials={"username": user.username}, request=attempt
    )


def _is_locked(request, user: User) -> bool:
    from axes.handlers.proxy import AxesProxyHandler

    attempt = authentication_request(None, channel="api")
    return AxesProxyHandler.is_locked(attempt, {"username": user.username})


def api_token_authenticate(*, request, text: str) -> ApiToken:
    """The valid token `text` stands for, with its user; else ApiTokenRefused.

    Refused: malformed, unknown, wrong secret (counted toward the owner's lockout), revoked,
    expired, owner deactivated, owner locked out, or owner's password expired.
    """
    match = _TOKEN_RE.match((text or "").strip())
    if match is None:
        raise ApiTokenRefused(API_TOKEN_INVALID)
    token = ApiToken.objects.select_related("user").filter(pk=int(match.group(1))).first()
    if token is None:
        raise ApiTokenRefused(API_TOKEN_INVALID)
    user = token.user
    if not hmac.compare_digest(token.secret_sha256, _sha256(match.group(0))):
        _failed(request, user)
        raise ApiTokenRefused(API_TOKEN_INVALID)
    if token.revoked_at is not None or token.expires_at <= timezone.now() or not user.is_active:
        raise ApiTokenRefused(API_TOKEN_INVALID)
    if _is_locked(request, user):
        raise ApiTokenRefused(API_TOKEN_LOCKED)
    if user.password_changed_at is None or password_expired(user):
        raise ApiTokenRefused(API_TOKEN_INVALID)
    return token
