"""A lab import interrupted after its commit but before its re-derivation finished (issue 11):
the next import re-derives every participant whose stored data the committed file changed,
those with new results and those whose stored results it only corrected, and the derived
responses end as a clean run leaves them.

The interruption is raised in-process (KeyboardInterrupt: nothing after it runs, and the import's
`except Exception` handlers do not see it) at three points: just after the commit transaction,
at the first re-derivation chunk, and at the second chunk (one participant already re-derived).
The expected state is that of a clean run of the same two files, taken in a savepoint rolled
back before the interrupted run, and checked against the IMWG rule by hand: serum M-protein
baseline 2.4 g/dL (screening); 1.1 g/dL is a 54% fall (PR, >= 50%), 1.0 g/dL confirms it (the
last PR, with nothing after it, is unconfirmed); corrected to 2.0 g/dL the second value is 82%
and 0.9 g/dL above the nadir of 1.1 (PD: >= 25% and >= 0.5 g/dL), so the first PR is no longer
confirmed.
"""

import pytest
from django.db import transaction

from mmtrial.edc import lab_import as lab_import_module
from mmtrial.edc import lab_import_recovery
from mmtrial.edc.audit import audit_verify
from mmtrial.edc.lab_import import lab_import
from mmtrial.edc.lab_import_recovery import changed_participants
from mmtrial.edc.models import AuditEvent, LabImport, ResponseAssessment, ResponseSummary
from mmtrial.edc.services import responses as responses_module
from tests.edc.builders import Study, started
from tests.edc.test_lab_import import TODAY, _csv

pytestmark = pytest.mark.django_db


class _RolledBack(Exception):
    """Ends the clean run's savepoint."""


@pytest.fixture
def study():
    """Three treated participants, and a first file imported cleanly: a confirmed PR for the
    one whose result the second file corrects, one result for the one it repeats unchanged."""
    study = Study("RC")
    corrected, _ = started(study, "SCR-001")
    repeated, _ = started(study, "SCR-002")
    added, _ = started(study, "SCR-003")
    study.corrected, study.repeated, study.added = corrected, repeated, added
    first = _csv(
        [
            f"{corrected.subject_id},A1,2027-02-08,serum_m_protein,1.1,g/dL\n",
            f"{corrected.subject_id},A2,2027-03-08,serum_m_protein,1.0,g/dL\n",
            f"{repeated.subject_id},D1,2027-02-08,serum_m_protein,1.1,g/dL\n",
        ]
    )
    _import(study, first, "first.csv")
    assert _state(study)["SCR-001"][0] == [
        ("2027-02-08", "PR", True),
        ("2027-03-08", "PR", False),
    ]
    # The second file: a correction only (A2), a repeat only (D1), two new results (B1, B2).
    study.second = _csv(
        [
            f"{corrected.subject_id},A1,2027-02-08,serum_m_protein,1.1,g/dL\n",
            f"{corrected.subject_id},A2,2027-03-08,serum_m_protein,2.0,g/dL\n",
            f"{repeated.subject_id},D1,2027-02-08,serum_m_protein,1.1,g/dL\n",
            f"{added.subject_id},B1,2027-02-08,serum_m_protein,1.1,g/dL\n",
            f"{added.subject_id},B2,2027-03-08,serum_m_protein,1.0,g/dL\n",
        ]
    )
    return study


def _import(study, data: bytes, name: str):
    return lab_import(user=study.data_manager, data=data, file_name=name, today=TODAY)


def _state(study) -> dict[str, tuple[list[tuple], tuple | None]]:
    """Each participant's derived responses (date, response, confirmed; deleted rows left out)
    and summary (best response, its date)."""
    state = {}
    for participant in (study.corrected, study.repeated, study.added):
        rows = [
            (r.assessment_date.isoformat(), r.derived_response, r.derived_confirmed)
            for r in ResponseAssessment.objects.filter(
                participant=participant, is_deleted=False
            ).order_by("assessment_date")
        ]
        summary = (
            ResponseSummary.objects.filter(participant=participant)
            .values_list("best_overall_response", "response_date")
            .first()
        )
        state[participant.screening_number] = (rows, summary)
    return state


def _clean_run(study) -> dict:
    with pytest.raises(_RolledBack), transaction.atomic():
        report = _import(study, study.second, "second.csv")
        assert (report.created, report.corrected, report.unchanged) == (2, 1, 2)
        state = _state(study)
        raise _RolledBack
    return state


def _interrupt_after_commit(monkeypatch):
    real = lab_import_module._commit

    def commit_then_die(*args, **kwargs):
        real(*args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(lab_import_module, "_commit", commit_then_die)


def _interrupt_at_chunk(number: int):
    def patch(monkeypatch):
        real = responses_module.response_derive_many
        calls = []

        def derive_or_die(*, participant_ids):
            calls.append(participant_ids)
            if len(calls) == number:
                raise KeyboardInterrupt
            return real(participant_ids=participant_ids)

        monkeypatch.setattr(lab_import_recovery, "_DERIVE_CHUNK", 1)  # one participant a chunk
        monkeypatch.setattr(responses_module, "response_derive_many", derive_or_die)

    return patch


@pytest.mark.parametrize(
    "interrupt",
    [_interrupt_after_commit, _interrupt_at_chunk(1), _interrupt_at_chunk(2)],
    ids=["just-after-the-commit", "at-the-first-chunk", "at-the-second-chunk"],
)
def test_the_next_import_re_derives_every_participant_the_committed_file_changed(
    study, monkeypatch, interrupt
):
    clean = _clean_run(study)
    # by hand (module docstring): the correction turns the confirmed PR into an unconfirmed one
    # followed by PD; the new results make a confirmed PR
    assert clean["SCR-001"][0] == [("2027-02-08", "PR", False), ("2027-03-08", "PD", False)]
    assert clean["SCR-003"][0] == [("2027-02-08", "PR", True), ("2027-03-08", "PR", False)]

    with monkeypatch.context() as patch:
        interrupt(patch)
        with pytest.raises(KeyboardInterrupt):
            _import(study, study.second, "second.csv")
    record = LabImport.objects.order_by("pk").last()
    assert (record.status, record.responses_derived) == ("committed", False)
    assert not AuditEvent.objects.filter(action="lab_import_abandon").exists()
    interrupted = _state(study)
    assert interrupted != clean
    # the participants whose data changed: the corrected one and the added one, not the one
    # whose row was identical
    assert changed_participants(record) == sorted([study.corrected.pk, study.added.pk])

    report = _import(study, study.second, "second.csv")  # the next run: nothing new in it
    assert (report.created, report.corrected, report.unchanged) == (0, 0, 5)
    record.refresh_from_db()
    assert record.responses_derived is True
    assert _state(study) == clean
    assert audit_verify().ok


def test_recovering_twice_writes_nothing_more(study, monkeypatch):
    with monkeypatch.context() as patch:
        _interrupt_after_commit(patch)
        with pytest.raises(KeyboardInterrupt):
            _import(study, study.second, "second.csv")
    assert lab_import_recovery.recover_interrupted() == 1
    recovered = _state(study)
    derived = AuditEvent.objects.filter(model__in=["responseassessment", "responsesummary"])
    events = derived.count()
    # as if a second process had recovered too, before the first one marked the import done
    LabImport.objects.filter(status="committed").update(responses_derived=False)
    assert lab_import_recovery.recover_interrupted() == 2
    assert _state(study) == recovered
    assert derived.count() == events  # re-deriving unchanged data writes no response event
    assert lab_import_recovery.recover_interrupted() == 0
