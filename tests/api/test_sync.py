"""Incremental sync: a client pulls, writes happen elsewhere, a pull with the cursor sees
exactly the changes; lists are keyset pages; the lab export streams."""

from __future__ import annotations

import json

import pytest

from mmtrial.edc.services.labs import lab_result_delete, lab_result_record, lab_result_update
from tests.edc.builders import Study  # noqa: F401 - the study clock (tests/study_clock.py)

pytestmark = pytest.mark.django_db


def _pull_all(api, path, **params):
    """Every item of a list, following `next`; returns (items, cursor of the pull)."""
    response = api.get(path, **params)
    assert response.status_code == 200, response.content
    body = response.json()
    items, cursor = list(body["items"]), body["cursor"]
    while body["next"]:
        body = api.get(body["next"]).json()
        assert body["cursor"] == cursor  # one pull, one cursor
        items += body["items"]
    return items, cursor


def test_a_pull_with_the_cursor_sees_exactly_the_changes(api_as, study):
    api = api_as("data_manager")
    coordinator = study["users"]["coordinator"]
    participant = study["participant"]
    before, cursor = _pull_all(api, "lab-results", limit=2)
    assert len(before) == 5 and len({lab["id"] for lab in before}) == 5  # 3 day-1, 2 M-protein

    by_analyte = {lab["analyte"]: lab["id"] for lab in before}
    corrected, deleted = by_analyte["creatinine"], by_analyte["platelets"]
    unchanged = by_analyte["anc"]
    added = lab_result_record(
        user=coordinator,
        participant_id=participant.pk,
        analyte="creatinine",
        value="1.3",
        unit="mg/dL",
        collected_on=study["cycle"].start_date,
    )
    lab_result_update(
        user=coordinator, lab_result_id=corrected, expected_version=1, reason="typo", value="1.4"
    )
    lab_result_delete(user=coordinator, lab_result_id=deleted, expected_version=1, reason="dup")

    changes, next_cursor = _pull_all(api, "lab-results", changed_since=cursor, limit=1)
    assert {lab["id"] for lab in changes} == {added.pk, corrected, deleted}
    assert {lab["id"]: lab["is_deleted"] for lab in changes}[deleted] is True
    assert next_cursor > cursor
    assert unchanged not in {lab["id"] for lab in changes}

    again, _ = _pull_all(api, "lab-results", changed_since=next_cursor)
    assert again == []


def test_changes_at_another_site_are_not_synced_to_a_site_user(api_as, study):
    api_b = api_as("coordinator_b")
    _, cursor = _pull_all(api_b, "lab-results")
    lab_result_record(
        user=study["users"]["coordinator"],
        participant_id=study["participant"].pk,
        analyte="creatinine",
        value="1.2",
        unit="mg/dL",
        collected_on=study["cycle"].start_date,
    )
    changes, _ = _pull_all(api_b, "lab-results", changed_since=cursor)
    assert changes == []


def test_every_list_takes_changed_since(api_as, study):
    api = api_as("data_manager")
    document = api.get("/api/v1/openapi.json").json()
    lists = [
        (path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method == "get"
        and "{" not in path.replace("{participant_id}/timeline", "")
        and operation["operationId"].endswith("_list")
    ]
    assert len(lists) >= 10
    for path, operation in lists:
        names = {p["name"] for p in operation.get("parameters", [])}
        assert {"changed_since", "after", "limit"} <= names, path
        response = api.get(path.removeprefix("/api/v1/"), changed_since=0)
        assert response.status_code == 200, (path, response.content)
        assert isinstance(response.json()["cursor"], int)


def test_the_lab_export_streams_every_result_then_the_cursor(api_as, study):
    response = api_as("data_manager").get("exports/lab-results")
    assert response.status_code == 200
    assert response.streaming
    lines = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    assert len(lines) == 6 and "cursor" in lines[-1]
    analytes = {line["analyte"] for line in lines[:-1]}
    assert analytes == {"creatinine", "anc", "platelets", "serum_m_protein"}
