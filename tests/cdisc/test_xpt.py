"""The chunked XPT v5 writer: what pyreadstat reads back is what was written, in any chunking,
and the file is the one pyreadstat writes for the whole dataset at once."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyreadstat
import pytest

from mmtrial.cdisc.findings import Findings
from mmtrial.cdisc.spec import DatasetSpec, VariableSpec
from mmtrial.cdisc.xpt import XptDatasetWriter, sas_days

SPEC = DatasetSpec(
    name="LB",
    label="Laboratory Test Results",
    class_="FINDINGS",
    structure="One record per test per subject",
    keys=("USUBJID", "LBSEQ"),
    variables=(
        VariableSpec("USUBJID", "Unique Subject Identifier", "text", "Req", "Derived"),
        VariableSpec("LBSEQ", "Sequence Number", "integer", "Req", "Derived"),
        VariableSpec("LBORRES", "Result or Finding in Original Units", "text", "Exp", "Collected"),
        VariableSpec(
            "LBSTRESN", "Numeric Result/Finding in Standard Units", "float", "Exp", "Derived"
        ),
        VariableSpec(
            "ADT",
            "Analysis Date",
            "integer",
            "Perm",
            "Derived",
            display_format="DATE9.",
            sas_date=True,
        ),
    ),
)


def _rows(n: int, offset: int = 0) -> list[dict]:
    return [
        {
            "USUBJID": f"S-{(i + offset) % 7}",
            "LBSEQ": i + 1,
            "LBORRES": "x" * (1 + (i * 13 + offset) % 57) if i % 5 else None,
            "LBSTRESN": None if i % 4 == 0 else i / 3,
            "ADT": None if i % 6 == 0 else dt.date(2025, 1, 1) + dt.timedelta(days=i),
        }
        for i in range(n)
    ]


def _write(tmp_path, chunks, name="lb"):
    folder = tmp_path / name
    folder.mkdir()
    findings = Findings()
    writer = XptDatasetWriter(SPEC, directory=folder, findings=findings)
    for chunk in chunks:
        writer.write(chunk)
    facts = writer.close()
    return facts, findings


@pytest.mark.parametrize("sizes", [(1,), (300,), (7, 1, 250, 42), (100, 100, 100)])
def test_what_is_read_back_is_what_was_written_whatever_the_chunks(tmp_path, sizes):
    rows, chunks, start = [], [], 0
    for size in sizes:
        chunk = _rows(size, offset=start)
        chunks.append(chunk)
        rows += chunk
        start += size
    facts, findings = _write(tmp_path, chunks)
    frame, meta = pyreadstat.read_xport(str(facts.path))
    assert facts.records == len(rows) == len(frame)
    assert meta.table_name == "LB" and meta.file_label == "Laboratory Test Results"
    assert meta.column_labels == [v.label for v in SPEC.variables]
    expected = pd.DataFrame(rows)
    assert frame["USUBJID"].tolist() == expected["USUBJID"].tolist()
    assert frame["LBORRES"].tolist() == expected["LBORRES"].fillna("").tolist()
    assert frame["LBSEQ"].tolist() == expected["LBSEQ"].astype(float).tolist()
    pd.testing.assert_series_equal(
        frame["LBSTRESN"], expected["LBSTRESN"].astype(float), check_names=False
    )
    read_dates = [None if pd.isna(d) else d for d in frame["ADT"]]
    assert read_dates == expected["ADT"].tolist()
    # the longest value (a variable without any value still needs one byte)
    assert meta.variable_storage_width["LBORRES"] == max(
        1, *(len(r["LBORRES"] or "") for r in rows)
    )
    assert facts.path.stat().st_size % 80 == 0
    assert not findings.items


def test_the_joined_file_has_the_bytes_of_one_whole_pyreadstat_write(tmp_path):
    rows = _rows(90)
    facts, _ = _write(tmp_path, [rows[:10], rows[10:55], rows[55:]])
    whole = pd.DataFrame(rows)
    whole["ADT"] = whole["ADT"].map(sas_days).astype(float)
    whole["LBSEQ"] = whole["LBSEQ"].astype(float)
    once = tmp_path / "once.xpt"
    pyreadstat.write_xport(
        whole, str(once), file_label=SPEC.label, table_name="LB", file_format_version=5,
        column_labels={v.name: v.label for v in SPEC.variables}, variable_format={"ADT": "DATE9."},
    )  # fmt: skip
    joined, single = facts.path.read_bytes(), once.read_bytes()
    # the two files differ only in the creation and modification time stamps of the headers
    stamps = [i for i, (a, b) in enumerate(zip(joined, single, strict=True)) if a != b]
    assert len(joined) == len(single)
    assert all(i < 640 for i in stamps)


def test_text_that_is_not_ascii_or_too_long_is_never_written_silently(tmp_path):
    rows = [
        {"USUBJID": "S-1", "LBSEQ": 1, "LBORRES": "陽性"},
        {"USUBJID": "S-1", "LBSEQ": 2, "LBORRES": "y" * 250},
    ]
    facts, findings = _write(tmp_path, [rows])
    frame, _ = pyreadstat.read_xport(str(facts.path))
    assert frame["LBORRES"].tolist() == ["", "y" * 200]
    rules = [(f.rule, f.usubjid, f.record) for f in findings.items]
    assert rules == [("MMT-TXT-001", "S-1", "LBSEQ=1"), ("MMT-XPT-004", "S-1", "LBSEQ=2")]


def test_a_dataset_without_records_writes_no_file(tmp_path):
    facts, _ = _write(tmp_path, [[]])
    assert facts.path is None and facts.records == 0
    assert list((tmp_path / "lb").iterdir()) == []


def test_sas_dates_count_days_from_1960():
    assert sas_days(dt.date(1960, 1, 1)) == 0.0
    assert sas_days(dt.date(1960, 1, 2)) == 1.0
    assert sas_days(dt.date(1959, 12, 31)) == -1.0
    assert sas_days(None) is None


NUMBERS = DatasetSpec(
    name="NUM",
    label="Numbers",
    class_="FINDINGS",
    structure="One record per value",
    keys=("VALUE",),
    variables=(
        VariableSpec("KEY", "Key", "text", "Req", "Derived"),
        VariableSpec("VALUE", "Value", "float", "Exp", "Derived"),
    ),
)
#: zero and its sign, powers of 16 and their neighbours (every shift of the IBM fraction),
#: fractions without an exact binary form, 53-bit integers, the extremes of the IBM range and
#: beyond it (TS-140: the largest IBM magnitude, or zero), infinity and missing
TRICKY_NUMBERS = [
    0.0, -0.0, 1.0, -1.0, 2.0, 4.0, 8.0, 15.0, 16.0, 17.0, 0.5, 0.25, 0.125, 0.0625, 1 / 16 - 1e-17,
    0.1, -0.1, 1 / 3, 2 / 3, 123456.789, -2.5e-10, 9007199254740993.0, 2.0**53, 2.0**53 - 1,
    1e70, -1e70, 7.2e75, 1e76, -1e300, 5.4e-79, 5e-79, 1e-300, 5e-324,
    float("inf"), float("-inf"), float("nan"),
]  # fmt: skip


def test_numbers_are_encoded_as_pyreadstat_encodes_them(tmp_path):
    import random

    rng = random.Random(13)
    extra = [rng.uniform(-1, 1) * 10.0 ** rng.randint(-80, 80) for _ in range(2000)]
    rows = [{"KEY": f"K{i}", "VALUE": v} for i, v in enumerate(TRICKY_NUMBERS + extra)]
    folder = tmp_path / "num"
    folder.mkdir()
    writer = XptDatasetWriter(NUMBERS, directory=folder, findings=Findings())
    for start in range(0, len(rows), 700):
        writer.write(rows[start : start + 700])
    facts = writer.close()
    once = tmp_path / "once.xpt"
    pyreadstat.write_xport(
        pd.DataFrame(rows), str(once), file_label="Numbers", table_name="NUM",
        file_format_version=5, column_labels={"KEY": "Key", "VALUE": "Value"},
    )  # fmt: skip
    joined, single = facts.path.read_bytes(), once.read_bytes()
    assert len(joined) == len(single)
    stamps = [i for i, (a, b) in enumerate(zip(joined, single, strict=True)) if a != b]
    assert all(i < 640 for i in stamps)


def test_the_conformance_reader_reads_what_pyreadstat_reads(tmp_path):
    from mmtrial.cdisc.xpt_read import read_xpt

    rows = _rows(300)
    facts, _ = _write(tmp_path, [rows[:120], rows[120:]])
    meta, frames = read_xpt(facts.path, chunksize=70, expected=facts.records)
    ours = pd.concat(list(frames), ignore_index=True)
    theirs, their_meta = pyreadstat.read_xport(str(facts.path), disable_datetime_conversion=True)
    assert meta.table_name == their_meta.table_name == "LB"
    assert meta.file_label == their_meta.file_label
    assert meta.column_names == their_meta.column_names == list(SPEC.names)
    assert meta.column_labels == their_meta.column_labels
    assert meta.variable_types == their_meta.readstat_variable_types
    assert meta.variable_storage_width == their_meta.variable_storage_width
    assert meta.records == len(ours) == len(theirs) == 300
    for name in ("USUBJID", "LBORRES"):
        assert ours[name].tolist() == theirs[name].tolist()
    for name in ("LBSEQ", "LBSTRESN", "ADT"):
        pd.testing.assert_series_equal(ours[name], theirs[name].astype(float), check_names=False)


def test_a_short_record_file_whose_size_disagrees_with_the_count_is_an_error(tmp_path):
    from mmtrial.cdisc.xpt_read import XptError, read_xpt

    folder = tmp_path / "short"
    folder.mkdir()
    writer = XptDatasetWriter(NUMBERS, directory=folder, findings=Findings())
    writer.write([{"KEY": "A", "VALUE": 1.0}, {"KEY": "", "VALUE": None}])  # 9-byte records
    facts = writer.close()
    meta, frames = read_xpt(facts.path, chunksize=10, expected=2)
    assert meta.records == 2 and len(pd.concat(list(frames))) == 2
    with pytest.raises(XptError):
        read_xpt(facts.path, chunksize=10, expected=9)
