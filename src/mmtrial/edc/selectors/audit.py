"""Reading the audit trail, scoped to the user's sites (E6 4.3.8(b); 21 CFR 11.10(e)).

Events carry the site code of the data they concern. Events about no site (logins, accounts
with all-site roles) are visible only to users who may view the audit trail at every site.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from mmtrial.edc.models import AuditEvent, Site
from mmtrial.edc.permissions import ALL_SITES, Action, sites_allowed
from mmtrial.edc.selectors.participants import participant_get
from mmtrial.errors import NotFound, PermissionDenied

AUDIT_RECORD_NOT_FOUND = "No audit trail for {model} {object_pk} at the sites you can see."
SECURITY_LOG_DENIED = "Only users who may view the audit trail at every site see the security log."

SECURITY_ACTIONS = (
    "login",
    "login_failed",
    "esign_failed",
    "logout",
    "session_expired",
    "lockout",
    "account_unlock",
    "user_create",
    "user_deactivate",
    "role_grant",
    "role_revoke",
    "identity_verified",
    "password_set",
    "password_change",
)


def _visible(queryset: QuerySet[AuditEvent], user) -> QuerySet[AuditEvent]:
    allowed = sites_allowed(user, Action.VIEW_AUDIT)
    if allowed is ALL_SITES:
        return queryset
    codes = list(Site.objects.filter(pk__in=list(allowed)).values_list("code", flat=True))
    return queryset.filter(site_code__in=codes)


def audit_event_list(
    *,
    user,
    actions: list[str] | tuple[str, ...] | None = None,
    site_code: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> QuerySet[AuditEvent]:
    """Audit events the user may see, oldest first, optionally filtered."""
    queryset = _visible(AuditEvent.objects.select_related("actor"), user)
    if actions:
        queryset = queryset.filter(action__in=list(actions))
    if site_code:
        queryset = queryset.filter(site_code=site_code)
    if since is not None:
        queryset = queryset.filter(occurred_at__gte=since)
    if until is not None:
        queryset = queryset.filter(occurred_at__lt=until)
    return queryset.order_by("id")


def audit_trail_for_participant(*, user, participant_id: int | str) -> QuerySet[AuditEvent]:
    """Every event about one participant's data, queries and signatures, oldest first.

    NotFound when the participant is not at a site where the user may view the audit trail.
    """
    participant = participant_get(user=user, pk=participant_id, action=Action.VIEW_AUDIT)
    labels = [label for label in (participant.screening_number, participant.subject_id) if label]
    return (
        AuditEvent.objects.select_related("actor")
        .filter(site_code=participant.site.code, subject__in=labels)
        .order_by("id")
    )


def audit_trail_for_record(*, user, model: str, object_pk: int | str) -> QuerySet[AuditEvent]:
    """Every event about one record (e.g. model "labresult", its id), oldest first.

    NotFound when there is none the user may see: a record at another site looks the same as a
    record that does not exist.
    """
    queryset = _visible(
        AuditEvent.objects.select_related("actor").filter(model=model, object_pk=str(object_pk)),
        user,
    ).order_by("id")
    if not queryset.exists():
        raise NotFound.coded(
            AUDIT_RECORD_NOT_FOUND,
            {"model": model, "object_pk": str(object_pk)},
            model=model,
            object_pk=object_pk,
        )
    return queryset


def security_log(*, user, since: dt.datetime | None = None) -> QuerySet[AuditEvent]:
    """Logins, failed logins, lockouts, logouts and account changes (E6 4.2.2(a)(i))."""
    if sites_allowed(user, Action.VIEW_AUDIT) is not ALL_SITES:
        raise PermissionDenied(SECURITY_LOG_DENIED)
    return audit_event_list(user=user, actions=SECURITY_ACTIONS, since=since)
