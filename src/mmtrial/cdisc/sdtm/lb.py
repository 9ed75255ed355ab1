"""LB: laboratory results, central and local, and the screening form's laboratory values.

Each EDC analyte maps to a CDISC test, specimen, category and standard unit (`LB_TESTS`).
Results are stored by the EDC in one canonical unit (mmtrial.edc.lab_analytes); LBORRES/LBORRESU
are the values as reported, LBSTRESN/LBSTRESU the canonical value in the standard unit (cell
counts per mm3 in 10^9/L, with the EDC's own factor). Rules: MT.LBSTRES, MT.LOBXFL, MT.VISITNUM.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mmtrial.cdisc.sdtm.subjects import StudyContext, Subject
from mmtrial.cdisc.sdtm.timing import derive_var_dy, derive_var_epoch, iso
from mmtrial.cdisc.sdtm.visits import SCREENING_CODE, visit_name, visit_number
from mmtrial.cdisc.text import english_text
from mmtrial.edc.lab_analytes import ANALYTES

__all__ = ["LB_TESTS", "LbTest", "build_lb", "derive_var_lobxfl", "number_text"]

SI_COUNT_UNIT = "x10^9/L"  # the EDC's name of the accepted unit 10^9/L (lab_analytes)
CT_COUNT_UNIT = "10^9/L"
CENTRAL_LAB = "CENTRAL LABORATORY"
LOCAL_LAB = "LOCAL LABORATORY"


@dataclass(frozen=True)
class LbTest:
    testcd: str
    test: str
    category: str
    specimen: str
    std_unit: str | None  # CT UNIT of LBSTRESU; None for a qualitative test
    divide_by: Decimal = Decimal(1)  # canonical EDC value / divide_by = standard value


def _count(testcd: str, test: str, analyte: str) -> LbTest:
    # 1 x 10^9/L = factor /mm3 (the EDC's unit definition): standard = canonical / factor
    return LbTest(testcd, test, "HEMATOLOGY", "BLOOD", CT_COUNT_UNIT,
                  ANALYTES[analyte].factors[SI_COUNT_UNIT] or Decimal(1))  # fmt: skip


#: EDC analyte -> CDISC test (LBTESTCD / LBTEST terms of controlled_terminology.yaml)
LB_TESTS: dict[str, LbTest] = {
    "anc": _count("NEUT", "Neutrophils", "anc"),
    "platelets": _count("PLAT", "Platelets", "platelets"),
    "hemoglobin": LbTest("HGB", "Hemoglobin", "HEMATOLOGY", "BLOOD", "g/dL"),
    "creatinine": LbTest("CREAT", "Creatinine", "CHEMISTRY", "SERUM", "mg/dL"),
    "bilirubin": LbTest("BILI", "Bilirubin", "CHEMISTRY", "SERUM", "mg/dL"),
    "alt": LbTest("ALT", "Alanine Aminotransferase", "CHEMISTRY", "SERUM", "U/L"),
    "ast": LbTest("AST", "Aspartate Aminotransferase", "CHEMISTRY", "SERUM", "U/L"),
    "serum_m_protein": LbTest("MPROTEIN", "M Protein", "IMMUNOLOGY", "SERUM", "g/dL"),
    "urine_m_protein": LbTest("MPROTEIN", "M Protein", "IMMUNOLOGY", "URINE", "mg/24h"),
    "kappa_flc": LbTest("KAPPAFLC", "Kappa Light Chain, Free", "IMMUNOLOGY", "SERUM", "mg/L"),
    "lambda_flc": LbTest("LAMBDFLC", "Lambda Light Chain, Free", "IMMUNOLOGY", "SERUM", "mg/L"),
    "serum_ife": LbTest("IMFIX", "Immunofixation", "IMMUNOLOGY", "SERUM", None),
    "urine_ife": LbTest("IMFIX", "Immunofixation", "IMMUNOLOGY", "URINE", None),
}

#: screening form variable -> (analyte, canonical unit, upper-limit-of-normal variable)
SCREENING_LABS = {
    "anc_per_mm3": ("anc", "/mm3", None),
    "platelets_per_mm3": ("platelets", "/mm3", None),
    "creatinine_mg_dl": ("creatinine", "mg/dL", None),
    "total_bilirubin_mg_dl": ("bilirubin", "mg/dL", "total_bilirubin_uln_mg_dl"),
    "alt_u_l": ("alt", "U/L", "alt_uln_u_l"),
    "ast_u_l": ("ast", "U/L", "ast_uln_u_l"),
    "serum_m_protein_g_dl": ("serum_m_protein", "g/dL", None),
    "urine_m_protein_mg_24h": ("urine_m_protein", "mg/24h", None),
}
_CT_UNITS = {SI_COUNT_UNIT: CT_COUNT_UNIT}


def number_text(value: Decimal | float | int | None) -> str | None:
    """A number as plain text without exponent or trailing zeros (LBSTRESC)."""
    if value is None:
        return None
    number = Decimal(str(value)).normalize()
    text = format(number, "f")
    return "0" if text in ("-0", "") else text


def _number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def derive_var_lobxfl(rows: list[dict[str, Any]], *, first_dose: dt.date | None) -> None:
    """Set LBLOBXFL = Y on the last record of each test and specimen that has a result and is
    dated on or before the first dose (latest date; the later record on the same date).

    Rule MT.LOBXFL, SDTMIG 3.4 section 4.5.9. `rows` are one subject's, in entry order; set in
    place (rows without the flag keep None). Nothing is flagged for a subject never dosed.
    """
    if first_dose is None:
        return
    last: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        if row["LBSTRESC"] is None or row["_date"] > first_dose:
            continue
        key = (row["LBTESTCD"], row["LBSPEC"])
        if key not in last or row["_date"] >= last[key]["_date"]:
            last[key] = row
    for row in last.values():
        row["LBLOBXFL"] = "Y"


def _row(subject: Subject, ctx: StudyContext, test: LbTest, **values) -> dict[str, Any]:
    day = values.pop("day")
    return {
        "STUDYID": ctx.studyid,
        "DOMAIN": "LB",
        "USUBJID": subject.usubjid,
        "LBSEQ": None,
        "LBREFID": values.get("refid"),
        "LBTESTCD": ctx.ct.value("LBTESTCD", test.testcd),
        "LBTEST": ctx.ct.value("LBTEST", test.test),
        "LBCAT": test.category,
        "LBORRES": values["orres"],
        "LBORRESU": values.get("orresu"),
        "LBORNRLO": None,
        "LBORNRHI": values.get("uln"),
        "LBSTRESC": values["stresc"],
        "LBSTRESN": values.get("stresn"),
        "LBSTRESU": values.get("stresu"),
        "LBSTNRLO": None,
        "LBSTNRHI": float(values["uln"]) if values.get("uln") else None,
        "LBNRIND": None,
        "LBNAM": values["lab"],
        "LBSPEC": ctx.ct.value("SPECTYPE", test.specimen),
        "LBLOBXFL": None,
        "VISITNUM": visit_number(values["visit"]) if values.get("visit") else None,
        "VISIT": visit_name(values["visit"]) if values.get("visit") else None,
        "EPOCH": derive_var_epoch(
            day, first_dose=subject.first_dose, end_of_treatment=subject.eot_date
        ),
        "LBDTC": iso(day),
        "LBDY": derive_var_dy(day, rfstdt=subject.first_dose),
        "_date": day,
    }


def _screening_rows(subject: Subject, ctx: StudyContext) -> list[dict[str, Any]]:
    day = subject.screened_on
    if day is None or day > ctx.cut:
        return []
    rows = []
    values = subject.screening_values
    for variable, (analyte, unit, uln_variable) in SCREENING_LABS.items():
        value = _number(values.get(variable))
        if value is None:
            continue
        test = LB_TESTS[analyte]
        standard = value / test.divide_by
        uln = _number(values.get(uln_variable)) if uln_variable else None
        rows.append(
            _row(subject, ctx, test, day=day, orres=number_text(value),
                 orresu=ctx.ct.value("UNIT", unit), stresc=number_text(standard),
                 stresn=float(standard), stresu=ctx.ct.value("UNIT", test.std_unit),
                 uln=number_text(uln), lab=LOCAL_LAB, visit=SCREENING_CODE)
        )  # fmt: skip
    return rows


def build_lb(
    subject: Subject,
    labs: list[dict[str, Any]],
    ctx: StudyContext,
    *,
    visit_codes: dict[int, str],
    visit_on: dict[dt.date, str],
) -> list[dict[str, Any]]:
    """LB rows of one subject: screening values first, then each result collected on or before
    the cut, in date and entry order; LBSEQ numbers them."""
    rows = _screening_rows(subject, ctx)
    for lab in labs:
        day = lab["collected_on"]
        if day > ctx.cut:
            continue
        test = LB_TESTS.get(lab["analyte"])
        if test is None:
            ctx.findings.add(
                "MMT-DATA-001", f"analyte {lab['analyte']!r} has no LB test mapping: not exported",
                dataset="LB", usubjid=subject.usubjid, fix="add it to mmtrial.cdisc.sdtm.lb.LB_TESTS",
            )  # fmt: skip
            continue
        visit = visit_codes.get(lab["visit_id"]) if lab["visit_id"] else visit_on.get(day)
        lab_name = CENTRAL_LAB if lab["source"] == "central" else LOCAL_LAB
        fix = f"{lab['analyte']} result of {subject.subjid} on {day}: enter the value in English"
        if test.std_unit is None:  # qualitative: POSITIVE / NEGATIVE
            text = (lab["value_text"] or "").upper() or None
            reported = english_text(
                lab["reported_value"] or lab["value_text"], findings=ctx.findings, dataset="LB",
                variable="LBORRES", usubjid=subject.usubjid, coded=text, fix=fix,
            )  # fmt: skip
            rows.append(
                _row(subject, ctx, test, day=day, orres=(reported or "").upper() or text,
                     stresc=text, lab=lab_name, visit=visit, refid=lab["accession"] or None)
            )  # fmt: skip
            continue
        value = _number(lab["value"])
        standard = None if value is None else value / test.divide_by
        unit = lab["reported_unit"] or lab["unit"]
        reported = english_text(
            lab["reported_value"], findings=ctx.findings, dataset="LB", variable="LBORRES",
            usubjid=subject.usubjid, coded=number_text(value), fix=fix,
        )  # fmt: skip
        rows.append(
            _row(subject, ctx, test, day=day, orres=reported or number_text(value),
                 orresu=_CT_UNITS.get(unit, unit) or None, stresc=number_text(standard),
                 stresn=None if standard is None else float(standard),
                 stresu=ctx.ct.value("UNIT", test.std_unit), lab=lab_name, visit=visit,
                 refid=lab["accession"] or None)
        )  # fmt: skip
    derive_var_lobxfl(rows, first_dose=subject.first_dose)
    rows.sort(key=lambda r: r["_date"])  # stable: entry order within a date
    for seq, row in enumerate(rows, start=1):
        row["LBSEQ"] = seq
        del row["_date"]
    return rows
