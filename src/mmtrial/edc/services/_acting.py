"""Who an audit event names when a service acts for a user (compliance KF-3).

A service is given the acting user explicitly. The event names that user, keeping the door
(web, api, cli) and source address of the surrounding `audit_actor(...)` context when it is the
same person, so the audit user is always the requester and never a shared account.
"""

from __future__ import annotations

import getpass
from typing import Any

from mmtrial.edc.audit import Actor, current_actor


class _SystemOperator:
    """The person at the server's shell running `mmtrial site add` / `mmtrial user add`.

    Like Django's `createsuperuser`, shell access to the server is the authority; the audit
    event names the operating-system login so the action stays attributable.
    """

    is_active = True
    pk = None

    @property
    def username(self) -> str:
        try:
            login = getpass.getuser()
        except (KeyError, OSError):  # pragma: no cover - no passwd entry in some containers
            login = "unknown"
        return f"operator:{login}"

    def __repr__(self) -> str:
        return "SYSTEM_OPERATOR"


SYSTEM_OPERATOR = _SystemOperator()


def actor_for(user: Any | None) -> Actor | None:
    """The audit actor for `user`: the current context when it is the same user.

    With `user=None` (an automatic action such as an edit check) the surrounding context is kept:
    the event names whoever's action triggered it, or "system".
    """
    context = current_actor()
    if user is None:
        return context
    if user is SYSTEM_OPERATOR:
        return Actor(
            user=None,
            username=user.username,
            via=context.via if context else "cli",
            source_ip=context.source_ip if context else "",
        )
    if context is not None and getattr(context.user, "pk", None) == user.pk:
        return context
    return Actor(
        user=user,
        username=user.username,
        via=context.via if context else "service",
        source_ip=context.source_ip if context else "",
    )
