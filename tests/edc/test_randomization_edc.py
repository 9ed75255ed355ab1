"""Randomization at enrollment and blinding in the EDC, on the TOURMALINE-MM1 protocol file
(issue 16 items 2; ICH E9 2.3). The arm is visible only to the unblinded roles of the protocol
file (`blinding.unblinded_roles`) until the study is unblinded; the audit trail, read by blinded
roles, never holds it; the participant's investigator may unblind in an emergency, with a
reason, audited, the sponsor told."""

from __future__ import annotations

from collections import Counter

import pytest

from mmtrial.edc.models import Allocation, AuditEvent, Unblinding
from mmtrial.edc.services.randomization import (
    allocated_arm,
    arms_for_analysis,
    emergency_unblind,
    randomization_key_create,
    study_unblind,
)
from mmtrial.errors import InputError, NotFound, PermissionDenied, ProtocolViolation
from mmtrial.protocol.loader import PROTOCOLS_DIR
from tests.edc.builders import Study, make_user

pytestmark = pytest.mark.django_db
STRATUM = {"prior_lines": 1, "pi_exposed": False, "iss_stage": 1}


@pytest.fixture(autouse=True)
def _tmm1(monkeypatch):
    monkeypatch.setenv("MMTRIAL_PROTOCOL_FILE", str(PROTOCOLS_DIR / "tmm1.yaml"))


@pytest.fixture
def study():
    study = Study("R1")
    study.admin = make_user(role="randomization_admin", site=None)
    study.unblinded = make_user(role="unblinded_statistician", site=None)
    study.blinded = make_user(role="statistician", site=None)
    return study


def _enroll(study, n: int, values=STRATUM):
    return [
        study.enrolled(f"SCR-{i:03d}", values={**values, "prior_lines": values["prior_lines"]})
        for i in range(n)
    ]


def test_enrollment_waits_for_the_lists(study):
    with pytest.raises(ProtocolViolation, match="have not been generated"):
        _enroll(study, 1)
    assert not Allocation.objects.exists()


def test_each_enrollment_takes_the_next_slot_and_the_arms_balance(study):
    commitment = randomization_key_create(user=study.admin)
    assert len(commitment) == 64
    participants = _enroll(study, 12)
    allocations = list(Allocation.objects.order_by("position"))
    assert [a.position for a in allocations] == list(range(1, 13))
    assert len({a.kit_code for a in allocations}) == 12
    arms = Counter(allocated_arm(user=study.unblinded, participant=p) for p in participants)
    # blocks of 2 or 4 within one stratum: after 12 the difference is at most 2
    assert set(arms) <= {"IRD", "PRD"} and abs(arms["IRD"] - arms["PRD"]) <= 2
    for blinded in (study.coordinator, study.investigator, study.blinded, study.data_manager):
        assert allocated_arm(user=blinded, participant=participants[0]) is None
    with pytest.raises(ProtocolViolation, match="never made again"):
        randomization_key_create(user=study.admin)


def test_the_audit_trail_never_names_an_arm(study):
    randomization_key_create(user=study.admin)
    _enroll(study, 6)
    for event in AuditEvent.objects.all():
        text = f"{event.changes} {event.reason} {event.context}"
        assert "IRD" not in text and "PRD" not in text and "placebo" not in text.lower()
    created = AuditEvent.objects.filter(model="allocation", action="create")
    assert created.count() == 6
    assert "Number of prior therapies: 1" in created.first().reason  # strata frozen, in words


def test_emergency_unblinding_by_the_participants_investigator_with_a_reason(study):
    randomization_key_create(user=study.admin)
    [participant] = _enroll(study, 1)
    with pytest.raises(PermissionDenied):
        emergency_unblind(user=study.coordinator, participant_id=participant.pk, reason="x")
    with pytest.raises(InputError, match="Say why"):
        emergency_unblind(user=study.investigator, participant_id=participant.pk, reason=" ")
    other_site = Study("R2")
    with pytest.raises(NotFound):
        emergency_unblind(user=other_site.investigator, participant_id=participant.pk, reason="x")
    arm = emergency_unblind(
        user=study.investigator, participant_id=participant.pk, reason="anaphylaxis: treat"
    )
    assert arm == allocated_arm(user=study.unblinded, participant=participant)
    record = Unblinding.objects.get(kind="emergency")
    assert record.notified == ["sponsor"] and record.by == study.investigator.username
    event = AuditEvent.objects.get(action="emergency_unblind")
    assert event.reason == "anaphylaxis: treat" and arm not in str(event.changes)


def test_the_arms_for_analysis_wait_for_the_study_to_be_unblinded(study):
    randomization_key_create(user=study.admin)
    participants = _enroll(study, 4)
    with pytest.raises(PermissionDenied):
        arms_for_analysis(user=study.blinded)
    assert len(arms_for_analysis(user=study.unblinded)) == 4
    with pytest.raises(PermissionDenied):
        study_unblind(user=study.blinded, reason="database locked")
    study_unblind(user=study.admin, reason="database locked 2031-01-10")
    assert AuditEvent.objects.filter(action="study_unblind").count() == 1
    assert allocated_arm(user=study.blinded, participant=participants[0]) in ("IRD", "PRD")


def test_an_emergency_unblinding_is_kept_as_an_important_deviation(study):
    """Issue 16: the unblinding is also a deviation-class record (tmm1.yaml
    deviations.rules.unblinding: category "Unblinding", important), pointing to the act."""
    from mmtrial.edc.models import Deviation

    randomization_key_create(user=study.admin)
    [participant] = _enroll(study, 1)
    emergency_unblind(user=study.investigator, participant_id=participant.pk, reason="anaphylaxis")
    record = Unblinding.objects.get(kind="emergency")
    [deviation] = Deviation.objects.filter(participant=participant)
    assert (deviation.category, deviation.important, deviation.detected_by) == (
        "Unblinding",
        True,
        "system",
    )
    assert (deviation.source_model, deviation.source_pk) == ("unblinding", str(record.pk))
    assert "anaphylaxis" in deviation.description
    assert AuditEvent.objects.filter(model="deviation", action="deviation_detect").count() == 1


@pytest.fixture
def minimising(monkeypatch, tmp_path):
    """tmm1.yaml with Taves' deterministic minimisation (p = 1) instead of permuted blocks."""
    text = (PROTOCOLS_DIR / "tmm1.yaml").read_text(encoding="utf-8")
    text = text.replace("method: stratified_permuted_blocks", "method: minimisation", 1)
    text = text.replace("  block_multiples: [1, 2]\n", "  probability_best: 1\n", 1)
    path = tmp_path / "tmm1-minimisation.yaml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("MMTRIAL_PROTOCOL_FILE", str(path))


def test_minimisation_allocates_in_one_sequence_and_keeps_every_level_balanced(study, minimising):
    """Pocock-Simon minimisation with p = 1 (Taves 1974): each allocation goes to the arm that
    makes the sum over factors of the arms' difference smallest, so within one stratum (all
    three factors the same) the two arms never differ by more than one."""
    randomization_key_create(user=study.admin)
    first = _enroll(study, 5)
    other = {"prior_lines": 2, "pi_exposed": True, "iss_stage": 3}
    second = [study.enrolled(f"SCR-B{i:02d}", values=other) for i in range(4)]
    allocations = list(Allocation.objects.order_by("position"))
    assert [a.position for a in allocations] == list(range(1, 10))  # one study-wide sequence
    arms = [allocated_arm(user=study.unblinded, participant=p) for p in first + second]
    for group in (arms[:5], arms[5:]):
        for n in range(1, len(group) + 1):
            assert abs(group[:n].count("IRD") - group[:n].count("PRD")) <= 1, group
    # the analysis sees the same arms from one replay of the sequence
    by_pk = arms_for_analysis(user=study.unblinded)
    assert [by_pk[p.pk] for p in first + second] == arms
    assert allocated_arm(user=study.blinded, participant=first[0]) is None
    for event in AuditEvent.objects.filter(model="allocation"):
        assert "IRD" not in f"{event.changes} {event.reason}"
