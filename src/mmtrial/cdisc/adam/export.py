"""`mmtrial export adam`: ADSL, ADRS, ADTTE, ADAE, ADEX and ADLB with traceability to SDTM.

The analysis values are those `mmtrial analyze` computes from the database:
`mmtrial.analysis.derive.derive_adsl/_adrs/_adtte/_adlb` on `analysis_source` (and its AE and
exposure frames), so `mmtrial analyze --adam DIR` on this package prints what `mmtrial analyze`
prints. The SDTM records they trace to (RSSEQ, AESEQ, LBSEQ) are rebuilt chunk by chunk with
the SDTM builders of mmtrial.cdisc.sdtm, which assign the same sequence numbers as
`mmtrial export sdtm` on the same database and data cut.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Any

import pandas as pd

from mmtrial.cdisc.adam.traceability import adlb_source, adrs_source, adtte_source, seq_index
from mmtrial.cdisc.findings import Findings
from mmtrial.cdisc.package import (
    DEFINE_FILE,
    REPORT_JSON,
    REPORT_MD,
    Package,
    PackageResult,
    Progress,
    no_progress,
    prepare_directory,
)
from mmtrial.cdisc.sdtm.dm import build_dm
from mmtrial.cdisc.sdtm.export import sdtm_chunk_rows
from mmtrial.cdisc.source import load_source, subject_chunks
from mmtrial.cdisc.spec import package_spec

__all__ = ["ADAM_DATASETS", "export_adam"]

ADAM_DATASETS = ("ADSL", "ADRS", "ADTTE", "ADAE", "ADEX", "ADLB")
MANAGED_FILES = (DEFINE_FILE, REPORT_MD, REPORT_JSON)
RESPONSE_CATEGORY = "IMWG 2016"
_SDTM_FOR_TRACE = ("labs", "adverse_events", "visits", "responses")


def _records(frame: pd.DataFrame | None) -> dict[str, list[dict[str, Any]]]:
    """A frame's rows grouped by USUBJID (in their order)."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if frame is None or len(frame) == 0:
        return grouped
    for row in frame.to_dict("records"):
        grouped[str(row["USUBJID"])].append({k: (None if _na(v) else v) for k, v in row.items()})
    return grouped


def _na(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _derived(study) -> dict[str, dict[str, list[dict[str, Any]]]]:
    from mmtrial.analysis.derive import derive_adlb, derive_adrs, derive_adsl, derive_adtte

    participants, responses = study.participants, study.responses
    return {
        "ADSL": _records(derive_adsl(participants, responses=responses)),
        "ADRS": _records(derive_adrs(participants, responses=responses)),
        "ADTTE": _records(derive_adtte(participants, responses=responses)),
        "ADLB": _records(derive_adlb(participants, imwg_inputs=study.imwg_inputs)),
        "ADAE": _records(study.adverse_events),
        "ADEX": _records(study.exposure),
    }


def _response_number(value: str | None) -> int | None:
    from mmtrial.analysis.codelists import RESPONSE_CATEGORIES

    return RESPONSE_CATEGORIES.index(value) + 1 if value in RESPONSE_CATEGORIES else None


def derive_var_aval_response(avalc: str | None) -> int | None:
    """ADRS AVAL: the response as a number, best first (MT.ADRS.AVAL: 1 = sCR ... 8 = NE)."""
    return _response_number(avalc)


#: ARM/ACTARM/TRT01P/TRT01A of a blinded export of a randomized study: ADaMIG 1.3 requires
#: them in ADSL, the arm must not show (ICH E9 section 2.3.1), so the value says which.
BLINDED_TREATMENT = "BLINDED"


def _adsl_row(row: dict[str, Any], dm: dict[str, Any], *, blinded: bool) -> dict[str, Any]:
    keep = ("STUDYID", "USUBJID", "SUBJID", "SITEID", "AGE", "AGEU", "SEX", "RACE", "COUNTRY",
            "ARM", "ARMCD", "ACTARM", "ACTARMCD")  # fmt: skip
    planned, actual = dm["ARM"], dm["ACTARM"]
    if blinded:
        planned = BLINDED_TREATMENT
        actual = BLINDED_TREATMENT if row.get("TRTSDT") is not None else None
    return {
        **{k: dm[k] for k in keep},
        "ARM": planned,
        "ACTARM": actual,
        "TRT01P": planned,
        "TRT01A": actual,
        **{k: v for k, v in row.items() if k != "USUBJID"},
        "ENRLFL": "Y",
    }


def export_adam(
    out: Path,
    *,
    user=None,
    data_cut: dt.date | None = None,
    progress: Progress = no_progress,
    unblinded_by=None,
) -> PackageResult:
    """Write the ADaM package (XPT files, define.xml with ARM, conformance report) into `out`."""
    from mmtrial.cdisc.conformance import check_package
    from mmtrial.cdisc.define import write_define
    from mmtrial.cdisc.report import write_report

    findings = Findings()
    prepare_directory(out)
    progress("Reading the study", 0, 1)
    source = load_source(user=user, data_cut=data_cut, findings=findings, unblinded_by=unblinded_by)
    progress("Reading the study", 1, 1)
    ctx = source.ctx
    blinded = ctx.protocol.randomized and ctx.subject_arms is None
    derived = _derived(source.study)
    package = Package(out, spec=package_spec("adam"), findings=findings)
    sdtm_findings = Findings()
    try:
        enrolled = [s for s in source.subjects if not s.screen_failed]
        total, done = len(enrolled), 0
        progress("Subjects", 0, total)
        ctx.findings = sdtm_findings  # the SDTM rebuild's findings belong to the SDTM package
        for items in subject_chunks(enrolled, kinds=_SDTM_FOR_TRACE):
            sdtm = sdtm_chunk_rows(items, ctx, responses=source.study.responses)
            dm = {row["USUBJID"]: row for row in build_dm([i.subject for i in items], ctx)}
            index = seq_index(sdtm)
            rows: dict[str, list[dict[str, Any]]] = {name: [] for name in ADAM_DATASETS}
            for item in items:
                s = item.subject
                key = s.analysis_id or ""
                adsl = derived["ADSL"].get(key)
                if not adsl:
                    continue
                base = {"STUDYID": ctx.studyid, "USUBJID": s.usubjid}
                flags = {"SAFFL": adsl[0]["SAFFL"], "EFFFL": adsl[0]["EFFFL"]}
                rows["ADSL"].append(_adsl_row(adsl[0], dm[s.usubjid], blinded=blinded))
                for r in derived["ADRS"].get(key, []):
                    rows["ADRS"].append({
                        **base, **{k: v for k, v in r.items() if k != "USUBJID"},
                        "PARCAT1": RESPONSE_CATEGORY, "AVAL": derive_var_aval_response(r["AVALC"]),
                        **flags, **adrs_source(r, s.usubjid, index),
                    })  # fmt: skip
                for r in derived["ADTTE"].get(key, []):
                    rows["ADTTE"].append({
                        **base, **{k: v for k, v in r.items() if k != "USUBJID"},
                        **_tte_labels(r["PARAMCD"]), **flags,
                        **adtte_source(r, s.usubjid, index, death=s.death_date),
                    })  # fmt: skip
                rows["ADAE"] += _adae(derived["ADAE"].get(key, []), s.usubjid, index, base, flags)
                for r in derived["ADEX"].get(key, []):
                    rows["ADEX"].append({
                        **base, "EXTRT": ctx.drug_name(r["EXTRT"]) if r["EXTRT"] in ctx.protocol.drugs
                        else str(r["EXTRT"]).upper(), "CYCLE": r["CYCLE"], "EXDOSE": r["EXDOSE"],
                        "EXPLDOS": r["EXPLDOS"], "EXDOSU": r["EXDOSU"], "ASTDT": r["EXSTDT"],
                        "AENDT": r["EXENDT"], "DOSREDFL": r["DOSREDFL"], "HELDFL": r["HELDFL"],
                        "ASSUMFL": r["ASSUMFL"], "SAFFL": flags["SAFFL"], "SRCDOM": "EX",
                    })  # fmt: skip
                for r in derived["ADLB"].get(key, []):
                    rows["ADLB"].append({
                        **base, **{k: v for k, v in r.items() if k != "USUBJID"},
                        "ABLFL": r["ABLFL"] or None, "SAFFL": flags["SAFFL"],
                        **adlb_source(r, s.usubjid, index, first_dose=s.first_dose),
                    })  # fmt: skip
            for name in ADAM_DATASETS:
                if rows[name]:
                    package.writer(name).write(rows[name])
            done += len(items)
            progress("Subjects", done, total)
        ctx.findings = findings
        _carry_text_findings(sdtm_findings, findings)
        progress("Writing XPT files", 0, 1)
        facts = package.close_datasets()
        ordered = {name: facts[name] for name in ADAM_DATASETS if name in facts}
        progress("Writing XPT files", 1, 1)
        progress("define.xml", 0, 1)
        write_define(package.stage / DEFINE_FILE, package="adam", facts=ordered, ctx=ctx)
        progress("define.xml", 1, 1)
        progress("Conformance check", 0, 1)
        check_package(package.stage, package="adam", facts=ordered, ctx=ctx, findings=findings)
        write_report(package.stage, package="adam", facts=ordered, ctx=ctx, findings=findings)
        progress("Conformance check", 1, 1)
        files = package.finish(managed=MANAGED_FILES)
    except BaseException:
        package.abort()
        raise
    finally:
        ctx.findings = findings
    return PackageResult(directory=package.out, datasets=ordered, findings=findings, files=files)


def _tte_labels(paramcd: str) -> dict[str, Any]:
    from mmtrial.analysis.codelists import TTE_LABELS_EN, TTE_PARAMCDS

    return {
        "PARAM": f"{TTE_LABELS_EN.get(paramcd, paramcd)} (days)",
        "PARAMN": TTE_PARAMCDS.index(paramcd) + 1 if paramcd in TTE_PARAMCDS else None,
    }


def _adae(rows, usubjid, index, base, flags) -> list[dict[str, Any]]:
    """ADAE rows of a subject joined, in order, to the subject's AE records (same order and cut
    as mmtrial.edc.selectors.analysis); AETERM, AEDECOD and AEBODSYS are SDTM's (English)."""
    sdtm = index.adverse_events.get(usubjid, [])
    if len(sdtm) != len(rows):
        raise RuntimeError(f"{usubjid}: {len(rows)} analysis AEs, {len(sdtm)} SDTM AE records")
    out = []
    for r, ae in zip(rows, sdtm, strict=True):
        if ae["AESTDTC"] != r["AESTDT"].isoformat():
            raise RuntimeError(f"{usubjid}: AE order differs ({ae['AESTDTC']} / {r['AESTDT']})")
        out.append({
            **base, "AESEQ": ae["AESEQ"], "AETERM": ae["AETERM"], "AEDECOD": ae["AEDECOD"],
            "AEBODSYS": ae["AEBODSYS"], "AESER": r["AESER"], "AEACN": r["AEACN"], "AREL": r["AREL"],
            "AETOXGR": None if r["AETOXGR"] is None else str(int(r["AETOXGR"])),
            "ASTDT": r["AESTDT"], "AENDT": r["AEENDT"], "ASTDY": r["ASTDY"],
            "TRTEMFL": r["TRTEMFL"], "SAFFL": flags["SAFFL"],
        })  # fmt: skip
    return out


def _carry_text_findings(sdtm: Findings, findings: Findings) -> None:
    """Text findings of AE terms also concern ADAE (its AETERM/AEDECOD are AE's)."""
    for item in sdtm.items:
        if item.rule.startswith("MMT-TXT") and item.dataset == "AE":
            findings.add(item.rule, item.message, dataset="ADAE", variable=item.variable,
                         usubjid=item.usubjid, record=item.record, fix=item.fix)  # fmt: skip
