"""The participant list filters by best response in the database (same query count for 1 and
100 participants), and the site choices come from the site_list selector."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.web.conftest import register_participant

pytestmark = pytest.mark.django_db


def _summary(participant, response: str) -> None:
    from mmtrial.edc.models import ResponseSummary

    ResponseSummary.objects.create(
        participant=participant, best_overall_response=response, engine_version="test"
    )


def _get(client, url: str):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), len(captured.captured_queries)


def test_the_response_filter_lists_only_that_response(client, users, sites):
    coordinator = users["coordinator"]
    pr = register_participant(coordinator, sites["A"], "SCR-PR1")
    vgpr = register_participant(coordinator, sites["A"], "SCR-VG1")
    register_participant(coordinator, sites["A"], "SCR-NO1")
    _summary(pr, "PR")
    _summary(vgpr, "VGPR")
    client.force_login(coordinator)
    html, _ = _get(client, "/participants/?response=PR")
    assert "SCR-PR1" in html and "SCR-VG1" not in html and "SCR-NO1" not in html
    html, _ = _get(client, "/participants/?response=VGPR")
    assert "SCR-VG1" in html and "SCR-PR1" not in html
    html, _ = _get(client, "/participants/")
    assert all(n in html for n in ("SCR-PR1", "SCR-VG1", "SCR-NO1"))


def test_the_response_filtered_list_reads_the_same_queries_for_1_and_100(client, users, sites):
    coordinator = users["coordinator"]
    _summary(register_participant(coordinator, sites["A"], "SCR-0000"), "PR")
    client.force_login(coordinator)
    _get(client, "/participants/")  # the first request after login also writes the session
    _, with_one = _get(client, "/participants/?response=PR")
    for n in range(1, 100):
        _summary(register_participant(coordinator, sites["A"], f"SCR-{n:04d}"), "PR")
    html, with_hundred = _get(client, "/participants/?response=PR")
    assert "SCR-0049" in html  # the first page of 50
    assert with_hundred == with_one


def test_site_choices_are_the_users_sites(client, users, sites):
    client.force_login(users["coordinator"])
    html, _ = _get(client, "/participants/new/")
    assert "Site A Hospital" in html and "Site B Hospital" not in html
    html, _ = _get(client, "/participants/")
    assert 'value="JP01"' in html and 'value="JP02"' not in html
    client.force_login(users["monitor"])
    html, _ = _get(client, "/participants/")
    assert 'value="JP01"' in html and 'value="JP02"' in html
