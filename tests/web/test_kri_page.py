"""The central monitoring page: the KRI table with flags, the funnel plot and the forecast for
roles that see every site; site staff see only their own site's indicators."""

from __future__ import annotations

import datetime as dt

import pytest

from mmtrial.edc.models import AdverseEvent, Site
from tests.edc.factories import make_participant

pytestmark = pytest.mark.django_db

SITE_CODES = [f"JP{k:02d}" for k in range(3, 13)]


@pytest.fixture
def study(sites):
    """Twelve sites of three participants enrolled on 2026-10-05; site JP01 reports 5 AEs per
    participant, the others 1 per participant."""
    every = [sites["A"], sites["B"]] + [
        Site.objects.create(code=code, name=code, timezone="Asia/Tokyo") for code in SITE_CODES
    ]
    for site in every:
        for _ in range(3):
            p = make_participant(site, status="on_treatment", enrolled_on=dt.date(2026, 10, 5))
            for _ in range(15 if site.code == "JP01" else 1):
                AdverseEvent.objects.create(
                    participant=p, term="Fatigue", grade=1, start_date=dt.date(2026, 11, 1)
                )
    return every


def test_a_monitor_sees_every_site_with_the_outlier_flagged_and_the_forecast(login, users, study):
    client = login(users["monitor"])
    page = client.get("/central-monitoring/?metric=ae_rate")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="kri-JP01-ae_rate" data-flag="red"' in html
    assert 'data-testid="kri-JP02-ae_rate" data-flag' not in html
    assert 'data-testid="kri-site-JP12"' in html
    assert 'data-testid="funnel-plot"><svg' in html.replace("\n", "")
    assert 'data-testid="enrollment-forecast"' in html


def test_a_coordinator_sees_only_their_own_site(login, users, study):
    client = login(users["coordinator_b"])
    html = client.get("/central-monitoring/").content.decode()
    assert 'data-testid="kri-site-JP02"' in html
    assert 'data-testid="kri-site-JP01"' not in html
    assert "JP01" not in html.split('data-testid="funnel-plot"')[1].split("</figure>")[0]
    assert 'data-testid="enrollment-forecast"' not in html


def test_the_dashboard_shows_the_forecast_to_the_sponsor_side_only(login, users, study):
    html = login(users["data_manager"]).get("/").content.decode()
    assert 'data-testid="enrollment-forecast"' in html
    assert "of 34 participants enrolled" in html  # 42 enrolled in 14 sites: planned 34
    html = login(users["coordinator"]).get("/").content.decode()
    assert 'data-testid="enrollment-forecast"' not in html
