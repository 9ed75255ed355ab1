"""The timeline served from its rendered-HTML cache (web.timeline_cache) shows what the database
holds now, to this viewer, in this language: every write changes the key, and rights, language,
blinding and site isolation are never taken from another viewer's page."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.web.flow import C1D1, enter_labs, treated

pytestmark = pytest.mark.django_db


def _page(client, pk: int) -> str:
    response = client.get(reverse("participant_detail", args=[pk]))
    assert response.status_code == 200
    return response.content.decode()


def _without_tokens(page: str) -> str:
    """The page with its CSRF tokens blanked (masked afresh on every request)."""
    return re.sub(r'(value="|"X-CSRFToken": ")[A-Za-z0-9]{64}"', r'\1"', page)


def _client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_lab_value_entered_after_a_view_shows_on_the_next_view(client, users, sites):
    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    assert "13.7" not in _page(client, pk)
    enter_labs(client, pk, C1D1, hemoglobin="13.7")
    assert "13.7" in _page(client, pk)


def test_a_second_view_is_the_same_page_from_the_cache_with_a_few_queries(client, users, sites):
    from django.core.cache import caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    _page(client, pk)  # shows (and so drops) the messages of the entry steps
    caches["timeline"].clear()
    with CaptureQueriesContext(connection) as built:
        first = _page(client, pk)
    with CaptureQueriesContext(connection) as cached:
        second = _page(client, pk)
    assert _without_tokens(second) == _without_tokens(first)
    # session, user, memberships, participant, audit mark, session save (3 with its
    # transaction): the timeline's own reads (cycles, doses, visits, labs, ...) are not made
    assert len(cached.captured_queries) <= 8 < len(built.captured_queries)


def test_a_query_raised_by_the_monitor_shows_on_the_coordinators_cached_page(client, users, sites):
    from mmtrial.edc.models import LabResult
    from mmtrial.edc.services.queries import query_open

    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    text = "Please check the platelet count against the source"
    assert text not in _page(client, pk)
    lab = LabResult.objects.filter(participant_id=pk, analyte="platelets").first()
    query_open(
        user=users["monitor"],
        participant=lab.participant,
        model="labresult",
        object_pk=lab.pk,
        text=text,
    )
    assert text in _page(client, pk)


def test_a_viewer_without_entry_rights_never_gets_the_entry_links_of_a_cached_page(
    client, users, sites
):
    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    lab_entry = reverse("lab_new", args=[pk])
    assert lab_entry in _page(client, pk)
    monitor_page = _page(_client_of(users["monitor"]), pk)
    assert lab_entry not in monitor_page
    assert "Raise query" in monitor_page  # the monitor's own rights
    assert lab_entry in _page(client, pk)


def test_the_page_is_in_the_viewers_language_after_another_language_was_cached(
    client, users, sites
):
    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    client.cookies["django_language"] = "en"
    assert "Cycle calendar" in _page(client, pk)
    client.cookies["django_language"] = "ja"
    japanese = _page(client, pk)
    assert "サイクルカレンダー" in japanese
    assert "Cycle calendar" not in japanese


def test_another_sites_coordinator_gets_not_found_for_a_cached_page(client, users, sites):
    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    _page(client, pk)
    response = _client_of(users["coordinator_b"]).get(reverse("participant_detail", args=[pk]))
    assert response.status_code == 404


def test_locking_the_participant_removes_the_entry_links_at_once(client, users, sites):
    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    lab_entry = reverse("lab_new", args=[pk])
    assert lab_entry in _page(client, pk)
    manager = _client_of(users["data_manager"])
    locked = manager.post(reverse("lock", args=[pk]), {"action": "lock", "reason": "review done"})
    assert locked.status_code == 302
    assert lab_entry not in _page(client, pk)


def test_each_data_manager_session_gets_its_own_csrf_token_in_the_cached_lock_forms(
    client, users, sites
):
    from mmtrial.edc.models import Visit

    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    first, second = (Client(enforce_csrf_checks=True) for _ in range(2))
    for browser in (first, second):
        browser.force_login(users["data_manager"])
    first_page = _page(first, pk)
    second_page = _page(second, pk)  # the lock forms from the first session's render
    assert "mmtrial-csrf-placeholder" not in second_page
    visit = Visit.objects.filter(participant_id=pk).order_by("planned_date").first()
    action = reverse("visit_lock", args=[pk, visit.pk])
    assert action in first_page and action in second_page
    form = re.search(
        re.escape(action) + r'".*?name="csrfmiddlewaretoken" value="([^"]+)"', second_page
    )
    response = second.post(
        action, {"action": "lock", "reason": "source verified", "csrfmiddlewaretoken": form[1]}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Visit.objects.get(pk=visit.pk).locked
