"""The site dashboard: visits due today and this week, overdue and out-of-window visits, open
queries, participants by status. Every figure is scoped to the user's sites by the selectors."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.shortcuts import render
from django.utils import timezone

from mmtrial.edc.selectors.participants import participant_list
from mmtrial.edc.selectors.queries import query_inbox
from mmtrial.edc.selectors.sae import sae_list
from mmtrial.edc.selectors.visits import visits_due
from mmtrial.web.labels import LABELS
from mmtrial.web.query_context import query_contexts

# How far back the dashboard looks for visits still due after their window closed.
OVERDUE_LOOKBACK_DAYS = 120
WEEK_DAYS = 7
# The oldest open queries shown with their records; the inbox has them all.
DASHBOARD_QUERIES = 20


def dashboard(request):
    today = timezone.localdate()  # the site's date: the request runs in its time zone
    week_end = today + dt.timedelta(days=WEEK_DAYS - 1)
    rows = visits_due(
        user=request.user,
        start=today - dt.timedelta(days=OVERDUE_LOOKBACK_DAYS),
        end=week_end,
        today=today,
    )
    due_today = [r for r in rows if r.visit.planned_date == today and r.visit.status == "due"]
    due_week = [r for r in rows if today < r.visit.planned_date and r.visit.status == "due"]
    overdue = [r for r in rows if r.overdue]
    out_of_window = [r for r in rows if r.out_of_window]
    open_queries = list(query_inbox(user=request.user, statuses=["open"]))
    shown_queries = open_queries[:DASHBOARD_QUERIES]
    by_status = Counter(p.status for p in participant_list(user=request.user))
    status_rows = [
        (code, text, by_status.get(code, 0)) for code, text in LABELS["participant_status"].items()
    ]
    context = {
        "today": today,
        "week_end": week_end,
        "due_today": due_today,
        "due_week": due_week,
        "overdue": overdue,
        "out_of_window": out_of_window,
        "open_queries": open_queries,
        "shown_queries": shown_queries,
        "query_contexts": query_contexts(shown_queries),
        "status_rows": status_rows,
        "participant_total": sum(by_status.values()),
        "sae_open": [
            r for r in sae_list(user=request.user, now=timezone.now()) if r.clock and r.clock.open
        ],
    }
    from mmtrial.web.views.kri import enrollment_forecast_context  # pandas, only when drawn

    context.update(enrollment_forecast_context(request))
    return render(request, "web/dashboard.html", context)
