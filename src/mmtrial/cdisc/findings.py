"""Findings: what the exporters and the conformance check report, each with its rule id.

A finding names the rule (mmtrial's own ids, `MMT-...`, with the matching CDISC/FDA rule where
one exists), where it is (dataset, variable, subject, record) and, for data problems, where in
the EDC to fix it. Severity: `error` (a rule the package breaks: fixed before submission),
`warning` (allowed but to be explained in the reviewer's guide), `note` (information: what the
exporter decided, e.g. coded English written instead of a Japanese verbatim).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["RULES", "Finding", "Findings"]

#: rule id -> (severity, what the rule says, CDISC / FDA counterpart or "")
RULES: dict[str, tuple[str, str, str]] = {
    "MMT-XPT-001": (
        "error",
        "file name is the lower-case dataset name with .xpt",
        "FDA Study Data TCG",
    ),
    "MMT-XPT-002": ("error", "variable name <= 8 characters, letters, digits and _ only", "SAS V5"),
    "MMT-XPT-003": ("error", "variable and dataset labels <= 40 characters", "SAS V5"),
    "MMT-XPT-004": ("error", "character values <= 200 bytes", "SAS V5; FDA Study Data TCG"),
    "MMT-XPT-005": (
        "error",
        "the file is SAS transport version 5 and reads back as written",
        "FDA Study Data TCG",
    ),
    "MMT-TXT-001": (
        "error",
        "text is ASCII: non-ASCII text left out of the dataset",
        "FDA Study Data TCG; PMDA TCG",
    ),
    "MMT-TXT-002": ("note", "non-ASCII text replaced by its coded English value", "PMDA TCG"),
    "MMT-SD-001": ("error", "required variable is present", "SDTMIG 4.1.4 (core Req)"),
    "MMT-SD-002": ("error", "required variable is populated on every record", "SD0002"),
    "MMT-SD-003": ("error", "expected variable is present", "SDTMIG 4.1.4 (core Exp)"),
    "MMT-SD-004": ("error", "--SEQ is unique within each subject", "SD0005"),
    "MMT-SD-005": ("error", "every USUBJID is a subject of DM", ""),
    "MMT-SD-006": ("error", "dates are ISO 8601 (YYYY, YYYY-MM or YYYY-MM-DD)", "SD0003"),
    "MMT-SD-007": ("error", "value is a term of its non-extensible codelist", "CT2001"),
    "MMT-SD-008": ("warning", "value extends an extensible codelist (sponsor extension)", "CT2002"),
    "MMT-SD-009": ("error", "one record per key", "SDTMIG 3.2.1.1"),
    "MMT-SD-010": ("error", "STUDYID is the study's and DOMAIN is the dataset's", "SD0004"),
    "MMT-SD-011": ("warning", "expected variable is populated for the record", "SDTMIG 4.1.4"),
    "MMT-DEF-001": (
        "error",
        "define.xml is valid against the Define-XML 2.1 schema",
        "Define-XML 2.1",
    ),
    "MMT-DEF-002": (
        "error",
        "every dataset and variable of the XPT files is in define.xml, and back",
        "",
    ),
    "MMT-CT-001": (
        "note",
        "C-code written from the CT package as recalled, not machine-verified",
        "",
    ),
    "MMT-DATA-001": ("warning", "a value the exporter could not map is left empty", ""),
}


@dataclass(frozen=True)
class Finding:
    rule: str
    message: str
    dataset: str = ""
    variable: str = ""
    usubjid: str = ""
    record: str = ""
    fix: str = ""
    severity: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = self.severity or RULES[self.rule][0]
        return data


class Findings:
    """An ordered collection of findings, at most `limit_per_rule` kept per rule and dataset
    (the count goes on), so a systematic problem in a large study does not fill the report."""

    def __init__(self, *, limit_per_rule: int = 50) -> None:
        self.items: list[Finding] = []
        self.counts: Counter[tuple[str, str]] = Counter()
        self.limit = limit_per_rule

    def add(self, rule: str, message: str, **where: str) -> None:
        if rule not in RULES:
            raise KeyError(f"unknown rule {rule}")
        key = (rule, where.get("dataset", ""))
        self.counts[key] += 1
        if self.counts[key] <= self.limit:
            self.items.append(Finding(rule=rule, message=message, **where))

    def extend(self, other: Findings) -> None:
        for item in other.items:
            self.items.append(item)
        self.counts.update(other.counts)

    def severity(self, rule: str) -> str:
        return RULES[rule][0]

    def total(self, *, severity: str | None = None) -> int:
        return sum(n for (rule, _), n in self.counts.items() if severity in (None, RULES[rule][0]))

    def by_rule(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for (rule, _), n in self.counts.items():
            totals[rule] += n
        return dict(sorted(totals.items()))
