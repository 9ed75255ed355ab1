"""The worklist page and its PDF (issue 12 item 4): sections with windows, links to the forms
that record each item, site isolation, a fixed number of queries for N and 3N participants."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from tests.web.flow import treated

pytestmark = pytest.mark.django_db


def test_the_page_lists_the_due_items_with_windows_and_links(login, users, sites):
    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    page = client.get("/worklist/?view=month").content.decode()
    assert 'data-testid="worklist-overdue"' in page
    assert 'data-testid="worklist-week0"' in page and 'data-testid="worklist-week1"' in page
    assert f'href="/participants/{pk}/' in page
    assert "Response assessment" in page or "Treatment visit" in page
    assert 'href="/worklist.pdf?view=month"' in page


def test_another_site_is_not_found(login, users, sites):
    client = login(users["coordinator"])
    treated(client, sites["A"])
    assert client.get("/worklist/?site=JP02").status_code == 404
    assert client.get("/worklist/?site=JP01").status_code == 200
    assert client.get("/worklist.pdf?site=JP02").status_code == 404


def test_another_sites_participants_are_not_listed(login, users, sites):
    client = login(users["coordinator_b"])
    treated(client, sites["B"], number="SCR-B01")
    client.logout()
    client = login(users["coordinator"])
    page = client.get("/worklist/?view=month").content.decode()
    assert "JP02" not in page


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_pdf_is_a_printable_copy_of_the_page(login, users, sites, language):
    client = login(users["coordinator"])
    treated(client, sites["A"])
    client.cookies["django_language"] = language
    response = client.get("/worklist.pdf?view=month")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    assert "JP01" in text
    assert "C1D" in text


def _page_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get("/worklist/?view=month").status_code == 200
    return len(ctx.captured_queries)


def test_the_page_reads_the_database_the_same_number_of_times_for_n_and_3n(login, users, sites):
    client = login(users["coordinator"])
    treated(client, sites["A"], number="SCR-401")
    with_one = _page_queries(client)
    for n in (402, 403):
        treated(client, sites["A"], number=f"SCR-{n}")
    assert _page_queries(client) == with_one
