"""`POST /api/v1/lab-results/fhir`: the central laboratory's results as a FHIR R4 Bundle of
Observations (`edc.lab_import_fhir`): the same check, all-or-nothing write, idempotence and
audit as `mmtrial lab import`, attributed to the token's user and the token.

The request body is the bundle itself (`application/fhir+json` or `application/json`), read as
sent so that the audit trail's SHA-256 is that of the bytes received. A refused bundle is a 422
problem whose `parameters.problems` lists every problem (entry, element, message); nothing is
written.
"""

from __future__ import annotations

import json
import re

from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext_noop
from ninja import Schema

from mmtrial.api.auth import acting, user_of
from mmtrial.api.reads import router
from mmtrial.api.writes import ERRORS, needs
from mmtrial.edc.lab_import_fhir import lab_import_fhir
from mmtrial.edc.permissions import Action, authorize
from mmtrial.errors import InputError

__all__ = ["lab_results_fhir_import"]

BUNDLE_TOO_LARGE = gettext_noop(
    "The bundle is larger than the API accepts: import it with `mmtrial lab import FILE.json`."
)
_BUNDLE_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # FHIR R4 id
_BUNDLE_SCHEMA = {
    "type": "object",
    "description": "A FHIR R4 Bundle of Observations (docs/lab-import.md, FHIR R4 bundles)",
    "required": ["resourceType", "type", "entry"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Bundle"]},
        "id": {"type": "string"},
        "type": {"type": "string", "example": "collection"},
        "entry": {"type": "array", "items": {"type": "object"}},
    },
}


class LabImportOut(Schema):
    file: str
    sha256: str
    rows: int
    created: int
    corrected: int
    unchanged: int
    participants_rederived: int


def _file_name(data: bytes) -> str:
    """`fhir-bundle-<Bundle.id>.json` when the bundle has a valid id, else `fhir-bundle.json`:
    the name the audit trail gives the upload (beside its SHA-256)."""
    try:
        bundle = json.loads(data)
    except (ValueError, RecursionError):
        return "fhir-bundle.json"  # the check names what is wrong with it
    bundle_id = bundle.get("id") if isinstance(bundle, dict) else None
    if isinstance(bundle_id, str) and _BUNDLE_ID.match(bundle_id):
        return f"fhir-bundle-{bundle_id}.json"
    return "fhir-bundle.json"


@router.post(
    "/lab-results/fhir",
    response={200: LabImportOut, **ERRORS},
    operation_id="lab_results_fhir_import",
    tags=["write"],
    openapi_extra={
        **needs(Action.IMPORT_LABS),
        "requestBody": {
            "required": True,
            "content": {
                "application/fhir+json": {"schema": _BUNDLE_SCHEMA},
                "application/json": {"schema": _BUNDLE_SCHEMA},
            },
        },
    },
)
def lab_results_fhir_import(request):
    """Import central-laboratory results from a FHIR R4 Bundle of Observations (LOINC codes,
    UCUM units): every entry checked first, then all written or none; importing the same
    results again changes nothing."""
    user = user_of(request)
    authorize(user, Action.IMPORT_LABS)  # before reading the body: a refusal reads nothing
    try:
        data = request.body
    except RequestDataTooBig:
        raise InputError(BUNDLE_TOO_LARGE, {"field": "body"}) from None
    with acting(request):
        report = lab_import_fhir(user=user, data=data, file_name=_file_name(data))
    return {
        "file": report.file_name,
        "sha256": report.sha256,
        "rows": report.rows,
        "created": report.created,
        "corrected": report.corrected,
        "unchanged": report.unchanged,
        "participants_rederived": report.participants_rederived,
    }


def _before_the_record_routes() -> None:
    """Django tries URL patterns in order and `/lab-results/{record_id}` (GET, PATCH) also
    matches `/lab-results/fhir`, answering 405: this path must come first."""
    path = "/lab-results/fhir"
    operations = router.path_operations
    router.path_operations = {path: operations.pop(path), **operations}


_before_the_record_routes()
