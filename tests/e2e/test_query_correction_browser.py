"""In Chromium, in English and in Japanese: a coordinator opens a query from the inbox, sees the
record it is about in words, follows the link to the form, corrects the value with a reason,
comes back to the query showing the corrected value and answers it (issue 12 item 3)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.e2e.test_trial_flow_browser import PASSWORD, login
from tests.web.flow import treated

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def study(db):
    from mmtrial.edc.models import LabResult, Site
    from mmtrial.edc.services.queries import query_open
    from tests.web.conftest import make_user

    site = Site.objects.create(code="JP01", name="Tokyo Medical Center", timezone="Asia/Tokyo")
    coordinator = make_user("coord", "coordinator", site, full_name="Hanako Sato")
    make_user("inv", "investigator", site, full_name="Dr Ken Mori")
    monitor = make_user("mon", "monitor", None, full_name="Yui Monitor")
    client = Client()
    client.force_login(coordinator)
    pk = treated(client, site)
    lab = LabResult.objects.get(participant_id=pk, analyte="platelets")
    query = query_open(
        user=monitor,
        participant=lab.participant,
        model="labresult",
        object_pk=lab.pk,
        field="value",
        text="Platelets 150000: the lab report says 145000. Please check.",
    )
    return {"pk": pk, "lab": lab, "query": query}


@pytest.mark.parametrize("language", ["en", "ja"])
def test_a_query_opened_from_the_inbox_leads_to_the_form_and_is_answered(
    live_server, page, study, language
):
    from mmtrial.edc.models import LabResult, Query

    assert PASSWORD
    base = live_server.url
    query = study["query"]
    login(page, base, "coord", language)
    page.goto(base + "/queries/")
    record = page.get_by_test_id(f"query-record-{query.pk}")
    assert "150000 /mm3" in record.inner_text()
    page.get_by_test_id("query-table").locator(f"a[href='/queries/{query.pk}/']").first.click()
    page.wait_for_url(f"{base}/queries/{query.pk}/")
    assert page.get_by_test_id("query-value").inner_text() == "150000 /mm3"

    page.get_by_test_id("query-correct-link").click()
    page.wait_for_url(f"{base}/participants/{study['pk']}/labs/{study['lab'].pk}/**")
    page.fill("[name=value]", "145000")
    page.fill("[name=reason]", "Transcription error; corrected from the lab report.")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}/queries/{query.pk}/")
    assert page.get_by_test_id("query-value").inner_text() == "145000 /mm3"

    page.fill("[name=text]", "Corrected to 145000 from the lab report.")
    page.locator("button[value=answer]").click()
    page.wait_for_url(f"{base}/queries/{query.pk}/")
    assert Query.objects.get(pk=query.pk).status == "answered"
    assert LabResult.objects.get(pk=study["lab"].pk).value == 145000
    assert page.get_by_test_id("query-message").count() == 2
