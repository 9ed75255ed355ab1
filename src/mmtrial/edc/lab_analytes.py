"""The laboratory analytes mmtrial stores, their canonical units and the units accepted.

Values are stored in the canonical unit named in the variable names the clinical rules use
(`serum_m_protein_g_dl`, `urine_m_protein_mg_24h`, `kappa_flc_mg_l`, `creatinine_mg_dl`,
`anc_per_mm3`); a value reported in another accepted unit is converted here, at the boundary
(design rule 6), and the reported value and unit are kept beside it.

The factors are unit definitions (1 g/L = 0.1 g/dL, 1 mg/dL = 10 mg/L, 1 g = 1000 mg,
1 x10^9/L = 1000/mm3), not protocol numbers. Creatinine in umol/L is converted with the
protocol's own factor by `clinical.renal`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from mmtrial.clinical import renal
from mmtrial.errors import InputError
from mmtrial.protocol.models import Protocol

__all__ = [
    "ANALYTES",
    "IFE_VALUES",
    "RESPONSE_ANALYTES",
    "Analyte",
    "LabValueError",
    "convert",
]

IFE_VALUES = ("positive", "negative")
STORED_PLACES = Decimal("0.0001")  # LabResult.value has four decimal places


@dataclass(frozen=True)
class Analyte:
    code: str
    name: str
    unit: str
    factors: dict[str, Decimal | None] = field(default_factory=dict)  # None: protocol factor
    qualitative: bool = False

    @property
    def accepted_units(self) -> list[str]:
        return list(self.factors)


ANALYTES: dict[str, Analyte] = {
    a.code: a
    for a in (
        Analyte(
            "serum_m_protein",
            "Serum M-protein",
            "g/dL",
            {"g/dL": Decimal(1), "g/L": Decimal("0.1"), "mg/dL": Decimal("0.001")},
        ),
        Analyte(
            "urine_m_protein",
            "Urine M-protein (24 h)",
            "mg/24h",
            {"mg/24h": Decimal(1), "g/24h": Decimal(1000)},
        ),
        Analyte(
            "kappa_flc",
            "Serum kappa free light chain",
            "mg/L",
            {"mg/L": Decimal(1), "mg/dL": Decimal(10)},
        ),
        Analyte(
            "lambda_flc",
            "Serum lambda free light chain",
            "mg/L",
            {"mg/L": Decimal(1), "mg/dL": Decimal(10)},
        ),
        Analyte("serum_ife", "Serum immunofixation", "", {"": Decimal(1)}, qualitative=True),
        Analyte("urine_ife", "Urine immunofixation", "", {"": Decimal(1)}, qualitative=True),
        Analyte("creatinine", "Serum creatinine", "mg/dL", {"mg/dL": Decimal(1), "umol/L": None}),
        Analyte(
            "anc",
            "Absolute neutrophil count",
            "/mm3",
            {"/mm3": Decimal(1), "x10^9/L": Decimal(1000)},
        ),
        Analyte(
            "platelets",
            "Platelet count",
            "/mm3",
            {"/mm3": Decimal(1), "x10^9/L": Decimal(1000)},
        ),
        Analyte("hemoglobin", "Hemoglobin", "g/dL", {"g/dL": Decimal(1), "g/L": Decimal("0.1")}),
    )
}

# The analytes the IMWG derivation reads: a change to one re-derives the participant's responses.
RESPONSE_ANALYTES = frozenset(
    {"serum_m_protein", "urine_m_protein", "kappa_flc", "lambda_flc", "serum_ife", "urine_ife"}
)


# What is wrong with a value or unit, as message constants (`{analyte}` is the analyte's name,
# shown translated; `{unit}` and `{value}` as reported).
ANALYTE_UNKNOWN = "unknown analyte {analyte!r} (known: {known})"
UNIT_NOT_TAKEN = "{analyte} takes no unit (got {unit!r})"
QUALITATIVE_INVALID = "{analyte} must be positive or negative, not {value!r}"
UNIT_NOT_ACCEPTED = "unit {unit!r} is not accepted for {analyte} (accepted: {accepted})"
VALUE_REQUIRED = "a value is required"
VALUE_NOT_NUMBER = "{value!r} is not a number"
VALUE_NOT_FINITE = "{value!r} is not a finite number"
VALUE_NEGATIVE = "{value} is negative; a lab value cannot be below 0"
VALUE_TOO_LARGE = "{value} {unit} is too large to be a lab value"
# the clinical rule's own words (creatinine outside its plausible range, in the unit given)
VALUE_PROBLEM = "{problem}"


class LabValueError(ValueError):
    """A value or unit that cannot be stored; `column` names what is wrong. Like an
    `MmtrialError` it keeps its message constant (`template`) and `params`; `message` is the
    English text."""

    def __init__(self, column: str, template: str, /, **params) -> None:
        self.column = column
        self.template = template
        self.params = params
        self.message = template.format(**params)
        super().__init__(self.message)


def _unit_key(analyte: Analyte, unit: str) -> str | None:
    wanted = unit.strip().replace(" ", "").lower()
    for accepted in analyte.factors:
        if accepted.replace(" ", "").lower() == wanted:
            return accepted
    return None


def convert(
    *, analyte: str, value: str, unit: str, protocol: Protocol
) -> tuple[Decimal | None, str, str]:
    """`(value in the canonical unit, qualitative text, canonical unit)`, or LabValueError.

    A numeric value must be a non-negative decimal number; a qualitative one (IFE) must be
    `positive` or `negative` (case-insensitive) with an empty unit.
    """
    entry = ANALYTES.get(analyte)
    if entry is None:
        known = ", ".join(ANALYTES)
        raise LabValueError("analyte", ANALYTE_UNKNOWN, analyte=analyte, known=known)
    text = (value or "").strip()
    if entry.qualitative:
        if (unit or "").strip():
            raise LabValueError("unit", UNIT_NOT_TAKEN, analyte=entry.name, unit=unit)
        if text.lower() not in IFE_VALUES:
            raise LabValueError("value", QUALITATIVE_INVALID, analyte=entry.name, value=text)
        return None, text.lower(), ""
    key = _unit_key(entry, unit or "")
    if key is None:
        accepted = ", ".join(entry.accepted_units)
        raise LabValueError(
            "unit", UNIT_NOT_ACCEPTED, unit=unit, analyte=entry.name, accepted=accepted
        )
    if not text:
        raise LabValueError("value", VALUE_REQUIRED)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise LabValueError("value", VALUE_NOT_NUMBER, value=text) from None
    if not number.is_finite():
        raise LabValueError("value", VALUE_NOT_FINITE, value=text)
    if number < 0:
        raise LabValueError("value", VALUE_NEGATIVE, value=text)
    factor = entry.factors[key]
    if factor is None:  # creatinine in umol/L: the protocol owns the factor
        try:
            converted = renal.creatinine_mg_dl_from_umol_l(
                creatinine_umol_l=number, protocol=protocol
            )
        except InputError as exc:  # the plausible range, in the unit the value was given in
            raise LabValueError(
                "value", VALUE_PROBLEM, problem=exc.extra.get("problem", exc.message)
            ) from None
    else:
        converted = number * factor
    # LabResult.value holds 10 digits before the point; checked before quantize too, which
    # cannot give 1e400 four decimal places (decimal.InvalidOperation)
    if converted.adjusted() >= 10:
        raise LabValueError("value", VALUE_TOO_LARGE, value=text, unit=unit)
    stored = converted.quantize(STORED_PLACES, rounding=ROUND_HALF_EVEN)
    if stored.adjusted() >= 10:  # LabResult.value holds 10 digits before the point
        raise LabValueError("value", VALUE_TOO_LARGE, value=text, unit=unit)
    return stored, "", entry.unit
