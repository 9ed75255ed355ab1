"""dose_decision_preview: what cycle_start would decide, computed from the data so far, written
nowhere, scoped to the user's sites, and saying what to record first when a fact is missing."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mmtrial.edc.models import AuditEvent, Cycle, DoseAdministration
from mmtrial.edc.selectors.dose_preview import dose_decision_preview
from mmtrial.edc.services.adverse_events import ae_record
from mmtrial.edc.services.participants import protocol_of
from mmtrial.edc.services.treatment import MISSING_LAB, TOO_EARLY, cycle_start
from mmtrial.errors import NotFound
from tests.edc.builders import C1D1, ENROLLED, Study, day1_labs, started

pytestmark = pytest.mark.django_db


def _next_start(participant) -> dt.date:
    return C1D1 + dt.timedelta(days=protocol_of(participant).cycle_length_days)


def _stored_decision(cycle) -> dict:
    return {k: v for k, v in cycle.decision.items() if k != "facts"}


def _thrombocytopenia(study, participant) -> None:
    ae_record(
        user=study.coordinator,
        participant_id=participant.pk,
        term="Platelet count decreased",
        grade=4,
        start_date=C1D1 + dt.timedelta(days=14),
        end_date=C1D1 + dt.timedelta(days=24),
        nonhematologic=False,
        attribution={"lenalidomide": True},
    )
    day1_labs(study, participant, C1D1 + dt.timedelta(days=15), platelets="22000")


@pytest.mark.parametrize(
    "scenario", ["as_planned", "renal_escalation_facts", "low_platelets_delay", "toxicity"]
)
def test_the_preview_is_the_decision_cycle_start_then_records(scenario):
    study = Study(f"P{scenario[:3].upper()}")
    participant, _ = started(study)
    c2d1 = _next_start(participant)
    platelets = "60000" if scenario == "low_platelets_delay" else "150000"
    if scenario == "toxicity":
        _thrombocytopenia(study, participant)
    creatinine = "0.6" if scenario == "renal_escalation_facts" else "1.0"
    day1_labs(study, participant, c2d1, platelets=platelets, creatinine=creatinine)

    preview = dose_decision_preview(user=study.coordinator, participant_id=participant.pk)

    assert preview.start_date == c2d1 and preview.cycle_number == 2
    assert preview.decision is not None and preview.message == ""
    cycle = cycle_start(user=study.coordinator, participant_id=participant.pk, start_date=c2d1)
    assert cycle.number == preview.cycle_number
    assert preview.decision.model_dump(mode="json") == _stored_decision(cycle)
    assert preview.facts.model_dump(mode="json") == cycle.decision["facts"]
    if scenario == "low_platelets_delay":
        assert preview.decision.decision == "delay"
    if scenario == "toxicity":
        assert any(c.kind == "reduce" for c in preview.decision.changes)


def test_a_preview_for_cycle_1_uses_today_and_matches_the_first_cycle_start():
    study = Study("PC1")
    participant = study.enrolled()
    day = ENROLLED + dt.timedelta(days=3)
    day1_labs(study, participant, day)
    preview = dose_decision_preview(
        user=study.coordinator, participant_id=participant.pk, today=day
    )
    assert preview.cycle_number == 1 and preview.start_date == day
    cycle = cycle_start(user=study.coordinator, participant_id=participant.pk, start_date=day)
    assert preview.decision.model_dump(mode="json") == _stored_decision(cycle)


def test_cycle_1_is_never_previewed_before_enrollment():
    study = Study("PC2")
    participant = study.enrolled()
    preview = dose_decision_preview(
        user=study.coordinator,
        participant_id=participant.pk,
        today=ENROLLED - dt.timedelta(days=2),
    )
    assert preview.start_date == ENROLLED


def test_a_delayed_cycle_is_previewed_at_its_recheck_date():
    study = Study("PDL")
    participant, _ = started(study)
    c2d1 = _next_start(participant)
    day1_labs(study, participant, c2d1, platelets="60000")
    delayed = cycle_start(user=study.coordinator, participant_id=participant.pk, start_date=c2d1)
    recheck = c2d1 + dt.timedelta(days=delayed.decision["recheck_in_days"])
    day1_labs(study, participant, recheck)
    preview = dose_decision_preview(user=study.coordinator, participant_id=participant.pk)
    assert preview.start_date == recheck and preview.cycle_number == 2
    assert preview.decision.decision == "start"


def test_the_preview_writes_nothing():
    study = Study("PWN")
    participant, _ = started(study)
    day1_labs(study, participant, _next_start(participant))
    before = (AuditEvent.objects.count(), Cycle.objects.count(), DoseAdministration.objects.count())
    with CaptureQueriesContext(connection) as captured:
        preview = dose_decision_preview(user=study.coordinator, participant_id=participant.pk)
    assert preview.decision is not None
    after = (AuditEvent.objects.count(), Cycle.objects.count(), DoseAdministration.objects.count())
    assert after == before
    writes = [
        q["sql"]
        for q in captured.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []


def test_another_sites_participant_is_not_found():
    study, other = Study("PS1"), Study("PS2")
    participant, _ = started(study)
    with pytest.raises(NotFound):
        dose_decision_preview(user=other.coordinator, participant_id=participant.pk)
    with pytest.raises(NotFound):
        dose_decision_preview(user=study.coordinator, participant_id=999_999)
    # a monitor or data manager across sites may see it
    assert dose_decision_preview(user=study.data_manager, participant_id=participant.pk)


def test_a_missing_creatinine_says_what_to_record_first():
    study = Study("PML")
    participant, _ = started(study)
    c2d1 = _next_start(participant)
    preview = dose_decision_preview(user=study.coordinator, participant_id=participant.pk)
    window = protocol_of(participant).renal.lab_window_days
    assert preview.decision is None
    assert preview.message == MISSING_LAB.format(what="creatinine", days=window, date=c2d1)
    assert preview.field == "creatinine" and preview.applicable


def test_a_start_date_before_the_previous_cycle_ends_is_refused_as_cycle_start_would():
    study = Study("PTE")
    participant, _ = started(study)
    early = _next_start(participant) - dt.timedelta(days=2)
    day1_labs(study, participant, early)
    preview = dose_decision_preview(
        user=study.coordinator, participant_id=participant.pk, start_date=early
    )
    length = protocol_of(participant).cycle_length_days
    assert preview.decision is None
    assert preview.message == TOO_EARLY.format(date=early, prev=1, prev_start=C1D1, length=length)


def test_a_participant_in_screening_has_nothing_to_preview():
    study = Study("PSC")
    participant = study.register()
    preview = dose_decision_preview(user=study.coordinator, participant_id=participant.pk)
    assert not preview.applicable and preview.decision is None
    assert "not enrolled" in preview.message


def test_the_preview_reads_a_fixed_number_of_queries(django_assert_max_num_queries):
    study = Study("PQC")
    participant, _ = started(study)
    day1_labs(study, participant, _next_start(participant))

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            dose_decision_preview(user=study.coordinator, participant_id=participant.pk)
        return len(captured.captured_queries)

    few = count()
    _thrombocytopenia(study, participant)
    for offset in range(1, 6):
        day1_labs(study, participant, C1D1 + dt.timedelta(days=offset))
    assert count() <= few + 2  # the toxicity's count is read once per analyte, not per row
    with django_assert_max_num_queries(20):
        dose_decision_preview(user=study.coordinator, participant_id=participant.pk)
