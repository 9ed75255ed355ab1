"""Placing a toxicity term: which CTCAE v5.0 term it is, and what the dose rules make of it.

Rule (protocol file ``dose_modification.toxicity_terms`` / ``cytopenias``; NCI CTCAE v5.0)
    A term is written as CTCAE writes it or in lower case with underscores
    ("Peripheral sensory neuropathy", "peripheral_sensory_neuropathy"). It is placed as
    - a toxicity a rule names (``rash``, ``peripheral_neuropathy``) or one of the CTCAE terms the
      protocol lists under it (``rash_maculo_papular`` -> ``rash``);
    - a cytopenia the platelet/ANC rows read (``platelet_count_decreased``, or an alias such as
      ``thrombocytopenia``), with its count variable;
    - any other CTCAE v5.0 term (an "other" toxicity);
    and anything else is refused: a dose engine must never drop an event it cannot place.
    A grade must be one CTCAE v5.0 defines for the term (platelet count decreased has no grade 5).

Source: NCI CTCAE v5.0, 2017-11-27 (``ctcae_v5_terms.json``: 837 terms, their MedDRA codes, SOC
and grade definitions); NINLARO USPI section 2.4 table 2 for the toxicities the rows name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources

from mmtrial.clinical import ctcae
from mmtrial.errors import InputError
from mmtrial.protocol.models import LabCondition, Protocol

__all__ = [
    "CtcaeTerm",
    "PlacedTerm",
    "ctcae_term",
    "ctcae_terms",
    "grade_bounds",
    "grade_choices",
    "grade_implies",
    "normalize",
    "place_term",
]

TERMS_FILE = "ctcae_v5_terms.json"


@dataclass(frozen=True)
class CtcaeTerm:
    key: str
    term: str
    soc: str
    meddra_code: str
    grades: dict[int, str]
    definition: str | None


@cache
def ctcae_terms() -> dict[str, CtcaeTerm]:
    """Every CTCAE v5.0 term, by key (lower case, underscores)."""
    data = json.loads(resources.files(__package__).joinpath(TERMS_FILE).read_text("utf-8"))
    return {
        key: CtcaeTerm(
            key=key,
            term=raw["term"],
            soc=raw["soc"],
            meddra_code=raw["meddra_code"],
            grades={int(g): text for g, text in raw["grades"].items()},
            definition=raw["definition"],
        )
        for key, raw in data["terms"].items()
    }


def ctcae_term(key: str) -> CtcaeTerm | None:
    return ctcae_terms().get(key)


def normalize(term: str) -> str:
    """'Rash maculo-papular' -> 'rash_maculo_papular' (the key the files use)."""
    return re.sub(r"[^a-z0-9]+", "_", term.strip().lower()).strip("_")


@dataclass(frozen=True)
class PlacedTerm:
    """What the dose rules make of a term."""

    toxicity: str  # the name the rules compare: "rash", "platelet_count_decreased", "nausea"
    ctcae: CtcaeTerm | None  # None for a protocol name ("rash") without a CTCAE term
    cytopenia: str | None  # the count variable of a cytopenia, e.g. "platelets_per_mm3"

    @property
    def label(self) -> str:
        return self.ctcae.term if self.ctcae is not None else self.toxicity.replace("_", " ")


def place_term(term: str, *, protocol: Protocol, field: str = "term") -> PlacedTerm:
    """Place `term` (module docstring) or raise InputError naming `field`."""
    key = normalize(term)
    mod = protocol.dose_modification
    for variable, cyto in mod.cytopenias.items():
        if key == cyto.ctcae_term or key in (normalize(a) for a in cyto.aliases):
            return PlacedTerm(cyto.ctcae_term, ctcae_term(cyto.ctcae_term), variable)
    for toxicity, members in mod.toxicity_terms.items():
        if key == toxicity:
            return PlacedTerm(toxicity, None, None)
        if key in members:
            return PlacedTerm(toxicity, ctcae_term(key), None)
    named = {t.toxicity for r in mod.rules for t in r.any_of if t.toxicity is not None}
    if key in named:
        return PlacedTerm(key, ctcae_term(key), None)
    found = ctcae_term(key)
    if found is None:
        problem = (
            f"{term!r} is not a CTCAE v5.0 term nor a toxicity the protocol's rules name "
            f"({', '.join(sorted(named))}); give the CTCAE v5.0 term"
        )
        raise InputError(f"{field}: {problem}", {"field": field, "problem": problem})
    return PlacedTerm(key, found, None)


def check_grade(placed: PlacedTerm, grade: int, *, field: str) -> None:
    """A grade CTCAE v5.0 defines for the term, or InputError naming `field`."""
    if placed.ctcae is None or grade in placed.ctcae.grades:
        return
    defined = ", ".join(str(g) for g in sorted(placed.ctcae.grades))
    problem = f"CTCAE v5.0 defines no grade {grade} for {placed.ctcae.term} (its grades: {defined})"
    raise InputError(f"{field}: {problem}", {"field": field, "problem": problem})


def grade_bounds(term: str, grade: int) -> tuple[Decimal, Decimal | None] | None:
    """The count interval [lower, upper) a CTCAE grade of a decreased-count term stands for.

    From the absolute thresholds of ``ctcae_v5_labs.yaml``: platelet count decreased grade 3 is
    [25,000, 50,000)/mm3, grade 4 [0, 25,000). Grade 1 ends at the LLN (upper None). None when
    the term is not a count graded on absolute thresholds.
    """
    rows = ctcae.absolute_thresholds(term)
    if rows is None or grade not in rows:
        return None
    upper = rows[grade]
    lower = rows.get(grade + 1, Decimal(0))
    return lower, upper


def grade_implies(term: str, grade: int, condition: LabCondition) -> bool | None:
    """Whether every count of that grade meets `condition` (True), none does (False), or some
    do and some do not (None: the count is needed). Example: platelets grade 4 (< 25,000) meets
    "< 30,000"; grade 3 (25,000-<50,000) is None; neutrophils grade 3 (500-<1,000) fails "< 500".
    """
    bounds = grade_bounds(term, grade)
    if bounds is None:
        return None
    lower, upper = bounds
    threshold = condition.threshold
    if condition.operator in ("<", "<="):
        if upper is not None and upper <= threshold:
            return True
        below = lower >= threshold if condition.operator == "<" else lower > threshold
        return False if below else None
    return None


def grade_choices(key: str) -> list[tuple[int, str]]:
    """The grades CTCAE v5.0 defines for a term, with their definitions, lowest first.

    Platelet count decreased: grades 1-4 (no grade 5); Anemia: 1-5; Nausea: 1-3. Empty for a
    key that is not a CTCAE v5.0 term.
    """
    term = ctcae_term(key)
    if term is None:
        return []
    return sorted(term.grades.items())
