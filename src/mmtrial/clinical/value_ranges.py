"""What a value may be: the protocol file's hard limits, soft limits and integer scales.

Rule (protocol file ``value_ranges``, [ours]): a value outside its variable's hard limits cannot
be right and is refused, naming the field, the value, the limits and the unit; a value on an
integer scale (counts, CTCAE grades, ECOG, lines of therapy) must be a whole number. Soft limits
do not refuse: they say a value is unusual, for the EDC to flag and query. The clinical engines,
the web forms, the lab import and the API all check through here (design rule 8).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from mmtrial.errors import InputError
from mmtrial.protocol.models import InputRange, Protocol, ValueRange

__all__ = ["SoftFlag", "check_range", "check_value", "fmt_number", "range_text", "soft_flag"]

_SHOWN_PLACES = Decimal("0.0001")
_PLAIN_DIGITS = 9


def fmt_number(value: Decimal) -> str:
    """A number as a person writes it; long fractions are shown to four decimals."""
    if value.adjusted() >= _PLAIN_DIGITS:  # an absurd input: say it short
        return f"{value:.4E}"
    if value.as_tuple().exponent < _SHOWN_PLACES.as_tuple().exponent:
        value = value.quantize(_SHOWN_PLACES)
    return format(value.normalize(), "f")


def _inside(value: Decimal, rng: InputRange) -> bool:
    low_ok = value >= rng.minimum if rng.minimum_inclusive else value > rng.minimum
    high_ok = value <= rng.maximum if rng.maximum_inclusive else value < rng.maximum
    return low_ok and high_ok


def range_text(rng: InputRange, unit: str) -> str:
    low = ">=" if rng.minimum_inclusive else ">"
    high = "<=" if rng.maximum_inclusive else "<"
    tail = f" {unit}" if unit else ""
    return f"{low} {fmt_number(rng.minimum)} and {high} {fmt_number(rng.maximum)}{tail}"


def check_range(field: str, value: Decimal, rng: InputRange, unit: str) -> None:
    """Raise InputError naming `field` when `value` is outside `rng`."""
    if _inside(value, rng):
        return
    shown = f"{fmt_number(value)} {unit}" if unit else fmt_number(value)
    problem = f"{shown} is impossible; it must be {range_text(rng, unit)}"
    raise InputError(
        f"{field}: {problem}",
        {
            "field": field,
            "value": str(value),
            "problem": problem,
            "code": "value_out_of_range",
            "minimum": str(rng.minimum),
            "maximum": str(rng.maximum),
            "unit": unit,
        },
    )


def _decimal(field: str, value: object) -> Decimal:
    problem = f"{value!r} is not a finite number"
    error = InputError(f"{field}: {problem}", {"field": field, "problem": problem})
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise error
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise error from None
    if not number.is_finite():
        raise error
    return number


def _spec(variable: str, protocol: Protocol) -> ValueRange:
    spec = protocol.value_ranges.variables.get(variable)
    if spec is None:  # a programming error: every checked variable is in the file
        raise KeyError(f"value_ranges.variables has no entry for {variable!r}")
    return spec


def check_value(
    variable: str, value: object, *, protocol: Protocol, field: str | None = None
) -> Decimal:
    """`value` as a Decimal, or InputError naming `field` (default: the variable).

    Refuses what is not a finite number, a fraction on an integer scale, and a value outside
    the hard limits. Example: ``check_value("ecog", 2.5, ...)`` -> "ecog: 2.5 is not a whole
    number (ECOG performance status is an integer scale)".
    """
    spec = _spec(variable, protocol)
    name = field or variable
    number = _decimal(name, value)
    if spec.integer and number != number.to_integral_value():
        problem = f"{fmt_number(number)} is not a whole number ({spec.label} is an integer scale)"
        raise InputError(
            f"{name}: {problem}",
            {"field": name, "value": str(number), "problem": problem, "code": "value_not_whole"},
        )
    check_range(name, number, spec.hard, spec.unit)
    return number


@dataclass(frozen=True)
class SoftFlag:
    """A value inside the hard limits but outside the soft ones: save, flag, query."""

    variable: str
    label: str
    value: Decimal
    unit: str
    soft: InputRange

    @property
    def text(self) -> str:
        shown = f"{fmt_number(self.value)} {self.unit}".strip()
        return f"{self.label} {shown} is unusual (expected {range_text(self.soft, self.unit)})"


def soft_flag(variable: str, value: Decimal, *, protocol: Protocol) -> SoftFlag | None:
    spec = _spec(variable, protocol)
    if spec.soft is None or _inside(value, spec.soft):
        return None
    return SoftFlag(variable, spec.label, value, spec.unit, spec.soft)
