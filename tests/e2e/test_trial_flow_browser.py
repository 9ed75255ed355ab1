"""End to end in Chromium, in English and in Japanese: a coordinator screens, enrolls, enters
labs and doses and sees the dose decision and the derived response with reasons; a monitor
raises a query the coordinator answers; the investigator signs; the data manager locks; a
coordinator of another site cannot open the participant, not even by editing the address.

With MMTRIAL_SCREENSHOTS=1 the run saves screenshots of the main pages to docs/img/.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from tests.web.flow import ELIGIBLE_ANSWERS, ELIGIBLE_VALUES

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"
IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
TODAY = dt.date.today()
CONSENT = TODAY - dt.timedelta(days=70)
SCREENED = TODAY - dt.timedelta(days=69)
ENROLLED = TODAY - dt.timedelta(days=66)
C1D1 = TODAY - dt.timedelta(days=63)
RESPONSE_DAY = C1D1 + dt.timedelta(days=28)

WORDS = {
    "en": {
        "eligible": "Eligible",
        "in_progress": "Screening in progress: some values are missing",
        "screening": "Screening in progress",
        "start": "start the cycle",
        "reasons_heading": "Why",
    },
    "ja": {
        "eligible": "適格",
        "in_progress": "スクリーニング中：未入力の値があります",
        "screening": "スクリーニング中",
        "start": "サイクルを開始",
        "reasons_heading": "理由",
    },
}


@pytest.fixture
def people(db):
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from mmtrial.edc.models import Membership, Site, User

    site_a = Site.objects.create(code="JP01", name="Tokyo Medical Center", timezone="Asia/Tokyo")
    site_b = Site.objects.create(
        code="JP02", name="Osaka University Hospital", timezone="Asia/Tokyo"
    )
    hashed = make_password(PASSWORD)

    def user(username, role, site, name):
        u = User.objects.create(
            username=username, password=hashed, full_name=name, password_changed_at=timezone.now()
        )
        Membership.objects.create(user=u, site=site, role=role)
        return u

    dm = user("dm", "data_manager", None, "Dana Manager")
    investigator = user("inv", "investigator", site_a, "Dr Ken Mori")
    investigator.identity_verified_by = dm
    investigator.save(update_fields=["identity_verified_by"])
    return {
        "coordinator": user("coord", "coordinator", site_a, "Hanako Sato"),
        "coordinator_b": user("coordb", "coordinator", site_b, "Taro Ito"),
        "monitor": user("mon", "monitor", None, "Yui Monitor"),
        "investigator": investigator,
        "data_manager": dm,
        "site_a": site_a,
    }


def login(page, base, username, language):
    page.context.clear_cookies()
    page.goto(base + "/login/")
    if language != "en":
        page.select_option("#language-select", language)
        page.locator("form.lang button").click()
        page.wait_for_url("**/login/**")
    page.fill("[name=username]", username)
    page.fill("[name=password]", PASSWORD)
    page.locator("form[action='/login/'] button[type=submit]").click()
    page.wait_for_url(base + "/")


def shot(page, name, language, *, full_page=True):
    """Save a screenshot for the docs when MMTRIAL_SCREENSHOTS=1 (so test runs leave the tree
    as it is)."""
    if os.environ.get("MMTRIAL_SCREENSHOTS") != "1":
        return
    if language == "en" or name.endswith("_ja"):
        IMG.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(IMG / f"{name}.png"), full_page=full_page)


def fill_screening(page):
    """The coordinator's part: the values (the investigator's answers are read-only to her)."""
    page.fill("[name=screened_on]", SCREENED.isoformat())
    for name, value in ELIGIBLE_VALUES.items():
        selector = f"[name=v_{name}]"
        if isinstance(value, bool):
            page.select_option(selector, "yes" if value else "no")
        else:
            page.fill(selector, str(value))
    for cid in ELIGIBLE_ANSWERS:
        assert page.locator(f"[name=a_{cid}]").is_disabled()


def answer_screening(page):
    """The investigator's part: the criteria only the investigator judges."""
    for cid, answer in ELIGIBLE_ANSWERS.items():
        page.select_option(f"[name=a_{cid}]", "yes" if answer else "no")
    page.fill("[name=reason]", "investigator's answers")


def enter_labs(page, base, pk, on, values, accession=""):
    page.goto(f"{base}/participants/{pk}/labs/new/")
    page.fill("[name=collected_on]", on.isoformat())
    if accession:
        page.select_option("[name=source]", "central")
        page.fill("[name=accession]", accession)
    for analyte, value in values.items():
        page.fill(f"[name=value_{analyte}]", value)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}/participants/{pk}/")


@pytest.mark.parametrize("language", ["en", "ja"])
def test_trial_flow_in_the_browser(live_server, page, people, language):
    base = live_server.url
    words = WORDS[language]

    # The coordinator registers, screens and enrolls.
    login(page, base, "coord", language)
    page.goto(base + "/participants/new/")
    page.fill("[name=screening_number]", "SCR-001")
    page.select_option("[name=sex]", "female")
    page.fill("[name=year_of_birth]", "1955")
    page.select_option("[name=race]", "asian")
    page.fill("[name=consent_date]", CONSENT.isoformat())
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/screening/")
    pk = int(page.url.rstrip("/").split("/")[-2])
    fill_screening(page)
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_url("**/screening/")
    assert page.get_by_test_id("eligibility").inner_text() == words["in_progress"]
    assert page.get_by_test_id("participant-status").inner_text() == words["screening"]
    login(page, base, "inv", language)
    page.goto(f"{base}/participants/{pk}/screening/")
    answer_screening(page)
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_url("**/screening/")
    assert page.get_by_test_id("eligibility").inner_text() == words["eligible"]
    login(page, base, "coord", language)
    page.goto(f"{base}/participants/{pk}/screening/")
    assert page.get_by_test_id("criterion-INC-PLATELETS").get_by_text("150000").count() >= 1
    shot(page, "screening", language)
    page.fill("[name=enrolled_on]", ENROLLED.isoformat())
    page.get_by_test_id("enroll").click()
    page.wait_for_url(f"{base}/participants/{pk}/")
    subject = page.locator("main h1").inner_text()
    assert subject.startswith("JP01-")

    # Day-1 labs, cycle 1 and its dose decision with reasons.
    enter_labs(
        page,
        base,
        pk,
        C1D1,
        {"creatinine": "1.0", "anc": "1500", "platelets": "150000", "serum_m_protein": "2.4"},
    )
    page.goto(f"{base}/participants/{pk}/cycles/new/")
    page.fill("[name=start_date]", C1D1.isoformat())
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}/participants/{pk}/**")
    decision = page.get_by_test_id("dose-decision").inner_text()
    assert words["start"] in decision.lower() or words["start"] in decision
    assert page.get_by_test_id("decision-reasons").locator("li").count() >= 1
    assert page.get_by_test_id("calendar-cycle-1").is_visible()

    # Doses of cycle 1 in one form: a held dose without a reason is refused in its row and
    # nothing is saved; with "taken" the one Save records it.
    page.goto(f"{base}/participants/{pk}/cycles/1/doses/")
    row = page.locator("tr.dose-row").first
    row_id = row.get_attribute("id")
    assert "unrecorded" in (row.get_attribute("class") or "")
    row.locator("select").first.select_option("held")
    page.get_by_test_id("dose-save").click()
    page.locator(f"#{row_id} .field-error").wait_for()
    row = page.locator(f"#{row_id}")
    row.locator("select").first.select_option("taken")
    page.get_by_test_id("dose-save").click()
    page.wait_for_url(f"{base}/participants/{pk}/cycles/1/doses/")
    assert "unrecorded" not in (page.locator(f"#{row_id}").get_attribute("class") or "")
    shot(page, "doses", language)

    # The worklist: the participant's next visits, with their windows, and a printable PDF.
    page.goto(f"{base}/worklist/?view=month")
    assert page.get_by_test_id("worklist-item").count() >= 1
    assert page.get_by_test_id("worklist-pdf").is_visible()
    shot(page, "worklist", language)
    if language == "ja":
        shot(page, "worklist_ja", language)
        page.goto(f"{base}/participants/{pk}/cycles/1/doses/")
        shot(page, "doses_ja", language)

    # A central-lab M-protein four weeks later: the derived response with its reasons.
    enter_labs(
        page, base, pk, RESPONSE_DAY, {"serum_m_protein": "0.9"}, accession=f"ACC-{language}-1"
    )
    derived = page.get_by_test_id(f"derived-{RESPONSE_DAY.isoformat()}")
    assert derived.inner_text() == "PR"
    assert page.get_by_test_id("response-table").locator("ul.reasons li").count() >= 1
    shot(page, "timeline", language)
    if language == "ja":
        shot(page, "timeline_ja", language)
    page.goto(base + "/participants/")
    shot(page, "participants", language)
    page.goto(base + "/")
    shot(page, "dashboard", language)

    # The monitor raises a query on the M-protein; the coordinator answers; the monitor closes.
    login(page, base, "mon", language)
    page.goto(f"{base}/participants/{pk}/")
    page.get_by_test_id("lab-table").locator("a[href*='queries/new']").last.click()
    page.fill("[name=text]", "Please confirm the M-protein <b>0.9</b> against the lab report.")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}/participants/{pk}/")
    page.goto(base + "/queries/")
    page.get_by_test_id("query-table").locator("tbody a").first.click()
    query_url = page.url
    login(page, base, "coord", language)
    page.goto(query_url)
    assert "<b>0.9</b>" in page.locator("main").inner_text()  # shown as text, not markup
    page.fill("[name=text]", "Confirmed against the central lab report.")
    page.locator("button[value=answer]").click()
    page.wait_for_url(query_url)
    shot(page, "query", language)
    login(page, base, "mon", language)
    page.goto(query_url)
    page.locator("button[value=close]").click()
    page.wait_for_url(query_url)

    # The investigator signs: user name, password, meaning and the confirmation.
    login(page, base, "inv", language)
    page.goto(f"{base}/participants/{pk}/sign-lock/")
    page.fill("[name=username]", "inv")
    page.fill("[name=password]", PASSWORD)
    page.select_option("[name=meaning]", "Approval")
    page.check("[name=confirm]")
    page.get_by_test_id("sign").click()
    page.wait_for_url(f"{base}/participants/{pk}/sign-lock/")
    table = page.get_by_test_id("signature-table").inner_text()
    # the meaning as the signer chose it, in the page's language (21 CFR 11.50(a)(3))
    assert "Dr Ken Mori" in table and ("承認" if language == "ja" else "Approval") in table

    # The data manager locks the participant.
    login(page, base, "dm", language)
    page.goto(f"{base}/participants/{pk}/sign-lock/")
    page.get_by_test_id("lock").click()  # without a reason: refused
    page.wait_for_url(f"{base}/participants/{pk}/lock/")
    assert not page.get_by_test_id("participant-locked").is_visible()
    page.fill("[name=reason]", "Data review complete.")
    page.get_by_test_id("lock").click()
    page.wait_for_url(f"{base}/participants/{pk}/sign-lock/")
    assert page.get_by_test_id("participant-locked").is_visible()
    shot(page, "sign_lock", language)
    page.goto(f"{base}/participants/{pk}/audit/")
    shot(page, "audit", language, full_page=False)

    # A coordinator of another site: not in the list, 404 by address.
    login(page, base, "coordb", language)
    page.goto(base + "/participants/?q=" + subject)
    assert page.locator(f"a[href='/participants/{pk}/']").count() == 0
    for path in ("", "screening/", "audit/", "sign-lock/", "labs/new/"):
        response = page.goto(f"{base}/participants/{pk}/{path}")
        assert response.status == 404, path
