"""Screens that must not mislead (issue 12 item 1): each page says what the data say, before
anyone types into a form the service would refuse."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
from django.urls import reverse

from tests.web.flow import (
    enter_labs,
    register,
    screen_and_enroll,
    screening_post,
    start_cycle,
    treated,
)

pytestmark = pytest.mark.django_db


def _site_today() -> dt.date:
    return dt.datetime.now(zoneinfo.ZoneInfo("Asia/Tokyo")).date()  # site A's zone


def _testid(body: str, testid: str) -> str:
    match = re.search(rf'data-testid="{re.escape(testid)}"[^>]*>(.*?)</', body, re.S)
    assert match, f"no element {testid}"
    return match.group(1).strip()


def test_a_screening_with_one_value_missing_is_in_progress_on_every_screen(login, users, sites):
    from mmtrial.edc.models import Participant

    client = login(users["coordinator"])
    pk = register(client, sites["A"])
    client.post(f"/participants/{pk}/screening/", screening_post(ecog=None))
    assert Participant.objects.get(pk=pk).status == "screening"
    page = client.get(f"/participants/{pk}/screening/").content.decode()
    assert _testid(page, "eligibility") == "Screening in progress: some values are missing"
    assert _testid(page, "participant-status") == "Screening in progress"
    listing = client.get("/participants/").content.decode()
    assert "<td>Screening in progress</td>" in listing
    assert "<td>Screen failure</td>" not in listing


def test_a_criterion_not_met_is_a_screen_failure_even_with_values_missing(login, users, sites):
    from mmtrial.edc.models import Participant

    client = login(users["coordinator"])
    pk = register(client, sites["A"])
    client.post(
        f"/participants/{pk}/screening/", screening_post(ecog=None, platelets_per_mm3=50000)
    )
    assert Participant.objects.get(pk=pk).status == "screen_failed"
    page = client.get(f"/participants/{pk}/screening/").content.decode()
    assert _testid(page, "eligibility") == "Not eligible"
    assert _testid(page, "participant-status") == "Screen failure"


def test_best_response_is_not_yet_assessed_before_the_first_assessment(login, users, sites):
    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    page = client.get(f"/participants/{pk}/").content.decode()
    assert _testid(page, "best-response") == "Not yet assessed"
    listing = client.get("/participants/").content.decode()
    assert _testid(listing, f"best-{pk}") == "Not yet assessed"
    assert ">NE<" not in listing


def _locked(client, users, pk):
    client.force_login(users["data_manager"])
    response = client.post(
        reverse("lock", args=[pk]), {"action": "lock", "reason": "data review complete"}
    )
    assert response.status_code == 302
    client.force_login(users["coordinator"])


def test_a_locked_participant_shows_no_entry_form(login, users, sites):
    from mmtrial.edc.models import LabResult, Visit

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    lab = LabResult.objects.filter(participant_id=pk).first()
    visit = Visit.objects.filter(participant_id=pk).first()
    _locked(client, users, pk)
    for name, args in [
        ("lab_new", [pk]),
        ("lab_edit", [pk, lab.pk]),
        ("visit_edit", [pk, visit.pk]),
        ("ae_new", [pk]),
        ("disease_new", [pk]),
        ("cycle_new", [pk]),
        ("screening", [pk]),
        ("entry_menu", [pk]),
    ]:
        body = client.get(reverse(name, args=args)).content.decode()
        assert 'data-testid="locked-notice"' in body, name
        assert '<form method="post" novalidate>' not in body, name
    doses = client.get(reverse("doses_edit", args=[pk, 1])).content.decode()
    assert 'data-testid="locked-notice"' in doses
    assert 'data-testid="dose-form"' not in doses and 'data-testid="dose-save"' not in doses
    assert 'data-testid="dose-table"' in doses  # the recorded doses stay readable
    detail = client.get(reverse("participant_detail", args=[pk])).content.decode()
    assert reverse("lab_new", args=[pk]) not in detail
    assert reverse("visit_edit", args=[pk, visit.pk]) not in detail


def test_a_locked_visit_shows_its_form_read_only(login, users, sites):
    from mmtrial.edc.models import Visit

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    visit = Visit.objects.filter(participant_id=pk).order_by("planned_date").first()
    client.force_login(users["data_manager"])
    client.post(
        reverse("visit_lock", args=[pk, visit.pk]), {"action": "lock", "reason": "SDV done"}
    )
    client.force_login(users["coordinator"])
    body = client.get(reverse("visit_edit", args=[pk, visit.pk])).content.decode()
    assert f"Visit {visit.code} is locked by data management" in body
    assert "Save visit" not in body


def test_a_lock_without_a_reason_is_refused_on_the_page(login, users, sites):
    from mmtrial.edc.models import Participant

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    client.force_login(users["data_manager"])
    response = client.post(reverse("lock", args=[pk]), {"action": "lock", "reason": "  "})
    assert response.status_code == 400
    assert "Give a reason for locking: the audit trail keeps it." in response.content.decode()
    assert not Participant.objects.get(pk=pk).locked


def test_visits_are_overdue_due_soon_or_planned_with_their_window(login, users, sites):
    """Cycle 1 started 10 days ago: C1D8's window [D7-D9] closed 2 days ago, C1D15's
    [D14-D16] opens in 3 days, C1D22's [D21-D23] in 10 days (beyond the 7-day horizon)."""
    from mmtrial.edc.models import Visit

    today = _site_today()
    c1d1 = today - dt.timedelta(days=10)
    client = login(users["coordinator"])
    pk = register(client, sites["A"])
    screen_and_enroll(client, pk)
    enter_labs(client, pk, c1d1, creatinine="1.0", anc="1500", platelets="150000")
    start_cycle(client, pk, c1d1)
    page = client.get(f"/participants/{pk}/").content.decode()
    assert _testid(page, "visit-state-C1D8").startswith('<span class="badge bad">Overdue')
    assert "Due soon" in _testid(page, "visit-state-C1D15")
    assert "Planned" in _testid(page, "visit-state-C1D22")
    row = re.search(r'data-testid="visit-C1D15".*?</tr>', page, re.S).group(0)
    window = f"{c1d1 + dt.timedelta(days=13)} – {c1d1 + dt.timedelta(days=15)}"
    assert window in row
    c1d8 = Visit.objects.get(participant_id=pk, code="C1D8")
    form = client.get(reverse("visit_edit", args=[pk, c1d8.pk])).content.decode()
    assert _testid(form, "visit-state") == "Overdue"
    assert f'name="actual_date" value="{today.isoformat()}"' in form
    c1d15 = Visit.objects.get(participant_id=pk, code="C1D15")
    form = client.get(reverse("visit_edit", args=[pk, c1d15.pk])).content.decode()
    assert f'name="actual_date" value="{c1d15.planned_date.isoformat()}"' in form


def test_investigator_answers_are_read_only_for_a_coordinator_and_refused_if_forged(
    login, users, sites
):
    from mmtrial.edc.models import Screening

    client = login(users["coordinator"])
    pk = register(client, sites["A"])
    page = client.get(f"/participants/{pk}/screening/").content.decode()
    answers = re.search(r'data-testid="investigator-answers".*?</fieldset>', page, re.S).group(0)
    assert 'data-testid="answers-read-only"' in answers
    assert answers.count("<select") == answers.count(" disabled") > 0
    # the disabled fields keep the stored (no) answers whatever the browser sends
    client.post(f"/participants/{pk}/screening/", screening_post())
    screening = Screening.objects.get(participant_id=pk)
    assert screening.answers == {}
    assert screening.result["overall"] == "incomplete"
    client.force_login(users["investigator"])
    page = client.get(f"/participants/{pk}/screening/").content.decode()
    answers = re.search(r'data-testid="investigator-answers".*?</fieldset>', page, re.S).group(0)
    assert 'data-testid="answers-read-only"' not in answers and " disabled" not in answers
    response = client.post(
        f"/participants/{pk}/screening/",
        screening_post(version=screening.version, reason="investigator's answers"),
    )
    assert response.status_code == 302
    screening.refresh_from_db()
    assert screening.eligible


def test_a_coordinator_posting_an_answer_changes_nothing(login, users, sites):
    """The disabled fields keep the stored answers whatever is posted, and the investigator's
    answers stay as the investigator gave them when a coordinator corrects a value."""
    from mmtrial.edc.models import Screening

    client = login(users["investigator"])
    pk = register(client, sites["A"])
    client.post(f"/participants/{pk}/screening/", screening_post())
    screening = Screening.objects.get(participant_id=pk)
    assert screening.eligible
    client.force_login(users["coordinator"])
    forged = screening_post(version=screening.version, reason="ECOG mis-typed", ecog=0)
    forged["a_EXC-OTHER"] = "yes"  # "applies: excluded"
    assert client.post(f"/participants/{pk}/screening/", forged).status_code == 302
    screening.refresh_from_db()
    assert screening.answers == {"EXC-RECENT-TREATMENT": False, "EXC-OTHER": False}
    assert str(screening.values["ecog"]) == "0"
    assert screening.eligible


def _raise_query(client, users, pk, *, field="value", text="Please check this value."):
    from mmtrial.edc.models import LabResult

    lab = LabResult.objects.filter(participant_id=pk, analyte="platelets").first()
    client.force_login(users["monitor"])
    response = client.post(
        reverse("query_raise", args=[pk]),
        {"model": "labresult", "object_pk": str(lab.pk), "field": field, "text": text},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return lab


def test_the_sign_form_says_why_not_before_any_password_is_asked(login, users, sites):
    from mmtrial.edc.models import Signature

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    _raise_query(client, users, pk)
    client.force_login(users["investigator"])
    page = client.get(reverse("sign_lock", args=[pk])).content.decode()
    blockers = re.search(r'data-testid="sign-blockers".*?</div>', page, re.S).group(0)
    assert "Your identity has not been verified by another person yet" in blockers
    assert "has 1 unresolved query; close them before signing." in blockers
    assert 'type="password"' not in page
    investigator = users["investigator"]
    investigator.identity_verified_by = users["data_manager"]
    investigator.save(update_fields=["identity_verified_by"])
    page = client.get(reverse("sign_lock", args=[pk])).content.decode()
    assert "identity has not been verified" not in page
    assert 'type="password"' not in page
    # a forged post is refused for the query, whatever the password
    response = client.post(
        reverse("sign", args=[pk]),
        {"username": "inv_a", "password": "wrong", "meaning": "Approval", "confirm": "on"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "1 unresolved query" in body and "password is not correct" not in body
    assert not Signature.objects.exists()


def test_the_sign_form_is_offered_once_the_queries_are_closed(login, users, sites):
    from mmtrial.edc.models import Query

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    _raise_query(client, users, pk)
    query = Query.objects.get(participant_id=pk)
    client.post(
        reverse("query_detail", args=[query.pk]),
        {"action": "close", "text": "raised in error", "version": query.version},
    )
    assert Query.objects.get(pk=query.pk).status == "closed"
    investigator = users["investigator"]
    investigator.identity_verified_by = users["data_manager"]
    investigator.save(update_fields=["identity_verified_by"])
    client.force_login(investigator)
    page = client.get(reverse("sign_lock", args=[pk])).content.decode()
    assert 'data-testid="sign-blockers"' not in page
    assert 'type="password"' in page


def test_a_missing_page_is_a_styled_404_with_the_navigation(login, users, sites):
    client = login(users["coordinator"])
    response = client.get("/participants/999999/")
    assert response.status_code == 404
    body = response.content.decode()
    assert 'data-testid="error-404"' in body and "Page not found" in body
    assert 'href="/static/web/mmtrial.css"' in body or "mmtrial.css" in body
    links = re.search(r'data-testid="error-links".*?</ul>', body, re.S).group(0)
    for url in ("/", "/participants/", "/queries/"):
        assert f'href="{url}"' in links
    assert 'aria-label="Main"' in body  # the site's own navigation bar


def test_a_refused_action_is_a_styled_403_that_says_why(login, users, sites):
    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    response = client.post(
        reverse("sign", args=[pk]),
        {"username": "coord_a", "password": "x", "meaning": "Approval", "confirm": "on"},
    )
    assert response.status_code == 403
    body = response.content.decode()
    assert 'data-testid="error-403"' in body and "Not allowed" in body
    assert _testid(body, "error-reason") == "You do not have permission to sign here."
    assert 'data-testid="error-links"' in body


def test_the_error_pages_are_in_the_users_language(login, users, sites):
    """Both error pages in Japanese, from the catalogue."""
    from django.utils import translation

    client = login(users["coordinator"])
    client.cookies["django_language"] = "ja"
    body = client.get("/participants/999999/").content.decode()
    assert '<html lang="ja">' in body
    with translation.override("ja"):
        assert translation.gettext("Page not found") in body
        assert translation.gettext("Dashboard") in body


def test_an_overdue_visit_proposes_the_sites_date_not_the_servers(login, users, sites):
    """At 20:00 UTC it is already 05:00 the next day in Tokyo (UTC+9): the form proposes the
    Tokyo date."""
    from freezegun import freeze_time

    from mmtrial.edc.models import Visit

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    visit = Visit.objects.filter(participant_id=pk).order_by("planned_date").first()
    evening_utc = dt.datetime.combine(
        dt.date.today() + dt.timedelta(days=1), dt.time(20, 0), tzinfo=dt.UTC
    )
    with freeze_time(evening_utc):
        client.force_login(users["coordinator"])
        form = client.get(reverse("visit_edit", args=[pk, visit.pk])).content.decode()
    tokyo_date = evening_utc.date() + dt.timedelta(days=1)
    assert f'name="actual_date" value="{tokyo_date.isoformat()}"' in form


def test_registration_asks_for_race_in_the_users_language(login, users, sites):
    """Race is asked at registration (SDTM DM RACE); without it nothing is registered."""
    from mmtrial.edc.models import Participant

    client = login(users["coordinator"])
    data = {
        "site": str(sites["A"].pk),
        "screening_number": "SCR-RACE",
        "sex": "male",
        "year_of_birth": "1950",
        "consent_date": "2027-01-05",
    }
    response = client.post("/participants/new/", data)
    assert response.status_code == 400
    assert 'name="race"' in response.content.decode()
    assert not Participant.objects.filter(screening_number="SCR-RACE").exists()
    client.cookies["django_language"] = "ja"
    page = client.get("/participants/new/").content.decode()
    assert "人種" in page and "アジア系" in page


def _why(page: str, criterion: str) -> str:
    row = re.search(rf'data-testid="criterion-{criterion}">(.*?)</tr>', page, re.S).group(1)
    cell = re.findall(r'<td class="small">(.*?)<br>', row, re.S)[0]
    return re.sub(r"\s+", " ", cell).strip()


def test_the_why_column_is_written_in_japanese_from_the_result_not_its_english(login, users, sites):
    """Issue 12 item 2: the eligibility reasons in the user's language, from the criterion's
    value, operator and threshold (protocol file: INC-ANC >= 1000 /mm3; EXC-NEUROPATHY asks
    about pain only at grade 1)."""
    client = login(users["coordinator"])
    pk = register(client, sites["A"])
    client.post(
        f"/participants/{pk}/screening/",
        screening_post(anc_per_mm3=800, peripheral_neuropathy_grade=0),
    )
    client.cookies["django_language"] = "ja"
    page = client.get(f"/participants/{pk}/screening/").content.decode()
    anc = _why(page, "INC-ANC")
    assert anc.startswith("好中球数（/mm3）は800 /mm3")
    assert "1000 /mm3以上" in anc.replace(",", "")
    neuropathy = _why(page, "EXC-NEUROPATHY")
    assert neuropathy.startswith("除外基準に該当しない：")
    assert "対象外" in neuropathy
    every_why = " ".join(
        _why(page, cid) for cid in re.findall(r'data-testid="criterion-([A-Z-]+)"', page)
    )
    for english in ("needs", "met", "exclusion", "anc_per_mm3", "investigator"):
        assert english not in every_why, english
    client.cookies["django_language"] = "en"
    page = client.get(f"/participants/{pk}/screening/").content.decode()
    assert _why(page, "INC-ANC").replace(",", "") == (
        "Absolute neutrophil count (/mm3) is 800 /mm3; needs at least 1000 /mm3"
    )


def test_stored_codes_on_the_timeline_are_words_in_japanese(login, users, sites):
    """Issue 12: lab value "positive", AE action "none" and the end-of-treatment reason are
    shown as the catalogue's words, not as the stored codes."""
    from mmtrial.edc.models import AdverseEvent, Participant
    from mmtrial.edc.services.adverse_events import ae_record
    from mmtrial.edc.services.follow_up import end_of_treatment_record

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    from tests.web.flow import C1D1

    enter_labs(client, pk, C1D1 + dt.timedelta(days=7), serum_ife="positive")
    ae_record(
        user=users["coordinator"],
        participant_id=pk,
        term="Nausea",
        ctcae_term="Nausea",
        grade=1,
        start_date=C1D1 + dt.timedelta(days=3),
        action_taken="dose_held",
    )
    assert AdverseEvent.objects.filter(participant_id=pk).exists()
    end_of_treatment_record(
        user=users["coordinator"],
        participant_id=pk,
        last_dose_date=C1D1 + dt.timedelta(days=20),
        reason="progressive_disease",
    )
    assert Participant.objects.get(pk=pk).status != "on_treatment"
    client.cookies["django_language"] = "ja"
    page = client.get(f"/participants/{pk}/").content.decode()
    labs = page[page.index('data-testid="lab-table"') :]
    assert "陽性" in labs[: labs.index("</table>")]
    assert "dose_held" not in page and "progressive_disease" not in page


def test_the_study_title_is_the_protocol_files_in_the_users_language(login, users, sites):
    from mmtrial.protocol import load_protocol

    ident = load_protocol().identification
    client = login(users["coordinator"])
    client.cookies["django_language"] = "ja"
    page = client.get("/participants/").content.decode()
    assert _testid(page, "protocol-title") == ident.title_ja
    client.cookies["django_language"] = "en"
    page = client.get("/participants/").content.decode()
    assert _testid(page, "protocol-title") == ident.title


def test_the_dose_decision_and_cycle_start_criteria_read_in_japanese(login, users, sites):
    """Issue 12 item 2: the decision's summary is written from its fields (cycle, doses) and
    the criteria from the protocol file's text_ja; the English engine text stays for English."""
    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    client.cookies["django_language"] = "ja"
    page = client.get(f"/participants/{pk}/").content.decode()
    reasons = re.search(r'data-testid="decision-reasons">(.*?)</ul>', page, re.S).group(1)
    # Starting doses: ixazomib 4 mg, dexamethasone 40 mg; lenalidomide 10 mg because the flow's
    # participant (female, 72 years, 60 kg, creatinine 1.0 mg/dL) has a Cockcroft-Gault CrCl of
    # (140 - 72) x 60 / (72 x 1.0) x 0.85 = 48 mL/min: REVLIMID USPI 2.6, 30-60 mL/min -> 10 mg.
    assert "サイクル1開始：イキサゾミブ 4 mg、レナリドミド 10 mg、デキサメタゾン 40 mg。" in reasons
    assert "the cycle starts" not in reasons and "starts at" not in reasons
    assert "イキサゾミブは4 mgで開始。" in reasons
    # REVLIMID USPI 2.6: 10 mg below 60 mL/min instead of the usual 25 mg
    assert "レナリドミドは腎機能に応じた用量10 mgで開始（通常は25 mg）。" in reasons
    # rule ids and source tags behind a disclosure, not in the sentence
    assert '<details class="source"><summary>出典</summary>cycle_decision' in reasons
    assert "好中球数 1,000/mm3以上" in page
    assert "7日以内のクレアチニン値によるクレアチニンクリアランス" in page  # renal.lab_window_days
    client.cookies["django_language"] = "en"
    page = client.get(f"/participants/{pk}/").content.decode()
    assert "the cycle starts: ixazomib 4 mg" in page
