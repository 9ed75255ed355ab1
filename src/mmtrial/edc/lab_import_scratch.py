"""The checked rows of one central laboratory file, kept on disk outside the study database.

Checking a file streams it (docs/lab-import.md): what has to be remembered across rows (the
accession + analyte keys already seen, for duplicates; the rows to write) goes to a private
SQLite file in a temporary directory, not into memory, so checking a 200 MB file needs no more
memory than checking a small one. Writing it takes no lock of the study database.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

# SQLite's page cache for the scratch file (KiB): bounds what it keeps in memory.
_CACHE_KIB = 16_000

# kind, participant_id, analyte, value (text), value_text, unit, reported_value, reported_unit,
# collected_on (ISO), accession, stored_id, stored_version
ROW_COLUMNS = (
    "number", "kind", "participant_id", "analyte", "value", "value_text", "unit",
    "reported_value", "reported_unit", "collected_on", "accession", "stored_id",
)  # fmt: skip
NEW = "new"
CORRECTION = "correction"


class Scratch:
    """A temporary SQLite file: the keys seen and the rows to write. Use as a context manager."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="mmtrial-lab-import-")
        self._db = sqlite3.connect(Path(self._dir.name) / "rows.sqlite3", isolation_level=None)
        self._db.executescript(
            f"""
            PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
            PRAGMA cache_size = -{_CACHE_KIB}; PRAGMA temp_store = FILE;
            CREATE TABLE seen (accession TEXT, analyte TEXT, number INTEGER,
                               PRIMARY KEY (accession, analyte)) WITHOUT ROWID;
            CREATE TABLE rows (number INTEGER PRIMARY KEY, {", ".join(ROW_COLUMNS[1:])});
            BEGIN;
            """
        )

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()

    def first_row(self, accession: str, analyte: str, number: int) -> int | None:
        """Remember the key on row `number`; the row that had it first, if any."""
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO seen VALUES (?, ?, ?)", (accession, analyte, number)
        )
        if cursor.rowcount == 1:
            return None
        (first,) = self._db.execute(
            "SELECT number FROM seen WHERE accession = ? AND analyte = ?", (accession, analyte)
        ).fetchone()
        return first

    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        marks = ", ".join("?" * len(ROW_COLUMNS))
        self._db.executemany(f"INSERT INTO rows VALUES ({marks})", rows)

    def count(self, kind: str) -> int:
        return self._db.execute("SELECT count(*) FROM rows WHERE kind = ?", (kind,)).fetchone()[0]

    def rows(self, kind: str, *, chunk: int) -> Iterator[list[tuple]]:
        """The rows of one kind in file order, `chunk` at a time."""
        cursor = self._db.execute(
            f"SELECT {', '.join(ROW_COLUMNS)} FROM rows WHERE kind = ? ORDER BY number", (kind,)
        )
        while batch := cursor.fetchmany(chunk):
            yield batch
