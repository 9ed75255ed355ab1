"""The site dashboard: visits due and overdue, open queries, participants by status."""

from __future__ import annotations

from collections import Counter

from django.shortcuts import render

from mmtrial.edc.selectors.participants import participant_list
from mmtrial.web.labels import LABELS


def dashboard(request):
    participants = participant_list(user=request.user)
    by_status = Counter(p.status for p in participants)
    status_rows = [
        (code, text, by_status.get(code, 0)) for code, text in LABELS["participant_status"].items()
    ]
    return render(
        request,
        "web/dashboard.html",
        {"status_rows": status_rows, "participant_total": sum(by_status.values())},
    )
