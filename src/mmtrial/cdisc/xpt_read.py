"""Reading an XPT v5 file back for the conformance check, with pandas' XPORT reader.

The files are written by pyreadstat (headers) and `mmtrial.cdisc.xpt_records` (records); the
check reads them with an implementation of its own (pandas.io.sas.sas_xport, after Jack
Cushman's `xport`), so a fault of the writer is not hidden by the same library reading its
output back. Text is decoded as ISO-8859-1, which never fails, so non-ASCII bytes reach the
check (MMT-TXT-001) instead of stopping the read.

A V5 file does not store its number of observations: a reader derives it from the file size.
With records of more than 80 bytes that is exact (the padding is shorter than one record);
with records of 80 bytes or fewer blank padding and blank records cannot be told apart, so the
count is taken as written when the file size agrees with it (`expected`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = ["XptError", "XptMetadata", "read_xpt"]

RECORD = 80
_LATIN_1 = "ISO-8859-1"


class XptError(ValueError):
    """The file is not the XPT v5 file it should be (size, record count)."""


@dataclass(frozen=True)
class XptMetadata:
    table_name: str
    file_label: str
    column_names: list[str]
    column_labels: list[str]
    #: "double" or "string", as readstat names them
    variable_types: dict[str, str]
    variable_storage_width: dict[str, int]
    records: int


def _text(value: bytes | str) -> str:
    return value.decode(_LATIN_1) if isinstance(value, bytes) else value


def read_xpt(
    path: Path, *, chunksize: int, expected: int
) -> tuple[XptMetadata, Iterator[pd.DataFrame]]:
    """The file's metadata and its records in frames of `chunksize` (text as str)."""
    reader = pd.read_sas(
        str(path), format="xport", iterator=True, chunksize=chunksize, encoding=_LATIN_1
    )
    try:
        fields = reader.fields
        names = [_text(f["name"]) for f in fields]
        size = path.stat().st_size
        if size % RECORD:
            raise XptError(f"file size {size} is not a multiple of {RECORD} bytes")
        if reader.record_length <= RECORD:
            body = size - reader.record_start
            padded = -(-expected * reader.record_length // RECORD) * RECORD
            if body != padded:
                raise XptError(f"{body} bytes of records do not hold {expected} records")
            reader.nobs = expected
        meta = XptMetadata(
            table_name=_text(reader.member_info["set_name"]),
            file_label=_text(reader.member_info["label"]),
            column_names=names,
            column_labels=[_text(f["label"]) for f in fields],
            variable_types={
                n: "double" if f["ntype"] == "numeric" else "string"
                for n, f in zip(names, fields, strict=True)
            },
            variable_storage_width={
                n: int(f["field_length"]) for n, f in zip(names, fields, strict=True)
            },
            records=reader.nobs,
        )
    except BaseException:
        reader.close()
        raise
    return meta, _frames(reader)


def _frames(reader) -> Iterator[pd.DataFrame]:
    with reader:
        if reader.nobs == 0:
            return
        yield from reader
