"""Lab-based adverse event terms suggested from a participant's recorded values.

Rule (NCI CTCAE v5.0; protocol file ``safety.lab_reference_limits``)
    Each recorded value of an analyte CTCAE grades (ANC, platelets, white cells, hemoglobin,
    creatinine, ALT, AST, total bilirubin) is graded by `ctcae.grade_lab` against the limits of
    normal in the protocol file. For each CTCAE term the worst grade found (grade >= 1) is
    suggested, with the first date it was seen and the graded value's reason. Values that cannot
    be graded (a limit missing, a unit not accepted) are skipped; a suggestion is a prompt to the
    investigator, never an adverse event by itself.

Source: NCI CTCAE v5.0 (terms Neutrophil count decreased, Platelet count decreased, White blood
cell decreased, Anemia, Creatinine increased, Alanine aminotransferase increased, Aspartate
aminotransferase increased, Blood bilirubin increased).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from mmtrial.clinical import ctcae
from mmtrial.clinical.toxicity_terms import ctcae_term
from mmtrial.protocol.models import Protocol

__all__ = ["ANALYTE_TERMS", "AeSuggestion", "LabValue", "ae_suggestions"]

# Stored analyte code -> the CTCAE v5.0 term its abnormal values are graded under.
ANALYTE_TERMS = {
    "anc": "neutrophil_count_decreased",
    "platelets": "platelet_count_decreased",
    "wbc": "white_blood_cell_decreased",
    "hemoglobin": "anemia",
    "creatinine": "creatinine_increased",
    "alt": "alanine_aminotransferase_increased",
    "ast": "aspartate_aminotransferase_increased",
    "total_bilirubin": "blood_bilirubin_increased",
}


@dataclass(frozen=True)
class LabValue:
    analyte: str
    value: Decimal | float | int
    unit: str
    collected_on: dt.date


@dataclass(frozen=True)
class AeSuggestion:
    term_key: str  # e.g. "platelet_count_decreased"
    term: str  # "Platelet count decreased"
    meddra_code: str
    grade: int
    grade_text: str
    first_seen: dt.date
    reason: str
    source: str


def ae_suggestions(*, values: list[LabValue], protocol: Protocol) -> list[AeSuggestion]:
    """The worst CTCAE grade per lab-based term among `values` (rule in the module docstring),
    worst grade first, then by term."""
    limits = protocol.safety.lab_reference_limits if protocol.safety is not None else {}
    worst: dict[str, AeSuggestion] = {}
    for item in sorted(values, key=lambda v: v.collected_on):
        key = ANALYTE_TERMS.get(item.analyte)
        if key is None:
            continue
        ref = limits.get(item.analyte)
        if ref is not None and ref.unit != item.unit:
            ref = None
        try:
            graded = ctcae.grade_lab(
                term=key,
                value=item.value,
                unit=item.unit,
                protocol=protocol,
                lln=ref.lln if ref is not None else None,
                uln=ref.uln if ref is not None else None,
            )
        except ctcae.CtcaeInputError:
            continue
        if graded.grade < 1:
            continue
        known = worst.get(key)
        if known is not None and known.grade >= graded.grade:
            continue
        term = ctcae_term(key)
        worst[key] = AeSuggestion(
            term_key=key,
            term=graded.term,
            meddra_code=term.meddra_code if term is not None else "",
            grade=graded.grade,
            grade_text=graded.grade_text or "",
            first_seen=item.collected_on,
            reason=f"{item.collected_on.isoformat()}: {graded.reason}",
            source=graded.source,
        )
    return sorted(worst.values(), key=lambda s: (-s.grade, s.term))
