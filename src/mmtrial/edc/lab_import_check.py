"""Reading and checking a central laboratory file: every row, every problem, nothing written.

`check_file` returns the rows to import (each with the result already stored for its accession +
analyte, if any) or raises LabImportError listing every problem with its row and column. The
format is in docs/lab-import.md; writing is `edc.lab_import`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from mmtrial.edc.lab_analytes import LabValueError, convert
from mmtrial.edc.models import LabResult, Participant
from mmtrial.edc.models.assessments import LabSource
from mmtrial.edc.permissions import Action, scope_to_sites
from mmtrial.errors import InputError
from mmtrial.protocol.loader import load_protocol

__all__ = [
    "COLUMNS",
    "CheckedRow",
    "LabImportError",
    "RowProblem",
    "check_file",
    "decode",
    "unchanged",
]

COLUMNS = ("subject_id", "accession", "collected_on", "analyte", "value", "unit")
_LOOKUP_CHUNK = 2000
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

    def __init__(self, file_name: str, problems: list[RowProblem]) -> None:
        self.problems = problems
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(
            f"{file_name}: {first}{more}; nothing was imported",
            {"problems": [vars(p) for p in problems]},
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


def decode(data: bytes, file_name: str) -> str:
    if not data.strip():
        raise LabImportError(file_name, [RowProblem(0, "", "the file is empty")])
    if b"\x00" in data[:4096]:
        raise LabImportError(
            file_name, [RowProblem(0, "", "not a CSV file (it holds binary data)")]
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LabImportError(
            file_name, [RowProblem(0, "", "not a CSV file (the text is not UTF-8)")]
        ) from None


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


def check_file(user, text: str, file_name: str, today: dt.date) -> list[CheckedRow]:
    reader = csv.reader(io.StringIO(text, newline=""))
    index = _header(reader, file_name)
    protocol = load_protocol()
    central = set(protocol.response_assessment.central_lab_analytes)
    raw: list[tuple[int, list[str]]] = []
    problems: list[RowProblem] = []
    try:
        for number, fields in enumerate(reader, start=1):
            if not any(f.strip() for f in fields):
                continue  # a blank line is not a row
            raw.append((number, fields))
    except csv.Error as exc:
        raise LabImportError(
            file_name, [RowProblem(len(raw) + 1, "", f"not valid CSV ({exc})")]
        ) from None
    if not raw:
        raise LabImportError(file_name, [RowProblem(0, "", "the file has no data rows")])

    participants = _participants(
        user, (f[index["subject_id"]].strip() for _, f in raw if len(f) == len(index))
    )
    seen: dict[tuple[str, str], int] = {}
    rows: list[CheckedRow] = []
    width = len(index)
    for number, fields in raw:
        if len(fields) != width:
            problems.append(
                RowProblem(
                    number, "", f"has {len(fields)} values, expected {width} ({', '.join(COLUMNS)})"
                )
            )
            continue
        get = {name: fields[i].strip() for name, i in index.items()}
        row_problems: list[RowProblem] = []
        participant = participants.get(get["subject_id"])
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
            if collected_on > today:
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
                    analyte=analyte, value=get["value"], unit=get["unit"], protocol=protocol
                )
            except LabValueError as exc:
                row_problems.append(RowProblem(number, exc.column, exc.message))
        key = (get["accession"], analyte)
        if get["accession"] and analyte in central:
            if key in seen:
                row_problems.append(
                    RowProblem(
                        number,
                        "accession",
                        f"duplicate: accession {get['accession']} {analyte} is already "
                        f"on row {seen[key]}",
                    )
                )
            else:
                seen[key] = number
        if row_problems:
            problems.extend(row_problems)
            continue
        value, value_text, unit = converted
        rows.append(
            CheckedRow(
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
        )
    existing = _existing([(r.accession, r.analyte) for r in rows]) if rows else {}
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
    if problems:
        problems.sort(key=lambda p: p.row)
        raise LabImportError(file_name, problems)
    for row in rows:
        row.stored = existing.get((row.accession, row.analyte))
    return rows


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
