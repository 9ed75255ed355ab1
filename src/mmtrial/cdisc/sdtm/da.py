"""DA (drug accountability): the capsules or tablets of each drug dispensed for a cycle,
returned and lost, one record per test (SDTMIG 3.4 section 6.3.3, Drug Accountability).

Rule (MT.DA): one row per recorded amount, DATESTCD DISPAMT (dated when dispensed), RETAMT
(dated when returned; only once the return is counted) and LOSTAMT (when any were lost, dated
with the return); DACAT the drug's name (as EXTRT names it, so DA and EX join on the treatment),
DASPID the cycle (Cn), DAREFID the bottle or kit number when recorded; DAORRESU / DASTRESU
CAPSULE or TABLET (UNIT codelist); VISIT the visit done on that date, if any.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mmtrial.cdisc.sdtm.subjects import StudyContext, Subject
from mmtrial.cdisc.sdtm.timing import derive_var_dy, derive_var_epoch, iso
from mmtrial.cdisc.sdtm.visits import visit_name, visit_number

__all__ = ["build_da"]

_TESTS = (
    ("DISPAMT", "dispensed_count", "dispensed_on"),
    ("RETAMT", "returned_count", "returned_on"),
    ("LOSTAMT", "lost_count", "returned_on"),
)


def build_da(
    subject: Subject,
    records: list[dict[str, Any]],
    ctx: StudyContext,
    *,
    visit_on: dict[dt.date, str],
) -> list[dict[str, Any]]:
    """DA rows of one subject, in cycle, drug and test order, dated on or before the cut."""
    rows: list[dict[str, Any]] = []
    for record in records:
        drug = record["drug"]
        treatment = ctx.drug_name(drug) if drug in ctx.protocol.drugs else drug.upper()
        unit = ctx.ct.value("UNIT", str(record["unit"]).upper())
        for testcd, amount_field, date_field in _TESTS:
            amount = record[amount_field]
            on = record[date_field]
            if amount is None or on is None or on > ctx.cut:
                continue
            if testcd == "LOSTAMT" and not amount:
                continue
            visit = visit_on.get(on)
            rows.append(
                {
                    "STUDYID": ctx.studyid,
                    "DOMAIN": "DA",
                    "USUBJID": subject.usubjid,
                    "DASEQ": len(rows) + 1,
                    "DAREFID": record["bottle_id"] or None,
                    "DASPID": f"C{record['cycle_number']}",
                    "DATESTCD": ctx.ct.value("DATESTCD", testcd),
                    "DATEST": ctx.ct.value(
                        "DATEST", ctx.ct.codelist("DATESTCD").term(testcd).decode
                    ),
                    "DACAT": treatment,
                    "DAORRES": str(amount),
                    "DAORRESU": unit,
                    "DASTRESC": str(amount),
                    "DASTRESN": float(amount),
                    "DASTRESU": unit,
                    "VISITNUM": visit_number(visit) if visit else None,
                    "VISIT": visit_name(visit) if visit else None,
                    "EPOCH": derive_var_epoch(
                        on, first_dose=subject.first_dose, end_of_treatment=subject.eot_date
                    ),
                    "DADTC": iso(on),
                    "DADY": derive_var_dy(on, rfstdt=subject.first_dose),
                }
            )
    return rows
