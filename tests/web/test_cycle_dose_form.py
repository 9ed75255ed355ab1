"""A cycle's doses in one form (issue 12 item 5): every planned dose of the cycle, the
unrecorded ones visibly unrecorded, one Save, one audited batch; a refused row named, nothing
saved; the page's queries constant in the number of rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mmtrial.edc.models import AuditEvent, DoseAdministration
from mmtrial.protocol.loader import load_protocol
from tests.web.flow import treated

pytestmark = pytest.mark.django_db


def _doses(pk: int, number: int = 1) -> list[DoseAdministration]:
    return list(
        DoseAdministration.objects.filter(cycle__participant_id=pk, cycle__number=number).order_by(
            "date", "drug"
        )
    )


def _post(doses, **per_row) -> dict[str, str]:
    data = {}
    for dose in doses:
        prefix = f"dose{dose.pk}"
        data[f"{prefix}-version"] = str(dose.version)
        data[f"{prefix}-status"] = per_row.get(str(dose.pk), "taken")
        data[f"{prefix}-reason"] = ""
    return data


def test_every_planned_dose_of_the_cycle_is_one_row_and_unrecorded_ones_say_so(login, users, sites):
    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    doses = _doses(pk)
    planned_days = sum(len(e.days) for e in load_protocol().regimen.values())
    assert len(doses) == planned_days  # every drug of the regimen, every planned day
    page = client.get(f"/participants/{pk}/cycles/1/doses/").content.decode()
    assert page.count('class="dose-row unrecorded"') == len(doses)
    assert page.count('data-testid="dose-save"') == 1
    assert (
        page.count("<form")
        - page.count('action="/logout/"')
        - page.count('action="/i18n/setlang/"')
        == 1
    )
    # Nothing reads "Taken as planned" before it is recorded: the select starts on "Not recorded".
    assert 'value="taken" selected' not in page
    assert page.count('value="" selected>Not recorded') == len(doses)


def test_one_save_records_the_rows_filled_in_as_one_audited_batch(login, users, sites):
    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    doses = _doses(pk)[:8]
    before = AuditEvent.objects.count()
    response = client.post(f"/participants/{pk}/cycles/1/doses/", _post(doses))
    assert response.status_code == 302, response.content.decode()[:2000]
    stored = _doses(pk)
    assert sum(d.status == "taken" for d in stored) == 8
    assert all(d.status == "planned" for d in stored[8:])  # rows left blank stay planned
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [e.model for e in events] == ["doseadministration"] * 8
    page = client.get(response.url).content.decode()
    assert "8 doses of cycle 1 saved." in page
    assert page.count('class="dose-row unrecorded"') == len(stored) - 8


def test_a_refused_row_is_named_and_nothing_is_saved(login, users, sites):
    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    doses = _doses(pk)[:5]
    bad = doses[2]
    before = AuditEvent.objects.count()
    response = client.post(
        f"/participants/{pk}/cycles/1/doses/", _post(doses, **{str(bad.pk): "held"})
    )
    assert response.status_code == 400
    page = response.content.decode()
    row = page[page.index(f'id="dose-{bad.pk}"') :]
    row = row[: row.index("</tr>")]
    assert (
        "has-error"
        in page[page.index(f'id="dose-{bad.pk}"') - 80 : page.index(f'id="dose-{bad.pk}"') + 200]
    )
    assert f"day {bad.day} ({bad.date.isoformat()})" in row
    assert all(d.status == "planned" for d in _doses(pk))
    assert AuditEvent.objects.count() == before


def _save_queries(client, pk: int, doses) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(f"/participants/{pk}/cycles/1/doses/", _post(doses))
    assert response.status_code == 302
    return len(ctx.captured_queries)


def test_the_save_takes_the_same_number_of_queries_for_3_rows_as_for_12(login, users, sites):
    client = login(users["coordinator"])
    first = treated(client, sites["A"], number="SCR-301")
    second = treated(client, sites["A"], number="SCR-302")
    few = _save_queries(client, first, _doses(first)[:3])
    many = _save_queries(client, second, _doses(second)[:12])
    assert few == many
