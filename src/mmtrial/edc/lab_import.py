"""Central laboratory import: a CSV file of M-protein, FLC and IFE results, all rows or none.

The file format is documented in docs/lab-import.md. The import (ICH E6(R3) 4.2.5; 21 CFR
11.10(e), (h)):
1. reads and checks every row first (columns, participant, analyte, value, unit, date,
   duplicates) and, if anything is wrong, raises LabImportError listing every problem with its
   row and column: nothing is written;
2. otherwise writes, in one transaction, the new results (bulk inserts, one audit event per
   result naming the importing user, the file name and its SHA-256) and the corrections (a
   changed value for an accession + analyte already stored: an audited update whose reason
   names the file); results identical to stored ones are left alone, so importing the same
   file twice changes nothing;
3. re-derives the IMWG responses of each affected participant once.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.db import transaction

from mmtrial.edc.lab_import_check import (
    COLUMNS,
    CheckedRow,
    LabImportError,
    RowProblem,
    check_file,
    decode,
    unchanged,
)
from mmtrial.edc.models import LabResult, Participant
from mmtrial.edc.models.assessments import LabSource
from mmtrial.edc.permissions import Action, authorize
from mmtrial.edc.services._records import latest_calendar_date, subject_label
from mmtrial.edc.services.participants import acting_as
from mmtrial.edc.services.responses import response_derive_many
from mmtrial.edc.unit_of_work import unit_of_work
from mmtrial.errors import InputError

__all__ = [
    "COLUMNS",
    "ImportReport",
    "LabImportError",
    "RowProblem",
    "lab_import",
    "lab_import_file",
]

BATCH_ROWS = 5000
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


def lab_import(
    *,
    user,
    data: bytes,
    file_name: str,
    today: dt.date | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ImportReport:
    """Import a central-laboratory CSV (bytes) as `user`: all rows or none.

    Raises LabImportError listing every problem (row, column, message) when any row is wrong;
    PermissionDenied when the user may not import laboratory results.
    """
    authorize(user, Action.IMPORT_LABS)
    sha256 = hashlib.sha256(data).hexdigest()
    name = Path(file_name).name
    text = decode(data, name)
    today = today or latest_calendar_date()
    # Hundreds of thousands of small objects are built and kept until the end of the
    # transaction; the cyclic garbage collector would walk them again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        with acting_as(user), transaction.atomic():
            rows = check_file(user, text, name, today)
            return _write(
                rows, name=name, sha256=sha256, on_progress=on_progress, batch_rows=batch_rows
            )
    finally:
        if collecting:
            gc.enable()


def _write(rows: list[CheckedRow], *, name, sha256, on_progress, batch_rows) -> ImportReport:
    report = ImportReport(file_name=name, sha256=sha256, rows=len(rows))
    reason = f"central laboratory file {name} (SHA-256 {sha256})"
    context = {"file": name, "sha256": sha256}
    correction = f"correction from {reason}"
    new_rows = [r for r in rows if r.stored is None]
    touched: dict[int, Participant] = {}
    done = 0
    with unit_of_work() as uow:
        for start in range(0, len(new_rows), batch_rows):
            batch = new_rows[start : start + batch_rows]
            values = [
                (
                    r.participant.pk, r.analyte, r.value, r.value_text, r.unit, r.reported_value,
                    r.reported_unit, r.collected_on, r.accession,
                )
                for r in batch
            ]  # fmt: skip
            participants = {r.participant.pk: r.participant for r in batch}
            touched.update(participants)
            uow.insert_rows(
                LabResult,
                values,
                fields=_ROW_FIELDS,
                key=("accession", "analyte"),
                where={"source": LabSource.CENTRAL.value},
                participants=participants,
                reason=reason,
                context=context,
                contexts=[{"row": r.number} for r in batch],
            )
            done += len(batch)
            report.created += len(batch)
            if on_progress:
                on_progress(done, len(rows))
        for row in rows:
            stored = row.stored
            if stored is None:
                continue
            if unchanged(row, stored):
                report.unchanged += 1
            else:
                stored.participant = row.participant
                uow.update(
                    stored,
                    expected_version=stored.version,
                    values={
                        "value": row.value,
                        "value_text": row.value_text,
                        "unit": row.unit,
                        "reported_value": row.reported_value,
                        "reported_unit": row.reported_unit,
                        "collected_on": row.collected_on,
                    },
                    reason=correction,
                    context={**context, "row": row.number},
                )
                touched[row.participant.pk] = row.participant
                report.corrected += 1
            done += 1
        for participant in touched.values():  # signed data changed by this file: KF-5
            uow.touch(participant, f"central laboratory results imported ({name})")
        report.participants_rederived = response_derive_many(participant_ids=list(touched))
    report.participants = sorted(subject_label(p) for p in touched.values())
    if on_progress:
        on_progress(len(rows), len(rows))
    return report


def lab_import_file(*, user, path: str | Path, **kwargs: Any) -> ImportReport:
    """`lab_import` of a file on disk (named by its base name in the audit trail)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file", {"field": "file"}) from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file", {"field": "file"}) from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})", {"field": "file"}) from None
    return lab_import(user=user, data=data, file_name=path.name, **kwargs)
