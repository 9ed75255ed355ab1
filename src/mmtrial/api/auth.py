"""Who calls the API: a bearer token (`edc.api_tokens`), its scope and its rate limit.

Every route except the OpenAPI document and the docs page needs a token (401 otherwise). A
read-scope token is refused every method that writes (403), before the route is even parsed,
so a new write route cannot forget it. Each token has a request budget per minute
(`MMTRIAL_API_RATE_LIMIT_PER_MINUTE`, default 600) counted in Django's cache, i.e. per server
process with the default local-memory cache (a shared cache makes it global).
"""

from __future__ import annotations

import contextlib
import time
import zoneinfo
from collections.abc import Iterator

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from ninja.security import HttpBearer

from mmtrial.api.messages import Message, message_of
from mmtrial.api.problems import ApiProblem
from mmtrial.edc.api_tokens import ApiTokenRefused, api_token_authenticate, auth_label
from mmtrial.edc.audit import audit_actor
from mmtrial.edc.models import ApiToken
from mmtrial.edc.models.security import ApiTokenScope
from mmtrial.web.middleware import client_ip, user_timezone_name

__all__ = ["TokenAuth", "acting", "site_today", "token_of", "user_of"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RATE_LIMIT_DEFAULT = 600
RATE_WINDOW_SECONDS = 60

TOKEN_READ_ONLY = gettext_noop(
    "This API token may only read (scope read): create a read_write token to write."
)
RATE_LIMITED = gettext_noop(
    "Too many requests with this API token: at most {limit} a minute. Retry in {retry} s."
)


def _rate_limit() -> int:
    return int(getattr(settings, "MMTRIAL_API_RATE_LIMIT_PER_MINUTE", RATE_LIMIT_DEFAULT))


def _count_request(token: ApiToken) -> None:
    """A fixed one-minute window per token; the request over the budget is refused (429)."""
    limit = _rate_limit()
    window = int(time.time() // RATE_WINDOW_SECONDS)
    key = f"mmtrial:api-rate:{token.pk}:{window}"
    cache.add(key, 0, timeout=RATE_WINDOW_SECONDS * 2)
    try:
        used = cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=RATE_WINDOW_SECONDS * 2)
        used = 1
    if used > limit:
        retry = RATE_WINDOW_SECONDS - int(time.time()) % RATE_WINDOW_SECONDS
        raise ApiProblem(
            429,
            Message(
                code="rate_limited",
                parameters={"limit": limit, "retry_after_s": retry, "token_id": token.pk},
                text=gettext(RATE_LIMITED).format(limit=limit, retry=retry),
            ),
            headers={"Retry-After": str(retry)},
        )


class TokenAuth(HttpBearer):
    """`Authorization: Bearer mmtrial-api-<id>-<secret>`; the request's `auth` is the token."""

    def authenticate(self, request, token: str) -> ApiToken:
        try:
            found = api_token_authenticate(request=request, text=token)
        except ApiTokenRefused as exc:
            raise ApiProblem(401, message_of(exc), headers={"WWW-Authenticate": "Bearer"}) from None
        if request.method not in SAFE_METHODS and found.scope != ApiTokenScope.READ_WRITE:
            raise ApiProblem(
                403,
                Message(
                    code="token_scope_read_only",
                    parameters={"token_id": found.pk, "scope": found.scope},
                    text=gettext(TOKEN_READ_ONLY),
                ),
            )
        _count_request(found)
        return found


def token_of(request) -> ApiToken:
    return request.auth


def user_of(request):
    return request.auth.user


@contextlib.contextmanager
def acting(request) -> Iterator[None]:
    """Audit events written inside name the token's user, the API and the token."""
    token = token_of(request)
    with audit_actor(token.user, via="api", source_ip=client_ip(request), auth=auth_label(token)):
        yield


def site_today(user):
    """Today at the user's site (what the web's edit checks call today)."""
    try:
        zone = zoneinfo.ZoneInfo(user_timezone_name(user))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo("UTC")
    return timezone.localdate(timezone=zone)
