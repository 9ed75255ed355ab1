"""The IMWG findings are stored on the derived response as codes with values (issue 12 item 2),
so a page can word them in its reader's language; the English reasons stay the engine's."""

import datetime as dt

import pytest
from django.utils import translation

from mmtrial.edc.models import AuditEvent, ResponseAssessment
from mmtrial.edc.services.labs import lab_result_record
from mmtrial.edc.services.responses import response_derive
from mmtrial.web.imwg_text import response_reason_texts
from tests.edc.builders import Study, started

pytestmark = pytest.mark.django_db


def _serum(study, participant, day: dt.date, value: str, accession: str):
    return lab_result_record(
        user=study.coordinator,
        participant_id=participant.pk,
        analyte="serum_m_protein",
        value=value,
        unit="g/dL",
        collected_on=day,
        source="central",
        accession=accession,
    )


@pytest.fixture
def two_prs():
    """Baseline serum M-protein 2.4 g/dL (screening), then 1.1 and 1.0 g/dL: two PRs
    (IMWG 2016: PR is a reduction of >= 50%; 1.1 is 54% and 1.0 is 58% below 2.4)."""
    study = Study("F1")
    participant, _ = started(study)
    _serum(study, participant, dt.date(2027, 2, 8), "1.1", "A1")
    _serum(study, participant, dt.date(2027, 3, 8), "1.0", "A2")
    rows = list(ResponseAssessment.objects.filter(participant=participant))
    return study, participant, rows


def test_findings_are_stored_as_codes_with_values_and_iso_dates(two_prs):
    _, _, (first, second) = two_prs
    first.refresh_from_db()
    second.refresh_from_db()
    # ("serum", value, baseline, quoted category rank 3 = PR, not IFE-only); the first PR is
    # confirmed by the next evaluable assessment, the second has none after it.
    assert first.findings == {
        "findings": [["serum", 1.1, 2.4, 3, False]],
        "confirmation": ["response", ["2027-03-08", "PR"]],
    }
    assert second.findings == {
        "findings": [["serum", 1.0, 2.4, 3, False]],
        "confirmation": ["response", None],
    }


def test_the_stored_findings_read_back_as_the_engines_english(two_prs):
    _, _, (first, _second) = two_prs
    first.refresh_from_db()
    expected = [
        "serum M-protein 1.1 g/dL is 54% below baseline 2.4 g/dL (PR needs >= 50%)",
        "confirmed: the next evaluable assessment (2027-03-08) is PR",
    ]
    assert first.reasons == expected
    with translation.override("en"):
        assert response_reason_texts(first) == expected


def test_a_row_derived_before_findings_existed_shows_its_english_until_re_derived(two_prs):
    _, participant, (first, _second) = two_prs
    # As a row stored before migration 0015: no findings, English reasons only.
    ResponseAssessment.objects.filter(pk=first.pk).update(
        findings={}, reasons=["the English the engine stored"]
    )
    first.refresh_from_db()
    with translation.override("ja"):
        assert response_reason_texts(first) == ["the English the engine stored"]
    updates = AuditEvent.objects.filter(model="responseassessment", action="update").count()
    response_derive(participant=participant)
    first.refresh_from_db()
    assert first.findings["findings"] == [["serum", 1.1, 2.4, 3, False]]
    assert first.reasons[0].startswith("serum M-protein 1.1 g/dL is 54% below")
    after = AuditEvent.objects.filter(model="responseassessment", action="update").count()
    assert after == updates + 1
