"""Central laboratory import: a CSV file of M-protein, FLC and IFE results, all rows or none,
without blocking the sites that save data meanwhile.

The file format is documented in docs/lab-import.md. The import (ICH E6(R3) 4.2.5; 21 CFR
11.10(e), (h)):
1. takes the import lock (`edc.lab_import_lock`): a second import is refused at once, and
   whatever an interrupted one left is cleaned up first (`edc.lab_import_recovery`);
2. streams the file and checks every row (columns, participant, analyte, value, unit, date,
   duplicates, stored accessions) without writing to the study database; if anything is wrong
   it raises LabImportError listing the problems with their row and column: nothing is written;
3. stages the new results in short transactions of a few hundred rows: each inserts its rows
   invisible (`is_deleted`, under a `LabImport` record in status `staging`) with one audit event
   per result naming the importing user, the file name and its SHA-256. Each holds the write
   lock (SQLite) or the audit chain's head (PostgreSQL) for a fraction of a second, and on
   SQLite the import then pauses so that the sites' saves go first;
4. commits in one short transaction: every staged row becomes visible at once, the corrections
   (a changed value for an accession + analyte already stored: an audited update whose reason
   names the file) are written, the record is marked `committed`, signatures of the changed
   participants are voided. Results identical to stored ones are left alone, so importing the
   same file twice changes nothing;
5. re-derives the IMWG responses of each affected participant, a few participants a
   transaction.
A crash before step 4 leaves nothing visible; the next import removes the staged rows. A crash
after it leaves the file visible and its record `responses_derived=False`; the next import
re-derives every participant whose data it changed (added or corrected results).
"""

from __future__ import annotations

import datetime as dt
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from django.db import connection
from django.db.models import F
from django.utils import timezone

from mmtrial.edc.audit import EventSpec
from mmtrial.edc.lab_import_check import (
    COLUMNS,
    CheckedFile,
    LabImportError,
    RowProblem,
    check_stream,
)
from mmtrial.edc.lab_import_lock import ImportRunningError, import_lock
from mmtrial.edc.lab_import_recovery import abandon, derive_responses, recover_interrupted
from mmtrial.edc.lab_import_scratch import CORRECTION, NEW, Scratch
from mmtrial.edc.models import LabImport, LabImportStatus, LabResult
from mmtrial.edc.models.assessments import LabSource
from mmtrial.edc.permissions import Action, authorize
from mmtrial.edc.services._records import latest_calendar_date, subject_label
from mmtrial.edc.services.participants import acting_as
from mmtrial.edc.unit_of_work import unit_of_work
from mmtrial.errors import InputError

__all__ = [
    "COLUMNS",
    "ImportReport",
    "ImportRunningError",
    "LabImportError",
    "RowProblem",
    "lab_import",
    "lab_import_checked",
    "lab_import_file",
    "lab_import_stream",
]

# Rows per staging transaction at most; fewer when a transaction takes longer than
# TRANSACTION_TARGET_S (a busy machine), so that no save waits long behind one.
BATCH_ROWS = 2000
_MIN_BATCH_ROWS = 100
TRANSACTION_TARGET_S = 0.25
# SQLite has one writer: after each staging transaction the import waits at least this long,
# and at least as long as the transaction took, so that waiting saves take the lock first
# (SQLite's busy handler retries every 100 ms at most; PostgreSQL queues lock waiters in order).
SQLITE_PAUSE_MIN_S = 0.15
# the values of a new result taken from its row (the source is always central)
_ROW_FIELDS = (
    "participant_id",
    "analyte",
    "value",
    "value_text",
    "unit",
    "reported_value",
    "reported_unit",
    "collected_on",
    "accession",
)
INTERRUPTED_BY_ERROR = (
    "central laboratory import of {file} (SHA-256 {sha256}) stopped by an error before its "
    "commit: none of its rows became visible; {rows} staged rows removed"
)


@dataclass
class ImportReport:
    file_name: str
    sha256: str
    rows: int
    created: int = 0
    corrected: int = 0
    unchanged: int = 0
    participants_rederived: int = 0
    participants: list[str] = field(default_factory=list)


def lab_import(*, user, data: bytes, file_name: str, **kwargs: Any) -> ImportReport:
    """Import a central-laboratory CSV given as bytes (see `lab_import_stream`)."""
    return lab_import_stream(user=user, stream=io.BytesIO(data), file_name=file_name, **kwargs)


def lab_import_file(*, user, path: str | Path, **kwargs: Any) -> ImportReport:
    """`lab_import` of a file on disk, read as a stream (named by its base name in the audit
    trail)."""
    path = Path(path)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file", {"field": "file"}) from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file", {"field": "file"}) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})", {"field": "file"}) from None
    with handle:
        return lab_import_stream(user=user, stream=handle, file_name=path.name, **kwargs)


def lab_import_stream(
    *,
    user,
    stream: BinaryIO,
    file_name: str,
    today: dt.date | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ImportReport:
    """Import a central-laboratory CSV read from a binary stream as `user`: all rows or none.

    Raises LabImportError listing the problems (row, column, message) when any row is wrong;
    ImportRunningError when another import is running; PermissionDenied when the user may not
    import laboratory results.
    """
    return lab_import_checked(
        user=user,
        file_name=file_name,
        check=lambda name, day, scratch: check_stream(user, stream, name, day, scratch),
        today=today,
        on_progress=on_progress,
        batch_rows=batch_rows,
    )


def lab_import_checked(
    *,
    user,
    file_name: str,
    check: Callable[[str, dt.date, Scratch], CheckedFile],
    today: dt.date | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ImportReport:
    """The import of every file format: `check(name, today, scratch)` reads and checks the
    file (a CSV stream, a FHIR bundle: `edc.lab_import_fhir`) into the scratch store or raises
    LabImportError; then the one write path above (lock, stage, commit, re-derive)."""
    authorize(user, Action.IMPORT_LABS)
    name = Path(file_name).name
    today = today or latest_calendar_date()
    with acting_as(user), import_lock():
        recover_interrupted(_yield_to_sites)
        with Scratch() as scratch:
            checked = check(name, today, scratch)
            return _write(
                user, checked, scratch, name=name, on_progress=on_progress, batch_rows=batch_rows
            )


def _yield_to_sites(elapsed_s: float) -> None:
    """Between two of the import's transactions: let the sites' saves take the write lock."""
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        time.sleep(max(SQLITE_PAUSE_MIN_S, elapsed_s))


def _write(user, checked: CheckedFile, scratch: Scratch, *, name, on_progress, batch_rows):
    report = ImportReport(
        file_name=name,
        sha256=checked.sha256,
        rows=checked.rows,
        unchanged=checked.unchanged,
    )
    if not checked.new and not checked.corrections:
        if on_progress:
            on_progress(checked.rows, checked.rows)
        return report  # the same file again: nothing to write
    reason = f"central laboratory file {name} (SHA-256 {checked.sha256})"
    record = _begin(user, checked, name=name, reason=reason)
    try:
        report.created = _stage(
            record, checked, scratch, reason=reason, on_progress=on_progress, batch_rows=batch_rows
        )
        report.corrected = _commit(record, checked, scratch, reason=reason)
    except BaseException:
        # Inside a caller's broken transaction nothing more can be written: the staged rows go
        # with its rollback, or the next import cleans them up. An interruption just after the
        # commit finds the import committed: `abandon` leaves it so, and the next import
        # re-derives what this one did not.
        if not (connection.in_atomic_block and connection.needs_rollback):
            abandon(record, INTERRUPTED_BY_ERROR)
        raise
    participants = checked.participants
    report.participants_rederived = derive_responses(record, list(participants), _yield_to_sites)
    report.participants = sorted(subject_label(p) for p in participants.values())
    if on_progress:
        on_progress(checked.rows, checked.rows)
    return report


def _begin(user, checked: CheckedFile, *, name: str, reason: str) -> LabImport:
    with unit_of_work() as uow:
        record = LabImport.objects.create(
            file_name=name,
            sha256=checked.sha256,
            imported_by=user,
            rows=checked.rows,
        )
        uow.audit(
            EventSpec(
                action="lab_import_start",
                model="labimport",
                object_pk=str(record.pk),
                changes={"status": {"old": None, "new": LabImportStatus.STAGING.value}},
                reason=reason,
                context={
                    "file": name,
                    "sha256": checked.sha256,
                    "rows": checked.rows,
                    "new": checked.new,
                    "corrections": checked.corrections,
                },
            )
        )
    return record


def _stage(record, checked, scratch, *, reason, on_progress, batch_rows) -> int:
    """Insert the new results invisible, in short transactions; returns how many."""
    context = {"file": record.file_name, "sha256": record.sha256, "lab_import": record.pk}
    where = {"source": LabSource.CENTRAL.value, "is_deleted": True, "lab_import_id": record.pk}
    participants = checked.participants
    size = max(_MIN_BATCH_ROWS, batch_rows)
    done = 0
    pending: list[tuple] = []
    batches = scratch.rows(NEW, chunk=size)
    while True:
        while len(pending) < size:
            more = next(batches, None)
            if more is None:
                break
            pending.extend(more)
        if not pending:
            break
        batch, pending = pending[:size], pending[size:]
        values = [
            (
                participant_id, analyte, None if value is None else Decimal(value), value_text,
                unit, reported_value, reported_unit, dt.date.fromisoformat(collected_on),
                accession,
            )
            for (
                _n, _kind, participant_id, analyte, value, value_text, unit, reported_value,
                reported_unit, collected_on, accession, _stored,
            ) in batch
        ]  # fmt: skip
        began = time.monotonic()
        with unit_of_work() as uow:
            uow.insert_rows(
                LabResult,
                values,
                fields=_ROW_FIELDS,
                key=("accession", "analyte"),
                where=where,
                participants=participants,
                reason=reason,
                context=context,
                contexts=[{"row": row[0]} for row in batch],
                staged=True,
            )
            LabImport.objects.filter(pk=record.pk).update(staged_rows=F("staged_rows") + len(batch))
        elapsed = time.monotonic() - began
        done += len(batch)
        if on_progress:
            on_progress(done, checked.rows)
        _yield_to_sites(elapsed)
        if elapsed > TRANSACTION_TARGET_S:  # a busy machine: smaller transactions
            size = max(_MIN_BATCH_ROWS, int(size * TRANSACTION_TARGET_S / elapsed))
    return done


def _commit(record, checked, scratch, *, reason) -> int:
    """Make every staged row visible at once and write the corrections; returns how many
    corrections. Short: one UPDATE of the staged rows, the corrections, one audit event."""
    correction = f"correction from {reason}"
    context = {"file": record.file_name, "sha256": record.sha256, "lab_import": record.pk}
    participants = checked.participants
    corrected = 0
    with unit_of_work() as uow:
        for pk in sorted(participants):  # refuses one locked since the check; in id order
            uow.lock(participants[pk])
        visible = uow.publish_staged(LabResult, lab_import=record)
        for batch in scratch.rows(CORRECTION, chunk=BATCH_ROWS):
            stored = LabResult.objects.in_bulk([row[11] for row in batch])
            for row in batch:
                number, _kind, participant_id, _analyte, value, value_text, unit = row[:7]
                lab = stored[row[11]]
                lab.participant = participants[participant_id]
                uow.update(
                    lab,
                    expected_version=lab.version,
                    values={
                        "value": None if value is None else Decimal(value),
                        "value_text": value_text,
                        "unit": unit,
                        "reported_value": row[7],
                        "reported_unit": row[8],
                        "collected_on": dt.date.fromisoformat(row[9]),
                    },
                    reason=correction,
                    context={**context, "row": number},
                )
                corrected += 1
        LabImport.objects.filter(pk=record.pk).update(
            status=LabImportStatus.COMMITTED, finished_at=timezone.now()
        )
        uow.audit(
            EventSpec(
                action="lab_import_commit",
                model="labimport",
                object_pk=str(record.pk),
                changes={
                    "status": {
                        "old": LabImportStatus.STAGING.value,
                        "new": LabImportStatus.COMMITTED.value,
                    }
                },
                reason=reason,
                context={**context, "visible": visible, "corrected": corrected},
            )
        )
        for participant in participants.values():  # signed data changed by this file: KF-5
            uow.touch(
                participant,
                f"central laboratory results imported ({record.file_name})",
                model=LabResult,
            )
    return corrected
