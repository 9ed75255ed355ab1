"""Every request: who acts (audit), in which time zone, and whether they may be here at all.

- Only the allow-listed URL names (the login page, the language switch) are open to anonymous
  visitors; every other page redirects to the login page (21 CFR 11.10(d)).
- A user whose password was set by someone else (never changed by its owner), or found expired
  at login, is sent to the password change page first, on the pages of this interface (the admin and APIs keep their own
  rules).
- The audit actor of the whole request is the logged-in user with the client's address, so
  every service call made by a view is attributed to the person (compliance KF-3).
- Times are shown in the user's site time zone (Asia/Tokyo for the Japanese sites); storage
  stays UTC.
- Errors raised by services for records the user may not see become 404 and 403 pages.
"""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone

from mmtrial.edc.audit import audit_actor
from mmtrial.errors import NotFound, PermissionDenied

PUBLIC_URL_NAMES = frozenset({"login", "set_language"})
API_PREFIX = "/api/"
# Reachable while a password chosen by an administrator still has to be changed.
PASSWORD_CHANGE_URL_NAMES = frozenset({"password_change", "logout"})
SESSION_TIMEZONE_KEY = "mmtrial_timezone"
# Set at login when the password is older than the sponsor administrator's maximum age.
SESSION_PASSWORD_EXPIRED_KEY = "mmtrial_password_expired"


def client_ip(request) -> str:
    """The address the request came from (no proxy headers are trusted by default)."""
    return request.META.get("REMOTE_ADDR", "") or ""


def user_timezone_name(user) -> str:
    """The time zone of the first active site the user works at, else the study default."""
    from mmtrial.edc.models import Membership

    site_tz = (
        Membership.objects.filter(user=user, active=True, site__isnull=False)
        .order_by("site__code")
        .values_list("site__timezone", flat=True)
        .first()
    )
    return site_tz or getattr(settings, "MMTRIAL_DISPLAY_TIME_ZONE", "Asia/Tokyo")


def _is_web_page(view_func) -> bool:
    """A page of this interface (not the Django admin or an API, which have their own doors)."""
    module = getattr(view_func, "__module__", "") or ""
    view_class = getattr(view_func, "view_class", None)
    if view_class is not None:
        module = view_class.__module__
    return module.startswith("mmtrial.web.")


class WebAccessMiddleware:
    """Login enforcement, audit actor and site time zone for each request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        authenticated = bool(user is not None and user.is_authenticated)
        with audit_actor(user if authenticated else None, via="web", source_ip=client_ip(request)):
            if not authenticated:
                return self.get_response(request)
            with timezone.override(self._timezone(request)):
                return self.get_response(request)

    @staticmethod
    def _timezone(request) -> zoneinfo.ZoneInfo:
        name = request.session.get(SESSION_TIMEZONE_KEY)
        if not name:
            name = user_timezone_name(request.user)
            request.session[SESSION_TIMEZONE_KEY] = name
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")

    def process_view(self, request, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is not None and match.url_name in PUBLIC_URL_NAMES:
            return None
        if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")):
            return None
        if request.path.startswith(API_PREFIX):
            return None  # the API's own door: tokens, 401 problem details (mmtrial.api.auth)
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), settings.LOGIN_URL)
        if (
            (
                request.user.password_changed_at is None
                or request.session.get(SESSION_PASSWORD_EXPIRED_KEY)
            )
            and match is not None
            and match.url_name not in PASSWORD_CHANGE_URL_NAMES
            and _is_web_page(view_func)
        ):
            # A password set by someone else is changed by its owner first (21 CFR 11.300(b)).
            return redirect("password_change")
        return None

    def process_exception(self, request, exception):
        if isinstance(exception, NotFound):
            raise Http404(exception.message) from exception
        if isinstance(exception, PermissionDenied):
            raise DjangoPermissionDenied(exception.message) from exception
        return None
