"""The IMWG 2016 thresholds, read once from `imwg_criteria.yaml` (data with sources).

Source: Kumar S, et al. International Myeloma Working Group consensus criteria for response and
minimal residual disease assessment in multiple myeloma. Lancet Oncol 2016;17:e328, Table 2.
The file is read when this module is imported, never at call time (the clinical core does no
I/O while deciding). Percentages in the file are exposed here as fractions (`25` -> `0.25`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml

CRITERIA_FILE = "imwg_criteria.yaml"


@dataclass(frozen=True, slots=True)
class Threshold:
    """One named threshold: its value (a fraction for percentages), unit and IMWG source."""

    name: str
    value: float
    unit: str
    source: str
    is_percent: bool

    @property
    def text(self) -> str:
        """The threshold as a person reads it: `25%`, `0.5 g/dL`, `10 percentage points`."""
        if self.is_percent:
            return f"{format_number(self.value * 100)}%"
        return f"{format_number(self.value)} {self.unit}".rstrip()


@dataclass(frozen=True, slots=True)
class ImwgCriteria:
    """Every IMWG threshold by name; the engine reads these attributes, nothing else."""

    criteria: str
    reference: str
    thresholds: MappingProxyType
    measurable_serum_m_protein_g_dl: float
    measurable_urine_m_protein_mg_24h: float
    measurable_involved_flc_mg_l: float
    measurable_bone_marrow_plasma_cells_pct: float
    flc_ratio_normal_low: float
    flc_ratio_normal_high: float
    pd_serum_increase_pct: float
    pd_serum_increase_g_dl: float
    pd_serum_high_nadir_g_dl: float
    pd_serum_increase_high_nadir_g_dl: float
    pd_urine_increase_pct: float
    pd_urine_increase_mg_24h: float
    pd_dflc_increase_pct: float
    pd_dflc_increase_mg_l: float
    pd_bone_marrow_increase_points: float
    pd_plasmacytoma_increase_pct: float
    cr_bone_marrow_plasma_cells_below_pct: float
    vgpr_serum_reduction_pct: float
    vgpr_urine_below_mg_24h: float
    vgpr_dflc_reduction_pct: float
    pr_serum_reduction_pct: float
    pr_urine_reduction_pct: float
    pr_urine_below_mg_24h: float
    pr_dflc_reduction_pct: float
    pr_bone_marrow_reduction_pct: float
    pr_plasmacytoma_reduction_pct: float
    mr_serum_reduction_pct: float
    mr_urine_reduction_pct: float
    mr_urine_below_mg_24h: float
    mr_plasmacytoma_reduction_pct: float

    def text(self, name: str) -> str:
        return self.thresholds[name].text

    def source(self, name: str) -> str:
        return self.thresholds[name].source


def format_number(value: float) -> str:
    """A number as a lab writes it: 2.4, 350, 0.14 (no binary noise, no trailing .0)."""
    rounded = round(float(value), 6)
    if rounded == int(rounded):
        return str(int(rounded))
    return repr(rounded)


def _threshold(name: str, entry: Any) -> Threshold:
    if not isinstance(entry, dict) or not isinstance(entry.get("source"), str):
        raise ValueError(f"{CRITERIA_FILE}: {name} needs a value and a source")
    if "percent" in entry:
        return Threshold(name, float(entry["percent"]) / 100, "%", entry["source"], True)
    return Threshold(
        name, float(entry["value"]), str(entry.get("unit", "")), entry["source"], False
    )


def parse_criteria(document: dict[str, Any]) -> ImwgCriteria:
    """Build the criteria from the YAML document; every field must be present, nothing else."""
    entries = document["thresholds"]
    names = {f.name for f in dataclasses.fields(ImwgCriteria)} - {
        "criteria",
        "reference",
        "thresholds",
    }
    missing, unknown = names - entries.keys(), entries.keys() - names
    if missing or unknown:
        raise ValueError(f"{CRITERIA_FILE}: missing {sorted(missing)}, unknown {sorted(unknown)}")
    table = {name: _threshold(name, entries[name]) for name in sorted(names)}
    return ImwgCriteria(
        criteria=document["criteria"],
        reference=document["reference"],
        thresholds=MappingProxyType(table),
        **{name: t.value for name, t in table.items()},
    )


def load_criteria() -> ImwgCriteria:
    text = resources.files(__package__).joinpath(CRITERIA_FILE).read_text(encoding="utf-8")
    return parse_criteria(yaml.safe_load(text))


CRITERIA = load_criteria()
