"""IE (criteria not met at screening) and MH (the myeloma diagnosis with its prior therapy)."""

from __future__ import annotations

from typing import Any

from mmtrial.cdisc.sdtm.subjects import StudyContext, Subject
from mmtrial.cdisc.sdtm.supp import supp_row
from mmtrial.cdisc.sdtm.timing import derive_var_dy, derive_var_epoch, iso
from mmtrial.protocol.models import Protocol

__all__ = ["build_ie", "build_mh", "criterion_codes"]

MH_DIAGNOSIS_TERM = "MULTIPLE MYELOMA"
MH_DIAGNOSIS_CATEGORY = "PRIMARY DIAGNOSIS"
_KIND_PREFIX = {"inclusion": "INCL", "exclusion": "EXCL"}


def criterion_codes(protocol: Protocol) -> dict[str, str]:
    """IETESTCD of each eligibility criterion: INCL01, INCL02, ... and EXCL01, ... in the
    protocol file's order (the criterion ids, e.g. INC-PRIOR-LINES-MIN, are too long for the
    8-character IETESTCD); TI lists the pairs."""
    counts: dict[str, int] = {}
    codes = {}
    for criterion in protocol.eligibility:
        counts[criterion.kind] = counts.get(criterion.kind, 0) + 1
        codes[criterion.id] = f"{_KIND_PREFIX[criterion.kind]}{counts[criterion.kind]:02d}"
    return codes


def build_ie(subjects: list[Subject], ctx: StudyContext) -> list[dict[str, Any]]:
    """IE rows: each criterion the screening result (mmtrial.clinical.eligibility) found not met
    (MT.IERES): IEORRES = N for an inclusion criterion, Y for an exclusion that applies."""
    codes = criterion_codes(ctx.protocol)
    texts = {c.id: c for c in ctx.protocol.eligibility}
    ny = ctx.ct.codelist("NY")
    rows = []
    for s in subjects:
        result = (s.screening or {}).get("result") or {}
        seq = 0
        for criterion in result.get("criteria", []):
            if criterion.get("status") != "not_met" or criterion.get("id") not in codes:
                continue
            seq += 1
            kind = texts[criterion["id"]].kind
            answer = ny.term("N" if kind == "inclusion" else "Y").value
            day = s.screened_on
            rows.append(
                {
                    "STUDYID": ctx.studyid,
                    "DOMAIN": "IE",
                    "USUBJID": s.usubjid,
                    "IESEQ": seq,
                    "IETESTCD": codes[criterion["id"]],
                    "IETEST": texts[criterion["id"]].text,
                    "IECAT": ctx.ct.value("IECAT", kind.upper()),
                    "IEORRES": answer,
                    "IESTRESC": answer,
                    "EPOCH": derive_var_epoch(day, first_dose=s.first_dose, end_of_treatment=None),
                    "IEDTC": iso(day),
                    "IEDY": derive_var_dy(day, rfstdt=s.first_dose),
                }
            )
    return rows


def _yes_no(value: Any, ctx: StudyContext) -> str | None:
    if isinstance(value, bool):
        return ctx.ct.value("NY", "Y" if value else "N")
    return None


def build_mh(
    subjects: list[Subject], ctx: StudyContext
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """MH rows (the confirmed myeloma diagnosis of the screening form) and their SUPPMH
    qualifiers: number of prior lines, relapsed/refractory, lenalidomide- and PI-refractory."""
    rows, supp = [], []
    for s in subjects:
        values = s.screening_values
        if values.get("confirmed_mm_diagnosis") is not True:
            continue
        day = s.screened_on
        rows.append(
            {
                "STUDYID": ctx.studyid,
                "DOMAIN": "MH",
                "USUBJID": s.usubjid,
                "MHSEQ": 1,
                "MHTERM": MH_DIAGNOSIS_TERM,
                "MHCAT": MH_DIAGNOSIS_CATEGORY,
                "EPOCH": derive_var_epoch(day, first_dose=s.first_dose, end_of_treatment=None),
                "MHDTC": iso(day),
                "MHDY": derive_var_dy(day, rfstdt=s.first_dose),
            }
        )
        prior = values.get("prior_lines")
        qualifiers = {
            "PRLINES": str(int(prior)) if isinstance(prior, int | float) else None,
            "RELREF": _yes_no(values.get("relapsed_or_refractory"), ctx),
            "LENREF": _yes_no(values.get("lenalidomide_refractory"), ctx),
            "PIREF": _yes_no(values.get("pi_refractory"), ctx),
        }
        for qnam, qval in qualifiers.items():
            if qval is not None:
                supp.append(
                    supp_row(ctx, "MH", s.usubjid, "MHSEQ", 1, qnam, qval, origin="Collected")
                )
    return rows, supp
