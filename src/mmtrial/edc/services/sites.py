"""Adding and changing study sites (sponsor administrators, or the operator at the server)."""

from __future__ import annotations

import re
import zoneinfo

from django.db import transaction

from mmtrial.edc.audit import EventSpec, audit_record
from mmtrial.edc.models import Site
from mmtrial.edc.permissions import Action, authorize
from mmtrial.edc.services._acting import SYSTEM_OPERATOR, actor_for
from mmtrial.errors import InputError, NotFound

SITE_CODE_INVALID = (
    "Site code '{code}' is not valid: use 1 to 16 letters, digits or hyphens, e.g. JP-01."
)
SITE_CODE_TAKEN = "A site with code '{code}' already exists."
SITE_NAME_REQUIRED = "The site needs a name."
SITE_TIMEZONE_INVALID = "'{timezone}' is not a known time zone (use e.g. Asia/Tokyo)."
SITE_NOT_FOUND = "There is no site '{code}'."

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,15}$")


def authorize_admin(actor, action: Action, site_id: int | None = None) -> None:
    """The operator at the server's shell may manage; everyone else needs the role."""
    if actor is not SYSTEM_OPERATOR:
        authorize(actor, action, site_id)


def site_get_by_code(*, code: str) -> Site:
    site = Site.objects.filter(code__iexact=(code or "").strip()).first()
    if site is None:
        raise NotFound.coded(SITE_NOT_FOUND, {"field": "site"}, code=code)
    return site


def _validate_timezone(timezone: str) -> str:
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InputError.coded(
            SITE_TIMEZONE_INVALID, {"field": "timezone"}, timezone=timezone
        ) from None
    return timezone


@transaction.atomic
def site_add(
    *, actor, code: str, name: str, timezone: str = "Asia/Tokyo", name_ja: str = ""
) -> Site:
    """Add a site. `actor` is a user with MANAGE_SITES, or SYSTEM_OPERATOR from the CLI."""
    authorize_admin(actor, Action.MANAGE_SITES)
    code = (code or "").strip().upper()
    if not _CODE.match(code):
        raise InputError.coded(SITE_CODE_INVALID, {"field": "code"}, code=code)
    name = (name or "").strip()
    if not name:
        raise InputError(SITE_NAME_REQUIRED, {"field": "name"})
    _validate_timezone(timezone)
    if Site.objects.filter(code__iexact=code).exists():
        raise InputError.coded(SITE_CODE_TAKEN, {"field": "code"}, code=code)
    site = Site.objects.create(code=code, name=name, name_ja=name_ja.strip(), timezone=timezone)
    audit_record(
        EventSpec(
            action="site_add",
            model="site",
            object_pk=str(site.pk),
            site_code=site.code,
            changes={
                "code": {"old": None, "new": site.code},
                "name": {"old": None, "new": site.name},
                "timezone": {"old": None, "new": site.timezone},
            },
        ),
        actor=actor_for(actor),
    )
    return site


_EDITABLE = ("name", "name_ja", "timezone", "active")


@transaction.atomic
def site_update(*, actor, site: Site, values: dict, reason: str = "") -> Site:
    """Change a site's name, Japanese name, time zone or active flag (the code never changes)."""
    authorize_admin(actor, Action.MANAGE_SITES)
    unknown = sorted(set(values) - set(_EDITABLE))
    if unknown:
        raise InputError(f"Site field '{unknown[0]}' cannot be changed.", {"field": unknown[0]})
    current = Site.objects.select_for_update().get(pk=site.pk)
    if "timezone" in values:
        _validate_timezone(values["timezone"])
    if "name" in values and not str(values["name"]).strip():
        raise InputError(SITE_NAME_REQUIRED, {"field": "name"})
    changes = {}
    for name, new in values.items():
        old = getattr(current, name)
        if old != new:
            changes[name] = {"old": old, "new": new}
            setattr(current, name, new)
    if changes:
        current.save(update_fields=list(changes))
        audit_record(
            EventSpec(
                action="site_update",
                model="site",
                object_pk=str(current.pk),
                site_code=current.code,
                changes=changes,
                reason=reason,
            ),
            actor=actor_for(actor),
        )
    return current
