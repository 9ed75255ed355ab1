"""define.xml (Define-XML 2.1, with ARM 1.0 for the ADaM package), built with odmlib.

Everything comes from three places, so define.xml cannot drift from the files: the package spec
(datasets, variables, origins, methods, comments, sponsor codelists), the facts of the XPT files
just written (which datasets exist, lengths, the terms used, the value-level subsets present)
and the controlled terminology file (codelists with NCI codes and the CT package dates).

Value-level metadata: a variable marked `vlm` gets a def:ValueListDef with one item per
combination of the dataset's `vlm` key values found in the data (LB by LBTESTCD and LBSPEC, RS by
RSTESTCD, DS by DSCAT, SUPPQUAL QVAL by QNAM), each with its own where clause, length, origin
and codelist.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import odmlib.arm_1_0.model as DEF

from mmtrial.cdisc.ct import Codelist
from mmtrial.cdisc.sdtm.ie_mh import criterion_codes
from mmtrial.cdisc.sdtm.subjects import StudyContext
from mmtrial.cdisc.sdtm.supp import qualifier_labels
from mmtrial.cdisc.spec import DatasetSpec, PackageSpec, VariableSpec, package_spec
from mmtrial.cdisc.xpt import DatasetFacts

__all__ = ["DEFINE_VERSION", "oid_part", "write_define"]

DEFINE_VERSION = "2.1.7"
NUMERIC_LENGTH = 8
_PURPOSE = {"sdtm": "Tabulation", "adam": "Analysis"}
_IG_NAME = {"sdtm": "SDTMIG", "adam": "ADaMIG"}
#: (dataset, variable, key value) -> the codelist of that value-level subset
VLM_CODELISTS = {("DS", "DSDECOD", "PROTOCOL MILESTONE"): "PROTMLST"}


def oid_part(value: str) -> str:
    """A value as a piece of an OID (letters, digits, . and _ only)."""
    return re.sub(r"[^A-Za-z0-9_]+", "_", value).strip("_") or "BLANK"


def _text(value: str) -> DEF.TranslatedText:
    return DEF.TranslatedText(_content=value, lang="en")


def _description(value: str) -> DEF.Description:
    return DEF.Description(TranslatedText=[_text(value)])


class _Builder:
    def __init__(self, *, package: str, facts: dict[str, DatasetFacts], ctx: StudyContext):
        self.package = package
        self.spec: PackageSpec = package_spec(package)
        self.facts = facts
        self.ctx = ctx
        self.ct = ctx.ct
        self.codelists_used: dict[str, set[str]] = {}
        self.methods_used: set[str] = set()
        self.comments: dict[str, str] = {}
        self.mdv = DEF.MetaDataVersion(
            OID=f"MDV.{oid_part(ctx.studyid)}.{package.upper()}",
            Name=f"{ctx.studyid} {package.upper()} package",
            DefineVersion=DEFINE_VERSION,
        )
        self.where_clauses: dict[str, DEF.WhereClauseDef] = {}

    # -- standards -----------------------------------------------------------------------------

    def standards(self) -> None:
        std = self.spec.standard
        items = [
            DEF.Standard(OID="STD.IG", Name=_IG_NAME[self.package], Type="IG",
                         Version=std["version"], Status="Final"),
        ]  # fmt: skip
        for key, pkg in self.ct.packages.items():
            items.append(
                DEF.Standard(OID=f"STD.CT.{key.upper()}", Name="CDISC/NCI", Type="CT",
                             PublishingSet=pkg["publishing_set"], Version=str(pkg["date"]),
                             Status="Final")
            )  # fmt: skip
        self.mdv.Standards = DEF.Standards(Standard=items)

    # -- codelists -----------------------------------------------------------------------------

    def use_codelist(self, key: str, values: set[str]) -> str:
        self.codelists_used.setdefault(key, set()).update(values)
        return f"CL.{oid_part(key)}"

    def sponsor_terms(self, key: str) -> list[tuple[str, str]]:
        if key == "ARMCD":
            return list(self.ctx.arms)
        if key == "IETESTCD":
            texts = {c.id: " ".join(c.text.split()) for c in self.ctx.protocol.eligibility}
            return [(code, texts[cid]) for cid, code in criterion_codes(self.ctx.protocol).items()]
        raw = self.spec.codelists.get(key) or {}
        return [(str(t["value"]), str(t.get("decode") or t["value"])) for t in raw.get("terms", [])]

    def codelist_elements(self) -> None:
        for key in sorted(self.codelists_used):
            used = self.codelists_used[key]
            oid = f"CL.{oid_part(key)}"
            if key in self.ct.codelists:
                self.mdv.CodeList.append(self._ct_codelist(oid, self.ct.codelists[key], used))
            elif key in self.ct.external:
                ext = self.ct.external[key]
                cl = DEF.CodeList(OID=oid, Name=ext["name"], DataType="text")
                cl.ExternalCodeList = DEF.ExternalCodeList(
                    Dictionary=ext["dictionary"], Version=str(ext["version"])
                )
                self.mdv.CodeList.append(cl)
            else:
                terms = self.sponsor_terms(key)
                name = (self.spec.codelists.get(key) or {}).get("name", key)
                cl = DEF.CodeList(OID=oid, Name=name, DataType="text")
                for order, (value, decode) in enumerate(terms, start=1):
                    item = DEF.CodeListItem(CodedValue=value, OrderNumber=order)
                    item.Decode = DEF.Decode(TranslatedText=[_text(decode)])
                    cl.CodeListItem.append(item)
                self.mdv.CodeList.append(cl)

    def _ct_codelist(self, oid: str, codelist: Codelist, used: set[str]) -> DEF.CodeList:
        cl = DEF.CodeList(
            OID=oid,
            Name=codelist.name,
            DataType="text",
            StandardOID=f"STD.CT.{codelist.package.upper()}",
        )
        terms = [t for t in codelist.terms if t.value in used] or list(codelist.terms)
        for order, term in enumerate(terms, start=1):
            item = DEF.CodeListItem(CodedValue=term.value, OrderNumber=order)
            if term.extended:
                item.ExtendedValue = "Yes"
            item.Decode = DEF.Decode(TranslatedText=[_text(term.decode)])
            if term.ncit and not term.extended:
                item.Alias = [DEF.Alias(Context="nci:ExtCodeID", Name=term.ncit)]
            cl.CodeListItem.append(item)
        if codelist.ncit:
            cl.Alias = [DEF.Alias(Context="nci:ExtCodeID", Name=codelist.ncit)]
        return cl

    # -- items ---------------------------------------------------------------------------------

    def data_type(self, var: VariableSpec, facts: DatasetFacts) -> str:
        if var.type in ("date", "partialDate"):
            return "partialDate" if facts.variables[var.name].partial_dates else "date"
        return var.type

    def item_def(
        self,
        oid: str,
        var: VariableSpec,
        *,
        data_type: str,
        length: int | None,
        description: str,
        codelist: str | None,
        values: set[str],
        origin: str,
        source: str | None,
        comment: str | None,
    ) -> DEF.ItemDef:
        item = DEF.ItemDef(OID=oid, Name=var.name, DataType=data_type, SASFieldName=var.name)
        if data_type in ("text", "integer", "float"):
            item.Length = length if data_type == "text" else NUMERIC_LENGTH
        if var.display_format:
            item.DisplayFormat = var.display_format
        item.Description = _description(description)
        if codelist:
            item.CodeListRef = DEF.CodeListRef(CodeListOID=self.use_codelist(codelist, values))
        item_origin = DEF.Origin(Type=origin)
        if source and origin in ("Collected", "Assigned", "Protocol"):
            item_origin.Source = source
        if origin == "Predecessor" and comment:
            item_origin.Description = _description(comment)
            comment = None
        item.Origin = [item_origin]
        if comment:
            comment_oid = f"COM.{oid.removeprefix('IT.')}"
            self.comments[comment_oid] = comment
            item.CommentOID = comment_oid
        return item

    def dataset(self, name: str, facts: DatasetFacts) -> None:
        spec = facts.spec
        group = DEF.ItemGroupDef(
            OID=f"IG.{name}",
            Name=name,
            Repeating="No" if name in ("DM", "ADSL") else "Yes",
            IsReferenceData="Yes" if spec.class_ == "TRIAL DESIGN" else "No",
            SASDatasetName=name,
            Purpose=_PURPOSE[self.package],
            Structure=spec.structure,
            StandardOID="STD.IG",
            ArchiveLocationID=f"LF.{name}",
        )
        if self.package == "sdtm":
            group.Domain = spec.parent or name
        group.Description = _description(spec.label)
        for order, var in enumerate(spec.variables, start=1):
            ref = DEF.ItemRef(
                ItemOID=f"IT.{name}.{var.name}",
                OrderNumber=order,
                Mandatory="Yes" if var.core == "Req" else "No",
            )
            if var.name in spec.keys:
                ref.KeySequence = spec.keys.index(var.name) + 1
            if var.method and var.origin == "Derived":
                ref.MethodOID = var.method
                self.methods_used.add(var.method)
            group.ItemRef.append(ref)
            self.mdv.ItemDef.append(self.variable(name, spec, facts, var))
        if spec.comment:
            self.comments[f"COM.{name}"] = spec.comment
            group.CommentOID = f"COM.{name}"
        group.Class = DEF.Class(Name=spec.class_)
        if spec.subclass:
            group.Class.SubClass = [DEF.SubClass(Name=spec.subclass)]
        group.leaf = DEF.leaf(
            ID=f"LF.{name}", href=spec.file_name, title=DEF.title(_content=spec.file_name)
        )
        self.mdv.ItemGroupDef.append(group)

    def variable(self, name: str, spec: DatasetSpec, facts: DatasetFacts, var: VariableSpec):
        item = self.item_def(
            f"IT.{name}.{var.name}",
            var,
            data_type=self.data_type(var, facts),
            length=facts.length(var.name),
            description=var.label,
            codelist=var.codelist,
            values=facts.variables[var.name].values,
            origin=var.origin,
            source=var.source,
            comment=var.comment,
        )
        if var.vlm and spec.vlm_by and facts.vlm:
            item.ValueListRef = DEF.ValueListRef(ValueListOID=f"VL.{name}.{var.name}")
            self.value_list(name, spec, facts, var)
        return item

    # -- value-level metadata ------------------------------------------------------------------

    def where_clause(self, name: str, keys: tuple[str, ...], values: tuple[str, ...]) -> str:
        oid = "WC." + ".".join([name, *(oid_part(v) for v in values)])
        if oid not in self.where_clauses:
            checks = [
                DEF.RangeCheck(Comparator="EQ", SoftHard="Soft", ItemOID=f"IT.{name}.{key}",
                               CheckValue=[DEF.CheckValue(_content=value)])
                for key, value in zip(keys, values, strict=True)
            ]  # fmt: skip
            self.where_clauses[oid] = DEF.WhereClauseDef(OID=oid, RangeCheck=checks)
        return oid

    def value_list(self, name: str, spec: DatasetSpec, facts: DatasetFacts, var: VariableSpec):
        value_list = DEF.ValueListDef(OID=f"VL.{name}.{var.name}")
        qualifiers = {q.qnam: q for q in spec.qualifiers} if spec.parent else {}
        labels = qualifier_labels(self.ctx, spec.parent) if spec.parent else {}
        for order, combo in enumerate(sorted(facts.vlm), start=1):
            sub = facts.vlm[combo][var.name]
            if not sub.populated:
                continue
            oid = "IT." + ".".join([name, var.name, *(oid_part(v) for v in combo)])
            ref = DEF.ItemRef(ItemOID=oid, OrderNumber=order, Mandatory="No")
            ref.WhereClauseRef = [
                DEF.WhereClauseRef(WhereClauseOID=self.where_clause(name, spec.vlm_by, combo))
            ]
            origin, source, codelist = var.origin, var.source, var.codelist
            description = f"{var.label} where " + ", ".join(
                f"{k} = {v}" for k, v in zip(spec.vlm_by, combo, strict=True)
            )
            codelist = VLM_CODELISTS.get((name, var.name, combo[0]), codelist)
            if spec.parent:  # SUPPQUAL QVAL by QNAM
                qualifier = qualifiers.get(combo[0]) or qualifiers.get(_drug_pattern(combo[0]))
                description = labels.get(combo[0], description)
                if qualifier is not None:
                    origin, codelist = qualifier.origin, qualifier.codelist
                    source = "Investigator" if origin == "Collected" else "Sponsor"
                    if qualifier.method:
                        ref.MethodOID = qualifier.method
                        self.methods_used.add(qualifier.method)
            elif (var.vlm_methods.get(combo[0]) or var.method) and origin == "Derived":
                ref.MethodOID = var.vlm_methods.get(combo[0]) or var.method
                self.methods_used.add(ref.MethodOID)
            value_list.ItemRef.append(ref)
            self.mdv.ItemDef.append(
                self.item_def(oid, var, data_type="float" if var.numeric else "text",
                              length=max(sub.max_bytes, 1), description=description,
                              codelist=codelist, values=sub.values, origin=origin, source=source,
                              comment=None)
            )  # fmt: skip
        self.mdv.ValueListDef.append(value_list)

    # -- the document --------------------------------------------------------------------------

    def finish(self, extra: Any = None) -> DEF.ODM:
        self.codelist_elements()
        for oid in sorted(self.methods_used):
            method = self.spec.methods[oid]
            self.mdv.MethodDef.append(
                DEF.MethodDef(OID=oid, Name=method.name, Type=method.type,
                              Description=_description(f"{method.description} Source: {method.source}."))
            )  # fmt: skip
        self.mdv.WhereClauseDef = list(self.where_clauses.values())
        self.mdv.CommentDef = [
            DEF.CommentDef(OID=oid, Description=_description(text))
            for oid, text in sorted(self.comments.items())
        ]
        if extra is not None:
            self.mdv.AnalysisResultDisplays = extra
        ident = self.ctx.protocol.identification
        study = DEF.Study(
            OID=f"ST.{oid_part(self.ctx.studyid)}",
            GlobalVariables=DEF.GlobalVariables(
                StudyName=DEF.StudyName(_content=self.ctx.studyid),
                StudyDescription=DEF.StudyDescription(_content=" ".join(ident.title.split())),
                ProtocolName=DEF.ProtocolName(_content=self.ctx.studyid),
            ),
            MetaDataVersion=self.mdv,
        )
        import mmtrial

        return DEF.ODM(
            FileType="Snapshot",
            FileOID=f"DEF.{oid_part(self.ctx.studyid)}.{self.package.upper()}",
            CreationDateTime=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            ODMVersion="1.3.2",
            Originator="mmtrial",
            SourceSystem="mmtrial",
            SourceSystemVersion=mmtrial.__version__,
            Context="Submission",
            Study=study,
        )


def _drug_pattern(qnam: str) -> str:
    for prefix in ("AEREL", "AEACN"):
        if qnam.startswith(prefix):
            return prefix + "{drug}"
    return qnam


def write_define(
    path: Path, *, package: str, facts: dict[str, DatasetFacts], ctx: StudyContext
) -> None:
    """Write define.xml for the datasets in `facts` (in their order) to `path`."""
    builder = _Builder(package=package, facts=facts, ctx=ctx)
    builder.standards()
    for name, dataset in facts.items():
        builder.dataset(name, dataset)
    extra = None
    if package == "adam":
        from mmtrial.cdisc.adam.arm import analysis_results

        extra = analysis_results(builder)
    odm = builder.finish(extra)
    odm.write_xml(str(path))
