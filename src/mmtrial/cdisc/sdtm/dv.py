"""DV: protocol deviations (found by rule, entered by hand, emergency unblindings).

One record per deviation not withdrawn (a withdrawn one is a fact the corrected data no longer
show), dated on or before the data cut. DVTERM is the deviation as described, DVDECOD the
sponsor's coded term of its rule, DVCAT the protocol file's category, DVSCAT whether it is
important (ICH E3 section 10.2; ICH E6(R3) glossary), DVREFID the EDC's deviation id.

Source: SDTMIG 3.4 section 6.2 (DV); DVDECOD, DVCAT and DVSCAT have no CDISC codelist there
("*": sponsor-defined), so DVDECOD and DVSCAT take the sponsor codelists of sdtm_spec.yaml.
"""

from __future__ import annotations

from typing import Any

from mmtrial.cdisc.sdtm.subjects import StudyContext, Subject
from mmtrial.cdisc.sdtm.timing import derive_var_epoch, iso

__all__ = ["DVDECOD_BY_RULE", "IMPORTANT", "NON_IMPORTANT", "build_dv"]

#: rule (clinical.deviations; blank: entered by hand) -> DVDECOD (sponsor codelist DVDECOD)
DVDECOD_BY_RULE = {
    "visit_out_of_window": "VISIT OUT OF WINDOW",
    "response_assessment_missed": "EFFICACY ASSESSMENT NOT DONE",
    "dose_not_as_decided": "TREATMENT DEVIATION",
    "cycle_start_criteria_not_met": "TREATMENT DEVIATION",
    "ineligible_enrolled": "SELECTION CRITERIA NOT MET",
    "required_lab_missing": "SAFETY ASSESSMENT NOT DONE",
    "unblinding": "PREMATURE UNBLINDING",
    "": "OTHER PROTOCOL DEVIATION",
}
IMPORTANT = "IMPORTANT"
NON_IMPORTANT = "NON-IMPORTANT"


def build_dv(s: Subject, deviations: list[dict[str, Any]], ctx: StudyContext) -> list[dict]:
    """The subject's DV rows in date order; DVSEQ numbers them (MT.SEQ)."""
    kept = []
    for d in deviations:
        day = d["occurred_on"] or d["detected_on"]
        if d["status"] == "withdrawn" or day > ctx.cut:
            continue
        kept.append((day, d["pk"], d))
    rows = []
    for seq, (day, _pk, d) in enumerate(sorted(kept, key=lambda k: (k[0], k[1])), start=1):
        rows.append(
            {
                "STUDYID": ctx.studyid,
                "DOMAIN": "DV",
                "USUBJID": s.usubjid,
                "DVSEQ": seq,
                "DVREFID": str(d["pk"]),
                "DVTERM": " ".join(str(d["description"]).split())[:200],
                "DVDECOD": DVDECOD_BY_RULE.get(d["rule"], DVDECOD_BY_RULE[""]),
                "DVCAT": str(d["category"]).upper(),
                "DVSCAT": IMPORTANT if d["important"] else NON_IMPORTANT,
                "EPOCH": derive_var_epoch(
                    day, first_dose=s.first_dose, end_of_treatment=s.eot_date
                ),
                "DVSTDTC": iso(day),
            }
        )
    return rows
