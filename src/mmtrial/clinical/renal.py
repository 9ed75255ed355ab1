"""Renal function: Cockcroft-Gault creatinine clearance.

Rule
    CrCl (mL/min) = (age_from - age) x weight (kg) / (divisor x serum creatinine (mg/dL)),
    multiplied by the female factor for women; actual body weight.
Source
    Cockcroft DW, Gault MH. Prediction of creatinine clearance from serum creatinine.
    Nephron 1976;16:31-41; shared/protocol.md section 4 [seed]; actual body weight and the
    plausibility limits are mmtrial settings [ours]. Every constant is read from
    ``protocol.renal.formula``.

Creatinine reported in umol/L is converted at the boundary with the protocol's factor
(``creatinine_umol_l_per_mg_dl``); the rule itself works in mg/dL.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Literal

from pydantic import BaseModel, ConfigDict

from mmtrial.clinical.value_ranges import check_range, check_value, fmt_number
from mmtrial.errors import InputError
from mmtrial.protocol.models import InputRange, Protocol

__all__ = [
    "RULE_ID",
    "CrClResult",
    "creatinine_clearance",
    "creatinine_clearance_umol_l",
    "creatinine_mg_dl_from_umol_l",
]

RULE_ID = "cockcroft_gault"
Sex = Literal["female", "male"]


class CrClResult(BaseModel):
    """A creatinine clearance with the numbers that produced it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    crcl_ml_min: float
    formula: str
    rule: str
    source: str
    age_years: float
    sex: Sex
    weight_kg: float
    creatinine_mg_dl: float
    creatinine_umol_l: float | None = None
    female_factor_applied: bool
    body_weight: str


_fmt = fmt_number


def _as_decimal(field: str, value: object) -> Decimal:
    problem = f"{value!r} is not a finite number"
    error = InputError(f"{field}: {problem}", {"field": field, "problem": problem})
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise error
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise error from None
    if not number.is_finite():
        raise error
    return number


def creatinine_mg_dl_from_umol_l(
    *, creatinine_umol_l: float | Decimal, protocol: Protocol
) -> Decimal:
    """Convert serum creatinine from umol/L to mg/dL with the protocol's factor.

    Source: ``protocol.renal.formula.creatinine_umol_l_per_mg_dl`` (1 mg/dL = 88.42 umol/L).
    The result is checked against the protocol's plausible range, and a value outside it is
    reported in the unit the caller gave (field ``creatinine_umol_l``).
    """
    formula = protocol.renal.formula
    factor = formula.creatinine_umol_l_per_mg_dl
    umol = _as_decimal("creatinine_umol_l", creatinine_umol_l)
    limits = protocol.value_ranges.variables["creatinine_mg_dl"].hard
    in_umol = InputRange(
        minimum=limits.minimum * factor,
        maximum=limits.maximum * factor,
        minimum_inclusive=limits.minimum_inclusive,
        maximum_inclusive=limits.maximum_inclusive,
    )
    check_range("creatinine_umol_l", umol, in_umol, "umol/L")
    return umol / factor


def creatinine_clearance(
    *,
    age_years: float | Decimal,
    sex: str,
    weight_kg: float | Decimal,
    creatinine_mg_dl: float | Decimal,
    protocol: Protocol,
) -> CrClResult:
    """Creatinine clearance (mL/min) by Cockcroft-Gault, with the formula shown.

    Rule: (age_from - age) x weight / (divisor x creatinine), x female_factor for women;
    actual body weight. Source: Cockcroft & Gault 1976; shared/protocol.md section 4.

    Parameters
    ----------
    age_years, weight_kg, creatinine_mg_dl
        Checked against the protocol's ``value_ranges`` (hard limits); an impossible value
        raises :class:`~mmtrial.errors.InputError` naming the field.
    sex
        ``"female"`` or ``"male"``.

    Example
    -------
    70 years, female, 55 kg, 1.1 mg/dL: (140 - 70) x 55 / (72 x 1.1) x 0.85 = 41.32 mL/min.
    """
    formula = protocol.renal.formula
    if sex not in ("female", "male"):
        problem = f"{sex!r} must be 'female' or 'male'"
        raise InputError(f"sex: {problem}", {"field": "sex", "problem": problem})
    age = _as_decimal("age_years", age_years)
    weight = _as_decimal("weight_kg", weight_kg)
    creatinine = _as_decimal("creatinine_mg_dl", creatinine_mg_dl)
    for name, value in (
        ("age_years", age),
        ("weight_kg", weight),
        ("creatinine_mg_dl", creatinine),
    ):
        check_value(name, value, protocol=protocol)

    female = sex == "female"
    value = (formula.age_from - age) * weight / (formula.divisor * creatinine)
    text = (
        f"({_fmt(formula.age_from)} - {_fmt(age)}) x {_fmt(weight)} kg / "
        f"({_fmt(formula.divisor)} x {_fmt(creatinine)} mg/dL)"
    )
    if female:
        value *= formula.female_factor
        text += f" x {_fmt(formula.female_factor)}"
    crcl = float(value)
    if not math.isfinite(crcl):  # pragma: no cover - ranges above exclude it
        raise InputError(
            "creatinine_mg_dl: the clearance cannot be computed", {"field": "creatinine_mg_dl"}
        )
    text += f" = {crcl:.2f} mL/min"
    return CrClResult(
        crcl_ml_min=crcl,
        formula=text,
        rule=RULE_ID,
        source=formula.source,
        age_years=float(age),
        sex=sex,  # type: ignore[arg-type]
        weight_kg=float(weight),
        creatinine_mg_dl=float(creatinine),
        female_factor_applied=female,
        body_weight=formula.body_weight,
    )


def creatinine_clearance_umol_l(
    *,
    age_years: float | Decimal,
    sex: str,
    weight_kg: float | Decimal,
    creatinine_umol_l: float | Decimal,
    protocol: Protocol,
) -> CrClResult:
    """:func:`creatinine_clearance` for a creatinine reported in umol/L (converted first)."""
    mg_dl = creatinine_mg_dl_from_umol_l(creatinine_umol_l=creatinine_umol_l, protocol=protocol)
    result = creatinine_clearance(
        age_years=age_years, sex=sex, weight_kg=weight_kg, creatinine_mg_dl=mg_dl, protocol=protocol
    )
    umol = Decimal(str(creatinine_umol_l))
    factor = protocol.renal.formula.creatinine_umol_l_per_mg_dl
    conversion = f"creatinine {_fmt(umol)} umol/L / {_fmt(factor)} = {_fmt(mg_dl)} mg/dL; "
    return result.model_copy(
        update={"creatinine_umol_l": float(umol), "formula": conversion + result.formula}
    )
