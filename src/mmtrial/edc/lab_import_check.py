"""Reading and checking a central laboratory file: every row, every problem, nothing written.

`check_stream` reads a file as a stream, a chunk of rows at a time (memory does not grow with
the file), keeps the rows to write in a scratch store outside the study database
(`edc.lab_import_scratch`), or raises LabImportError listing every problem with its row and
column. It writes nothing to the study database. The format is in docs/lab-import.md; writing
is `edc.lab_import`.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import BinaryIO

from django.db import connection

from mmtrial.edc.lab_analytes import LabValueError, convert
from mmtrial.edc.lab_import_scratch import CORRECTION, NEW, Scratch
from mmtrial.edc.models import LabResult, Participant
from mmtrial.edc.models.assessments import LabSource
from mmtrial.edc.permissions import Action, scope_to_sites
from mmtrial.errors import InputError
from mmtrial.protocol.loader import load_protocol

__all__ = [
    "COLUMNS",
    "CheckedFile",
    "CheckedRow",
    "LabImportError",
    "RowProblem",
    "check_rows",
    "check_stream",
    "unchanged",
]

COLUMNS = ("subject_id", "accession", "collected_on", "analyte", "value", "unit")
_LOOKUP_CHUNK = 2000
CHUNK_ROWS = 5000  # rows checked together: one participant and one accession lookup each
_READ_BYTES = 1 << 16
# A refused file lists this many problems (and says how many more): one wrong column in a
# file of millions of rows must not build millions of messages.
MAX_LISTED_PROBLEMS = 10_000
_ACCESSION_MAX = LabResult._meta.get_field("accession").max_length
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NAME = re.compile(r"^[a-z0-9_ ]*$")  # a column name; anything else is not this CSV format


@dataclass(frozen=True)
class RowProblem:
    """One problem: the data row (1 = first row after the header; 0 = the file or its header)."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = "file" if self.row == 0 else f"row {self.row}"
        return (
            f"{where}, column {self.column}: {self.message}"
            if self.column
            else (f"{where}: {self.message}")
        )


class LabImportError(InputError):
    """The file was refused; `problems` lists every problem found. Nothing was written."""

    def __init__(
        self, file_name: str, problems: list[RowProblem], *, total: int | None = None
    ) -> None:
        self.problems = problems
        self.total = max(total or 0, len(problems))  # problems found; `problems` lists the first
        first = problems[0]
        more = f" (and {self.total - 1} more)" if self.total > 1 else ""
        super().__init__(
            f"{file_name}: {first}{more}; nothing was imported",
            {"problems": [vars(p) for p in problems], "total": self.total},
        )


@dataclass
class CheckedRow:
    number: int
    participant: Participant
    accession: str
    analyte: str
    collected_on: dt.date
    value: Decimal | None
    value_text: str
    unit: str
    reported_value: str
    reported_unit: str
    stored: LabResult | None = None  # the result already stored for this accession + analyte


def _header(reader, file_name: str) -> dict[str, int]:
    try:
        header = next(reader)
    except csv.Error as exc:
        raise LabImportError(file_name, [RowProblem(0, "", f"not a CSV file ({exc})")]) from None
    names = [h.strip().lower() for h in header]
    if len(names) < 2 or not all(_NAME.match(n) for n in names):
        raise LabImportError(
            file_name,
            [
                RowProblem(
                    0,
                    "",
                    "not a CSV file: the first line must name the columns "
                    f"{', '.join(COLUMNS)}, separated by commas",
                )
            ],
        )
    problems = [
        RowProblem(0, column, "missing column (the header must name it)")
        for column in COLUMNS
        if column not in names
    ]
    problems += [
        RowProblem(0, name or f"#{i + 1}", f"unknown column (expected: {', '.join(COLUMNS)})")
        for i, name in enumerate(names)
        if name not in COLUMNS
    ]
    problems += [
        RowProblem(0, name, "column named twice")
        for i, name in enumerate(names)
        if name in COLUMNS and names.index(name) != i
    ]
    if problems:
        raise LabImportError(file_name, problems)
    return {name: names.index(name) for name in COLUMNS}


def _date(text: str) -> dt.date:
    if not _ISO_DATE.match(text):
        raise ValueError(f"{text!r} is not a date written YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text} is not a valid date") from None


def _participants(user, subject_ids: Iterable[str]) -> dict[str, Participant]:
    found: dict[str, Participant] = {}
    wanted = list(set(subject_ids))
    queryset = scope_to_sites(
        Participant.objects.select_related("site").filter(is_deleted=False),
        user,
        Action.IMPORT_LABS,
    )
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        for p in queryset.filter(subject_id__in=wanted[start : start + _LOOKUP_CHUNK]):
            found[p.subject_id] = p
    return found


def _existing(keys: list[tuple[str, str]]) -> dict[tuple[str, str], LabResult]:
    """The central results already stored under these accessions.

    A file of new results finds none, so the ids are looked for in plain SQL first (the ORM
    would prepare each of the 100,000 values of a large file's `IN` lists) and the results
    themselves loaded only when there are any.
    """
    found: dict[tuple[str, str], LabResult] = {}
    accessions = sorted({accession for accession, _ in keys})
    quote = connection.ops.quote_name
    meta = LabResult._meta
    sql = (
        f"SELECT {quote(meta.pk.column)} FROM {quote(meta.db_table)} "
        f"WHERE {quote(meta.get_field('source').column)} = %s "
        f"AND {quote(meta.get_field('accession').column)} IN ({{}})"
    )
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(accessions), _LOOKUP_CHUNK):
            chunk = accessions[start : start + _LOOKUP_CHUNK]
            cursor.execute(
                sql.format(", ".join(["%s"] * len(chunk))), [LabSource.CENTRAL.value, *chunk]
            )
            ids += [pk for (pk,) in cursor.fetchall()]
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        for lab in LabResult.objects.filter(pk__in=ids[start : start + _LOOKUP_CHUNK]):
            found[(lab.accession, lab.analyte)] = lab
    return found


@dataclass
class CheckedFile:
    """What checking a file found: counts, the participants of the rows to write, the checksum.

    The rows to write (new results and corrections) are in the scratch store, in file order."""

    rows: int
    sha256: str
    new: int = 0
    corrections: int = 0
    unchanged: int = 0
    participants: dict[int, Participant] = field(default_factory=dict)


class _Hashing(io.RawIOBase):
    """Reads through to `raw`, hashing every byte (the file's SHA-256 comes with the check)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer)
        if n:
            self.sha256.update(memoryview(buffer)[:n])
        return n


def _text_of(stream: BinaryIO, file_name: str) -> tuple[io.TextIOWrapper, _Hashing]:
    hashing = _Hashing(stream)
    buffered = io.BufferedReader(hashing, buffer_size=_READ_BYTES)
    head = buffered.peek(_READ_BYTES)
    if not head.strip() and len(head) < _READ_BYTES:
        raise LabImportError(file_name, [RowProblem(0, "", "the file is empty")])
    if b"\x00" in head[:4096]:
        raise LabImportError(
            file_name, [RowProblem(0, "", "not a CSV file (it holds binary data)")]
        )
    return io.TextIOWrapper(buffered, encoding="utf-8-sig", newline=""), hashing


def check_stream(
    user,
    stream: BinaryIO,
    file_name: str,
    today: dt.date,
    scratch: Scratch,
    *,
    chunk_rows: int = CHUNK_ROWS,
) -> CheckedFile:
    """Read and check every row of a file, `chunk_rows` at a time; nothing is written to the
    study database. The rows to write go to `scratch`; raises LabImportError listing the
    problems (the first MAX_LISTED_PROBLEMS, and how many more) when any row is wrong."""
    text, hashing = _text_of(stream, file_name)
    reader = csv.reader(text)
    try:
        index = _header(reader, file_name)
    except UnicodeDecodeError:
        raise LabImportError(file_name, [_NOT_UTF8]) from None
    seen = [0]

    def rows() -> Iterator[tuple[int, list[str]]]:
        for number, fields in enumerate(reader, start=1):
            if not any(f.strip() for f in fields):
                continue  # a blank line is not a row
            seen[0] += 1
            yield number, fields

    try:
        found = check_rows(
            user, rows(), file_name, today, scratch, index=index, chunk_rows=chunk_rows
        )
    except csv.Error as exc:
        raise LabImportError(
            file_name, [RowProblem(seen[0] + 1, "", f"not valid CSV ({exc})")]
        ) from None
    except UnicodeDecodeError:
        raise LabImportError(file_name, [_NOT_UTF8]) from None
    found.sha256 = hashing.sha256.hexdigest()
    return found


def check_rows(
    user,
    rows: Iterable[tuple[int, list[str]]],
    file_name: str,
    today: dt.date,
    scratch: Scratch,
    *,
    index: dict[str, int] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> CheckedFile:
    """Check rows given as `(number, values)`, the values in `index` order (default: COLUMNS),
    `chunk_rows` at a time: the one check of every import format (a CSV file's lines, a FHIR
    bundle's Observations). The rows to write go to `scratch`; raises LabImportError listing
    the problems when any row is wrong. The caller sets the checksum (`sha256`)."""
    index = index or {name: i for i, name in enumerate(COLUMNS)}
    check = _Checker(user, index, today, scratch)
    raw: list[tuple[int, list[str]]] = []
    seen_rows = 0
    for number, fields in rows:
        raw.append((number, fields))
        seen_rows += 1
        if len(raw) >= chunk_rows:
            check.chunk(raw)
            raw = []
    if raw:
        check.chunk(raw)
    if not seen_rows:
        raise LabImportError(file_name, [RowProblem(0, "", "the file has no data rows")])
    if check.problems:
        raise LabImportError(file_name, check.problems, total=check.problem_count)
    found = check.found
    found.rows = seen_rows
    return found


_NOT_UTF8 = RowProblem(0, "", "not a CSV file (the text is not UTF-8)")


class _Checker:
    """The checks of one file, chunk by chunk; remembers only what must span chunks."""

    def __init__(self, user, index: dict[str, int], today: dt.date, scratch: Scratch) -> None:
        self.user = user
        self.index = index
        self.today = today
        self.scratch = scratch
        self.protocol = load_protocol()
        self.central = set(self.protocol.response_assessment.central_lab_analytes)
        self.known: dict[str, Participant | None] = {}  # by subject id: bounded by the study
        self.problems: list[RowProblem] = []
        self.problem_count = 0
        self.found = CheckedFile(rows=0, sha256="")

    def _problem(self, problems: list[RowProblem]) -> None:
        self.problem_count += len(problems)
        room = MAX_LISTED_PROBLEMS - len(self.problems)
        if room > 0:
            self.problems.extend(problems[:room])

    def _participants(self, raw: list[tuple[int, list[str]]]) -> None:
        width = len(self.index)
        column = self.index["subject_id"]
        wanted = {f[column].strip() for _, f in raw if len(f) == width} - self.known.keys()
        if not wanted:
            return
        found = _participants(self.user, wanted)
        for subject_id in wanted:
            self.known[subject_id] = found.get(subject_id)

    def chunk(self, raw: list[tuple[int, list[str]]]) -> None:
        self._participants(raw)
        problems: list[RowProblem] = []
        rows: list[CheckedRow] = []
        for number, fields in raw:
            row = self._row(number, fields, problems)
            if row is not None:
                rows.append(row)
        existing = _existing([(r.accession, r.analyte) for r in rows]) if rows else {}
        keep = []
        for row in rows:
            stored = existing.get((row.accession, row.analyte))
            if stored is not None and stored.participant_id != row.participant.pk:
                problems.append(
                    RowProblem(
                        row.number,
                        "accession",
                        f"accession {row.accession} {row.analyte} is already stored for another "
                        "participant",
                    )
                )
            elif row.participant.locked and (stored is None or not unchanged(row, stored)):
                # a locked participant refuses changes; a row identical to the stored one is fine
                problems.append(
                    RowProblem(
                        row.number,
                        "subject_id",
                        f"participant {row.participant.subject_id} is locked by data management",
                    )
                )
            else:
                row.stored = stored
                keep.append(row)
        if problems:
            problems.sort(key=lambda p: p.row)
            self._problem(problems)
        if self.problem_count:
            return  # the file is refused: nothing more to keep
        found = self.found
        staged = []
        for row in keep:
            stored = row.stored
            if stored is not None and unchanged(row, stored):
                found.unchanged += 1
                continue
            kind = NEW if stored is None else CORRECTION
            if stored is None:
                found.new += 1
            else:
                found.corrections += 1
            found.participants[row.participant.pk] = row.participant
            staged.append(
                (
                    row.number, kind, row.participant.pk, row.analyte,
                    None if row.value is None else str(row.value), row.value_text, row.unit,
                    row.reported_value, row.reported_unit, row.collected_on.isoformat(),
                    row.accession, None if stored is None else stored.pk,
                )
            )  # fmt: skip
        self.scratch.add(staged)

    def _row(self, number: int, fields: list[str], problems: list[RowProblem]):
        index, width = self.index, len(self.index)
        if len(fields) != width:
            problems.append(
                RowProblem(
                    number, "", f"has {len(fields)} values, expected {width} ({', '.join(COLUMNS)})"
                )
            )
            return None
        get = {name: fields[i].strip() for name, i in index.items()}
        row_problems: list[RowProblem] = []
        participant = self.known.get(get["subject_id"])
        if not get["subject_id"]:
            row_problems.append(RowProblem(number, "subject_id", "required"))
        elif participant is None:
            row_problems.append(
                RowProblem(number, "subject_id", f"unknown participant {get['subject_id']!r}")
            )
        if not get["accession"]:
            row_problems.append(RowProblem(number, "accession", "required"))
        elif len(get["accession"]) > _ACCESSION_MAX:
            row_problems.append(
                RowProblem(number, "accession", f"longer than {_ACCESSION_MAX} characters")
            )
        collected_on = None
        try:
            collected_on = _date(get["collected_on"])
        except ValueError as exc:
            row_problems.append(RowProblem(number, "collected_on", str(exc)))
        if collected_on is not None:
            if collected_on > self.today:
                row_problems.append(
                    RowProblem(number, "collected_on", f"{collected_on} is in the future")
                )
            elif participant is not None and collected_on < participant.consent_date:
                row_problems.append(
                    RowProblem(
                        number,
                        "collected_on",
                        f"{collected_on} is before the participant's consent "
                        f"({participant.consent_date})",
                    )
                )
        analyte = get["analyte"].lower()
        central = self.central
        converted = None
        if analyte not in central:
            known = ", ".join(sorted(central))
            row_problems.append(
                RowProblem(
                    number,
                    "analyte",
                    f"unknown analyte {get['analyte']!r} (central laboratory analytes: {known})",
                )
            )
        else:
            try:
                converted = convert(
                    analyte=analyte, value=get["value"], unit=get["unit"], protocol=self.protocol
                )
            except LabValueError as exc:
                row_problems.append(RowProblem(number, exc.column, exc.message))
        if get["accession"] and analyte in central:
            first = self.scratch.first_row(get["accession"], analyte, number)
            if first is not None:
                row_problems.append(
                    RowProblem(
                        number,
                        "accession",
                        f"duplicate: accession {get['accession']} {analyte} is already "
                        f"on row {first}",
                    )
                )
        if row_problems:
            problems.extend(row_problems)
            return None
        value, value_text, unit = converted
        return CheckedRow(
            number=number,
            participant=participant,
            accession=get["accession"],
            analyte=analyte,
            collected_on=collected_on,
            value=value,
            value_text=value_text,
            unit=unit,
            reported_value=get["value"],
            reported_unit=get["unit"],
        )


def unchanged(row: CheckedRow, stored: LabResult) -> bool:
    if row.value is None or stored.value is None:
        same_value = row.value is None and stored.value is None
    else:
        same_value = stored.value.normalize() == row.value.normalize()
    return (
        same_value
        and stored.value_text == row.value_text
        and stored.unit == row.unit
        and stored.collected_on == row.collected_on
    )
