"""SAS transport (XPT) version 5 files written in chunks, with memory bounded by one chunk.

1. `write(rows)` checks and converts one chunk (text ASCII and <= 200 bytes, numbers as float,
   ADaM dates as SAS day numbers) and spools it, as numpy arrays, to a temporary file; the
   longest value of each character variable is remembered.
2. `close()` has pyreadstat (`write_xport(..., file_format_version=5)`) write the file's
   headers, from one "sentinel" record whose character values have the dataset's final
   lengths; each spooled chunk's records are then encoded a column at a time
   (`mmtrial.cdisc.xpt_records`: pyreadstat converts each value in Python, which was most of
   the export's time) and appended, then blanks to the next 80-byte boundary (the V5 padding).

A V5 member header does not carry the number of observations, which is what makes the join
exact; `mmtrial.cdisc.conformance` reads every file back with another implementation (pandas'
XPORT reader), and the tests compare the bytes with pyreadstat's own whole-file write.
"""

from __future__ import annotations

import datetime as dt
import math
import pickle
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mmtrial.cdisc.findings import Findings
from mmtrial.cdisc.spec import DatasetSpec
from mmtrial.cdisc.xpt_records import record_block, text_bytes

__all__ = ["MAX_TEXT_BYTES", "DatasetFacts", "XptDatasetWriter", "sas_days"]

MAX_TEXT_BYTES = 200
RECORD = 80
_OBS_HEADER = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!"
_SAS_EPOCH = dt.date(1960, 1, 1)
_MISSING_TEXT_NOTE = "left empty in the dataset (see MMT-TXT-001)"


def sas_days(value: dt.date | None) -> float | None:
    """A date as a SAS date value: days since 1960-01-01."""
    return None if value is None else float((value - _SAS_EPOCH).days)


@dataclass
class VariableFacts:
    max_bytes: int = 0
    populated: int = 0
    values: set[str] = field(default_factory=set)  # kept for coded variables only
    partial_dates: bool = False


@dataclass
class DatasetFacts:
    """What was written: define.xml and the conformance report are built from these."""

    spec: DatasetSpec
    path: Path | None
    records: int
    variables: dict[str, VariableFacts]
    #: value-level metadata: (values of spec.vlm_by) -> variable -> facts
    vlm: dict[tuple[str, ...], dict[str, VariableFacts]]

    def length(self, name: str) -> int:
        return max(self.variables[name].max_bytes, 1)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _as_text(value: Any) -> str | None:
    """A value that is neither text nor None as text (NaN is missing)."""
    return None if _is_missing(value) else str(value) or None


class XptDatasetWriter:
    """Writes one dataset of a package; see the module docstring for the steps."""

    def __init__(
        self,
        spec: DatasetSpec,
        *,
        directory: Path,
        findings: Findings,
        coded: frozenset[str] = frozenset(),
    ) -> None:
        self.spec = spec
        self.directory = directory
        self.findings = findings
        self.coded = coded | set(spec.vlm_by)
        self._tmp = tempfile.TemporaryDirectory(prefix=f"mmtrial-{spec.name.lower()}-")
        self._chunks: list[tuple[Path, int]] = []
        self._facts = {v.name: VariableFacts() for v in spec.variables}
        self._vlm: dict[tuple[str, ...], dict[str, VariableFacts]] = defaultdict(
            lambda: {v.name: VariableFacts() for v in spec.variables if v.vlm}
        )
        self.records = 0

    # -- one chunk -----------------------------------------------------------------------------

    def _text(self, value: Any, name: str, row: dict[str, Any]) -> str | None:
        if _is_missing(value):
            return None
        text = value if isinstance(value, str) else str(value)
        if not text.isascii():
            self.findings.add(
                "MMT-TXT-001",
                f"non-ASCII text {_MISSING_TEXT_NOTE}",
                dataset=self.spec.name,
                variable=name,
                usubjid=str(row.get("USUBJID") or ""),
                record=_record_id(self.spec, row),
                fix="correct the value in the EDC (enter English text)",
            )
            return None
        encoded = text.encode("ascii")
        if len(encoded) > MAX_TEXT_BYTES:
            self.findings.add(
                "MMT-XPT-004",
                f"value of {len(encoded)} bytes cut to {MAX_TEXT_BYTES}",
                dataset=self.spec.name,
                variable=name,
                usubjid=str(row.get("USUBJID") or ""),
                record=_record_id(self.spec, row),
            )
            text = encoded[:MAX_TEXT_BYTES].decode("ascii")
        return text or None

    def _number(self, value: Any, var) -> float:
        if _is_missing(value):
            return math.nan
        if var.sas_date:
            days = sas_days(value if isinstance(value, dt.date) else dt.date.fromisoformat(value))
            return math.nan if days is None else days
        return float(value)

    def _text_column(self, name: str, values: list[Any], rows: list[dict[str, Any]]) -> list:
        """Text values of one variable: checked column-wise (fast path: all ASCII and short)."""
        out = [
            (v or None) if v.__class__ is str else None if v is None else _as_text(v)
            for v in values
        ]
        present = [v for v in out if v is not None]
        if "".join(present).isascii() and max(map(len, present), default=0) <= MAX_TEXT_BYTES:
            return out
        return [
            None if value is None else self._text(value, name, row)
            for value, row in zip(out, rows, strict=True)
        ]

    def _number_column(self, var, values: list[Any]) -> list[float]:
        if not var.sas_date:
            return [math.nan if v is None else float(v) for v in values]  # float(nan) is nan
        return [self._number(v, var) for v in values]

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Check, convert and spool one chunk (the variables of the spec, in its order)."""
        if not rows:
            return
        columns: dict[str, np.ndarray] = {}
        vlm_by = self.spec.vlm_by
        keys = [tuple(str(row.get(k) or "") for k in vlm_by) for row in rows] if vlm_by else None
        for var in self.spec.variables:
            name = var.name
            raw = [row.get(name) for row in rows]
            facts = self._facts[name]
            if var.numeric:
                numbers = np.array(self._number_column(var, raw), dtype=np.float64)
                present = ~np.isnan(numbers)
                facts.populated += int(np.count_nonzero(present))
                columns[name] = numbers
                column: list[Any] = numbers.tolist() if keys is not None and var.vlm else []
            else:
                column = self._text_column(name, raw, rows)
                texts = [v for v in column if v is not None]
                present = [v is not None for v in column] if keys is not None and var.vlm else []
                facts.populated += len(texts)
                if texts:
                    facts.max_bytes = max(facts.max_bytes, max(map(len, texts)))
                    if name in self.coded:
                        facts.values.update(texts)
                    if var.type in ("date", "partialDate") and min(map(len, texts)) < len(
                        "YYYY-MM-DD"
                    ):
                        facts.partial_dates = True
                columns[name] = text_bytes(column)
            if keys is not None and var.vlm:
                for key, value, here in zip(keys, column, present, strict=True):
                    if not here:
                        continue
                    sub = self._vlm[key][name]
                    sub.populated += 1
                    if not var.numeric:
                        sub.max_bytes = max(sub.max_bytes, len(value))
                        if var.codelist:
                            sub.values.add(value)
        path = Path(self._tmp.name) / f"chunk{len(self._chunks):05d}.pkl"
        with path.open("wb") as handle:
            pickle.dump(columns, handle, protocol=pickle.HIGHEST_PROTOCOL)
        self._chunks.append((path, len(rows)))
        self.records += len(rows)

    # -- the file ------------------------------------------------------------------------------

    def close(self) -> DatasetFacts:
        """Write the XPT file (nothing for a dataset without records) and return its facts."""
        path = None
        try:
            if self.records:
                path = self.directory / self.spec.file_name
                self._join(path)
        finally:
            self._tmp.cleanup()
        return DatasetFacts(
            spec=self.spec,
            path=path,
            records=self.records,
            variables=self._facts,
            vlm=dict(self._vlm),
        )

    def discard(self) -> None:
        """Drop the spooled chunks without writing the file (a failed export)."""
        self._tmp.cleanup()

    def _sentinel(self) -> dict[str, Any]:
        return {
            v.name: 0.0 if v.numeric else "X" * max(self._facts[v.name].max_bytes, 1)
            for v in self.spec.variables
        }

    def _join(self, target: Path) -> None:
        import pandas as pd
        import pyreadstat

        variables = self.spec.variables
        sentinel = self._sentinel()
        widths = [8 if v.numeric else len(sentinel[v.name]) for v in variables]
        record_length = sum(widths)
        header = Path(self._tmp.name) / "header.xpt"
        frame = pd.DataFrame({v.name: [sentinel[v.name]] for v in variables})
        for var in variables:
            frame[var.name] = frame[var.name].astype("float64" if var.numeric else object)
        formats = {v.name: v.display_format for v in variables if v.display_format}
        pyreadstat.write_xport(
            frame,
            str(header),
            file_label=self.spec.label,
            column_labels={v.name: v.label for v in variables},
            table_name=self.spec.name,
            file_format_version=5,
            variable_format=formats or None,
        )
        data = header.read_bytes()
        start = data.index(_OBS_HEADER) + RECORD
        if len(data) != start + record_length + (-record_length) % RECORD:
            raise RuntimeError(f"{self.spec.name}: unexpected XPT record layout")
        written = 0
        with target.open("wb") as out:
            out.write(data[:start])
            for chunk_path, count in self._chunks:
                with chunk_path.open("rb") as handle:
                    columns = pickle.load(handle)
                layout = [
                    (columns[v.name], width, v.numeric)
                    for v, width in zip(variables, widths, strict=True)
                ]
                body = record_block(layout, count)
                out.write(body)
                written += len(body)
                chunk_path.unlink()
            padding = (-written) % RECORD
            out.write(b" " * padding)
        header.unlink()


def _record_id(spec: DatasetSpec, row: dict[str, Any]) -> str:
    for key in (f"{spec.name[:2]}SEQ", "IDVARVAL", "PARAMCD", "TSSEQ", "VISITNUM"):
        if row.get(key) not in (None, ""):
            return f"{key}={row[key]}"
    return ""
