"""Disease assessments on the timeline, corrected on screen with a reason (audited), refused for
another site, a stale version or a role that may not edit."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.web.flow import C1D1, treated

pytestmark = pytest.mark.django_db

ASSESSED = C1D1 + dt.timedelta(days=27)


def _assessment(client, pk: int):
    from mmtrial.edc.models import DiseaseAssessment

    response = client.post(
        f"/participants/{pk}/disease/new/",
        {
            "assessed_on": ASSESSED.isoformat(),
            "serum_ife": "positive",
            "bone_marrow_plasma_cells_pct": "12",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return DiseaseAssessment.objects.get(participant_id=pk)


def _edit(assessment, **changes) -> dict:
    data = {
        "serum_ife": assessment.serum_ife,
        "urine_ife": assessment.urine_ife,
        "bone_marrow_plasma_cells_pct": str(assessment.bone_marrow_plasma_cells_pct or ""),
        "bone_marrow_clonal_cells": assessment.bone_marrow_clonal_cells,
        "plasmacytoma_spd_cm2": "",
        "version": str(assessment.version),
        "reason": "",
    }
    data.update(changes)
    return data


def test_the_timeline_lists_the_assessment_with_a_correct_link(client, users, sites):
    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    assessment = _assessment(client, pk)
    html = client.get(f"/participants/{pk}/").content.decode()
    assert 'data-testid="disease-table"' in html and ASSESSED.isoformat() in html
    assert f'href="/participants/{pk}/disease/{assessment.pk}/"' in html
    client.force_login(users["monitor"])
    html = client.get(f"/participants/{pk}/").content.decode()
    assert 'data-testid="disease-table"' in html
    assert f"/disease/{assessment.pk}/" not in html  # a monitor may not correct


def test_a_correction_needs_a_reason_and_is_audited(client, users, sites):
    from mmtrial.edc.models import AuditEvent

    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    assessment = _assessment(client, pk)
    url = f"/participants/{pk}/disease/{assessment.pk}/"
    page = client.get(url)
    assert page.status_code == 200 and 'value="12' in page.content.decode()
    refused = client.post(url, _edit(assessment, serum_ife="negative"))
    assert refused.status_code == 400
    assessment.refresh_from_db()
    assert assessment.serum_ife == "positive"
    saved = client.post(url, _edit(assessment, serum_ife="negative", reason="transcription error"))
    assert saved.status_code == 302
    assessment.refresh_from_db()
    assert assessment.serum_ife == "negative" and assessment.version == 2
    event = AuditEvent.objects.filter(
        model="diseaseassessment", object_pk=str(assessment.pk), action="update"
    ).get()
    assert event.reason == "transcription error"
    assert event.changes["serum_ife"]["new"] == "negative"


def test_a_stale_version_is_refused_with_a_conflict_message(client, users, sites):
    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    assessment = _assessment(client, pk)
    url = f"/participants/{pk}/disease/{assessment.pk}/"
    first = _edit(assessment, urine_ife="negative", reason="first")
    assert client.post(url, first).status_code == 302
    stale = client.post(url, _edit(assessment, serum_ife="negative", reason="second"))
    assert stale.status_code == 400
    assert "changed by someone else" in stale.content.decode()


def test_another_site_or_another_participant_cannot_reach_the_assessment(client, users, sites):
    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    assessment = _assessment(client, pk)
    other_pk = treated(client, sites["A"], "SCR-102")
    assert client.get(f"/participants/{other_pk}/disease/{assessment.pk}/").status_code == 404
    client.force_login(users["coordinator_b"])
    url = f"/participants/{pk}/disease/{assessment.pk}/"
    assert client.get(url).status_code == 404
    assert client.post(url, _edit(assessment, reason="x")).status_code == 404


def test_a_monitor_posting_a_correction_is_refused(client, users, sites):
    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    assessment = _assessment(client, pk)
    client.force_login(users["monitor"])
    url = f"/participants/{pk}/disease/{assessment.pk}/"
    response = client.post(url, _edit(assessment, serum_ife="negative", reason="x"))
    assert response.status_code == 403
    assessment.refresh_from_db()
    assert assessment.serum_ife == "positive"
