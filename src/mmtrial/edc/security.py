"""The security log: logins, failed logins, logouts, lockouts and expired sessions.

Django's auth signals (`user_logged_in`, `user_logged_out`, `user_login_failed`) and django-axes'
`user_locked_out` each write one audit event with the user, UTC time and source IP
(E6 4.2.2(a)(i); 21 CFR 11.300(d); compliance KF-8). Account changes (creation, role grant and
revoke, password set/change) are written by `services.users`. A failed e-signature password
arrives here too (it goes through `authenticate`) and is logged as "esign_failed".

Sessions that simply time out send no signal: `session_expiry_sweep` finds expired sessions,
writes one "session_expired" event each and removes them (run by `mmtrial security
sweep-sessions`, e.g. from cron every few minutes, in place of Django's `clearsessions`).
"""

from __future__ import annotations

import datetime as dt
import logging

from axes.helpers import get_failure_limit
from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.contrib.sessions.models import Session
from django.core.mail import mail_admins
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from mmtrial.edc.audit import Actor, EventSpec, audit_record, audit_record_many, current_actor

logger = logging.getLogger(__name__)

USERNAME_MAX = 150
LOCKOUT_ALERT_SUBJECT = "mmtrial: account {username} locked after repeated failed passwords"


def source_ip(request) -> str:
    """The client address as the server saw it (not a client-supplied forwarding header)."""
    if request is None:
        return ""
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def _via(request) -> str:
    if request is None:
        return "system"
    channel = getattr(request, "mmtrial_channel", "")
    if channel:
        return channel
    path = getattr(request, "path", "") or ""
    if path.startswith("/admin/"):
        return "admin"
    if path.startswith("/api/"):
        return "api"
    return "web"


def _user_event(action: str, user, request, **context) -> EventSpec:
    return EventSpec(
        action=action,
        model="user",
        object_pk=str(user.pk) if user is not None and user.pk else "",
        context={"path": getattr(request, "path", "") if request is not None else "", **context},
    )


def _actor(user, request, username: str = "") -> Actor:
    name = (getattr(user, "username", "") or username or "anonymous")[:USERNAME_MAX]
    return Actor(
        user=user if getattr(user, "pk", None) else None,
        username=name,
        via=_via(request),
        source_ip=source_ip(request),
        os_account=getattr(request, "mmtrial_os_account", "") if request is not None else "",
        auth=getattr(request, "mmtrial_auth", "") if request is not None else "",
    )


def authentication_request(
    request: HttpRequest | None, *, channel: str, os_account: str = "", auth: str = ""
) -> HttpRequest:
    """The request django-axes counts a password attempt on: the web request when there is one,
    else a stand-in (command line, services), so every way of signing in shares one lockout
    (11.300(d); compliance KF-2). `channel` names the door in the security log."""
    if request is None:
        request = HttpRequest()
        request.method = "POST"
        request.path = request.path_info = f"/{channel}/"
        actor = current_actor()
        request.META["REMOTE_ADDR"] = (actor.source_ip if actor else "") or "127.0.0.1"
    request.mmtrial_channel = channel
    if os_account:
        request.mmtrial_os_account = os_account
    if auth:
        request.mmtrial_auth = auth
    return request


@receiver(user_logged_in, dispatch_uid="mmtrial_security_login")
def on_login(sender, request, user, **kwargs) -> None:
    audit_record(_user_event("login", user, request), actor=_actor(user, request))


@receiver(user_logged_out, dispatch_uid="mmtrial_security_logout")
def on_logout(sender, request, user, **kwargs) -> None:
    if user is None:  # logging out an anonymous session: nobody to attribute
        return
    audit_record(_user_event("logout", user, request), actor=_actor(user, request))


@receiver(user_login_failed, dispatch_uid="mmtrial_security_login_failed")
def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    username = str((credentials or {}).get("username") or "")[:USERNAME_MAX]
    target = (
        get_user_model().objects.filter(username__iexact=username).first() if username else None
    )
    action = (
        "esign_failed" if getattr(request, "mmtrial_channel", "") == "esign" else "login_failed"
    )
    audit_record(
        _user_event(
            action,
            target,
            request,
            attempted_username=username,
            account_locked=bool(getattr(request, "axes_locked_out", False)),
        ),
        actor=_actor(None, request, username=username),
    )


@receiver(user_locked_out, dispatch_uid="mmtrial_security_lockout")
def on_lockout(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    # axes sends this again for every attempt while locked; only the attempt that reaches the
    # limit is the lockout (the later ones are login_failed events with account_locked=true).
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is None or failures != get_failure_limit(request, {"username": username}):
        return
    username = str(username or "")[:USERNAME_MAX]
    target = (
        get_user_model().objects.filter(username__iexact=username).first() if username else None
    )
    audit_record(
        _user_event(
            "lockout",
            target,
            request,
            attempted_username=username,
            failures=request.axes_failures_since_start,
        ),
        actor=_actor(None, request, username=username),
    )
    mail_admins(
        LOCKOUT_ALERT_SUBJECT.format(username=username),
        f"The account {username} was locked after repeated failed passwords "
        f"from {ip_address or source_ip(request)}. Only an administrator can unlock it "
        "(mmtrial user unlock).",
        fail_silently=True,
    )


@transaction.atomic
def session_expiry_sweep(*, now: dt.datetime | None = None) -> int:
    """Log and remove every expired session; returns how many were logged for a user."""
    now = now or timezone.now()
    expired = list(Session.objects.select_for_update().filter(expire_date__lt=now))
    users = get_user_model().objects.in_bulk(
        {uid for s in expired if (uid := _session_user_id(s)) is not None}
    )
    specs, actors = [], []
    for session in expired:
        user = users.get(_session_user_id(session))
        if user is None:
            continue
        specs.append(
            _user_event("session_expired", user, None, expired_at=session.expire_date.isoformat())
        )
        actors.append(Actor(user=user, username=user.username, via="system"))
    for spec, actor in zip(specs, actors, strict=True):
        audit_record_many([spec], actor=actor)
    Session.objects.filter(pk__in=[s.pk for s in expired]).delete()
    return len(specs)


def _session_user_id(session: Session) -> int | None:
    try:
        raw = session.get_decoded().get("_auth_user_id")
    except Exception:  # a session that cannot be decoded holds no usable identity
        logger.warning("session %s could not be decoded", session.pk)
        return None
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None
