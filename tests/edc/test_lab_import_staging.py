"""The lab import under use (issue 11 item 3): rows staged invisible in short transactions, one
commit makes the whole file visible; an import that fails before it leaves nothing visible and
is cleaned up; checking a file streams it, so memory does not grow with the file."""

import datetime as dt
import io
import tracemalloc

import pytest

from mmtrial.edc.audit import audit_verify
from mmtrial.edc.lab_import import lab_import
from mmtrial.edc.lab_import_check import check_stream
from mmtrial.edc.lab_import_scratch import Scratch
from mmtrial.edc.models import AuditEvent, LabImport, LabResult, Participant
from mmtrial.edc.selectors.records_export import participant_records_iter
from mmtrial.edc.selectors.timeline import participant_timeline
from mmtrial.edc.services.locking import participant_lock
from mmtrial.edc.services.signatures import participant_content_sha256
from mmtrial.errors import LockedRecordError
from tests.edc.builders import Study, started
from tests.edc.test_lab_import import TODAY, _csv, _rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    study = Study("C1")
    participant, _ = started(study)
    return study, participant


def _visible():
    return LabResult.objects.filter(source="central", is_deleted=False).count()


def test_no_row_is_visible_until_the_commit_then_every_row_is(setup):
    study, participant = setup
    seen = []
    signed = participant_content_sha256(participant)

    def on_progress(done, total):
        # between two of the import's transactions: what a site's reader sees
        if done < total:
            timeline = participant_timeline(user=study.data_manager, participant_id=participant.pk)
            shown = len([lab for lab in timeline.labs if lab.accession])
            exported = next(participant_records_iter(Participant.objects.filter(pk=participant.pk)))
            shown += len([r for r in exported.records.get("labresult", []) if r["accession"]])
            assert participant_content_sha256(participant) == signed  # the signed content
            seen.append((done, _visible(), shown))

    report = lab_import(
        user=study.data_manager,
        data=_csv(_rows(participant.subject_id, 450)),
        file_name="staged.csv",
        today=TODAY,
        on_progress=on_progress,
        batch_rows=100,
    )
    assert [s[0] for s in seen] == [100, 200, 300, 400]  # five staging transactions
    assert all(visible == 0 and shown == 0 for _done, visible, shown in seen)
    assert report.created == 450 and _visible() == 450
    record = LabImport.objects.get()
    assert (record.status, record.staged_rows, record.responses_derived) == (
        "committed",
        450,
        True,
    )
    assert AuditEvent.objects.filter(action="lab_import_commit", object_pk=str(record.pk)).exists()
    assert audit_verify().ok


@pytest.mark.parametrize(
    "locked_after", [100, 300], ids=["refused-while-staging", "refused-at-the-commit"]
)
def test_a_participant_locked_during_the_import_refuses_the_whole_file(setup, locked_after):
    study, participant = setup

    def on_progress(done, total):
        if done == locked_after:
            participant_lock(user=study.data_manager, participant=participant, reason="DB lock")

    with pytest.raises(LockedRecordError, match="locked"):
        lab_import(
            user=study.data_manager,
            data=_csv(_rows(participant.subject_id, 300)),
            file_name="late.csv",
            today=TODAY,
            on_progress=on_progress,
            batch_rows=100,
        )
    # nothing visible, the staged rows removed, the abandonment audited, the chain intact
    assert LabResult.objects.filter(source="central").count() == 0
    record = LabImport.objects.get()
    assert (record.status, record.staged_rows) == ("abandoned", 0)
    event = AuditEvent.objects.get(action="lab_import_abandon")
    assert event.context["removed"] == locked_after  # what was staged before the refusal
    assert audit_verify().ok


def test_an_interrupted_import_is_cleaned_up_by_the_next_one(setup, monkeypatch):
    from mmtrial.edc import lab_import as module

    study, participant = setup

    class Killed(BaseException):
        """Stands for the process dying half-way: nothing after it runs."""

    def on_progress(done, total):
        if done == 200:
            raise Killed

    data = _csv(_rows(participant.subject_id, 300))
    with monkeypatch.context() as patch:
        patch.setattr(module, "abandon", lambda record, reason: None)  # a dead process
        with pytest.raises(Killed):
            lab_import(
                user=study.data_manager,
                data=data,
                file_name="first.csv",
                today=TODAY,
                on_progress=on_progress,
                batch_rows=100,
            )
    assert _visible() == 0
    assert LabResult.objects.filter(source="central", is_deleted=True).count() == 200
    assert LabImport.objects.get().status == "staging"
    report = lab_import(user=study.data_manager, data=data, file_name="first.csv", today=TODAY)
    assert report.created == 300 and _visible() == 300
    assert LabResult.objects.filter(source="central").count() == 300
    assert list(LabImport.objects.order_by("pk").values_list("status", flat=True)) == [
        "abandoned",
        "committed",
    ]
    event = AuditEvent.objects.get(action="lab_import_abandon")
    assert event.context["removed"] == 200 and "interrupted" in event.reason
    assert audit_verify().ok


def _file(subject: str, n: int) -> bytes:
    lines = ["subject_id,accession,collected_on,analyte,value,unit"]
    lines += [f"{subject},M{i:08d},2027-02-08,serum_m_protein,1.2,g/dL" for i in range(n)]
    return ("\n".join(lines) + "\n").encode()


def _check_peak_bytes(study, participant, n: int) -> int:
    data = _file(participant.subject_id, n)
    stream = io.BytesIO(data)
    with Scratch() as scratch:
        tracemalloc.start()
        try:
            found = check_stream(
                study.data_manager, stream, "m.csv", TODAY, scratch, chunk_rows=1000
            )
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert found.new == n
    return peak


def test_checking_a_file_streams_it_memory_does_not_grow_with_the_file(setup):
    study, participant = setup
    small = _check_peak_bytes(study, participant, 4000)
    large = _check_peak_bytes(study, participant, 16000)
    # Four times the rows, four times the bytes (the file itself is held by BytesIO outside the
    # traced peak's growth): the check's own peak stays within a quarter more, not four times.
    assert large < small * 1.25, (small, large)
    print(f"check peak: {small} bytes for 4,000 rows, {large} bytes for 16,000 rows")


def test_a_file_with_every_row_wrong_lists_a_bounded_number_of_problems(setup, monkeypatch):
    from mmtrial.edc import lab_import_check
    from mmtrial.edc.lab_import import LabImportError

    study, participant = setup
    monkeypatch.setattr(lab_import_check, "MAX_LISTED_PROBLEMS", 50)
    lines = ["subject_id,accession,collected_on,analyte,value,unit"]
    lines += [
        f"{participant.subject_id},B{i},2027-02-08,serum_m_protein,x,g/dL" for i in range(120)
    ]
    with pytest.raises(LabImportError) as caught:
        lab_import(
            user=study.data_manager,
            data=("\n".join(lines) + "\n").encode(),
            file_name="bad.csv",
            today=dt.date(2027, 6, 1),
        )
    assert len(caught.value.problems) == 50 and caught.value.total == 120
    assert "(and 119 more)" in caught.value.message
    assert [p.row for p in caught.value.problems] == list(range(1, 51))
