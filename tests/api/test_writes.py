"""Writes over the API go through the services: edit checks, audit with the token, site
isolation; optimistic concurrency with ETag / If-Match (428 without, 412 when stale)."""

from __future__ import annotations

import pytest

from mmtrial.edc.models import AuditEvent, LabResult
from tests.edc.builders import Study  # noqa: F401 - the study clock (tests/study_clock.py)

pytestmark = pytest.mark.django_db

NEW_LAB = {"analyte": "creatinine", "value": "1.1", "unit": "mg/dL", "collected_on": "2027-01-12"}


def _create_lab(api, study, body=NEW_LAB):
    return api.post(f"participants/{study['participant'].pk}/lab-results", body)


def test_a_lab_value_written_is_audited_with_the_user_and_the_token(api_as, study):
    api = api_as("coordinator")
    response = _create_lab(api, study)
    assert response.status_code == 201, response.content
    body = response.json()
    assert response["ETag"] == '"1"'
    assert body["value"] == "1.1" or body["value"].startswith("1.1")
    event = AuditEvent.objects.get(model="labresult", object_pk=str(body["id"]), action="create")
    token_id = api.get("me").json()["token_id"]
    assert event.actor_id == study["users"]["coordinator"].pk
    assert event.context["via"] == "api"
    assert event.context["auth"] == f"api_token:{token_id}"


def test_the_edit_checks_of_the_web_apply(api_as, study):
    response = _create_lab(api_as("coordinator"), study, {**NEW_LAB, "collected_on": "2026-12-01"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "collected_before_consent"
    assert body["parameters"]["date"] == "2026-12-01"
    assert body["parameters"]["field"] == "collected_on"


def test_the_error_text_follows_accept_language(api_as, study):
    english = _create_lab(api_as("coordinator"), study, {**NEW_LAB, "collected_on": "2026-12-01"})
    japanese = _create_lab(
        api_as("coordinator", language="ja"), study, {**NEW_LAB, "collected_on": "2026-12-01"}
    )
    assert japanese.json()["code"] == english.json()["code"]
    assert japanese.json()["text"] != english.json()["text"]  # from the Japanese catalogue


def test_another_sites_participant_is_not_found_for_writes_too(api_as, study):
    response = _create_lab(api_as("coordinator_b"), study)
    assert response.status_code == 404
    assert not LabResult.objects.filter(collected_on="2027-01-12").exists()


def test_an_update_without_if_match_is_428(api_as, study):
    lab = study["lab"]
    response = api_as("coordinator").patch(
        f"lab-results/{lab.pk}", {"value": "1.2", "reason": "transcription"}
    )
    assert response.status_code == 428
    assert response.json()["code"] == "if_match_required"
    lab.refresh_from_db()
    assert lab.version == 1


def test_a_stale_if_match_is_412_with_the_current_version_and_no_update_is_lost(api_as, study):
    lab = study["lab"]
    first, second = api_as("coordinator"), api_as("investigator")
    etag = first.get(f"lab-results/{lab.pk}")["ETag"]
    assert second.get(f"lab-results/{lab.pk}")["ETag"] == etag
    won = first.patch(
        f"lab-results/{lab.pk}", {"value": "1.2", "reason": "transcription"}, {"If-Match": etag}
    )
    assert won.status_code == 200, won.content
    assert won["ETag"] == '"2"'
    lost = second.patch(
        f"lab-results/{lab.pk}", {"value": "1.3", "reason": "typo"}, {"If-Match": etag}
    )
    assert lost.status_code == 412
    assert lost.json()["parameters"] == {"expected_version": 1, "current_version": 2}
    assert lost["ETag"] == '"2"'
    lab.refresh_from_db()
    assert lab.reported_value == "1.2" and lab.version == 2


def test_a_dose_is_recorded_with_if_match(api_as, study):
    dose = study["dose"]
    api = api_as("coordinator")
    etag = api.get(f"doses/{dose.pk}")["ETag"]
    response = api.patch(
        f"doses/{dose.pk}", {"status": "held", "reason": "nausea"}, {"If-Match": etag}
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "held"


def test_a_visit_is_recorded_done_inside_its_window(api_as, study):
    visit = study["visit"]
    api = api_as("coordinator")
    response = api.patch(
        f"visits/{visit.pk}",
        {"actual_date": visit.window_start.isoformat(), "weight_kg": "60.5"},
        {"If-Match": f'"{visit.version}"'},
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "done"


def test_an_adverse_event_is_recorded_then_changed_with_a_reason(api_as, study):
    api = api_as("coordinator")
    created = api.post(
        f"participants/{study['participant'].pk}/adverse-events",
        {"term": "Fatigue", "grade": 2, "start_date": "2027-01-13"},
    )
    assert created.status_code == 201, created.content
    changed = api.patch(
        f"adverse-events/{created.json()['id']}",
        {"grade": 3, "reason": "worsened"},
        {"If-Match": created["ETag"]},
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["grade"] == 3


def test_the_site_answers_a_query(api_as, study):
    query = study["query"]
    response = api_as("coordinator").post(
        f"queries/{query.pk}/answers", {"text": "Value confirmed."}, {"If-Match": '"1"'}
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "answered"


def test_a_monitor_cannot_enter_data(api_as, study):
    response = _create_lab(api_as("monitor"), study)
    assert response.status_code == 403
    assert response.json()["code"] == "action_denied"
    assert response.json()["parameters"]["action"] == "enter_data"
