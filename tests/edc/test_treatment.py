"""cycle_start gathers facts from the database and stores clinical.dosing's decision; dose_record."""

import datetime as dt
from decimal import Decimal

import pytest

from mmtrial.clinical import dosing
from mmtrial.edc.models import AuditEvent, Cycle, DoseAdministration, Visit
from mmtrial.edc.models.people import ParticipantStatus
from mmtrial.edc.models.treatment import CycleStatus, DoseStatus
from mmtrial.edc.services.adverse_events import ae_record
from mmtrial.edc.services.participants import protocol_of
from mmtrial.edc.services.treatment import ENGINE_VERSION, cycle_facts, cycle_start, dose_record
from mmtrial.errors import InputError, NotFound, ProtocolViolation
from tests.edc.builders import C1D1, Study, day1_labs, started

pytestmark = pytest.mark.django_db

C2D1 = C1D1 + dt.timedelta(days=28)
C3D1 = C2D1 + dt.timedelta(days=28)


def test_cycle_1_stores_the_decision_its_reasons_doses_and_visits():
    study = Study("D1")
    participant, cycle = started(study)
    assert participant.c1d1_date == C1D1
    assert participant.status == ParticipantStatus.ON_TREATMENT
    assert cycle.status == CycleStatus.STARTED and cycle.number == 1
    # CrCl 48 mL/min < 60: the renal starting dose of lenalidomide, decided by clinical.dosing
    assert cycle.planned_doses_mg == {"ixazomib": 4, "lenalidomide": 10, "dexamethasone": 40}
    assert cycle.engine_version == ENGINE_VERSION
    assert any("renal" in r["text"] for r in cycle.decision["reasons"])
    expected = dosing.decide_next_cycle(
        dosing.CycleFacts.model_validate(cycle.decision["facts"]), protocol=protocol_of(participant)
    )
    assert cycle.decision["doses_mg"] == expected.model_dump(mode="json")["doses_mg"]
    doses = DoseAdministration.objects.filter(cycle=cycle)
    assert doses.count() == 3 + 21 + 4
    assert set(doses.values_list("status", flat=True)) == {DoseStatus.PLANNED}
    assert Visit.objects.filter(participant=participant, code="C1D1").get().planned_date == C1D1
    events = AuditEvent.objects.filter(model="doseadministration", action="create")
    assert events.count() == 28 and {e.actor_id for e in events} == {study.coordinator.pk}


def test_a_cycle_needs_a_recent_creatinine():
    study = Study("D2")
    participant = study.enrolled(consent_date=dt.date(2026, 11, 2))
    day1_labs(study, participant, C1D1 - dt.timedelta(days=30))
    with pytest.raises(ProtocolViolation, match="No creatinine collected within 7 days"):
        cycle_start(user=study.coordinator, participant_id=participant.pk, start_date=C1D1)
    assert not Cycle.objects.exists()


def test_a_participant_who_is_not_enrolled_cannot_start():
    study = Study("D3")
    participant = study.register()
    with pytest.raises(ProtocolViolation, match="not enrolled"):
        cycle_start(user=study.coordinator, participant_id=participant.pk, start_date=C1D1)


def test_a_cycle_cannot_start_before_the_previous_one_ends():
    study = Study("D4")
    participant, _ = started(study)
    day1_labs(study, participant, C2D1 - dt.timedelta(days=3))
    with pytest.raises(ProtocolViolation, match="before cycle 1 ends"):
        cycle_start(
            user=study.coordinator,
            participant_id=participant.pk,
            start_date=C2D1 - dt.timedelta(days=2),
        )


def test_low_platelets_delay_the_cycle_and_a_later_start_decides_again():
    study = Study("D5")
    participant, _ = started(study)
    day1_labs(study, participant, C2D1, platelets="60000")
    delayed = cycle_start(user=study.coordinator, participant_id=participant.pk, start_date=C2D1)
    assert delayed.status == CycleStatus.DELAYED and delayed.number == 2
    assert delayed.decision["decision"] == "delay"
    assert not DoseAdministration.objects.filter(cycle=delayed).exists()
    later = C2D1 + dt.timedelta(days=7)
    day1_labs(study, participant, later)
    cycle = cycle_start(user=study.coordinator, participant_id=participant.pk, start_date=later)
    assert cycle.pk == delayed.pk and cycle.status == CycleStatus.STARTED
    assert cycle.start_date == later and cycle.version == 2
    assert Visit.objects.get(participant=participant, code="C2D1").planned_date == later


def test_grade_4_thrombocytopenia_reduces_lenalidomide_first_by_alternation():
    study = Study("D6")
    participant, _ = started(study, creatinine="0.6", values={"creatinine_mg_dl": 0.6})
    assert Cycle.objects.get().planned_doses_mg["lenalidomide"] == 25
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
    day1_labs(study, participant, C1D1 + dt.timedelta(days=15), platelets="22000", creatinine="0.6")
    day1_labs(study, participant, C2D1, creatinine="0.6")
    cycle = cycle_start(user=study.coordinator, participant_id=participant.pk, start_date=C2D1)
    facts = cycle.decision["facts"]
    low = (C1D1 + dt.timedelta(days=15)).isoformat()
    assert {"variable": "platelets_per_mm3", "value": 22000, "date": low} in [
        {k: c[k] for k in ("variable", "value", "date")}
        for c in facts["counts_since_last_decision"]
    ]
    [reason] = [r for r in cycle.decision["reasons"] if r["rule"] == "platelets_below_30000"]
    assert reason["values"]["platelets_per_mm3"] == 22000 and reason["values"]["count_date"] == low
    assert cycle.status == CycleStatus.STARTED
    assert cycle.planned_doses_mg["lenalidomide"] == 20  # one level down
    assert cycle.planned_doses_mg["ixazomib"] == 4
    assert cycle.alternation_state["counts"] == {"shared": 1}


def test_facts_carry_the_previous_decision_and_count_cycles_at_dose():
    study = Study("D7")
    participant, _ = started(study)
    day1_labs(study, participant, C2D1)
    cycle_start(user=study.coordinator, participant_id=participant.pk, start_date=C2D1)
    participant.refresh_from_db()
    day1_labs(study, participant, C3D1)
    facts = cycle_facts(participant, start_date=C3D1, protocol=protocol_of(participant))
    assert facts.cycle == 3
    assert facts.cycles_at_current_dose["lenalidomide"] == 2
    assert facts.renal_dose_adjusted is True
    assert facts.current_doses_mg["lenalidomide"] == Decimal(10)
    # not responding (no response yet) and tolerating: renal escalation 10 -> 15 mg
    cycle = cycle_start(user=study.coordinator, participant_id=participant.pk, start_date=C3D1)
    assert cycle.planned_doses_mg["lenalidomide"] == 15


def test_dose_record_taken_held_and_reduced():
    study = Study("D8")
    _participant, cycle = started(study)
    doses = {(d.drug, d.day): d for d in DoseAdministration.objects.filter(cycle=cycle)}
    taken = dose_record(
        user=study.coordinator,
        dose_id=doses[("ixazomib", 1)].pk,
        status="taken",
        expected_version=1,
    )
    assert taken.taken_dose_mg == Decimal(4)
    with pytest.raises(InputError, match="reason"):
        dose_record(
            user=study.coordinator,
            dose_id=doses[("ixazomib", 8)].pk,
            status="held",
            expected_version=1,
        )
    held = dose_record(
        user=study.coordinator,
        dose_id=doses[("ixazomib", 8)].pk,
        status="held",
        expected_version=1,
        reason="platelets 25,000 on day 8",
    )
    assert held.status == DoseStatus.HELD and held.taken_dose_mg is None
    with pytest.raises(InputError, match="below the planned"):
        dose_record(
            user=study.coordinator,
            dose_id=doses[("dexamethasone", 1)].pk,
            status="reduced",
            taken_dose_mg="40",
            expected_version=1,
            reason="x",
        )
    # changing a recorded dose needs a reason for change
    with pytest.raises(InputError, match="reason for change"):
        dose_record(
            user=study.coordinator,
            dose_id=held.pk,
            status="taken",
            expected_version=held.version,
        )


def test_another_sites_coordinator_cannot_start_or_record_doses():
    study, other = Study("D9"), Study("E9")
    participant, cycle = started(study)
    dose = DoseAdministration.objects.filter(cycle=cycle).first()
    with pytest.raises(NotFound):
        cycle_start(user=other.coordinator, participant_id=participant.pk, start_date=C2D1)
    with pytest.raises(NotFound):
        dose_record(user=other.coordinator, dose_id=dose.pk, status="taken", expected_version=1)
    dose.refresh_from_db()
    assert dose.status == DoseStatus.PLANNED
