"""In Chromium, English and Japanese: the timeline previews the next cycle's dose decision,
first saying what to record (no recent creatinine), then, once the day-1 labs are entered, the
decision with its doses and reasons, labelled as a preview."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.e2e.test_trial_flow_browser import PASSWORD, enter_labs, login
from tests.web.flow import C1D1, treated

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WORDS = {
    "en": {"heading": "Next cycle 2", "preview": "Preview", "start": "start the cycle"},
    "ja": {"heading": "次サイクル2", "preview": "プレビュー", "start": "サイクルを開始"},
}


@pytest.fixture
def coordinator(db):
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from mmtrial.edc.models import Membership, Site, User

    site = Site.objects.create(code="JP01", name="Tokyo Medical Center", timezone="Asia/Tokyo")
    user = User.objects.create(
        username="coord",
        password=make_password(PASSWORD),
        full_name="Hanako Sato",
        password_changed_at=timezone.now(),
    )
    Membership.objects.create(user=user, site=site, role="coordinator")
    return user, site


@pytest.mark.parametrize("language", ["en", "ja"])
def test_the_next_cycle_preview_in_the_browser(live_server, page, client, coordinator, language):
    from mmtrial.protocol.loader import load_protocol

    user, site = coordinator
    client.force_login(user)
    pk = treated(client, site)
    c2d1 = C1D1 + dt.timedelta(days=load_protocol().cycle_length_days)
    words = WORDS[language]
    base = live_server.url

    login(page, base, "coord", language)
    page.goto(f"{base}/participants/{pk}/")
    preview = page.get_by_test_id("dose-preview")
    assert words["heading"] in preview.locator("h2").inner_text()
    assert c2d1.isoformat() in preview.locator("h2").inner_text()
    assert words["preview"] in preview.inner_text()
    # the missing analyte in the page's language (issue 12: no English word in a Japanese line)
    missing = {"en": "creatinine", "ja": "血清クレアチニン"}[language]
    assert missing in page.get_by_test_id("preview-missing").inner_text()

    enter_labs(page, base, pk, c2d1, {"creatinine": "1.0", "anc": "1500", "platelets": "150000"})
    decision = page.get_by_test_id("preview-dose-decision").inner_text()
    assert words["start"] in decision.lower() or words["start"] in decision
    assert page.get_by_test_id("preview-dose-lenalidomide").inner_text().strip()
    assert page.get_by_test_id("preview-decision-reasons").locator("li").count() >= 1
    # the recorded cycle 1 decision is still shown on its own
    assert page.get_by_test_id("dose-decision").is_visible()
