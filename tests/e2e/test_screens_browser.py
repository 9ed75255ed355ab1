"""In Chromium, in English and in Japanese: the screens that used to mislead now say what the
data say (issue 12 item 1). Expected words are the catalogue's, in the page's language."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.test import Client
from django.utils import translation

from tests.e2e.test_trial_flow_browser import login
from tests.web.flow import enter_labs, register, screen_and_enroll, screening_post, start_cycle

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def words(language: str, text: str) -> str:
    with translation.override(language):
        return translation.gettext(text)


@pytest.fixture
def study(db):
    from mmtrial.edc.models import LabResult, Site
    from mmtrial.edc.services.queries import query_open
    from tests.web.conftest import make_user

    site = Site.objects.create(code="JP01", name="Tokyo Medical Center", timezone="Asia/Tokyo")
    coordinator = make_user("coord", "coordinator", site, full_name="Hanako Sato")
    make_user("inv", "investigator", site, full_name="Dr Ken Mori")
    monitor = make_user("mon", "monitor", None, full_name="Yui Monitor")
    make_user("dm", "data_manager", None, full_name="Dana Manager")
    client = Client()
    client.force_login(coordinator)
    screening = register(client, site, "SCR-001")
    client.post(f"/participants/{screening}/screening/", screening_post(ecog=None))
    today = dt.datetime.now(zoneinfo.ZoneInfo("Asia/Tokyo")).date()
    c1d1 = today - dt.timedelta(days=10)
    treated = register(client, site, "SCR-002")
    screen_and_enroll(client, treated)
    enter_labs(client, treated, c1d1, creatinine="1.0", anc="1500", platelets="150000")
    start_cycle(client, treated, c1d1)
    lab = LabResult.objects.get(participant_id=treated, analyte="platelets")
    query_open(
        user=monitor,
        participant=lab.participant,
        model="labresult",
        object_pk=lab.pk,
        field="value",
        text="Please check.",
    )
    return {"screening": screening, "treated": treated}


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_screens_say_what_the_data_say(live_server, page, study, language):
    base = live_server.url
    login(page, base, "coord", language)

    page.goto(f"{base}/participants/{study['screening']}/screening/")
    in_progress = words(language, "Screening in progress")
    assert page.get_by_test_id("participant-status").inner_text() == in_progress
    assert page.get_by_test_id("eligibility").inner_text() == words(
        language, "Screening in progress: some values are missing"
    )
    assert page.locator("[name=a_EXC-OTHER]").is_disabled()
    page.goto(f"{base}/participants/")
    assert page.locator("table").get_by_text(in_progress, exact=True).count() == 1

    page.goto(f"{base}/participants/{study['treated']}/")
    assert page.get_by_test_id("best-response").inner_text() == words(language, "Not yet assessed")
    assert page.get_by_test_id("visit-state-C1D8").locator(".badge").inner_text() == words(
        language, "Overdue"
    )
    assert page.get_by_test_id("visit-state-C1D15").locator(".badge").inner_text() == words(
        language, "Due soon"
    )
    assert page.get_by_test_id("visit-state-C1D22").locator(".badge").inner_text() == words(
        language, "Planned"
    )

    login(page, base, "inv", language)
    page.goto(f"{base}/participants/{study['treated']}/sign-lock/")
    assert page.get_by_test_id("sign-blockers").is_visible()
    assert page.locator("[name=password]").count() == 0

    login(page, base, "dm", language)
    page.goto(f"{base}/participants/{study['treated']}/sign-lock/")
    page.fill("[name=reason]", "Data review complete.")
    page.get_by_test_id("lock").click()
    page.wait_for_url(f"{base}/participants/{study['treated']}/sign-lock/")
    login(page, base, "coord", language)
    page.goto(f"{base}/participants/{study['treated']}/labs/new/")
    assert page.get_by_test_id("locked-notice").is_visible()
    assert page.locator("main form[method=post]").count() == 0

    response = page.goto(f"{base}/participants/999999/")
    assert response.status == 404
    assert page.locator("main h1").inner_text() == words(language, "Page not found")
    page.get_by_test_id("error-links").locator("a").first.click()
    page.wait_for_url(base + "/")
