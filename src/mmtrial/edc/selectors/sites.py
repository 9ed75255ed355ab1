"""Reading sites: the active sites where a user may do an action (for filters and forms).

Scoped by the role matrix (`scope_to_sites`): a coordinator sees only their own sites, an
all-sites role (monitor, data manager) sees every active site. Only site names and codes are
read here, never participant data.
"""

from __future__ import annotations

from django.db.models import QuerySet

from mmtrial.edc.models import Site
from mmtrial.edc.permissions import Action, scope_to_sites

__all__ = ["site_list"]


def site_list(*, user, action: Action = Action.VIEW) -> QuerySet[Site]:
    """Active sites where `user` may do `action`, ordered by code (one query when read)."""
    queryset = scope_to_sites(Site.objects.filter(active=True), user, action, site_field="id")
    return queryset.order_by("code")
