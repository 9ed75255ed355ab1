"""`mmtrial export sdtm`: the SDTM package of the study database, streamed by subject chunk."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

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
from mmtrial.cdisc.sdtm.da import build_da
from mmtrial.cdisc.sdtm.dm import build_dm
from mmtrial.cdisc.sdtm.ds import build_ds
from mmtrial.cdisc.sdtm.dv import build_dv
from mmtrial.cdisc.sdtm.ex_ae import build_ae, build_ex
from mmtrial.cdisc.sdtm.ie_mh import build_ie, build_mh
from mmtrial.cdisc.sdtm.lb import build_lb
from mmtrial.cdisc.sdtm.rs_sv import build_rs, build_sv
from mmtrial.cdisc.sdtm.subjects import StudyContext
from mmtrial.cdisc.sdtm.trial_design import build_ta, build_te, build_ti, build_ts, build_tv
from mmtrial.cdisc.source import ExportSource, SubjectRecords, load_source, subject_chunks
from mmtrial.cdisc.spec import package_spec

__all__ = ["SDTM_DATASETS", "export_sdtm", "sdtm_chunk_rows"]

#: datasets in the order of the package (define.xml lists them so)
SDTM_DATASETS = (
    "TA", "TE", "TI", "TS", "TV", "DM", "SV", "DS", "IE", "MH", "EX", "AE", "LB", "RS",
    "SUPPAE", "SUPPEX", "SUPPMH", "SUPPRS",
    "DV",
    "DA",
)  # fmt: skip
MANAGED_FILES = (DEFINE_FILE, REPORT_MD, REPORT_JSON)


def sdtm_chunk_rows(
    items: list[SubjectRecords], ctx: StudyContext, *, responses: Any
) -> dict[str, list[dict[str, Any]]]:
    """The rows of every subject-level domain for one chunk of subjects."""
    subjects = [item.subject for item in items]
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in SDTM_DATASETS}
    rows["DM"] = build_dm(subjects, ctx)
    rows["DS"] = build_ds(subjects, ctx)
    rows["IE"] = build_ie(subjects, ctx)
    rows["MH"], rows["SUPPMH"] = build_mh(subjects, ctx)
    for item in items:
        s, records = item.subject, item.records
        ex, supp_ex = build_ex(s, records.get("doses", []), ctx)
        ae, supp_ae = build_ae(s, records.get("adverse_events", []), ctx)
        result = responses.get(s.analysis_id) if s.analysis_id else None
        rs, supp_rs = build_rs(s, result, item.investigator, ctx, visit_on=item.visit_on)
        rows["EX"] += ex
        rows["SUPPEX"] += supp_ex
        rows["AE"] += ae
        rows["SUPPAE"] += supp_ae
        rows["RS"] += rs
        rows["SUPPRS"] += supp_rs
        rows["LB"] += build_lb(
            s, records.get("labs", []), ctx, visit_codes=item.visit_codes, visit_on=item.visit_on
        )
        rows["SV"] += build_sv(s, records.get("visits", []), ctx)
        rows["DV"] += build_dv(s, records.get("deviations", []), ctx)
        rows["DA"] += build_da(s, records.get("accountability", []), ctx, visit_on=item.visit_on)
    return rows


def _countries(source: ExportSource) -> list[str]:
    zones = dict.fromkeys(s.site_timezone for s in source.subjects)
    mapping = source.ctx.ct.site_time_zone_country
    return sorted({mapping[z] for z in zones if z in mapping})


def export_sdtm(
    out: Path,
    *,
    user=None,
    data_cut: dt.date | None = None,
    progress: Progress = no_progress,
    unblinded_by=None,
) -> PackageResult:
    """Write the SDTM package (XPT files, define.xml, conformance report) into `out`."""
    from mmtrial.cdisc.conformance import check_package
    from mmtrial.cdisc.define import write_define
    from mmtrial.cdisc.report import write_report

    findings = Findings()
    prepare_directory(out)
    progress("Reading the study", 0, 1)
    source = load_source(user=user, data_cut=data_cut, findings=findings, unblinded_by=unblinded_by)
    progress("Reading the study", 1, 1)
    ctx = source.ctx
    package = Package(out, spec=package_spec("sdtm"), findings=findings)
    try:
        total = len(source.subjects)
        done = 0
        progress("Subjects", 0, total)
        for items in subject_chunks(source.subjects):
            rows = sdtm_chunk_rows(items, ctx, responses=source.study.responses)
            for name in SDTM_DATASETS:
                if rows[name]:
                    package.writer(name).write(rows[name])
            done += len(items)
            progress("Subjects", done, total)
        progress("Trial design", 0, 1)
        starts = [s.consent for s in source.subjects]
        design = {
            "TS": build_ts(
                ctx, countries=_countries(source), study_start=min(starts, default=None)
            ),
            "TA": build_ta(ctx),
            "TE": build_te(ctx),
            "TV": build_tv(ctx),
            "TI": build_ti(ctx),
        }
        for name, design_rows in design.items():
            package.writer(name).write(design_rows)
        progress("Trial design", 1, 1)
        progress("Writing XPT files", 0, 1)
        facts = package.close_datasets()
        ordered = {name: facts[name] for name in SDTM_DATASETS if name in facts}
        progress("Writing XPT files", 1, 1)
        progress("define.xml", 0, 1)
        write_define(package.stage / DEFINE_FILE, package="sdtm", facts=ordered, ctx=ctx)
        progress("define.xml", 1, 1)
        progress("Conformance check", 0, 1)
        check_package(package.stage, package="sdtm", facts=ordered, ctx=ctx, findings=findings)
        write_report(package.stage, package="sdtm", facts=ordered, ctx=ctx, findings=findings)
        progress("Conformance check", 1, 1)
        files = package.finish(managed=MANAGED_FILES)
    except BaseException:
        package.abort()
        raise
    return PackageResult(directory=package.out, datasets=ordered, findings=findings, files=files)
