"""Schemathesis against the API (in process, through the WSGI application): every operation of
the OpenAPI document with generated parameters and bodies, with a read_write token of a data
manager and of a site coordinator. No server error, and every answer matches the document
(status code, content type, headers, body schema). Examples are limited to keep CI fast."""

from __future__ import annotations

import json

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import token_for
from tests.edc.builders import Study  # noqa: F401 - the study clock (tests/study_clock.py)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 6


def _schema():
    """The document the server publishes at /api/v1/openapi.json, called through WSGI."""
    from django.core.wsgi import get_wsgi_application

    from mmtrial.api.app import api

    loaded = schemathesis.openapi.from_dict(json.loads(json.dumps(api.get_openapi_schema())))
    loaded.app = get_wsgi_application()
    return loaded


schema = _schema()


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """As Django's test client does: a request does not close the database connection that
    holds the test's transaction (the WSGI handler would, with CONN_MAX_AGE on PostgreSQL)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def tokens(study):
    return [token_for(study["users"]["data_manager"]), token_for(study["users"]["coordinator"])]


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_answers_as_its_document_says(case, tokens):
    for token in tokens:
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
