"""The sites a user may see or screen at, for filter and form choices.

The EDC has no site selector yet; this reads only site names and codes through the role matrix
(`scope_to_sites`), never participant data. Replace with `mmtrial.edc.selectors` when one exists.
"""

from __future__ import annotations

from mmtrial.edc.models import Site
from mmtrial.edc.permissions import Action, scope_to_sites


def sites_for(user, action: Action = Action.VIEW) -> list[Site]:
    """Active sites where `user` may do `action`, by code."""
    queryset = scope_to_sites(Site.objects.filter(active=True), user, action, site_field="id")
    return list(queryset.order_by("code"))
