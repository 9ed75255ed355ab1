"""The deviation pages: the monitor's list filtered by site, status and importance, each site
seeing only its own; the participant's page lists theirs; entry by hand and resolve."""

from __future__ import annotations

import datetime as dt

import pytest

from mmtrial.edc.models import Deviation
from tests.web.conftest import register_participant

pytestmark = pytest.mark.django_db


def _deviation(participant, **kw):
    values = dict(
        participant=participant,
        rule="visit_out_of_window",
        record_key=f"visit:{participant.pk}",
        category="Visit schedule",
        important=False,
        detected_by="rule",
        source_model="visit",
        source_pk="1",
        description=f"Visit C1D8 of {participant.screening_number} was late",
        detected_on=dt.date(2027, 2, 1),
    )
    values.update(kw)
    return Deviation.objects.create(**values)


@pytest.fixture
def two_sites(sites, users):
    a = register_participant(users["coordinator"], sites["A"], "A-001")
    b = register_participant(users["coordinator_b"], sites["B"], "B-001")
    da = _deviation(a)
    db = _deviation(b, important=True, category="Eligibility", rule="ineligible_enrolled")
    return a, b, da, db


def test_each_site_sees_only_its_own_deviations(client, login, users, two_sites):
    _a, _b, _da, _db = two_sites
    page = login(users["coordinator"]).get("/deviations/").content.decode()
    assert "of A-001 was late" in page and "B-001" not in page
    page = login(users["coordinator_b"]).get("/deviations/").content.decode()
    assert "of B-001 was late" in page and "A-001" not in page
    page = login(users["monitor"]).get("/deviations/").content.decode()
    assert "A-001" in page and "B-001" in page


def test_the_list_filters_by_site_status_and_importance(client, login, users, sites, two_sites):
    _a, _b, da, _db = two_sites
    c = login(users["monitor"])
    page = c.get(f"/deviations/?site={sites['B'].pk}").content.decode()
    assert "B-001" in page and "A-001" not in page
    page = c.get("/deviations/?important=yes").content.decode()
    assert "B-001" in page and "A-001" not in page
    page = c.get("/deviations/?important=no").content.decode()
    assert "A-001" in page and "B-001" not in page
    Deviation.objects.filter(pk=da.pk).update(status="resolved", resolution="ok")
    page = c.get("/deviations/?status=open").content.decode()
    assert "B-001" in page and "A-001" not in page


def test_the_participant_page_lists_their_deviations(client, login, users, two_sites):
    a, _b, da, _db = two_sites
    page = login(users["coordinator"]).get(f"/participants/{a.pk}/").content.decode()
    assert "Protocol deviations" in page and "of A-001 was late" in page
    assert "B-001" not in page
    assert f"/deviations/{da.pk}/resolve/" not in page  # a coordinator cannot resolve


def test_a_monitor_enters_one_by_hand_and_resolves_it(client, login, users, two_sites):
    a, _b, _da, _db = two_sites
    c = login(users["monitor"])
    response = c.post(
        f"/participants/{a.pk}/deviations/new/",
        {
            "category": "Informed consent",
            "description": "Consent v2 signed late",
            "important": "on",
        },
    )
    assert response.status_code == 302
    manual = Deviation.objects.get(detected_by="manual")
    assert (manual.participant_id, manual.important, manual.entered_by) == (
        a.pk,
        True,
        users["monitor"],
    )
    response = c.post(
        f"/deviations/{manual.pk}/resolve/",
        {
            "resolution": "Re-consented on 2027-02-03",
            "version": manual.version,
            "next": "https://evil.example/",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/deviations/"
    manual.refresh_from_db()
    assert (manual.status, manual.resolution) == ("resolved", "Re-consented on 2027-02-03")


def test_another_sites_coordinator_cannot_enter_or_resolve(client, login, users, two_sites):
    a, _b, da, _db = two_sites
    c = login(users["coordinator_b"])
    assert c.get(f"/participants/{a.pk}/deviations/new/").status_code == 404
    response = c.post(f"/deviations/{da.pk}/resolve/", {"resolution": "x", "version": 1})
    assert response.status_code == 404
    da.refresh_from_db()
    assert da.status == "open"
