"""Responses derived by clinical.imwg from stored labs; investigator's category beside them."""

import datetime as dt

import pytest

from mmtrial.clinical import imwg
from mmtrial.edc.models import AuditEvent, Query, ResponseAssessment, ResponseSummary
from mmtrial.edc.services.disease import disease_assessment_record
from mmtrial.edc.services.labs import lab_result_record, lab_result_update
from mmtrial.edc.services.responses import (
    investigator_response_record,
    response_derive,
    response_input,
)
from mmtrial.errors import InputError, NotFound
from tests.edc.builders import C1D1, Study, started

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
def treated():
    study = Study("R1")
    participant, _ = started(study)
    return study, participant


def test_baseline_comes_from_screening_and_each_central_date_is_an_assessment(treated):
    study, participant = treated
    _serum(study, participant, dt.date(2027, 2, 8), "1.1", "A1")
    _serum(study, participant, dt.date(2027, 3, 8), "1.0", "A2")
    data = response_input(participant)
    assert data["baseline"] == {"date": C1D1.isoformat(), "serum_m_protein_g_dl": 2.4}
    assert [a["date"] for a in data["assessments"]] == ["2027-02-08", "2027-03-08"]
    expected = imwg.assess(data)
    rows = list(ResponseAssessment.objects.filter(participant=participant))
    assert [(r.assessment_date, r.derived_response, r.derived_confirmed) for r in rows] == [
        (a.date, a.response, a.confirmed) for a in expected.assessments
    ]
    assert rows[0].derived_response == "PR" and rows[0].engine_version == imwg.ENGINE_VERSION
    summary = ResponseSummary.objects.get(participant=participant)
    assert summary.best_overall_response == "PR"
    assert summary.response_date == dt.date(2027, 2, 8)


def test_a_corrected_lab_value_re_derives_and_only_changed_rows_are_written(treated):
    study, participant = treated
    _serum(study, participant, dt.date(2027, 2, 8), "1.1", "A1")
    second = _serum(study, participant, dt.date(2027, 3, 8), "1.0", "A2")
    assert ResponseSummary.objects.get(participant=participant).best_overall_response == "PR"
    updates_before = AuditEvent.objects.filter(model="responseassessment", action="update").count()
    lab_result_update(
        user=study.coordinator,
        lab_result_id=second.pk,
        expected_version=second.version,
        value="2.0",
        reason="transcription error",
    )
    rows = {
        r.assessment_date: r for r in ResponseAssessment.objects.filter(participant=participant)
    }
    # the second value no longer confirms the PR of the first
    assert rows[dt.date(2027, 2, 8)].derived_confirmed is False
    assert ResponseSummary.objects.get(participant=participant).best_overall_response != "PR"
    updates = AuditEvent.objects.filter(model="responseassessment", action="update")
    assert updates.count() - updates_before == 2  # both rows changed, each audited once
    assert all(e.context.get("engine_version") == imwg.ENGINE_VERSION for e in updates)


def test_deriving_again_without_a_change_writes_nothing(treated):
    study, participant = treated
    _serum(study, participant, dt.date(2027, 2, 8), "1.1", "A1")
    before = AuditEvent.objects.count()
    response_derive(participant=participant)
    assert AuditEvent.objects.count() == before


def test_disease_assessment_on_a_lab_date_joins_that_assessment(treated):
    study, participant = treated
    _serum(study, participant, dt.date(2027, 2, 8), "1.1", "A1")
    disease_assessment_record(
        user=study.coordinator,
        participant_id=participant.pk,
        assessed_on=dt.date(2027, 2, 8),
        new_lesion=True,
    )
    row = ResponseAssessment.objects.get(participant=participant)
    assert row.derived_response == "PD"


def test_investigator_disagreement_opens_one_automatic_query(treated):
    study, participant = treated
    _serum(study, participant, dt.date(2027, 2, 8), "1.1", "A1")
    row = ResponseAssessment.objects.get(participant=participant)
    stored = investigator_response_record(
        user=study.investigator,
        participant_id=participant.pk,
        assessment_date=row.assessment_date,
        response="VGPR",
        expected_version=row.version,
    )
    assert (stored.derived_response, stored.investigator_response) == ("PR", "VGPR")
    query = Query.objects.get(participant=participant)
    assert query.origin == "response_disagreement"
    assert query.opened_by is None
    assert query.field == "investigator_response"
    assert "VGPR" in query.text and "PR" in query.text
    # a change of the investigator's category needs a reason; an open query is not duplicated
    with pytest.raises(InputError, match="reason"):
        investigator_response_record(
            user=study.investigator,
            participant_id=participant.pk,
            assessment_date=row.assessment_date,
            response="CR",
            expected_version=stored.version,
        )
    investigator_response_record(
        user=study.investigator,
        participant_id=participant.pk,
        assessment_date=row.assessment_date,
        response="CR",
        expected_version=stored.version,
        reason="re-read",
    )
    assert Query.objects.filter(participant=participant).count() == 1


def test_agreement_opens_no_query(treated):
    study, participant = treated
    _serum(study, participant, dt.date(2027, 2, 8), "1.1", "A1")
    row = ResponseAssessment.objects.get(participant=participant)
    investigator_response_record(
        user=study.investigator,
        participant_id=participant.pk,
        assessment_date=row.assessment_date,
        response="PR",
        expected_version=row.version,
    )
    assert not Query.objects.exists()


def test_investigator_response_needs_a_derived_row_and_a_known_category(treated):
    study, participant = treated
    with pytest.raises(NotFound, match="no response assessment"):
        investigator_response_record(
            user=study.investigator,
            participant_id=participant.pk,
            assessment_date=dt.date(2027, 2, 8),
            response="PR",
            expected_version=1,
        )
    _serum(study, participant, dt.date(2027, 2, 8), "1.1", "A1")
    with pytest.raises(InputError, match="not an IMWG category"):
        investigator_response_record(
            user=study.investigator,
            participant_id=participant.pk,
            assessment_date=dt.date(2027, 2, 8),
            response="great",
            expected_version=1,
        )


def test_a_corrected_disease_assessment_re_derives_and_the_row_returns_to_the_lab_category(
    treated,
):
    from mmtrial.edc.services.disease import disease_assessment_update

    study, participant = treated
    _serum(study, participant, dt.date(2027, 2, 8), "1.1", "A1")
    assessment = disease_assessment_record(
        user=study.coordinator,
        participant_id=participant.pk,
        assessed_on=dt.date(2027, 2, 8),
        new_lesion=True,
    )
    assert ResponseAssessment.objects.get(participant=participant).derived_response == "PD"
    with pytest.raises(InputError, match="reason"):
        disease_assessment_update(
            user=study.coordinator,
            assessment_id=assessment.pk,
            expected_version=1,
            reason="",
            new_lesion=False,
        )
    disease_assessment_update(
        user=study.coordinator,
        assessment_id=assessment.pk,
        expected_version=1,
        reason="lesion was a known old one",
        new_lesion=False,
    )
    row = ResponseAssessment.objects.get(participant=participant)
    assert row.derived_response == "PR" and row.version == 3


def test_disease_values_are_checked(treated):
    study, participant = treated
    for bad in ({"serum_ife": "maybe"}, {"bone_marrow_plasma_cells_pct": 140}, {"size": 1}):
        with pytest.raises(InputError):
            disease_assessment_record(
                user=study.coordinator,
                participant_id=participant.pk,
                assessed_on=dt.date(2027, 2, 8),
                **bad,
            )
