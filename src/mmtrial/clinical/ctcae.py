"""CTCAE v5.0 grades of laboratory values: neutrophils, platelets, white cells, hemoglobin
(anemia), creatinine, ALT, AST and bilirubin increased; hyperglycemia by intervention.

Rule: a value has the highest CTCAE grade one of whose conditions holds; grade 0 when none does.
Each condition is `value <operator> factor x reference`, the reference being an absolute
threshold in the term's table unit, the lower or upper limit of normal (LLN/ULN, inputs given
with the value, in the value's unit) or the participant's baseline. Thresholds and wording are
data (`ctcae_v5_labs.yaml`), read once when this module is imported.

Choices, documented:
- Counts are accepted per mm3 (= per uL) or in 10^9/L, converted at the boundary
  (1 x 10^9/L = 1000/mm3); hemoglobin in g/dL or g/L.
- Ratio-graded terms (creatinine, ALT, AST, bilirubin) compare the value with multiples of the
  ULN and baseline given in the same unit as the value.
- ALT, AST and bilirubin: v5.0 grades against the ULN when the baseline was normal and against
  the baseline when it was abnormal. A baseline above the ULN is abnormal; without a baseline
  the baseline is taken as normal (ULN grading).
- Creatinine: the baseline conditions (grades 2 and 3) apply when a baseline is given.
- Anemia: grades 4-5 are clinical; from hemoglobin alone the highest grade is 3.
- Hyperglycemia: CTCAE v5.0 grades it by the intervention needed, not by glucose value, so
  `grade_lab` refuses it and `grade_hyperglycemia` grades the intervention.

Source: NCI CTCAE v5.0 (November 27, 2017), terms Neutrophil count decreased, Platelet count
decreased, White blood cell decreased, Anemia, Creatinine increased, Alanine aminotransferase
increased, Aspartate aminotransferase increased, Blood bilirubin increased, Hyperglycemia.
"""

from __future__ import annotations

import math
import operator as op
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel

from mmtrial.clinical.value_ranges import check_range
from mmtrial.errors import InputError
from mmtrial.protocol.models import Protocol

__all__ = [
    "LAB_TERMS",
    "CtcaeGrade",
    "CtcaeInputError",
    "grade_hyperglycemia",
    "grade_lab",
]

DATA_FILE = "ctcae_v5_labs.yaml"
_COMPARE = {"<": op.lt, "<=": op.le, ">": op.gt, ">=": op.ge}
_WORDS = {"<": "below", "<=": "at or below", ">": "above", ">=": "at or above"}


class CtcaeInputError(InputError):
    """A lab value that cannot be graded as given; the message names the field."""


@dataclass(frozen=True, slots=True)
class Condition:
    operator: str
    factor: Decimal
    reference: Literal["absolute", "lln", "uln", "baseline"]
    baseline_status: Literal["normal", "abnormal"] | None


@dataclass(frozen=True, slots=True)
class GradeRow:
    grade: int
    text: str
    conditions: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class LabTerm:
    key: str
    term: str
    direction: Literal["decreased", "increased"]
    table_unit: str
    variable: str | None  # the protocol's value_ranges variable of a count in the table unit
    units: dict[str, Decimal]
    grades: tuple[GradeRow, ...]  # highest grade first


@dataclass(frozen=True, slots=True)
class _Table:
    version: str
    reference: str
    terms: dict[str, LabTerm]
    hyperglycemia: dict[str, tuple[int, str]]
    hyperglycemia_term: str


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def _load() -> _Table:
    data = yaml.safe_load(resources.files(__package__).joinpath(DATA_FILE).read_text("utf-8"))
    terms = {}
    for key, raw in data["terms"].items():
        rows = [
            GradeRow(
                grade=row["grade"],
                text=row["text"],
                conditions=tuple(
                    Condition(
                        operator=c["operator"],
                        factor=_decimal(c["factor"]),
                        reference=c["reference"],
                        baseline_status=c.get("baseline_status"),
                    )
                    for c in row["conditions"]
                ),
            )
            for row in raw["grades"]
        ]
        terms[key] = LabTerm(
            key=key,
            term=raw["term"],
            direction=raw["direction"],
            table_unit=raw["table_unit"],
            variable=raw.get("variable"),
            units={unit: _decimal(f) for unit, f in raw["units"].items()},
            grades=tuple(sorted(rows, key=lambda r: r.grade, reverse=True)),
        )
    hyper = data["hyperglycemia"]
    return _Table(
        version=data["version"],
        reference=" ".join(data["reference"].split()),
        terms=terms,
        hyperglycemia={k: (v["grade"], v["text"]) for k, v in hyper["interventions"].items()},
        hyperglycemia_term=hyper["term"],
    )


_TABLE = _load()
LAB_TERMS: tuple[str, ...] = tuple(_TABLE.terms)
HYPERGLYCEMIA = "hyperglycemia"


def absolute_thresholds(term: str) -> dict[int, Decimal | None] | None:
    """For a decreased-count term graded on absolute thresholds: grade -> the count (table
    unit) below which that grade holds; grade 1 maps to None (it ends at the LLN)."""
    lab = _TABLE.terms.get(term)
    if lab is None or lab.direction != "decreased":
        return None
    found: dict[int, Decimal | None] = {}
    for row in lab.grades:
        cond = row.conditions[0]
        if cond.reference == "absolute":
            found[row.grade] = cond.factor
        elif cond.reference == "lln":
            found[row.grade] = None
        else:
            return None
    return found


class CtcaeGrade(BaseModel):
    """A CTCAE grade with why: the row that matched, the value and the threshold compared."""

    term_id: str
    term: str
    grade: int
    value: float | None
    unit: str | None
    threshold: float | None
    reference: str | None
    grade_text: str | None
    reason: str
    source: str


def _number(name: str, value: Any, *, positive: bool) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise CtcaeInputError(f"{name}: {value!r} must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise CtcaeInputError(f"{name}: {value!r} must be a finite number")
    number = _decimal(value)
    if number < 0 or (positive and number == 0):
        raise CtcaeInputError(f"{name}: {value} must be {'above' if positive else 'at least'} 0")
    return number


def _shown(value: Decimal) -> str:
    return format(value.normalize(), "f")


def grade_lab(
    *,
    term: str,
    value: float | int | Decimal,
    unit: str,
    protocol: Protocol,
    lln: float | int | Decimal | None = None,
    uln: float | int | Decimal | None = None,
    baseline: float | int | Decimal | None = None,
) -> CtcaeGrade:
    """The CTCAE v5.0 grade of one lab value (rule and choices in the module docstring).

    `term` is one of LAB_TERMS (e.g. "neutrophil_count_decreased"); `unit` one of the term's
    units (e.g. "/mm3" or "10^9/L"); `lln`, `uln` and `baseline` are in the same unit as the
    value. Raises CtcaeInputError when a limit the grade depends on is missing, the unit is
    unknown, or a number is impossible: a count outside the protocol's hard limits once
    converted (ANC 600 "10^9/L" is 600,000/mm3, a unit mistake, not grade 0).
    """
    if term == HYPERGLYCEMIA:
        raise CtcaeInputError(
            "term: CTCAE v5.0 grades hyperglycemia by the intervention needed, not by glucose "
            "value; use grade_hyperglycemia"
        )
    lab = _TABLE.terms.get(term)
    if lab is None:
        raise CtcaeInputError(f"term: unknown lab term '{term}' (known: {', '.join(LAB_TERMS)})")
    factor = lab.units.get(unit)
    if factor is None:
        raise CtcaeInputError(
            f"unit: '{unit}' is not a unit for {lab.term} (use {', '.join(lab.units)})"
        )
    given = _number("value", value, positive=False)
    if given is None:
        raise CtcaeInputError("value: missing")
    references: dict[str, Decimal | None] = {
        "lln": _number("lln", lln, positive=True),
        "uln": _number("uln", uln, positive=True),
        "baseline": _number("baseline", baseline, positive=True),
    }
    # Absolute thresholds are in the table unit; limits of normal and baseline are in the
    # value's own unit, so only absolute thresholds need the conversion.
    in_table_unit = given * factor
    if lab.variable is not None and lab.variable in protocol.value_ranges.variables:
        spec = protocol.value_ranges.variables[lab.variable]
        try:
            check_range("value", in_table_unit, spec.hard, spec.unit)
        except InputError as exc:
            shown = "" if factor == 1 else f" ({_shown(given)} {unit})"
            raise CtcaeInputError(
                f"value: {exc.extra['problem']}{shown} for {lab.term}", exc.extra
            ) from None
    uln_value = references["uln"]
    baseline_status = (
        "abnormal"
        if references["baseline"] is not None
        and uln_value is not None
        and references["baseline"] > uln_value
        else "normal"
    )
    if lab.direction == "increased" and uln_value is None:
        raise CtcaeInputError(f"uln: the upper limit of normal is needed to grade {lab.term}")

    for row in lab.grades:
        for cond in row.conditions:
            if cond.baseline_status is not None and cond.baseline_status != baseline_status:
                continue
            if cond.reference == "absolute":
                compared, threshold = in_table_unit, cond.factor
                threshold_text = f"{_shown(cond.factor)} {lab.table_unit}"
                shown_value = f"{_shown(in_table_unit)} {lab.table_unit}"
            else:
                ref = references[cond.reference]
                if ref is None:
                    if cond.reference == "baseline":
                        continue  # baseline grading applies only when a baseline is given
                    raise CtcaeInputError(
                        f"{cond.reference}: the {'lower' if cond.reference == 'lln' else 'upper'}"
                        f" limit of normal is needed to grade {lab.term} (value {_shown(given)}"
                        f" {unit} is not below the grade {row.grade + 1} threshold)"
                    )
                compared, threshold = given, cond.factor * ref
                name = cond.reference.upper() if cond.reference != "baseline" else "baseline"
                multiple = "" if cond.factor == 1 else f"{_shown(cond.factor)} x "
                threshold_text = f"{multiple}{name} = {_shown(threshold)} {unit}"
                shown_value = f"{_shown(given)} {unit}"
            if _COMPARE[cond.operator](compared, threshold):
                return CtcaeGrade(
                    term_id=lab.key,
                    term=lab.term,
                    grade=row.grade,
                    value=float(given),
                    unit=unit,
                    threshold=float(threshold),
                    reference=cond.reference,
                    grade_text=row.text,
                    reason=(
                        f"{lab.term} grade {row.grade}: {shown_value} is "
                        f"{_WORDS[cond.operator]} {threshold_text} "
                        f"({_TABLE.version} grade {row.grade}: {row.text})"
                    ),
                    source=f"NCI {_TABLE.version}, {lab.term}",
                )
    return _grade_zero(lab, given, unit, references, baseline_status)


def _grade_zero(
    lab: LabTerm,
    given: Decimal,
    unit: str,
    references: dict[str, Decimal | None],
    baseline_status: str,
) -> CtcaeGrade:
    lowest = lab.grades[-1]
    applicable = [
        c
        for c in lowest.conditions
        if (c.baseline_status in (None, baseline_status))
        and (c.reference == "absolute" or references[c.reference] is not None)
    ]
    cond = applicable[0]
    ref = Decimal(1) if cond.reference == "absolute" else references[cond.reference]
    threshold = cond.factor * ref
    side = "below" if lab.direction == "decreased" else "above"
    return CtcaeGrade(
        term_id=lab.key,
        term=lab.term,
        grade=0,
        value=float(given),
        unit=unit,
        threshold=float(threshold),
        reference=cond.reference,
        grade_text=None,
        reason=(
            f"{lab.term} not graded (grade 0): {_shown(given)} {unit} is not {side} the grade "
            f"{lowest.grade} threshold ({_shown(threshold)} {unit}, "
            f"{'baseline' if cond.reference == 'baseline' else cond.reference.upper()})"
        ),
        source=f"NCI {_TABLE.version}, {lab.term}",
    )


def grade_hyperglycemia(*, above_baseline: bool, intervention: str) -> CtcaeGrade:
    """Hyperglycemia graded as CTCAE v5.0 does: by the intervention needed, not the value.

    `intervention`: "none", "management_change" (change in daily management; oral agent
    started; diabetes work-up), "insulin_or_hospitalization" or "life_threatening". Glucose not
    above baseline is grade 0 whatever the intervention.
    """
    known = _TABLE.hyperglycemia
    if intervention not in known:
        raise CtcaeInputError(f"intervention: '{intervention}' is unknown (use {', '.join(known)})")
    if not isinstance(above_baseline, bool):
        raise CtcaeInputError(f"above_baseline: {above_baseline!r} must be true or false")
    source = f"NCI {_TABLE.version}, {_TABLE.hyperglycemia_term}"
    if not above_baseline:
        return CtcaeGrade(
            term_id=HYPERGLYCEMIA,
            term=_TABLE.hyperglycemia_term,
            grade=0,
            value=None,
            unit=None,
            threshold=None,
            reference=None,
            grade_text=None,
            reason="Hyperglycemia not graded (grade 0): glucose is not above baseline",
            source=source,
        )
    grade, text = known[intervention]
    return CtcaeGrade(
        term_id=HYPERGLYCEMIA,
        term=_TABLE.hyperglycemia_term,
        grade=grade,
        value=None,
        unit=None,
        threshold=None,
        reference="intervention",
        grade_text=text,
        reason=(
            f"Hyperglycemia grade {grade}: glucose above baseline with intervention "
            f"'{intervention}' ({_TABLE.version} grade {grade}: {text}; v5.0 grades "
            "hyperglycemia by intervention, not by glucose value)"
        ),
        source=source,
    )
