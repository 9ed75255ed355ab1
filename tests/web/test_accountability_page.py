"""The cycle's drug accountability page: a form per drug, adherence and the count against the
dose diary shown once the return is counted, another site's participant not found."""

from __future__ import annotations

import datetime as dt

import pytest

from mmtrial.edc.models import DoseAdministration, DrugAccountability, Query
from tests.web.flow import C1D1, treated

pytestmark = pytest.mark.django_db

URL = "/participants/{pk}/cycles/1/accountability/"


def _take(client, pk, days: int) -> None:
    doses = DoseAdministration.objects.filter(
        cycle__participant_id=pk, cycle__number=1, drug="lenalidomide"
    ).order_by("day")[:days]
    data = {}
    for dose in doses:
        data[f"dose{dose.pk}-version"] = str(dose.version)
        data[f"dose{dose.pk}-status"] = "taken"
        data[f"dose{dose.pk}-reason"] = ""
    response = client.post(f"/participants/{pk}/cycles/1/doses/", data)
    assert response.status_code == 302


def _post(client, pk, *, returned="", version="", reason=""):
    return client.post(
        URL.format(pk=pk),
        {
            "drug": "lenalidomide",
            "lenalidomide-version": version,
            "lenalidomide-dispensed_count": "21",
            "lenalidomide-dispensed_on": C1D1.isoformat(),
            "lenalidomide-returned_count": returned,
            "lenalidomide-returned_on": (C1D1 + dt.timedelta(days=21)).isoformat()
            if returned
            else "",
            "lenalidomide-lost_count": "0",
            "lenalidomide-reason": reason,
        },
    )


def test_the_page_has_a_form_per_drug_of_the_protocol(login, users, sites):
    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    page = client.get(URL.format(pk=pk)).content.decode()
    for drug in ("ixazomib", "lenalidomide", "dexamethasone"):
        assert f'data-testid="acct-form-{drug}"' in page
    assert "Drug accountability" in page


def test_a_count_agreeing_with_the_diary_shows_the_adherence(login, users, sites):
    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    _take(client, pk, 19)
    response = _post(client, pk)
    assert response.status_code == 302, response.content.decode()[:3000]
    response = _post(client, pk, returned="2", version="1")
    assert response.status_code == 302, response.content.decode()[:3000]
    page = client.get(URL.format(pk=pk)).content.decode()
    assert "19 / 21 (90.5%)" in page  # 19 of 21 planned lenalidomide doses
    assert 'data-testid="acct-mismatch-lenalidomide"' not in page
    assert not Query.objects.filter(model="drugaccountability").exists()


def test_a_mismatch_is_shown_and_queried(login, users, sites):
    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    _take(client, pk, 19)
    response = _post(client, pk, returned="3")
    assert response.status_code == 302, response.content.decode()[:3000]
    page = client.get(URL.format(pk=pk)).content.decode()
    assert 'data-testid="acct-mismatch-lenalidomide"' in page
    assert "Mismatch: -1" in page
    row = DrugAccountability.objects.get()
    assert Query.objects.filter(model="drugaccountability", object_pk=str(row.pk)).count() == 1


def test_a_refusal_lands_on_the_form(login, users, sites):
    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    response = _post(client, pk, returned="25")
    assert response.status_code == 400
    assert "more than the 21 dispensed" in response.content.decode()
    assert not DrugAccountability.objects.exists()


def test_another_sites_participant_is_not_found(login, users, sites):
    pk = treated(login(users["coordinator"]), sites["A"])
    client = login(users["coordinator_b"])
    assert client.get(URL.format(pk=pk)).status_code == 404
    assert _post(client, pk).status_code == 404
    assert not DrugAccountability.objects.exists()


def test_the_adherence_of_every_counted_cycle_is_listed(login, users, sites):
    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    _take(client, pk, 19)
    assert _post(client, pk, returned="2").status_code == 302
    page = client.get(URL.format(pk=pk)).content.decode()
    history = page[page.index('data-testid="acct-history"') :]
    assert "19 / 21 (90.5%)" in history
    assert "Agree" in history


def test_the_page_reads_with_a_fixed_number_of_queries(login, users, sites):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    _take(client, pk, 19)
    assert _post(client, pk, returned="2").status_code == 302
    with CaptureQueriesContext(connection) as one:
        client.get(URL.format(pk=pk))
    for drug, count in (("ixazomib", "3"), ("dexamethasone", "40")):
        response = client.post(
            URL.format(pk=pk),
            {
                "drug": drug,
                f"{drug}-dispensed_count": count,
                f"{drug}-dispensed_on": C1D1.isoformat(),
                f"{drug}-lost_count": "0",
            },
        )
        assert response.status_code == 302
    with CaptureQueriesContext(connection) as three:
        client.get(URL.format(pk=pk))
    assert len(three.captured_queries) == len(one.captured_queries)
