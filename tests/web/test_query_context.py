"""Queries in context (issue 12 item 3): the query page, the inbox and the dashboard say which
record a query is about in words, with its current value and who entered it, and link to the
form that corrects it; the inbox filters by site, participant, status and age."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.web.flow import C1D1, treated

pytestmark = pytest.mark.django_db


def _query_on(users, pk, *, model="labresult", analyte="platelets", field="value", text="?"):
    from mmtrial.edc.models import LabResult, Participant, Visit
    from mmtrial.edc.services.queries import query_open

    participant = Participant.objects.get(pk=pk)
    if model == "labresult":
        target = LabResult.objects.get(participant_id=pk, analyte=analyte)
    else:
        target = Visit.objects.filter(participant_id=pk).order_by("planned_date").first()
    return query_open(
        user=users["monitor"],
        participant=participant,
        model=model,
        object_pk=target.pk,
        field=field,
        text=text,
    )


def _record_cell(body: str, query_pk: int) -> str:
    match = re.search(rf'data-testid="query-record-{query_pk}">(.*?)</td>', body, re.S)
    assert match, f"no row for query {query_pk}"
    return re.sub(r"\s+", " ", match.group(1))


def test_the_query_page_shows_the_record_in_words_and_links_to_its_form(login, users, sites):
    from mmtrial.edc.models import LabResult, Participant

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    query = _query_on(users, pk, text="Platelets look low for this patient.")
    lab = LabResult.objects.get(participant_id=pk, analyte="platelets")
    subject = Participant.objects.get(pk=pk).subject_id
    body = client.get(reverse("query_detail", args=[query.pk])).content.decode()
    record = re.sub(
        r"\s+", " ", re.search(r'data-testid="query-record">(.*?)</dd>', body, re.S).group(1)
    )
    assert "Lab result · <strong>Platelet count</strong>" in record
    assert C1D1.isoformat() in record
    assert 'data-testid="query-value">150000 /mm3<' in record
    assert "entered by Hanako Sato" in record
    assert f'href="{reverse("lab_edit", args=[pk, lab.pk])}?query={query.pk}"' in record
    assert subject in body
    assert f"Lab result {lab.pk}" not in body


def test_the_inbox_the_dashboard_and_the_timeline_show_the_record_and_its_form(login, users, sites):
    from mmtrial.edc.models import Visit

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    on_lab = _query_on(users, pk)
    on_visit = _query_on(users, pk, model="visit", field="actual_date")
    visit = Visit.objects.filter(participant_id=pk).order_by("planned_date").first()
    for url in ("/queries/", "/", f"/participants/{pk}/"):
        body = client.get(url).content.decode()
        lab_cell = _record_cell(body, on_lab.pk)
        assert "Platelet count" in lab_cell and "150000 /mm3" in lab_cell, url
        assert 'data-testid="query-correct-link"' in lab_cell
        visit_cell = _record_cell(body, on_visit.pk)
        assert f"Visit {visit.code}" in visit_cell and "Visit date" in visit_cell, url
        assert (
            f'href="{reverse("visit_edit", args=[pk, visit.pk])}?query={on_visit.pk}"' in visit_cell
        )


def test_the_inbox_filters_by_site_participant_status_and_age(login, users, sites):
    from mmtrial.edc.models import Participant, Query

    client = login(users["coordinator"])
    first = treated(client, sites["A"], "SCR-101")
    second = treated(client, sites["A"], "SCR-102")
    old = _query_on(users, first, text="old")
    recent = _query_on(users, second, text="recent")
    Query.objects.filter(pk=old.pk).update(opened_at=timezone.now() - dt.timedelta(days=40))
    Query.objects.filter(pk=recent.pk).update(opened_at=timezone.now() - dt.timedelta(days=10))
    monitor = client
    monitor.force_login(users["monitor"])

    def shown(**params) -> set[int]:
        body = monitor.get("/queries/", params).content.decode()
        return {int(n) for n in re.findall(r'data-testid="query-record-(\d+)"', body)}

    assert shown() == {old.pk, recent.pk}
    assert shown(site="JP01") == {old.pk, recent.pk}
    assert shown(site="JP02") == set()
    subject = Participant.objects.get(pk=second).subject_id
    assert shown(participant=subject) == {recent.pk}
    assert shown(participant="SCR-101") == {old.pk}
    assert shown(age="7") == {old.pk, recent.pk}
    assert shown(age="30") == {old.pk}
    assert shown(status="closed") == set()
    assert shown(status="open", age="30", participant="SCR-101") == {old.pk}


def test_a_coordinator_sees_only_the_sites_she_works_at_in_the_site_filter(login, users, sites):
    client = login(users["coordinator"])
    body = client.get("/queries/").content.decode()
    site_select = re.search(r'<select name="site".*?</select>', body, re.S).group(0)
    assert "JP01" in site_select and "JP02" not in site_select


def _inbox_and_dashboard_counts(client, query_pk: int) -> list[int]:
    counts = []
    for url in ("/queries/", "/", reverse("query_detail", args=[query_pk])):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        counts.append(len(captured.captured_queries))
    return counts


def test_the_records_of_many_queries_are_read_in_a_bounded_number_of_queries(
    login, users, sites, django_assert_max_num_queries
):
    client = login(users["coordinator"])
    first = treated(client, sites["A"], "SCR-101")
    query = _query_on(users, first)
    _query_on(users, first, model="visit", field="actual_date")
    with_two = _inbox_and_dashboard_counts(client, query.pk)
    for n in range(4):
        pk = treated(client, sites["A"], f"SCR-2{n:02d}")
        for analyte in ("platelets", "anc", "creatinine"):
            _query_on(users, pk, analyte=analyte)
        _query_on(users, pk, model="visit", field="actual_date")
    assert _inbox_and_dashboard_counts(client, query.pk) == with_two
    with django_assert_max_num_queries(with_two[0]):
        client.get("/queries/")


def test_query_records_selector_reads_each_record_type_once_plus_the_audit(
    users, sites, client, django_assert_max_num_queries
):
    from mmtrial.edc.models import Query
    from mmtrial.edc.selectors.query_records import query_records

    client.force_login(users["coordinator"])
    for n in range(3):
        pk = treated(client, sites["A"], f"SCR-3{n:02d}")
        _query_on(users, pk)
        _query_on(users, pk, model="visit", field="actual_date")
    queries = list(Query.objects.all())
    with django_assert_max_num_queries(3):  # lab results, visits (with their visit), audit
        found = query_records(queries)
    assert len(found) == 6
    assert all(r.record is not None and r.entered_by == "Hanako Sato" for r in found.values())


def test_the_raise_page_names_the_record_the_query_will_be_on(login, users, sites):
    from mmtrial.edc.models import LabResult

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    lab = LabResult.objects.get(participant_id=pk, analyte="platelets")
    client.force_login(users["monitor"])
    body = client.get(
        reverse("query_raise", args=[pk]),
        {"model": "labresult", "object_pk": lab.pk, "field": "value"},
    ).content.decode()
    record = re.search(r'data-testid="query-record">(.*?)</p>', body, re.S).group(1)
    assert "Platelet count" in record and "150000 /mm3" in record
    assert "entered by Hanako Sato" in record
    assert 'data-testid="query-correct-link"' not in record
