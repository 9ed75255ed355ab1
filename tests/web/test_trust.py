"""Queries, signatures, locks, audit history and site isolation through the pages.

Compliance rows: E6-4.3.8b-site / KF-1 (site isolation, search), E6-4.3.3b-IDOR (ids edited in
the address bar), E6-4.3.3b-INJ (user text escaped), P11-50 (signature shows name, time,
meaning; confirmation required), A11-9 (reason for change), P11-10f (locked data refuses change).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.web.conftest import PASSWORD
from tests.web.flow import C1D1, treated

pytestmark = pytest.mark.django_db

XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


@pytest.fixture
def participant_a(client, users, sites):
    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    client.logout()
    return pk


def _participant_urls(pk: int, *, lab_pk: int, visit_pk: int) -> list[str]:
    names = [
        "participant_detail",
        "screening",
        "enroll",
        "entry_menu",
        "lab_new",
        "disease_new",
        "investigator_response",
        "cycle_new",
        "query_raise",
        "participant_audit",
        "sign_lock",
        "ae_new",
        "end_of_treatment",
        "follow_up_new",
        "death",
    ]
    urls = [reverse(name, args=[pk]) for name in names]
    urls += [
        reverse("doses_edit", args=[pk, 1]),
        reverse("lab_edit", args=[pk, lab_pk]),
        reverse("visit_edit", args=[pk, visit_pk]),
    ]
    return urls


@pytest.mark.req("E6-4.3.3b-IDOR")
def test_a_coordinator_of_another_site_gets_404_on_every_page_of_the_participant(
    client, users, participant_a
):
    from mmtrial.edc.models import LabResult, Visit

    lab = LabResult.objects.filter(participant_id=participant_a).first()
    visit = Visit.objects.filter(participant_id=participant_a).first()
    client.force_login(users["coordinator_b"])
    for url in _participant_urls(participant_a, lab_pk=lab.pk, visit_pk=visit.pk):
        assert client.get(url).status_code == 404, url
    for url, data in (
        (
            reverse("lab_new", args=[participant_a]),
            {"collected_on": C1D1, "source": "local", "value_anc": "1", "unit_anc": "/mm3"},
        ),
        (reverse("lock", args=[participant_a]), {"action": "lock"}),
        (
            reverse("sign", args=[participant_a]),
            {"password": PASSWORD, "meaning": "Approval", "confirm": "on"},
        ),
        (reverse("cycle_new", args=[participant_a]), {"start_date": C1D1}),
        (reverse("record_audit", args=["labresult", lab.pk]), {}),
    ):
        assert client.post(url, data).status_code in (404, 405), url
    assert client.get(reverse("record_audit", args=["labresult", lab.pk])).status_code == 404
    assert (
        LabResult.objects.filter(participant_id=participant_a).count()
        == lab.participant.labs.count()
    )


@pytest.mark.req("E6-4.3.8b-site")
def test_lists_counts_and_search_show_only_own_site(client, users, sites, participant_a):
    from mmtrial.edc.models import Participant

    subject = Participant.objects.get(pk=participant_a).subject_id
    client.force_login(users["coordinator_b"])
    link = f'href="/participants/{participant_a}/"'
    for search in (subject, subject[:4], "SCR-101", "SCR", ""):
        body = client.get("/participants/", {"q": search}).content.decode()
        assert link not in body, search
        assert 'data-testid="participant-count">0 participants' in body, search
    dashboard = client.get("/").content.decode()
    assert 'data-testid="participant-total">0<' in dashboard
    assert subject not in dashboard
    client.force_login(users["coordinator"])
    assert 'data-testid="participant-total">1<' in client.get("/").content.decode()


@pytest.mark.req("E6-4.3.3b-INJ")
def test_search_with_sql_text_finds_nothing_and_does_not_fail(client, users, participant_a):
    client.force_login(users["coordinator"])
    response = client.get("/participants/", {"q": "' OR 1=1--", "status": "x' OR '1'='1"})
    assert response.status_code == 200
    assert f'href="/participants/{participant_a}/"' not in response.content.decode()


@pytest.mark.req("E6-4.3.3b-INJ")
def test_monitor_query_with_script_is_shown_escaped_and_the_coordinator_answers(
    client, users, participant_a
):
    from mmtrial.edc.models import LabResult, Query

    lab = LabResult.objects.filter(participant_id=participant_a, analyte="anc").first()
    client.force_login(users["monitor"])
    url = reverse("query_raise", args=[participant_a])
    response = client.post(
        url, {"model": "labresult", "object_pk": lab.pk, "field": "value", "text": XSS}
    )
    assert response.status_code == 302
    query = Query.objects.get(participant_id=participant_a)
    client.force_login(users["coordinator"])
    for page in ("/queries/", f"/queries/{query.pk}/", f"/participants/{participant_a}/", "/"):
        body = client.get(page).content.decode()
        assert "<script>alert(1)</script>" not in body, page
        assert "onerror=alert(2)>" not in body, page
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;"
        in client.get(f"/queries/{query.pk}/").content.decode()
    )
    response = client.post(
        f"/queries/{query.pk}/",
        {"action": "answer", "text": "Checked source: 1500 is right", "version": query.version},
    )
    assert response.status_code == 302
    query.refresh_from_db()
    assert query.status == "answered"
    client.force_login(users["monitor"])
    response = client.post(
        f"/queries/{query.pk}/", {"action": "close", "text": "", "version": query.version}
    )
    assert response.status_code == 302
    query.refresh_from_db()
    assert query.status == "closed"


def test_a_coordinator_cannot_close_a_query(client, users, participant_a):
    from mmtrial.edc.models import LabResult, Query

    lab = LabResult.objects.filter(participant_id=participant_a).first()
    client.force_login(users["monitor"])
    client.post(
        reverse("query_raise", args=[participant_a]),
        {"model": "labresult", "object_pk": lab.pk, "text": "check"},
    )
    query = Query.objects.get(participant_id=participant_a)
    client.force_login(users["coordinator"])
    response = client.post(f"/queries/{query.pk}/", {"action": "close", "text": "done"})
    assert response.status_code == 403
    query.refresh_from_db()
    assert query.status == "open"


@pytest.mark.req("P11-50")
def test_investigator_signs_with_password_meaning_and_confirmation(client, users, participant_a):
    from mmtrial.edc.models import Signature

    investigator = users["investigator"]
    investigator.identity_verified_by = users["data_manager"]
    investigator.save(update_fields=["identity_verified_by"])
    client.force_login(investigator)
    url = reverse("sign", args=[participant_a])
    without = client.post(url, {"username": "inv_a", "password": PASSWORD, "meaning": "Approval"})
    assert without.status_code == 400
    assert "Confirm that your electronic signature" in without.content.decode()
    wrong = client.post(
        url, {"username": "inv_a", "password": "wrong", "meaning": "Approval", "confirm": "on"}
    )
    assert wrong.status_code == 400
    assert "password is not correct" in wrong.content.decode()
    assert not Signature.objects.exists()
    ok = client.post(
        url, {"username": "inv_a", "password": PASSWORD, "meaning": "Approval", "confirm": "on"}
    )
    assert ok.status_code == 302
    page = client.get(reverse("sign_lock", args=[participant_a])).content.decode()
    assert "Dr Ken Mori" in page and "Approval" in page and "JST" in page


def test_a_coordinator_cannot_sign(client, users, participant_a):
    client.force_login(users["coordinator"])
    response = client.post(
        reverse("sign", args=[participant_a]),
        {"username": "coord_a", "password": PASSWORD, "meaning": "Approval", "confirm": "on"},
    )
    assert response.status_code == 403


@pytest.mark.req("P11-10f")
def test_data_manager_locks_and_the_coordinator_sees_a_clear_message(client, users, participant_a):
    from mmtrial.edc.models import LabResult, Participant

    client.force_login(users["data_manager"])
    assert (
        client.post(
            reverse("lock", args=[participant_a]),
            {"action": "lock", "reason": "data review complete"},
        ).status_code
        == 302
    )
    assert Participant.objects.get(pk=participant_a).locked
    client.force_login(users["coordinator"])
    before = LabResult.objects.filter(participant_id=participant_a).count()
    response = client.post(
        reverse("lab_new", args=[participant_a]),
        {
            "collected_on": C1D1.isoformat(),
            "source": "local",
            "value_anc": "1200",
            "unit_anc": "/mm3",
        },
    )
    assert response.status_code == 400
    assert "locked" in response.content.decode()
    assert LabResult.objects.filter(participant_id=participant_a).count() == before
    client.force_login(users["data_manager"])
    refused = client.post(reverse("lock", args=[participant_a]), {"action": "unlock", "reason": ""})
    assert refused.status_code == 400
    assert "reason for unlocking" in refused.content.decode()
    done = client.post(
        reverse("lock", args=[participant_a]), {"action": "unlock", "reason": "query resolved"}
    )
    assert done.status_code == 302
    assert not Participant.objects.get(pk=participant_a).locked


@pytest.mark.req("P11-10e")
def test_audit_history_shows_old_new_who_and_why(client, users, participant_a):
    from mmtrial.edc.models import LabResult

    lab = LabResult.objects.filter(participant_id=participant_a, analyte="anc").first()
    client.force_login(users["coordinator"])
    client.post(
        reverse("lab_edit", args=[participant_a, lab.pk]),
        {
            "value": "1600",
            "unit": "/mm3",
            "collected_on": lab.collected_on.isoformat(),
            "version": lab.version,
            "reason": "transcription error",
        },
    )
    page = client.get(reverse("record_audit", args=["labresult", lab.pk])).content.decode()
    assert "transcription error" in page
    assert "1500" in page and "1600" in page
    assert "Hanako Sato" in page
    history = client.get(reverse("participant_audit", args=[participant_a])).content.decode()
    assert "transcription error" in history


def test_editing_a_lab_without_reason_keeps_the_value(client, users, participant_a):
    from mmtrial.edc.models import LabResult

    lab = LabResult.objects.filter(participant_id=participant_a, analyte="anc").first()
    client.force_login(users["coordinator"])
    response = client.post(
        reverse("lab_edit", args=[participant_a, lab.pk]),
        {
            "value": "1600",
            "unit": "/mm3",
            "collected_on": lab.collected_on.isoformat(),
            "version": lab.version,
            "reason": "",
        },
    )
    assert response.status_code == 400
    lab.refresh_from_db()
    assert lab.reported_value == "1500"


@pytest.mark.req("E6-4.3.3b-CSRF")
def test_data_changing_posts_without_csrf_token_are_refused(users, participant_a):
    from django.test import Client

    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(users["coordinator"])
    for url in (
        reverse("lab_new", args=[participant_a]),
        reverse("cycle_new", args=[participant_a]),
        reverse("lock", args=[participant_a]),
        reverse("screening_new"),
        "/logout/",
    ):
        assert csrf_client.post(url, {}).status_code == 403, url


@pytest.mark.req("E6-4.3.3b-CSRF")
def test_get_pages_write_nothing(client, users, participant_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from mmtrial.edc.models import LabResult, Visit

    lab = LabResult.objects.filter(participant_id=participant_a).first()
    visit = Visit.objects.filter(participant_id=participant_a).first()
    client.force_login(users["coordinator"])
    urls = ["/", "/participants/", "/queries/", "/participants/new/", "/password/"]
    urls += _participant_urls(participant_a, lab_pk=lab.pk, visit_pk=visit.pk)
    for url in urls:
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        writes = [
            q["sql"]
            for q in captured.captured_queries
            if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
            and "django_session" not in q["sql"]
        ]
        assert writes == [], url


def test_a_query_on_a_record_type_that_does_not_exist_is_refused_in_words(
    client, users, participant_a
):
    client.force_login(users["monitor"])
    response = client.post(
        reverse("query_raise", args=[participant_a]),
        {"model": "nosuchthing", "object_pk": "1", "text": "check"},
    )
    assert response.status_code == 400
    assert "no record type" in response.content.decode()
