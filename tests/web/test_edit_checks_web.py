"""The edit checks on the web forms (issue 11 items 1, 2 and 7): impossible values refused with
the analyte's name, value, limits and unit; a save without the version refused, never
overwriting a newer value. Limits from the protocol file (value_ranges)."""

from __future__ import annotations

import pytest

from mmtrial.edc.models import DoseAdministration, LabResult, Visit
from tests.web.flow import C1D1, treated

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "shown"),
    [
        ("hemoglobin", "500", "g/dL", "Hemoglobin: 500 g/dL is impossible"),
        ("platelets", "99999999", "/mm3", "Platelet count: 99999999 /mm3 is impossible"),
        ("creatinine", "400", "mg/dL", "Serum creatinine: 400 mg/dL is impossible"),
    ],
)
def test_an_impossible_lab_value_is_refused_naming_the_analyte(
    login, users, sites, analyte, value, unit, shown
):
    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    before = LabResult.objects.filter(participant_id=pk).count()
    response = client.post(
        f"/participants/{pk}/labs/new/",
        {
            "collected_on": C1D1.isoformat(),
            "source": "local",
            f"value_{analyte}": value,
            f"unit_{analyte}": unit,
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert shown in page
    assert "_mg_dl" not in page and "_per_mm3" not in page  # no internal names
    assert LabResult.objects.filter(participant_id=pk).count() == before


def test_a_weight_of_9999_kg_is_refused_on_the_visit_form(login, users, sites):
    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    visit = Visit.objects.get(participant_id=pk, code="C1D1")
    response = client.post(
        f"/participants/{pk}/visits/{visit.pk}/",
        {"actual_date": C1D1.isoformat(), "weight_kg": "9999", "version": visit.version},
    )
    assert response.status_code == 400
    assert "Body weight: 9999 kg is impossible" in response.content.decode()


def test_a_post_without_the_version_does_not_overwrite_a_newer_value(login, users, sites):
    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    lab = LabResult.objects.filter(participant_id=pk, analyte="anc").first()
    url = f"/participants/{pk}/labs/{lab.pk}/"
    common = {"unit": "/mm3", "collected_on": lab.collected_on.isoformat()}
    newer = client.post(url, {**common, "value": "1600", "reason": "x", "version": lab.version})
    assert newer.status_code == 302
    stale = client.post(url, {**common, "value": "1700", "reason": "no version sent"})
    assert stale.status_code == 400
    assert "reload the page" in stale.content.decode()
    lab.refresh_from_db()
    assert lab.reported_value == "1600"


def test_a_dose_saved_without_its_version_is_refused(login, users, sites):
    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    dose = DoseAdministration.objects.filter(cycle__participant_id=pk).order_by("day").first()
    prefix = f"dose{dose.pk}"
    response = client.post(
        f"/participants/{pk}/cycles/1/doses/",
        {f"{prefix}-status": "taken", f"{prefix}-reason": ""},
    )
    assert response.status_code == 400
    dose.refresh_from_db()
    assert dose.status == "planned"


def test_the_refusal_is_in_japanese_with_the_field_label_translated(login, users, sites):
    import datetime as dt

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    client.post("/i18n/setlang/", {"language": "ja", "next": "/"})
    response = client.post(
        f"/participants/{pk}/labs/new/",
        {
            "collected_on": (dt.date.today() + dt.timedelta(days=3)).isoformat(),
            "source": "local",
            "value_anc": "1200",
            "unit_anc": "/mm3",
        },
    )
    page = response.content.decode()
    assert response.status_code == 400
    assert "未来の日付" in page and "採取日" in page
    assert "Collection date" not in page
