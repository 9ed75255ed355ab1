"""Issue 10 through the EDC services: the counts recorded (central and local) reach the next
cycle's decision, count-less grade 4 events act, a falling CrCl waits for the investigator.

Sources as in tests/clinical/test_dosing_cytopenia_counts.py and test_dosing_renal_fall.py
(NINLARO USPI 2.4 table 2 and 2.5; REVLIMID USPI 2.6; shared/protocol.md sections 4 and 7).
CrCl by hand (Cockcroft-Gault, protocol.md section 4) for the builders' participant: female,
born 1955 (72 years in 2027), 60 kg: (140 - 72) x 60 / (72 x creatinine) x 0.85
= 48.1667 / creatinine mL/min: creatinine 0.74 -> 65.09; 0.87 -> 55.36; 1.93 -> 24.96.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from typer.testing import CliRunner

from mmtrial.cli import app
from mmtrial.edc.models import AuditEvent, DoseAdministration, RenalDoseDecision
from mmtrial.edc.models.treatment import CycleStatus
from mmtrial.edc.services.adverse_events import ae_record
from mmtrial.edc.services.labs import lab_result_record
from mmtrial.edc.services.treatment import cycle_start, renal_decision_record
from mmtrial.errors import PermissionDenied, ProtocolViolation
from tests.edc.builders import C1D1, Study, day1_labs, started

pytestmark = pytest.mark.django_db

D = dt.timedelta
# Doses after each successive cytopenia episode (label table 2 and the ladders, by hand).
ALTERNATION = [
    (4, 20),
    (3, 20),
    (3, 15),
    (2.3, 15),
    (2.3, 10),
    (None, 10),
]


def _count(study, participant, analyte, value, on, source="local", accession=""):
    lab_result_record(
        user=study.coordinator,
        participant_id=participant.pk,
        analyte=analyte,
        value=str(value),
        unit="/mm3",
        collected_on=on,
        source=source,
        accession=accession,
        today=on,
    )


def _doses(cycle) -> tuple:
    planned = cycle.planned_doses_mg
    return (planned["ixazomib"], planned["lenalidomide"])


@pytest.mark.parametrize("how", ["within_cycle_count", "day_1_count", "grade_4_event"])
def test_six_episodes_reduce_six_next_cycles_alternating(how):
    study = Study("K1" + how[0])
    participant, cycle = started(study, creatinine="0.6")  # CrCl 80: lenalidomide 25 mg
    start = C1D1
    for n, expected in enumerate(ALTERNATION, start=2):
        source = "central" if n % 2 else "local"
        if how == "within_cycle_count":
            _count(study, participant, "platelets", 24000, start + D(days=14), source, f"A{n}")
            _count(study, participant, "platelets", 140000, start + D(days=21))
        elif how == "grade_4_event":
            ae_record(
                user=study.coordinator,
                participant_id=participant.pk,
                term="Neutrophil count decreased" if n % 2 else "Platelet count decreased",
                grade=4,
                start_date=start + D(days=12),
                end_date=start + D(days=18),
            )
        start = start + D(days=28)
        if how == "day_1_count":
            day1_labs(study, participant, start, creatinine="0.6", platelets="25000")
            delayed = cycle_start(
                user=study.coordinator, participant_id=participant.pk, start_date=start
            )
            assert delayed.status == CycleStatus.DELAYED
            planned = delayed.decision["planned_doses_mg"]  # already one level lower
            assert (planned["ixazomib"], planned["lenalidomide"]) == expected
            start = start + D(days=7)
        day1_labs(study, participant, start, creatinine="0.6")
        cycle = cycle_start(user=study.coordinator, participant_id=participant.pk, start_date=start)
        assert cycle.status == CycleStatus.STARTED
        assert _doses(cycle) == expected, f"cycle {n}"
        if how == "grade_4_event":
            continue
        [reason] = [r for r in cycle.decision["reasons"] if r["rule"] == "platelets_below_30000"]
        low = start - D(days=14 if how == "within_cycle_count" else 7)
        assert reason["values"]["count_date"] == low.isoformat()
        if how == "within_cycle_count":
            assert source in reason["text"]
        if expected[0] is not None:  # the planned dose rows carry the new doses
            rows = DoseAdministration.objects.filter(cycle=cycle, drug="lenalidomide")
            assert {float(r.planned_dose_mg) for r in rows} == {expected[1]}


def test_a_day_1_count_below_30000_delays_and_the_restart_is_one_level_lower():
    study = Study("K2")
    participant, _ = started(study, creatinine="0.6")
    c2 = C1D1 + D(days=28)
    day1_labs(study, participant, c2, creatinine="0.6", platelets="25000")
    delayed = cycle_start(user=study.coordinator, participant_id=participant.pk, start_date=c2)
    assert delayed.status == CycleStatus.DELAYED
    assert delayed.decision["planned_doses_mg"]["lenalidomide"] == 20
    later = c2 + D(days=7)
    day1_labs(study, participant, later, creatinine="0.6", platelets="90000")
    cycle = cycle_start(user=study.coordinator, participant_id=participant.pk, start_date=later)
    assert cycle.status == CycleStatus.STARTED
    assert _doses(cycle) == (4, 20)


def test_a_grade_4_neutropenia_typed_without_a_count_reduces_the_next_cycle():
    study = Study("K3")
    participant, _ = started(study, creatinine="0.6")
    ae_record(
        user=study.coordinator,
        participant_id=participant.pk,
        term="Neutrophil count decreased",
        grade=4,
        start_date=C1D1 + D(days=10),
        end_date=C1D1 + D(days=16),
    )
    c2 = C1D1 + D(days=28)
    day1_labs(study, participant, c2, creatinine="0.6")
    cycle = cycle_start(user=study.coordinator, participant_id=participant.pk, start_date=c2)
    assert _doses(cycle) == (4, 20)
    assert "nonhematologic_grade_3_4" not in [r["rule"] for r in cycle.decision["reasons"]]


def test_a_grade_3_thrombocytopenia_without_a_count_asks_for_the_count():
    study = Study("K4")
    participant, _ = started(study, creatinine="0.6")
    ae_record(
        user=study.coordinator,
        participant_id=participant.pk,
        term="Platelet count decreased",
        grade=3,
        start_date=C1D1 + D(days=10),
        end_date=C1D1 + D(days=16),
    )
    c2 = C1D1 + D(days=28)
    day1_labs(study, participant, c2, creatinine="0.6")
    with pytest.raises(ProtocolViolation, match=r"has no count recorded during it"):
        cycle_start(user=study.coordinator, participant_id=participant.pk, start_date=c2)
    # Recording the count during the event lets the cycle start; 41,000 is above 30,000.
    _count(study, participant, "platelets", 41000, C1D1 + D(days=12))
    cycle = cycle_start(user=study.coordinator, participant_id=participant.pk, start_date=c2)
    assert _doses(cycle) == (4, 25)


def test_an_unknown_adverse_event_term_stops_the_decision_with_its_name():
    study = Study("K5")
    participant, _ = started(study, creatinine="0.6")
    ae_record(
        user=study.coordinator,
        participant_id=participant.pk,
        term="Funny feeling",
        grade=2,
        start_date=C1D1 + D(days=3),
        end_date=C1D1 + D(days=5),
    )
    c2 = C1D1 + D(days=28)
    day1_labs(study, participant, c2, creatinine="0.6")
    with pytest.raises(ProtocolViolation, match=r"Adverse event 'Funny feeling' grade 2"):
        cycle_start(user=study.coordinator, participant_id=participant.pk, start_date=c2)


def test_crcl_falling_65_55_25_waits_for_the_investigator_whose_override_is_audited():
    study = Study("K6")
    participant, c1 = started(study, creatinine="0.74")  # 65.09 mL/min
    assert _doses(c1) == (4, 25)
    c2 = C1D1 + D(days=28)
    day1_labs(study, participant, c2, creatinine="0.87")  # 55.36 mL/min
    pending = cycle_start(user=study.coordinator, participant_id=participant.pk, start_date=c2)
    assert pending.status == CycleStatus.AWAITING_INVESTIGATOR
    assert not DoseAdministration.objects.filter(cycle=pending).exists()
    assert [(p["drug"], p["dose_mg"]) for p in pending.decision["proposals"]] == [
        ("lenalidomide", 10)
    ]
    # Starting again does not get round it, nor may a coordinator answer.
    again = cycle_start(user=study.coordinator, participant_id=participant.pk, start_date=c2)
    assert again.status == CycleStatus.AWAITING_INVESTIGATOR
    with pytest.raises(PermissionDenied):
        renal_decision_record(
            user=study.coordinator, participant_id=participant.pk, action="confirm"
        )
    cycle = renal_decision_record(
        user=study.investigator, participant_id=participant.pk, action="confirm"
    )
    assert cycle.pk == pending.pk and cycle.status == CycleStatus.STARTED
    assert _doses(cycle) == (4, 10)

    c3 = c2 + D(days=28)
    day1_labs(study, participant, c3, creatinine="1.93")  # 24.96 mL/min
    pending = cycle_start(user=study.coordinator, participant_id=participant.pk, start_date=c3)
    assert pending.status == CycleStatus.AWAITING_INVESTIGATOR
    assert {(p["drug"], p["dose_mg"], p["every_days"]) for p in pending.decision["proposals"]} == {
        ("ixazomib", 3, 1),
        ("lenalidomide", 15, 2),
    }
    with pytest.raises(Exception, match="reason"):
        renal_decision_record(
            user=study.investigator,
            participant_id=participant.pk,
            action="override",
            doses_mg={"ixazomib": "3", "lenalidomide": "5"},
        )
    cycle = renal_decision_record(
        user=study.investigator,
        participant_id=participant.pk,
        action="override",
        doses_mg={"ixazomib": "3", "lenalidomide": "5"},
        reason="haemodialysis started: REVLIMID 2.6 gives 5 mg daily",
    )
    assert cycle.status == CycleStatus.STARTED and _doses(cycle) == (3, 5)
    answer = RenalDoseDecision.objects.get(cycle_number=3)
    event = AuditEvent.objects.get(model="renaldosedecision", object_pk=str(answer.pk))
    assert event.actor_id == study.investigator.pk
    assert event.reason.startswith("haemodialysis started")

    # The command line gives the same decision for the same facts (acceptance).
    result = CliRunner().invoke(
        app, ["dose", "next", "-"], input=json.dumps(cycle.decision["facts"])
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    stored = {k: v for k, v in cycle.decision.items() if k != "facts"}
    assert printed == stored
