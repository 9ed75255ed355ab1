"""Visits due per site and date range, with overdue and out-of-window flags (fixed queries)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mmtrial.edc.models import Visit
from mmtrial.edc.models.treatment import VisitStatus
from mmtrial.edc.permissions import ALL_SITES, Action, sites_allowed
from mmtrial.errors import InputError, NotFound

__all__ = ["VisitDue", "visits_due"]

SITE_NOT_FOUND = "Site {site} was not found among the sites you may see."


@dataclass(frozen=True)
class VisitDue:
    visit: Visit
    site_code: str
    subject: str
    overdue: bool
    out_of_window: bool


def visits_due(
    *,
    user,
    site_id: int | None = None,
    start: dt.date,
    end: dt.date,
    today: dt.date,
) -> list[VisitDue]:
    """Visits planned from `start` to `end` (inclusive) at the user's sites (or one site).

    `overdue`: still due after the last day of its window (before `today`); `out_of_window`:
    done outside its window. Missed visits are listed too (status `missed`).
    """
    if end < start:
        raise InputError(f"end: {end} is before start {start}", {"field": "end"})
    allowed = sites_allowed(user, Action.VIEW)
    if site_id is not None and site_id not in allowed:
        raise NotFound.coded(SITE_NOT_FOUND, {"site_id": site_id}, site=site_id)
    queryset = Visit.objects.filter(
        is_deleted=False,
        participant__is_deleted=False,
        planned_date__gte=start,
        planned_date__lte=end,
    ).select_related("participant", "participant__site")
    if site_id is not None:
        queryset = queryset.filter(participant__site_id=site_id)
    elif allowed is not ALL_SITES:
        queryset = queryset.filter(participant__site_id__in=list(allowed))
    rows = []
    for visit in queryset.order_by("planned_date", "participant__site__code", "code"):
        participant = visit.participant
        rows.append(
            VisitDue(
                visit=visit,
                site_code=participant.site.code,
                subject=participant.subject_id or participant.screening_number,
                overdue=visit.status == VisitStatus.DUE and visit.window_end < today,
                out_of_window=visit.status == VisitStatus.OUT_OF_WINDOW,
            )
        )
    return rows
