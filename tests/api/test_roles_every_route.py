"""Site isolation and the role matrix over every route and method of the OpenAPI document.

The operations are read from the document itself, so a new route is tested as soon as it
exists: it must name the role-matrix action it needs (`x-mmtrial-action`), and this test must
know how to call it (a record for each path parameter, a body for each write), else it fails.
Expected outcomes come from the role matrix (`edc.permissions.ROLE_MATRIX`, the web's), the
users' sites and the token scopes, never from the API's answers.
"""

from __future__ import annotations

import json

import pytest

from mmtrial.api.app import api as ninja_api
from mmtrial.edc.permissions import ROLE_MATRIX, Action
from tests.api.conftest import Api, token_for
from tests.edc.builders import Study  # noqa: F401 - the study clock (tests/study_clock.py)

pytestmark = pytest.mark.django_db

# role of each test user, and whether the membership covers site A (the record's site)
USERS = {
    "coordinator": ("coordinator", True),
    "investigator": ("investigator", True),
    "coordinator_b": ("coordinator", False),
    "data_manager": ("data_manager", True),
    "monitor": ("monitor", True),
    "statistician": ("statistician", True),
    "sponsor_admin": ("sponsor_admin", True),
    "randomization_admin": ("randomization_admin", True),
}
RECORD_OF_PATH = {
    "/api/v1/lab-results/": "lab",
    "/api/v1/visits/": "visit",
    "/api/v1/doses/": "dose",
    "/api/v1/adverse-events/": "ae",
    "/api/v1/disease-assessments/": "disease",
    "/api/v1/responses/": "response",
    "/api/v1/queries/": "query",
}
BODIES = {
    "lab_result_create": {
        "analyte": "creatinine",
        "value": "1.1",
        "unit": "mg/dL",
        "collected_on": "2027-01-12",
    },
    "lab_result_update": {"value": "1.2", "reason": "transcription error"},
    "dose_update": {"status": "held", "reason": "nausea"},
    "visit_update": {"missed": True, "reason": "the participant was in hospital"},
    "adverse_event_create": {"term": "Fatigue", "grade": 2, "start_date": "2027-01-13"},
    "adverse_event_update": {"grade": 2, "reason": "re-graded"},
    "query_answer": {"text": "Confirmed."},
    "lab_results_fhir_import": {"resourceType": "Bundle", "type": "collection", "entry": []},
}


def _operations():
    document = json.loads(json.dumps(ninja_api.get_openapi_schema(), default=str))
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield pytest.param(path, method, operation, id=operation["operationId"])


def _url(path: str, study) -> str:
    url = path.replace("{participant_id}", str(study["participant"].pk))
    url = url.replace("{model}", "labresult").replace("{object_pk}", str(study["lab"].pk))
    if "{record_id}" in url:
        prefix = next((p for p in RECORD_OF_PATH if url.startswith(p)), None)
        assert prefix is not None, f"{path}: the test does not know which record to use"
        url = url.replace("{record_id}", str(study[RECORD_OF_PATH[prefix]].pk))
    assert "{" not in url, f"{path}: a path parameter the test does not know"
    return url


def _version_of(api: Api, url: str) -> str:
    """The record's current ETag (read by the data manager, who sees every site)."""
    record_url = url.removesuffix("/answers")
    return api.get(record_url)["ETag"]


def _allowed(user_key: str, action: str) -> bool:
    role, covers_site_a = USERS[user_key]
    return covers_site_a and Action(action) in ROLE_MATRIX[role]


def _call(api: Api, method: str, url: str, body, etag: str | None):
    headers = {"If-Match": etag} if etag else None
    if method == "get":
        return api.call("get", url, headers=headers)
    return api.call(method, url, body, headers)


def _site_a_rows(response, study) -> list:
    """The rows of site A's participant that a list answer (or the export) gives."""
    pk = study["participant"].pk
    site_a = study["a"].site.pk
    if response.streaming:
        rows = [json.loads(x) for x in b"".join(response.streaming_content).splitlines()]
    else:
        rows = response.json()["items"]
    return [
        r
        for r in rows
        if r.get("participant_id") == pk
        or (r.get("id") == pk and "screening_number" in r)
        or (r.get("id") == site_a and "timezone" in r)
        or r.get("site_code") == study["a"].site.code
    ]


@pytest.mark.parametrize(("path", "method", "operation"), list(_operations()))
def test_route_follows_site_isolation_and_the_role_matrix(client, study, path, method, operation):
    action = operation.get("x-mmtrial-action")
    assert action, f"{operation['operationId']} does not name the action it needs"
    url = _url(path, study)
    writes = method != "get"
    body = BODIES.get(operation["operationId"]) if writes else None
    assert not writes or body is not None, f"no test body for {operation['operationId']}"
    needs_if_match = writes and "412" in operation.get("responses", {})
    reader = Api(client, token_for(study["users"]["data_manager"]))

    anonymous = _call(Api(client), method, url, body, None)
    assert anonymous.status_code == 401, anonymous.content
    assert anonymous["Content-Type"] == "application/problem+json"

    if writes:
        read_only = Api(client, token_for(study["users"]["coordinator"], "read"))
        refused = _call(read_only, method, url, body, None)
        assert refused.status_code == 403, refused.content

    answer = json.dumps(operation["responses"].get("200", {}))
    is_list = method == "get" and ("Page" in answer or "x-ndjson" in answer)
    for user_key in USERS:
        api = Api(client, token_for(study["users"][user_key]))
        etag = _version_of(reader, url) if needs_if_match else None
        response = _call(api, method, url, body, etag)
        who = f"{operation['operationId']} as {user_key}"
        if action == "none":
            assert response.status_code == 200, who
            continue
        allowed = _allowed(user_key, action)
        if is_list and response.status_code == 200:
            rows = _site_a_rows(response, study)
            assert bool(rows) == allowed, (
                f"{who}: site A's rows {'missing' if allowed else 'shown'}"
            )
        elif allowed:
            assert response.status_code not in (401, 403, 404), (who, response.content)
            assert response.status_code < 500, (who, response.content)
        else:
            assert response.status_code in (403, 404), (who, response.status_code)
            assert response["Content-Type"] == "application/problem+json", who
