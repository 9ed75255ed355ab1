"""RS (IMWG responses: derived and investigator's, per assessment, and the best overall
response) with SUPPRS, and SV (the visits that took place)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from mmtrial.cdisc.sdtm.subjects import StudyContext, Subject
from mmtrial.cdisc.sdtm.supp import supp_row
from mmtrial.cdisc.sdtm.timing import derive_var_dy, derive_var_epoch, iso
from mmtrial.cdisc.sdtm.visits import SCREENING_CODE, visit_name, visit_number
from mmtrial.cdisc.xpt import MAX_TEXT_BYTES

__all__ = ["REASON_QUALIFIERS", "build_rs", "build_sv", "split_text"]

RS_CATEGORY = "IMWG 2016"
REASON_QUALIFIERS = ("RSREAS1", "RSREAS2", "RSREAS3", "RSREAS4")
_CYCLE_VISIT_PREFIX = "C"
_FOLLOW_UP_PREFIX = "FU"


def split_text(text: str, *, size: int = MAX_TEXT_BYTES, parts: int) -> list[str]:
    """`text` in at most `parts` pieces of at most `size` characters, cut at spaces (the last
    piece ends in '...' when the text does not fit)."""
    pieces: list[str] = []
    rest = text.strip()
    while rest and len(pieces) < parts:
        if len(rest) <= size:
            pieces.append(rest)
            return pieces
        cut = rest.rfind(" ", 0, size)
        cut = cut if cut > 0 else size
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].strip()
    if rest and pieces:
        pieces[-1] = pieces[-1][: size - 3].rstrip() + "..."
    return pieces


def _as_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def build_rs(
    subject: Subject,
    result: Any,
    investigator: dict[dt.date, str],
    ctx: StudyContext,
    *,
    visit_on: dict[dt.date, str],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """RS rows of one subject and their SUPPRS qualifiers.

    Derived records (RSEVAL = SPONSOR, MT.RSDERIVED) are the IMWG engine's result at the data
    cut (mmtrial.edc.selectors.analysis -> mmtrial.clinical.imwg), unchanged: OVRLRESP per
    assessment with its confirmation and reasons, and BESTRESP (the confirmed best overall
    response). The investigator's response recorded beside an assessment is an OVRLRESP record
    with RSEVAL = INVESTIGATOR.
    """
    if result is None:
        return [], []
    ct = ctx.ct
    derived_by, investigator_eval = ct.value("EVAL", "SPONSOR"), ct.value("EVAL", "INVESTIGATOR")
    overall, best = ct.value("ONCRTSCD", "OVRLRESP"), ct.value("ONCRTSCD", "BESTRESP")
    names = {
        overall: ct.value("ONCRTS", "Overall Response"),
        best: ct.value("ONCRTS", "Best Overall Response"),
    }
    records: list[tuple[dict[str, Any], list[tuple[str, str]]]] = []

    def add(testcd, day, value, evaluator, qualifiers):
        visit = visit_on.get(day) if day else None
        response = ct.value("ONCRSR", value)
        row = {
            "STUDYID": ctx.studyid, "DOMAIN": "RS", "USUBJID": subject.usubjid, "RSSEQ": None,
            "RSTESTCD": testcd, "RSTEST": names[testcd], "RSCAT": ct.value("ONCRSCAT", RS_CATEGORY),
            "RSORRES": response, "RSSTRESC": response, "RSEVAL": evaluator,
            "VISITNUM": visit_number(visit) if visit else None,
            "VISIT": visit_name(visit) if visit else None,
            "EPOCH": derive_var_epoch(day, first_dose=subject.first_dose, end_of_treatment=subject.eot_date),
            "RSDTC": iso(day), "RSDY": derive_var_dy(day, rfstdt=subject.first_dose),
        }  # fmt: skip
        records.append((row, qualifiers))

    ny = ct.codelist("NY")
    for assessment in result.assessments:
        day = _as_date(assessment.date)
        reasons = split_text("; ".join(assessment.reasons), parts=len(REASON_QUALIFIERS))
        qualifiers = [("RSCONF", ny.term("Y" if assessment.confirmed else "N").value)]
        qualifiers += list(zip(REASON_QUALIFIERS, reasons, strict=False))
        add(overall, day, assessment.response, derived_by, qualifiers)
        if investigator.get(day):
            add(overall, day, investigator[day], investigator_eval, [])
    best_day = _as_date(result.best_overall_response_date)
    add(best, best_day, result.best_overall_response or "NE", derived_by,
        [("RSENGVER", str(getattr(result, "engine_version", "") or ""))])  # fmt: skip
    rows, supp = [], []
    for seq, (row, qualifiers) in enumerate(records, start=1):
        row["RSSEQ"] = seq
        rows.append(row)
        for qnam, qval in qualifiers:
            if qval:
                supp.append(supp_row(ctx, "RS", subject.usubjid, "RSSEQ", seq, qnam, qval,
                                     origin="Derived" if qnam != "RSENGVER" else "Assigned"))  # fmt: skip
    return rows, supp


def build_sv(
    subject: Subject, visits: list[dict[str, Any]], ctx: StudyContext
) -> list[dict[str, Any]]:
    """SV rows: the screening visit and each EDC visit with an actual date on or before the cut.

    Also records in `ctx` the largest cycle and follow-up numbers reached (TV lists them).
    """
    length = ctx.protocol.cycle_length_days
    done: list[tuple[str, dt.date, int | None]] = []
    if subject.screened_on is not None and subject.screened_on <= ctx.cut:
        done.append((SCREENING_CODE, subject.screened_on, None))
    for visit in visits:
        if visit["actual_date"] > ctx.cut or visit_number(visit["code"]) is None:
            continue
        planned = None
        if visit["cycle_number"] and visit["day"]:
            planned = (visit["cycle_number"] - 1) * length + visit["day"]
            ctx.max_cycle = max(ctx.max_cycle, visit["cycle_number"])
        if visit["code"].startswith(_FOLLOW_UP_PREFIX):
            ctx.max_follow_up = max(
                ctx.max_follow_up, int(visit["code"].removeprefix(_FOLLOW_UP_PREFIX))
            )
        done.append((visit["code"], visit["actual_date"], planned))
    rows = []
    for code, day, planned in sorted(done, key=lambda v: (visit_number(v[0]) or 0.0, v[1])):
        rows.append(
            {
                "STUDYID": ctx.studyid,
                "DOMAIN": "SV",
                "USUBJID": subject.usubjid,
                "VISITNUM": visit_number(code),
                "VISIT": visit_name(code),
                "VISITDY": planned,
                "EPOCH": derive_var_epoch(
                    day, first_dose=subject.first_dose, end_of_treatment=subject.eot_date
                ),
                "SVSTDTC": iso(day),
                "SVENDTC": iso(day),
                "SVSTDY": derive_var_dy(day, rfstdt=subject.first_dose),
                "SVENDY": derive_var_dy(day, rfstdt=subject.first_dose),
            }
        )
    return rows
