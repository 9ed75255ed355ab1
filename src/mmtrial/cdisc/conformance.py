"""The project's structural conformance check of a written package (run on every export).

It reads the package back from disk, as a reviewer's tool would: every XPT file with pandas'
XPORT reader (`mmtrial.cdisc.xpt_read`: not the library that wrote the headers; in chunks, so
memory stays bounded) and define.xml with the Define-XML 2.1 schema (odmlib's
bundled XSDs; ARM 1.0 for ADaM). Rules and their ids are in `mmtrial.cdisc.findings.RULES`.
What it does not check (the full CDISC/FDA rule sets) is left to CDISC's rules engine; see
docs/cdisc.md for how it ran on this package.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from mmtrial.cdisc.findings import Findings
from mmtrial.cdisc.sdtm.ie_mh import criterion_codes
from mmtrial.cdisc.sdtm.subjects import StudyContext
from mmtrial.cdisc.xpt import MAX_TEXT_BYTES, DatasetFacts

__all__ = ["UNIQUE_KEYS", "check_package", "read_define_variables"]

DEFINE_FILE = "define.xml"
READ_CHUNK = 20000
_NAME = re.compile(r"^[A-Z][A-Z0-9_]{0,7}$")
_ISO_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
_ODM = "{http://www.cdisc.org/ns/odm/v1.3}"
#: one record per key (beyond --SEQ): dataset -> key variables
UNIQUE_KEYS = {
    "DM": ("USUBJID",),
    "SV": ("USUBJID", "VISITNUM"),
    "TS": ("TSPARMCD", "TSSEQ"),
    "TA": ("ARMCD", "TAETORD"),
    "TE": ("ETCD",),
    "TV": ("VISITNUM",),
    "TI": ("IETESTCD",),
    "IE": ("USUBJID", "IETESTCD"),
    "ADSL": ("USUBJID",),
    "ADTTE": ("USUBJID", "PARAMCD"),
}


#: values of another codelist a variable takes in a value-level subset (DS: DSDECOD by DSCAT)
ALSO_ALLOWED = {("DS", "DSDECOD"): "PROTMLST"}


def _allowed(ctx: StudyContext, package: str, codelist: str) -> tuple[set[str], bool] | None:
    """The values a codelist allows and whether it is extensible; None = not checkable here."""
    from mmtrial.cdisc.spec import package_spec

    if codelist in ctx.ct.codelists:
        cl = ctx.ct.codelists[codelist]
        return set(cl.values), cl.extensible
    if codelist == "ARMCD":
        return {code for code, _ in ctx.arms}, False
    if codelist == "IETESTCD":
        return set(criterion_codes(ctx.protocol).values()), False
    raw = package_spec(package).codelists.get(codelist)
    if raw and raw.get("terms"):
        return {str(t["value"]) for t in raw["terms"]}, False
    return None


class _DatasetCheck:
    def __init__(
        self,
        facts: DatasetFacts,
        *,
        package: str,
        ctx: StudyContext,
        findings: Findings,
        subjects: set[str] | None,
    ):
        self.facts, self.spec, self.package = facts, facts.spec, package
        self.ctx, self.findings, self.subjects = ctx, findings, subjects
        self.seen_seq: set[tuple[str, float]] = set()
        self.seen_keys: set[tuple[Any, ...]] = set()
        self.records = 0
        self.reported: set[tuple[str, str, str]] = set()
        self.empty_required: dict[str, list[str]] = defaultdict(list)
        self.allowed = {
            v.name: _allowed(ctx, package, v.codelist) for v in self.spec.variables if v.codelist
        }
        for (dataset, variable), codelist in ALSO_ALLOWED.items():
            if dataset == self.spec.name and self.allowed.get(variable):
                values, extensible = self.allowed[variable]
                more = _allowed(ctx, package, codelist)
                self.allowed[variable] = (values | (more[0] if more else set()), extensible)
        self.extended = {
            v.name: {t.value for t in ctx.ct.codelists[v.codelist].terms if t.extended}
            for v in self.spec.variables
            if v.codelist and v.codelist in ctx.ct.codelists
        }

    def add(
        self,
        rule: str,
        message: str,
        *,
        variable: str = "",
        usubjid: str = "",
        record: str = "",
        fix: str = "",
    ):
        self.findings.add(
            rule,
            message,
            dataset=self.spec.name,
            variable=variable,
            usubjid=usubjid,
            record=record,
            fix=fix,
        )

    def once(self, rule: str, variable: str, value: str, message: str, **where) -> None:
        key = (rule, variable, value)
        if key not in self.reported:
            self.reported.add(key)
            self.add(rule, message, variable=variable, **where)

    def metadata(self, meta) -> None:
        spec = self.spec
        if meta.table_name != spec.name:
            self.add(
                "MMT-XPT-001", f"dataset name in the file is {meta.table_name!r}, not {spec.name}"
            )
        if list(meta.column_names) != list(spec.names):
            self.add(
                "MMT-DEF-002",
                f"variables {list(meta.column_names)} differ from the spec {list(spec.names)}",
            )
        if len(meta.file_label or "") > 40:
            self.add("MMT-XPT-003", f"dataset label of {len(meta.file_label)} characters")
        types = meta.variable_types
        for var, label in zip(meta.column_names, meta.column_labels, strict=False):
            if not _NAME.match(var):
                self.add("MMT-XPT-002", f"variable name {var!r} is not a SAS V5 name", variable=var)
            if label is not None and len(label) > 40:
                self.add("MMT-XPT-003", f"label of {len(label)} characters", variable=var)
            width = meta.variable_storage_width.get(var, 0)
            if types.get(var) == "string" and width > MAX_TEXT_BYTES:
                self.add(
                    "MMT-XPT-004", f"character length {width} > {MAX_TEXT_BYTES}", variable=var
                )
            var_spec = next((v for v in spec.variables if v.name == var), None)
            if var_spec is not None and (types.get(var) == "double") != var_spec.numeric:
                self.add(
                    "MMT-XPT-005",
                    f"stored as {types.get(var)}, spec type {var_spec.type}",
                    variable=var,
                )
        for var in spec.variables:
            if var.name not in meta.column_names and var.core in ("Req", "Exp"):
                rule = "MMT-SD-001" if var.core == "Req" else "MMT-SD-003"
                self.add(rule, f"{var.core} variable missing", variable=var.name)

    def rows(self, frame) -> None:
        """Check one chunk read back, column by column (unique values for the coded checks)."""
        spec, name = self.spec, self.spec.name
        count = len(frame)
        self.records += count
        usubjids = frame["USUBJID"].tolist() if "USUBJID" in frame.columns else [""] * count
        for var in spec.variables:
            if var.name not in frame.columns:
                continue
            column = frame[var.name]
            if var.numeric:
                missing = column.isna().to_numpy()
                uniques = None
            else:
                missing = (column.isna() | column.eq("")).to_numpy()
                uniques = set(column.unique().tolist()) - {"", None}
            if var.core == "Req" and missing.any():
                self.empty_required[var.name] += [usubjids[i] for i in np.flatnonzero(missing)]
            if uniques is None:
                continue
            for value in uniques:
                if not isinstance(value, str):
                    continue
                if not value.isascii():
                    self.add("MMT-TXT-001", "non-ASCII text in the file",
                             variable=var.name, usubjid=_first(usubjids, column, value))  # fmt: skip
                if var.type in ("date", "partialDate") and not _ISO_DATE.match(value):
                    self.add("MMT-SD-006", f"{value!r} is not an ISO 8601 date",
                             variable=var.name, usubjid=_first(usubjids, column, value))  # fmt: skip
                allowed = self.allowed.get(var.name)
                if allowed is None:
                    continue
                terms, extensible = allowed
                if value not in terms:
                    rule = "MMT-SD-008" if extensible else "MMT-SD-007"
                    self.once(rule, var.name, value, f"{value!r} is not a term of {var.codelist}")
                elif value in self.extended.get(var.name, ()):
                    self.once("MMT-SD-008", var.name, value,
                              f"{value!r} is a sponsor extension of codelist {var.codelist}: "
                              "map it to the CT term before submission")  # fmt: skip
        if self.package == "sdtm":
            for study in set(frame["STUDYID"]) - {self.ctx.studyid}:
                self.add("MMT-SD-010", f"STUDYID {study!r}", variable="STUDYID")
            column = "RDOMAIN" if spec.parent else "DOMAIN"
            if column in frame.columns:
                for domain in set(frame[column]) - {spec.parent or name}:
                    self.add(
                        "MMT-SD-010",
                        f"{column} {domain!r} is not {spec.parent or name}",
                        variable=column,
                    )
        seq = f"{name[:2]}SEQ"
        if self.package == "sdtm" and seq in frame.columns and "USUBJID" in frame.columns:
            for key in zip(usubjids, frame[seq].tolist(), strict=True):
                if key in self.seen_seq:
                    self.add("MMT-SD-004", f"{seq} {key[1]} repeats", variable=seq, usubjid=key[0])
                self.seen_seq.add(key)
        keys = UNIQUE_KEYS.get(name)
        if keys:
            for key in zip(*(frame[k].tolist() for k in keys), strict=True):
                if key in self.seen_keys:
                    self.add(
                        "MMT-SD-009",
                        f"more than one record for {dict(zip(keys, key, strict=True))}",
                    )
                self.seen_keys.add(key)
        if self.subjects is not None and "USUBJID" in frame.columns:
            for usubjid in set(usubjids) - self.subjects - {""}:
                self.once(
                    "MMT-SD-005",
                    "USUBJID",
                    usubjid,
                    f"USUBJID {usubjid} is not in DM",
                    usubjid=usubjid,
                )

    def expected_empty(self) -> None:
        for name, where in self.empty_required.items():
            why = self.spec.variable(name).comment or ""
            first = ", ".join(w for w in where[:3] if w)
            self.add("MMT-SD-002", f"required variable is empty on {len(where)} of {self.records} records"
                     f" (first: {first}){': ' + why if why else ''}", variable=name)  # fmt: skip
        for var in self.spec.variables:
            if var.core == "Exp" and not self.facts.variables[var.name].populated:
                why = var.comment or "no record has a value"
                self.add(
                    "MMT-SD-011",
                    f"expected variable has no value on any record: {why}",
                    variable=var.name,
                )


def _first(usubjids: list[str], column, value: str) -> str:
    """The USUBJID of the first record of the chunk whose `column` holds `value`."""
    return usubjids[int(np.flatnonzero(column.to_numpy() == value)[0])]


def _read(path: Path, check: _DatasetCheck) -> None:
    from mmtrial.cdisc.xpt_read import read_xpt

    meta, frames = read_xpt(path, chunksize=READ_CHUNK, expected=check.facts.records)
    check.metadata(meta)
    for frame in frames:
        check.rows(frame)


def read_define_variables(path: Path) -> dict[str, list[str]]:
    """Dataset name -> variable names in define.xml (ItemGroupDef ItemRefs -> ItemDef Name)."""
    root = ET.parse(path).getroot()
    names = {item.get("OID"): item.get("Name") for item in root.iter(f"{_ODM}ItemDef")}
    return {
        group.get("Name"): [
            names.get(ref.get("ItemOID")) for ref in group.findall(f"{_ODM}ItemRef")
        ]
        for group in root.iter(f"{_ODM}ItemGroupDef")
    }


def _check_define(
    directory: Path, *, package: str, facts: dict[str, DatasetFacts], findings: Findings
) -> None:
    from odmlib.odm_parser import ODMSchemaValidator

    path = directory / DEFINE_FILE
    standard, version = ("arm", "1.0-define2.1") if package == "adam" else ("define", "2.1")
    try:
        ODMSchemaValidator(standard=standard, version=version).validate_file(str(path))
    except Exception as exc:  # xmlschema's and odmlib's validation errors: one line for the report
        findings.add("MMT-DEF-001", " ".join(str(exc).split())[:500], dataset="define.xml")
    in_define = read_define_variables(path)
    for name, dataset in facts.items():
        if name not in in_define:
            findings.add(
                "MMT-DEF-002", f"{dataset.spec.file_name} is not in define.xml", dataset=name
            )
        elif in_define[name] != list(dataset.spec.names):
            findings.add(
                "MMT-DEF-002",
                f"define.xml lists {in_define[name]}, the file {list(dataset.spec.names)}",
                dataset=name,
            )
    for name in in_define:
        if name not in facts:
            findings.add(
                "MMT-DEF-002", f"define.xml lists {name}, which has no XPT file", dataset=name
            )


def _unverified_codes(
    ctx: StudyContext, facts: dict[str, DatasetFacts], findings: Findings
) -> None:
    """One note per codelist whose used terms carry C-codes not machine-verified (MMT-CT-001)."""
    recalled: dict[str, set[str]] = defaultdict(set)
    where: dict[str, list[str]] = defaultdict(list)
    for dataset in facts.values():
        for var in dataset.spec.variables:
            codelist = ctx.ct.codelists.get(var.codelist or "")
            if codelist is None:
                continue
            used = dataset.variables[var.name].values
            terms = {
                t.value for t in codelist.terms if t.value in used and t.ncit and not t.verified
            }
            if terms:
                recalled[codelist.key] |= terms
                where[codelist.key].append(f"{dataset.spec.name}.{var.name}")
    for key in sorted(recalled):
        findings.add(
            "MMT-CT-001",
            f"codelist {key} ({ctx.ct.codelists[key].ncit}): C-codes of "
            f"{', '.join(sorted(recalled[key]))} written as recalled from the CT package "
            f"(used in {', '.join(where[key])})",
        )


def check_package(
    directory: Path,
    *,
    package: str,
    facts: dict[str, DatasetFacts],
    ctx: StudyContext,
    findings: Findings,
) -> None:
    """Check the package written in `directory`; findings are added to `findings`."""
    subjects: set[str] | None = None
    subject_dataset = "DM" if package == "sdtm" else "ADSL"
    order = sorted(facts, key=lambda n: n != subject_dataset)
    for name in order:
        dataset = facts[name]
        path = directory / dataset.spec.file_name
        if path.name != f"{name.lower()}.xpt" or not path.is_file():
            findings.add("MMT-XPT-001", f"{path.name} is not the file of {name}", dataset=name)
            continue
        check = _DatasetCheck(dataset, package=package, ctx=ctx, findings=findings,
                              subjects=None if name == subject_dataset else subjects)  # fmt: skip
        try:
            _read(path, check)
        except Exception as exc:  # the reader's errors for a damaged file
            findings.add(
                "MMT-XPT-005", f"cannot be read back: {type(exc).__name__}: {exc}", dataset=name
            )
            continue
        if check.records != dataset.records:
            findings.add(
                "MMT-XPT-005",
                f"{check.records} records read back, {dataset.records} written",
                dataset=name,
            )
        check.expected_empty()
        if name == subject_dataset:
            subjects = {key[0] for key in check.seen_keys}
    _check_define(directory, package=package, facts=facts, findings=findings)
    _unverified_codes(ctx, facts, findings)


def rule_totals(findings: Findings) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for rule, n in findings.by_rule().items():
        totals[rule] += n
    return dict(totals)
