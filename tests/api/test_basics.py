"""The API's doors: open documents, token required, problem details, tokens' scope."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api
from tests.edc.builders import Study  # noqa: F401 - the study clock (tests/study_clock.py)

pytestmark = pytest.mark.django_db


def test_openapi_document_and_docs_page_need_no_token(client):
    document = client.get("/api/v1/openapi.json")
    assert document.status_code == 200
    assert document.json()["openapi"].startswith("3.")
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "https://" not in html
    assert client.get("/static/ninja/swagger-ui-bundle.js").status_code == 200


def test_every_other_route_needs_a_token(client, study):
    response = Api(client).get("participants")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "authentication_required"
    assert body["status"] == 401 and body["text"] and body["parameters"] == {}
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_wrong_or_revoked_token_is_refused(client, study):
    from mmtrial.edc.api_tokens import api_token_create, api_token_revoke

    user = study["users"]["coordinator"]
    token, text = api_token_create(user=user, name="t", scope="read")
    assert Api(client, text).get("me").json()["token_id"] == token.pk
    assert Api(client, text[:-3] + "xyz").get("me").status_code == 401
    api_token_revoke(user=user, token_id=token.pk)
    assert Api(client, text).get("me").status_code == 401


def test_read_token_cannot_write(api_as, study):
    api = api_as("coordinator", scope="read")
    response = api.post(
        f"participants/{study['participant'].pk}/lab-results",
        {"analyte": "creatinine", "value": "1.1", "unit": "mg/dL", "collected_on": "2027-01-12"},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "token_scope_read_only"


def test_service_refusal_is_a_problem_with_code_parameters_and_text(api_as, study):
    response = api_as("coordinator").get("participants/999999")
    assert response.status_code == 404
    body = response.json()
    assert body["code"] == "participant_not_found"
    assert body["parameters"]["ref"] == 999999  # typed: a number stays a number
    assert "999999" in body["text"] and body["detail"] == body["text"]


def test_timeline_gives_the_dose_decision_with_reasons(api_as, study):
    response = api_as("coordinator").get(f"participants/{study['participant'].pk}/timeline")
    assert response.status_code == 200, response.content
    body = response.json()
    cycle = body["cycles"][0]
    assert cycle["number"] == 1
    assert cycle["decision"]["doses_mg"]
    assert body["visits"][0]["window_start"] <= body["visits"][0]["planned_date"]
    assert {lab["analyte"] for lab in body["labs"]} >= {"creatinine", "anc", "platelets"}
    assert body["adverse_events"][0]["term"] == "Nausea"
