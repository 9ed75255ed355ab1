"""The conformance report written with each package: conformance-report.md and .json.

The Markdown is for the reviewer's guide (what was checked, what was found and why, where to
fix it in the EDC); the JSON carries the same findings for tools and tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import mmtrial
from mmtrial.cdisc.findings import RULES, Findings
from mmtrial.cdisc.sdtm.subjects import StudyContext
from mmtrial.cdisc.xpt import DatasetFacts

__all__ = ["RULES_ENGINE_NOTE", "write_report"]

REPORT_MD = "conformance-report.md"
REPORT_JSON = "conformance-report.json"
RULES_ENGINE_NOTE = (
    "CDISC's open rules engine (cdisc-rules-engine) is not part of the export: it needs pandas 3 "
    "(mmtrial pins pandas 2.3) and its rule and CT caches from the CDISC Library; see "
    "docs/cdisc.md for how it was run on this package and what it found."
)
_STANDARD = {"sdtm": "SDTMIG 3.4 (SDTM 2.0)", "adam": "ADaMIG 1.3 (ADaM 2.1), ARM 1.0"}


def _summary(findings: Findings) -> dict[str, int]:
    return {sev: findings.total(severity=sev) for sev in ("error", "warning", "note")}


def write_report(
    directory: Path,
    *,
    package: str,
    facts: dict[str, DatasetFacts],
    ctx: StudyContext,
    findings: Findings,
) -> None:
    ct = ctx.ct
    data = {
        "package": package,
        "study": ctx.studyid,
        "standard": _STANDARD[package],
        "data_cut": ctx.cut.isoformat(),
        "mmtrial_version": mmtrial.__version__,
        "controlled_terminology": {k: str(v["date"]) for k, v in ct.packages.items()},
        "controlled_terminology_source": ct.source,
        "datasets": {
            name: {"file": f.spec.file_name, "records": f.records} for name, f in facts.items()
        },
        "summary": _summary(findings),
        "by_rule": findings.by_rule(),
        "rules": {
            rule: {"severity": s, "rule": text, "reference": ref}
            for rule, (s, text, ref) in RULES.items()
        },
        "findings": [f.as_dict() for f in findings.items],
        "rules_engine": RULES_ENGINE_NOTE,
    }
    (directory / REPORT_JSON).write_text(
        json.dumps(data, indent=2, ensure_ascii=True), encoding="ascii"
    )
    lines = [
        f"# Conformance report: {ctx.studyid} {package.upper()} package",
        "",
        f"Standard: {_STANDARD[package]}. Data cut: {ctx.cut.isoformat()}. "
        f"Written by mmtrial {mmtrial.__version__}.",
        "Controlled terminology: "
        + ", ".join(f"{v['name']} {v['date']}" for v in ct.packages.values())
        + ".",
        f"Source of the terms: {ct.source}",
        "",
        "## Datasets",
        "",
        "| Dataset | File | Records |",
        "|---|---|---|",
        *[f"| {name} | {f.spec.file_name} | {f.records} |" for name, f in facts.items()],
        "",
        "## Summary",
        "",
        "| Severity | Findings |",
        "|---|---|",
        *[f"| {sev} | {n} |" for sev, n in _summary(findings).items()],
        "",
        "| Rule | Severity | What it checks | Reference | Findings |",
        "|---|---|---|---|---|",
        *[
            f"| {rule} | {s} | {text} | {ref} | {findings.by_rule().get(rule, 0)} |"
            for rule, (s, text, ref) in RULES.items()
        ],
        "",
        "## Findings",
        "",
    ]
    if not findings.items:
        lines.append("None.")
    for item in findings.items:
        d = item.as_dict()
        where = " ".join(
            part for part in (d["dataset"], d["variable"], d["usubjid"], d["record"]) if part
        )
        fix = f" Fix: {d['fix']}." if d["fix"] else ""
        lines.append(
            f"- **{d['rule']}** ({d['severity']}) {where}: {d['message'].rstrip('.')}.{fix}"
        )
    shown = len(findings.items)
    total = sum(findings.by_rule().values())
    if total > shown:
        lines += [
            "",
            f"{total - shown} more findings of the same rules are counted above, not listed.",
        ]
    lines += ["", "## Not checked here", "", RULES_ENGINE_NOTE, ""]
    (directory / REPORT_MD).write_text("\n".join(lines), encoding="utf-8")
