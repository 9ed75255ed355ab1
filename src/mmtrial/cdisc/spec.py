"""Dataset metadata of a package (`data/sdtm_spec.yaml`, `data/adam_spec.yaml`) as objects.

One spec drives three things, so they cannot disagree: the XPT writer (variable order, labels,
types), define.xml (datasets, variables, origins, methods, codelists) and the conformance check
(required and expected variables, codelists).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from mmtrial.cdisc.ct import SAFE_LOADER

__all__ = [
    "DatasetSpec",
    "MethodSpec",
    "PackageSpec",
    "QualifierSpec",
    "VariableSpec",
    "package_spec",
]

NUMERIC_TYPES = frozenset({"integer", "float"})


@dataclass(frozen=True)
class VariableSpec:
    name: str
    label: str
    type: str
    core: str
    origin: str
    source: str | None = None
    codelist: str | None = None
    method: str | None = None
    comment: str | None = None
    vlm: bool = False
    display_format: str | None = None
    sas_date: bool = False  # ADaM numeric date: written as SAS days since 1960-01-01
    #: value-level methods: key value (e.g. PARAMCD) -> method id
    vlm_methods: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def numeric(self) -> bool:
        return self.type in NUMERIC_TYPES


@dataclass(frozen=True)
class MethodSpec:
    oid: str
    name: str
    description: str
    source: str
    type: str = "Computation"


@dataclass(frozen=True)
class QualifierSpec:
    qnam: str
    label: str
    origin: str
    method: str | None = None
    codelist: str | None = None
    per_drug: bool = False


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    label: str
    class_: str
    structure: str
    keys: tuple[str, ...]
    variables: tuple[VariableSpec, ...]
    vlm_by: tuple[str, ...] = ()
    subclass: str | None = None
    comment: str | None = None
    qualifiers: tuple[QualifierSpec, ...] = ()
    parent: str | None = None  # SUPPxx: the parent domain

    @property
    def file_name(self) -> str:
        return f"{self.name.lower()}.xpt"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    def variable(self, name: str) -> VariableSpec:
        for var in self.variables:
            if var.name == name:
                return var
        raise KeyError(f"{self.name} has no variable {name}")


@dataclass(frozen=True)
class PackageSpec:
    package: str  # "sdtm" or "adam"
    standard: dict[str, str]
    datasets: dict[str, DatasetSpec]
    methods: dict[str, MethodSpec]
    codelists: dict[str, dict[str, Any]]
    supplemental: DatasetSpec | None = None
    supplemental_qualifiers: dict[str, tuple[QualifierSpec, ...]] = field(default_factory=dict)

    def dataset(self, name: str) -> DatasetSpec:
        if name in self.datasets:
            return self.datasets[name]
        if name.startswith("SUPP") and self.supplemental is not None:
            return self.supp(name.removeprefix("SUPP"))
        raise KeyError(f"no dataset {name} in the {self.package} spec")

    def supp(self, parent: str) -> DatasetSpec:
        """SUPP<parent>: the supplemental-qualifier dataset of a parent domain."""
        base = self.supplemental
        if base is None:
            raise KeyError(f"the {self.package} spec has no supplemental qualifiers")
        return DatasetSpec(
            name=f"SUPP{parent}",
            label=base.label.format(domain=parent),
            class_=base.class_,
            structure=base.structure,
            keys=base.keys,
            variables=base.variables,
            vlm_by=("QNAM",),
            qualifiers=self.supplemental_qualifiers.get(parent, ()),
            parent=parent,
        )


def _variable(raw: dict[str, Any]) -> VariableSpec:
    return VariableSpec(
        name=raw["name"],
        label=raw["label"],
        type=raw["type"],
        core=raw["core"],
        origin=raw["origin"],
        source=raw.get("source"),
        codelist=raw.get("codelist"),
        method=raw.get("method"),
        comment=raw.get("comment"),
        vlm=bool(raw.get("vlm", False)),
        display_format=raw.get("display_format"),
        sas_date=bool(raw.get("sas_date", False)),
        vlm_methods=dict(raw.get("vlm_methods") or {}),
    )


def _dataset(name: str, raw: dict[str, Any]) -> DatasetSpec:
    return DatasetSpec(
        name=name,
        label=raw["label"],
        class_=raw["class"],
        structure=raw["structure"],
        keys=tuple(raw["keys"]),
        variables=tuple(_variable(v) for v in raw["variables"]),
        vlm_by=tuple(raw.get("vlm", ())),
        subclass=raw.get("subclass"),
        comment=raw.get("comment"),
    )


def _qualifier(raw: dict[str, Any]) -> QualifierSpec:
    return QualifierSpec(
        qnam=raw["qnam"],
        label=raw["label"],
        origin=raw["origin"],
        method=raw.get("method"),
        codelist=raw.get("codelist"),
        per_drug=bool(raw.get("per_drug", False)),
    )


@functools.cache
def package_spec(package: str) -> PackageSpec:
    """The spec of the "sdtm" or "adam" package, read once."""
    text = resources.files("mmtrial.cdisc").joinpath("data", f"{package}_spec.yaml")
    raw = yaml.load(text.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    methods = {
        oid: MethodSpec(
            oid=oid,
            name=m["name"],
            description=" ".join(str(m["description"]).split()),
            source=str(m["source"]),
            type=m.get("type", "Computation"),
        )
        for oid, m in raw.get("methods", {}).items()
    }
    supplemental = None
    qualifiers: dict[str, tuple[QualifierSpec, ...]] = {}
    if "supplemental" in raw:
        supp = raw["supplemental"]
        supplemental = _dataset("SUPP--", supp)
        qualifiers = {
            parent: tuple(_qualifier(q) for q in items)
            for parent, items in supp.get("qualifiers", {}).items()
        }
    return PackageSpec(
        package=raw["package"],
        standard=raw["standard"],
        datasets={name: _dataset(name, d) for name, d in raw["datasets"].items()},
        methods=methods,
        codelists=raw.get("codelists", {}),
        supplemental=supplemental,
        supplemental_qualifiers=qualifiers,
    )
