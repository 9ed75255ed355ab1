"""The role matrix: what each role may do, in one place (21 CFR 11.10(d), 11.10(g); E6 4.3.8).

A user holds roles per site (`Membership`); a membership without a site covers every site.
Everything that reads or writes participant data asks `sites_allowed` / `authorize` here.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from enum import StrEnum

from mmtrial.edc.models.people import Membership, Role
from mmtrial.errors import PermissionDenied


class Action(StrEnum):
    VIEW = "view"
    SCREEN = "screen"
    ENROLL = "enroll"
    ENTER_DATA = "enter_data"
    EDIT_DATA = "edit_data"
    IMPORT_LABS = "import_labs"
    QUERY_OPEN = "query_open"
    QUERY_ANSWER = "query_answer"
    QUERY_CLOSE = "query_close"
    SIGN = "sign"
    LOCK = "lock"
    UNLOCK = "unlock"
    VIEW_AUDIT = "view_audit"
    EXPORT = "export"
    MANAGE_USERS = "manage_users"
    MANAGE_SITES = "manage_sites"
    INVESTIGATOR_DECISION = "investigator_decision"
    # a double-blind study: who sees the allocated arm, who keeps the lists, who may unblind
    VIEW_ALLOCATION = "view_allocation"
    MANAGE_RANDOMIZATION = "manage_randomization"
    EMERGENCY_UNBLIND = "emergency_unblind"


_SITE_STAFF = {
    Action.VIEW,
    Action.SCREEN,
    Action.ENROLL,
    Action.ENTER_DATA,
    Action.EDIT_DATA,
    Action.QUERY_ANSWER,
    Action.VIEW_AUDIT,
}

ROLE_MATRIX: dict[str, frozenset[Action]] = {
    Role.COORDINATOR: frozenset(_SITE_STAFF),
    Role.INVESTIGATOR: frozenset(
        _SITE_STAFF | {Action.SIGN, Action.INVESTIGATOR_DECISION, Action.EMERGENCY_UNBLIND}
    ),
    Role.MONITOR: frozenset(
        {Action.VIEW, Action.QUERY_OPEN, Action.QUERY_CLOSE, Action.VIEW_AUDIT}
    ),
    Role.DATA_MANAGER: frozenset(
        {
            Action.VIEW,
            Action.QUERY_OPEN,
            Action.QUERY_CLOSE,
            Action.LOCK,
            Action.UNLOCK,
            Action.VIEW_AUDIT,
            Action.IMPORT_LABS,
            Action.EXPORT,
        }
    ),
    Role.STATISTICIAN: frozenset({Action.VIEW, Action.EXPORT}),
    Role.UNBLINDED_STATISTICIAN: frozenset({Action.VIEW, Action.EXPORT, Action.VIEW_ALLOCATION}),
    Role.RANDOMIZATION_ADMIN: frozenset({Action.VIEW_ALLOCATION, Action.MANAGE_RANDOMIZATION}),
    Role.SPONSOR_ADMIN: frozenset(
        {Action.VIEW, Action.VIEW_AUDIT, Action.EXPORT, Action.MANAGE_USERS, Action.MANAGE_SITES}
    ),
}


class AllSites:
    """Marker: the user's memberships cover every site for this action."""

    def __contains__(self, site_id: object) -> bool:
        return True

    def __repr__(self) -> str:
        return "AllSites()"


ALL_SITES = AllSites()


_cache: contextvars.ContextVar[dict[int, list[tuple[int | None, str]]] | None] = (
    contextvars.ContextVar("memberships", default=None)
)


@contextlib.contextmanager
def memberships_cached() -> Iterator[None]:
    """Inside one write (a unit of work), a user's memberships are read once."""
    if _cache.get() is not None:
        yield
        return
    token = _cache.set({})
    try:
        yield
    finally:
        _cache.reset(token)


def _memberships(user) -> list[tuple[int | None, str]]:
    cache = _cache.get()
    if cache is not None and user.pk in cache:
        return cache[user.pk]
    # `user__is_active` is read with the memberships: a user object loaded before the account
    # was deactivated (a long request, a cached object) is refused all the same.
    rows = list(
        Membership.objects.filter(user=user, active=True, user__is_active=True).values_list(
            "site_id", "role"
        )
    )
    if cache is not None:
        cache[user.pk] = rows
    return rows


def sites_allowed(user, action: Action) -> AllSites | frozenset[int]:
    """The site ids where `user` may do `action` (ALL_SITES, or a possibly empty set).

    Reads the memberships on every call (once per unit of work): a role removed or a user
    deactivated takes effect on the next request, open sessions included.
    """
    if user is None or not getattr(user, "is_active", False) or not user.pk:
        return frozenset()
    site_ids: set[int] = set()
    for site_id, role in _memberships(user):
        if action in ROLE_MATRIX.get(role, frozenset()):
            if site_id is None:
                return ALL_SITES
            site_ids.add(site_id)
    return frozenset(site_ids)


def can(user, action: Action, site_id: int | None = None) -> bool:
    allowed = sites_allowed(user, action)
    if site_id is None:
        return allowed is ALL_SITES or bool(allowed)
    return site_id in allowed


ACTION_DENIED = "You do not have permission to {action} here."


def authorize(user, action: Action, site_id: int | None = None) -> None:
    """Raise PermissionDenied unless `user` may do `action` at `site_id` (any site when None)."""
    if not can(user, action, site_id):
        raise PermissionDenied.coded(
            ACTION_DENIED,
            {"action": action.value, "site_id": site_id},
            action=action.value.replace("_", " "),
        )


def scope_to_sites(queryset, user, action: Action = Action.VIEW, *, site_field: str = "site_id"):
    """Filter a queryset to the sites where the user may do `action`."""
    allowed = sites_allowed(user, action)
    if allowed is ALL_SITES:
        return queryset
    return queryset.filter(**{f"{site_field}__in": list(allowed)})
