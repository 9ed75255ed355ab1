"""POST /api/v1/lab-results/fhir: a FHIR R4 bundle imported through the lab import (same check,
all or none, idempotent, audited with the token); a bad bundle is a problem document naming
each bad entry, and nothing is written."""

from __future__ import annotations

import hashlib

import pytest

from mmtrial.edc.models import AuditEvent, LabResult
from tests.edc.builders import Study  # noqa: F401 - the study clock (tests/study_clock.py)
from tests.edc.fhir_bundles import from_csv_rows

pytestmark = pytest.mark.django_db

URL = "/api/v1/lab-results/fhir"


def _rows(study, *, analyte="kappa_flc", value="12.4", unit="mg/L"):
    subject = study["participant"].subject_id
    on = study["cycle"].start_date.isoformat()
    return [
        (subject, "CL-API-1", on, "serum_m_protein", "2.2", "g/dL"),
        (subject, "CL-API-1", on, analyte, value, unit),
    ]


def _post(api, data: bytes, content_type="application/fhir+json"):
    return api.client.post(URL, data, content_type=content_type, **api._headers(None))


def test_the_data_manager_imports_a_bundle_audited_with_the_token(api_as, study):
    api = api_as("data_manager")
    data = from_csv_rows(_rows(study), bundle_id="central-2027-02")
    response = _post(api, data)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["rows"], body["created"], body["unchanged"]) == (2, 2, 0)
    assert body["file"] == "fhir-bundle-central-2027-02.json"
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    events = AuditEvent.objects.filter(
        model="labresult", action="create", context__file="fhir-bundle-central-2027-02.json"
    )
    assert events.count() == 2
    assert {e.context["via"] for e in events} == {"api"}
    assert {e.actor_id for e in events} == {study["users"]["data_manager"].pk}

    again = _post(api, data, content_type="application/json")
    assert again.status_code == 200
    assert (again.json()["created"], again.json()["unchanged"]) == (0, 2)


def test_a_bad_bundle_is_a_problem_naming_the_entry_and_nothing_is_written(api_as, study):
    api = api_as("data_manager")
    before = LabResult.objects.count(), AuditEvent.objects.count()
    data = from_csv_rows(_rows(study, value="3.1", unit="g/L"))  # g/L is no FLC unit
    response = _post(api, data)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "lab_import_error"
    assert body["parameters"]["problems"] == [
        {
            "row": 2,
            "column": "valueQuantity.code",
            "message": "unit 'g/L' is not accepted for Kappa light chains.free [Mass/volume] in "
            "Serum (UCUM, accepted: mg/L, mg/dL)",
        }
    ]
    assert "entry 2, valueQuantity.code" in body["text"]
    assert (LabResult.objects.count(), AuditEvent.objects.count()) == before


@pytest.mark.parametrize("data", [b"", b"not json", b"[]", b'{"resourceType": "Patient"}'])
def test_a_body_that_is_not_a_bundle_is_a_problem(api_as, study, data):
    response = _post(api_as("data_manager"), data)
    assert response.status_code == 422, response.content
    assert response.json()["parameters"]["problems"][0]["row"] == 0


def test_a_coordinator_may_not_import(api_as, study):
    response = _post(api_as("coordinator"), from_csv_rows(_rows(study)))
    assert response.status_code == 403
    assert LabResult.objects.filter(source="central").count() == 0


def test_the_route_is_in_the_openapi_document_with_its_bundle_body(api_as):
    document = api_as("coordinator").get("/api/v1/openapi.json").json()
    operation = document["paths"][URL]["post"]
    assert operation["x-mmtrial-action"] == "import_labs"
    assert "application/fhir+json" in operation["requestBody"]["content"]


def test_a_bundle_over_the_request_size_limit_is_a_problem_pointing_to_the_cli(
    api_as, study, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    data = from_csv_rows(_rows(study) * 10)
    assert len(data) > 1000
    response = _post(api_as("data_manager"), data)
    assert response.status_code == 422, response.content
    assert "mmtrial lab import FILE.json" in response.json()["text"]
    assert LabResult.objects.filter(source="central").count() == 0
