"""participant_timeline returns the disease assessments (so they can be corrected on screen) and,
when asked, the next cycle's dose preview, in a fixed number of queries."""

import datetime as dt

import pytest

from mmtrial.edc.models import DiseaseAssessment, Participant
from mmtrial.edc.selectors.timeline import participant_timeline
from mmtrial.edc.services.disease import disease_assessment_record, disease_assessment_update
from tests.edc.builders import C1D1, Study, day1_labs, started
from tests.edc.test_selectors import ROWS, _bulk_participant, _queries_for

pytestmark = pytest.mark.django_db


def _with_assessments(site, n: int) -> Participant:
    participant = _bulk_participant(site, n)
    DiseaseAssessment.objects.bulk_create(
        DiseaseAssessment(
            participant=participant,
            assessed_on=C1D1 + dt.timedelta(days=28 * (ROWS - i)),
            serum_ife="positive",
        )
        for i in range(ROWS)
    )
    return participant


@pytest.mark.parametrize("participants", [1, 50])
def test_disease_assessments_come_in_date_order_in_a_fixed_number_of_queries(
    participants, django_assert_max_num_queries
):
    study = Study("QD1")
    people = [_with_assessments(study.site, n) for n in range(participants)]
    with django_assert_max_num_queries(15):
        timeline = participant_timeline(user=study.coordinator, participant_id=people[-1].pk)
    dates = [a.assessed_on for a in timeline.disease_assessments]
    assert len(dates) == ROWS and dates == sorted(dates)
    assert {a.participant_id for a in timeline.disease_assessments} == {people[-1].pk}


def test_timeline_counts_with_disease_and_preview_do_not_grow_with_rows_or_participants():
    study = Study("QD2")
    first = _with_assessments(study.site, 0)
    plain = _queries_for(
        lambda: participant_timeline(user=study.coordinator, participant_id=first.pk)
    )
    with_preview = _queries_for(
        lambda: participant_timeline(
            user=study.coordinator, participant_id=first.pk, with_dose_preview=True
        )
    )
    for n in range(1, 50):
        _with_assessments(study.site, n)
    assert plain == _queries_for(
        lambda: participant_timeline(user=study.coordinator, participant_id=first.pk)
    )
    assert with_preview == _queries_for(
        lambda: participant_timeline(
            user=study.coordinator, participant_id=first.pk, with_dose_preview=True
        )
    )


def test_a_corrected_assessment_shows_its_new_value_and_a_deleted_one_is_absent():
    study = Study("QD3")
    participant, _ = started(study)
    assessment = disease_assessment_record(
        user=study.coordinator,
        participant_id=participant.pk,
        assessed_on=C1D1 + dt.timedelta(days=27),
        serum_ife="positive",
        bone_marrow_plasma_cells_pct="12",
    )
    disease_assessment_update(
        user=study.coordinator,
        assessment_id=assessment.pk,
        expected_version=assessment.version,
        reason="transcription error",
        serum_ife="negative",
    )
    timeline = participant_timeline(user=study.coordinator, participant_id=participant.pk)
    [shown] = timeline.disease_assessments
    assert shown.serum_ife == "negative" and shown.version == assessment.version + 1
    assert timeline.dose_preview is None  # only when asked


def test_the_preview_on_the_timeline_is_the_selectors_preview():
    from mmtrial.edc.selectors.dose_preview import dose_decision_preview

    study = Study("QD4")
    participant, _ = started(study)
    day1_labs(study, participant, C1D1 + dt.timedelta(days=28))
    timeline = participant_timeline(
        user=study.coordinator, participant_id=participant.pk, with_dose_preview=True
    )
    alone = dose_decision_preview(user=study.coordinator, participant_id=participant.pk)
    assert timeline.dose_preview.decision == alone.decision
    assert timeline.dose_preview.start_date == alone.start_date
