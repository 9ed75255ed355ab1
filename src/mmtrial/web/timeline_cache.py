"""The participant timeline's rendered HTML, cached per participant and per viewer's view of it.

The timeline is the busiest page and costs about 20 ms of server CPU to build (its reads and
its templates; docs/benchmarks.md). Its HTML only changes when the participant's data changes,
so it is kept under a key made of everything it depends on:

- the participant and the hash of its latest audit event (`participant_change_mark`): every
  write appends one in the same transaction, so the key changes with the data, in every worker
  process at once, with no invalidation message to lose;
- what the viewer may do there (enter data, raise, close queries, lock, decide doses): the
  links and forms shown;
- the language, the time zone and the date of the display (visit states and the next cycle's
  preview depend on today).

The randomization card (blinding: the arm only for those who may see it) and the header
around the page are rendered on every request, never cached. Site isolation is checked on
every request before the cache is read (`participant_visible`).

The CSRF token of the forms inside (lock and unlock) is per session: the cached HTML holds a
placeholder that each request replaces with its own token.

Where the HTML is kept is the `timeline` cache of the settings (each worker's memory by
default; MMTRIAL_TIMELINE_CACHE=off turns it off). A stale entry cannot be served from any
store: the key is checked against the database on every request.
"""

from __future__ import annotations

import hashlib
from dataclasses import astuple, dataclass

from django.core.cache import caches
from django.middleware.csrf import get_token
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from mmtrial.edc.selectors.timeline import participant_change_mark

__all__ = ["CSRF_PLACEHOLDER", "Viewer", "fill_csrf", "timeline_key", "timeline_store"]

# Bump when the templates or the view change what a cached page holds (a shared store
# outlives a deployment; each worker's memory does not).
RENDERING = 1
CSRF_PLACEHOLDER = "mmtrial-csrf-placeholder"


@dataclass(frozen=True)
class Viewer:
    """What the viewing user may do on this participant's page (decides links and forms)."""

    can_enter: bool
    can_query: bool
    can_lock: bool
    can_decide_dose: bool
    can_resolve: bool


def timeline_store():
    return caches["timeline"]


def timeline_key(participant, viewer: Viewer) -> str:
    parts = (
        RENDERING,
        participant.pk,
        participant.version,
        participant.protocol_version,
        participant_change_mark(participant),
        *(int(flag) for flag in astuple(viewer)),
        get_language(),
        timezone.get_current_timezone_name(),
        timezone.localdate().isoformat(),
    )
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()
    return f"timeline:{participant.pk}:{digest}"


def fill_csrf(request, html: str) -> SafeString:
    """The cached HTML with this request's CSRF token in its forms (fetched only when needed:
    fetching it sets the CSRF cookie, as rendering `{% csrf_token %}` does)."""
    if CSRF_PLACEHOLDER in html:
        html = html.replace(CSRF_PLACEHOLDER, get_token(request))
    return mark_safe(html)
