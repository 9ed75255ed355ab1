"""Traceability from ADaM records to the SDTM records they come from (rule MT.SRC).

`seq_index` indexes one chunk's SDTM rows (RS, AE, LB) by what an ADaM record knows (subject,
test, date, value); the `*_source` functions return SRCDOM / SRCVAR / SRCSEQ for one ADaM record,
or empty values when no SDTM record equals it. They look records up; they decide nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SeqIndex", "adlb_source", "adrs_source", "adtte_source", "seq_index"]

_NONE = {"SRCDOM": None, "SRCVAR": None, "SRCSEQ": None}
_ADRS_TESTS = {"CBOR": "BESTRESP", "OVR": "OVRLRESP"}
_ADLB_TESTS = {"SMPROT": ("MPROTEIN", "SERUM"), "UMPROT": ("MPROTEIN", "URINE")}
_DERIVED_EVALUATOR = "SPONSOR"


@dataclass
class SeqIndex:
    rs: dict[tuple[str, str, str | None], int] = field(default_factory=dict)
    adverse_events: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    lb: dict[tuple[str, str, str], list[tuple[str, float | None, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )


def seq_index(sdtm: dict[str, list[dict[str, Any]]]) -> SeqIndex:
    index = SeqIndex()
    for row in sdtm.get("RS", []):
        if row["RSEVAL"] == _DERIVED_EVALUATOR:
            index.rs[(row["USUBJID"], row["RSTESTCD"], row["RSDTC"])] = row["RSSEQ"]
    for row in sdtm.get("AE", []):
        index.adverse_events[row["USUBJID"]].append(row)
    for row in sdtm.get("LB", []):
        key = (row["USUBJID"], row["LBTESTCD"], row["LBSPEC"])
        index.lb[key].append((row["LBDTC"], row["LBSTRESN"], row["LBSEQ"]))
    return index


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, dt.date) else str(value)[:10]


def adrs_source(record: dict[str, Any], usubjid: str, index: SeqIndex) -> dict[str, Any]:
    """The RS record of the derived response of the same test and date."""
    test = _ADRS_TESTS.get(record["PARAMCD"])
    seq = index.rs.get((usubjid, test, _iso(record.get("ADT")))) if test else None
    return _NONE if seq is None else {"SRCDOM": "RS", "SRCVAR": "RSSTRESC", "SRCSEQ": seq}


def adtte_source(
    record: dict[str, Any], usubjid: str, index: SeqIndex, *, death: dt.date | None
) -> dict[str, Any]:
    """A death: DM.DTHDTC; an event or censoring at an assessment: that RS record; else the ADSL
    date it equals (TRTSDT for day 1, LSTALVDT for overall survival)."""
    adt = _iso(record.get("ADT"))
    if record.get("CNSR") == 0 and record.get("EVNTDESC") == "DEATH" and _iso(death) == adt:
        return {"SRCDOM": "DM", "SRCVAR": "DTHDTC", "SRCSEQ": None}
    seq = index.rs.get((usubjid, "OVRLRESP", adt))
    if seq is not None:
        return {"SRCDOM": "RS", "SRCVAR": "RSDTC", "SRCSEQ": seq}
    if adt == _iso(record.get("STARTDT")):
        return {"SRCDOM": "ADSL", "SRCVAR": "TRTSDT", "SRCSEQ": None}
    if record.get("PARAMCD") == "OS":
        return {"SRCDOM": "ADSL", "SRCVAR": "LSTALVDT", "SRCSEQ": None}
    return _NONE


def _same(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def adlb_source(
    record: dict[str, Any], usubjid: str, index: SeqIndex, *, first_dose: dt.date | None
) -> dict[str, Any]:
    """The LB record of the same test, specimen and value: on the analysis date, or for the
    baseline (dated C1D1) the latest one on or before the first dose."""
    test = _ADLB_TESTS.get(record["PARAMCD"])
    if test is None:
        return _NONE
    candidates = index.lb.get((usubjid, *test), [])
    value = record.get("AVAL")
    if record.get("ABLFL") == "Y":
        limit = _iso(first_dose)
        found = [seq for day, v, seq in candidates if limit and day <= limit and _same(v, value)]
    else:
        adt = _iso(record.get("ADT"))
        found = [seq for day, v, seq in candidates if day == adt and _same(v, value)]
    return _NONE if not found else {"SRCDOM": "LB", "SRCVAR": "LBSTRESN", "SRCSEQ": found[-1]}
