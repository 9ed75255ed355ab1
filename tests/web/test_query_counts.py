"""Each page reads the database a bounded number of times, whatever the number of participants:
the count with 100 participants at the site equals the count with 1 (and stays small)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.web.conftest import register_participant
from tests.web.flow import treated

pytestmark = pytest.mark.django_db

CEILING = 40  # a page needing more than this many queries has an N+1 somewhere


def _pages(pk: int) -> list[str]:
    return [
        "/",
        "/participants/",
        "/participants/?status=screening",
        f"/participants/{pk}/",
        f"/participants/{pk}/screening/",
        f"/participants/{pk}/cycles/1/doses/",
        f"/participants/{pk}/audit/",
        f"/participants/{pk}/sign-lock/",
        "/queries/",
        "/worklist/?view=month",
    ]


def _counts(client, pk: int) -> dict[str, int]:
    """Each page built from the database: the timeline's rendered-HTML cache is emptied first
    (a page served from it reads less; web.timeline_cache)."""
    from django.core.cache import caches

    counts = {}
    for url in _pages(pk):
        caches["timeline"].clear()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, url
        counts[url] = len(captured.captured_queries)
    return counts


def _add_participants(users, site, count: int, start: int) -> None:
    for n in range(start, start + count):
        register_participant(users["coordinator"], site, f"SCR-{n:04d}")


def test_page_query_counts_do_not_grow_with_participants(client, users, sites):
    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    _add_participants(users, sites["A"], 1, start=100)  # one in screening, for the filtered list
    with_one = _counts(client, pk)
    _add_participants(users, sites["A"], 99, start=200)
    with_hundred = _counts(client, pk)
    assert with_hundred == with_one
    assert max(with_one.values()) <= CEILING, with_one


def test_query_inbox_count_does_not_grow_with_queries(client, users, sites):
    from mmtrial.edc.models import LabResult
    from mmtrial.edc.services.queries import query_open

    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    participant = LabResult.objects.filter(participant_id=pk).first().participant
    lab = LabResult.objects.filter(participant_id=pk).first()

    def open_queries(n):
        for i in range(n):
            query_open(
                user=users["monitor"],
                participant=participant,
                model="labresult",
                object_pk=lab.pk,
                text=f"q{i}",
            )

    open_queries(1)
    first = _counts(client, pk)
    open_queries(30)
    assert _counts(client, pk) == first
