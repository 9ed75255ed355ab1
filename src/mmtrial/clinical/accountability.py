"""Drug accountability: one participant's cycle of one oral drug, counted and compared with the
dose diary.

Rule:
- units per dose: the fewest capsules (or tablets) of the drug's strengths that make the dose
  exactly, largest strength first (lenalidomide 25 mg is one 25 mg capsule; dexamethasone 40 mg
  is ten 4 mg tablets); a dose no strength combination makes has no unit count (a reason says
  so, and the count is not compared);
- planned doses: the drug's dose days in the cycle calendar (the cycle's decision, else the
  regimen days), when the cycle gives the drug at all;
- expected consumption (count-implied units) = dispensed - returned - lost;
- diary-implied units = the units of every dose recorded taken (a reduced dose at its own
  units);
- adherence by diary = doses taken / planned doses; adherence by count = expected consumption /
  (units per planned dose x planned doses);
- a mismatch when |count-implied - diary-implied| exceeds the protocol's tolerance
  (``accountability.mismatch_tolerance_units``, 0 by default).

Source: ICH E6(R3) (2025), investigational product accountability (the investigator keeps
records of the product's delivery to the site, the inventory, the use by each participant and the
return of unused product; the sponsor reconciles them); the strengths per drug from their labels
(NINLARO USPI section 3, REVLIMID USPI section 3, the dexamethasone tablet label), recorded in the
protocol file with their sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from mmtrial.protocol.models import Protocol

__all__ = [
    "RULE_SOURCE",
    "AccountabilityInput",
    "AccountabilityReason",
    "AccountabilityResult",
    "account_for_cycle",
    "units_per_dose",
]

RULE_SOURCE = "ICH E6(R3) investigational product accountability"


@dataclass(frozen=True)
class AccountabilityReason:
    """Why: a code with its values (rendered in the user's language where it is shown), the
    rule's source and the English text."""

    code: str
    source: str
    text: str
    values: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountabilityInput:
    """One drug in one cycle: the counts, the planned dose and days, the doses taken.

    `planned_dose_mg` None: the cycle does not give the drug. `dose_days` None: the regimen's
    days. `taken_doses_mg`: one entry per dose recorded taken (taken or reduced), its mg.
    """

    drug: str
    dispensed: int
    returned: int = 0
    lost: int = 0
    planned_dose_mg: Decimal | None = None
    dose_days: Sequence[int] | None = None
    taken_doses_mg: Sequence[Decimal] = ()


@dataclass(frozen=True)
class AccountabilityResult:
    drug: str
    unit: str
    dispensed: int
    returned: int
    lost: int
    expected_consumption: int
    planned_doses: int
    doses_taken: int
    units_per_dose: int | None
    diary_units: int | None
    adherence_pct: Decimal | None
    count_adherence_pct: Decimal | None
    mismatch: bool
    mismatch_units: int | None
    reasons: tuple[AccountabilityReason, ...]


def units_per_dose(*, dose_mg: Decimal, strengths_mg: Sequence[Decimal]) -> int | None:
    """The fewest units making `dose_mg` from `strengths_mg`, largest first; None if none does.

    Example: 40 mg from (4, 2) -> 10; 10 mg from (4, 2) -> 3 (two 4 mg and one 2 mg).
    """
    remaining = Decimal(dose_mg)
    if remaining <= 0:
        return None
    count = 0
    for strength in sorted((Decimal(s) for s in strengths_mg), reverse=True):
        taken, remaining = divmod(remaining, strength)
        count += int(taken)
    return count if remaining == 0 else None


def _pct(numerator: int, denominator: int) -> Decimal | None:
    if denominator <= 0:
        return None
    value = Decimal(numerator) * 100 / Decimal(denominator)
    return value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def account_for_cycle(facts: AccountabilityInput, *, protocol: Protocol) -> AccountabilityResult:
    """Count, adherence and mismatch for one drug in one cycle (module docstring)."""
    if protocol.accountability is None or facts.drug not in protocol.accountability.units:
        raise ValueError(f"the protocol keeps no accountability for {facts.drug}")
    spec = protocol.accountability.units[facts.drug]
    tolerance = protocol.accountability.mismatch_tolerance_units
    drug_name = protocol.drugs[facts.drug].name
    for name in ("dispensed", "returned", "lost"):
        if getattr(facts, name) < 0:
            raise ValueError(f"{name} must not be negative")
    reasons: list[AccountabilityReason] = []
    expected = facts.dispensed - facts.returned - facts.lost
    if expected < 0:
        reasons.append(
            AccountabilityReason(
                "returned_exceeds_dispensed",
                RULE_SOURCE,
                f"{drug_name}: {facts.returned} returned and {facts.lost} lost are more than "
                f"the {facts.dispensed} dispensed.",
                {
                    "drug": drug_name,
                    "dispensed": facts.dispensed,
                    "returned": facts.returned,
                    "lost": facts.lost,
                },
            )
        )
    if facts.planned_dose_mg is None:
        days: list[int] = []
    elif facts.dose_days is None:
        days = list(protocol.regimen[facts.drug].days)
    else:
        days = list(facts.dose_days)
    planned = len(days)
    per_dose = (
        units_per_dose(dose_mg=facts.planned_dose_mg, strengths_mg=spec.strengths_mg)
        if facts.planned_dose_mg is not None
        else None
    )
    taken_units = [
        units_per_dose(dose_mg=dose, strengths_mg=spec.strengths_mg)
        for dose in facts.taken_doses_mg
    ]
    diary_units = None if any(u is None for u in taken_units) else sum(taken_units)
    if facts.planned_dose_mg is not None and per_dose is None:
        reasons.append(
            AccountabilityReason(
                "dose_not_composable",
                spec.source,
                f"{drug_name} {facts.planned_dose_mg} mg cannot be made from the "
                f"{spec.unit} strengths of the protocol.",
                {"drug": drug_name, "dose_mg": str(facts.planned_dose_mg), "unit": spec.unit},
            )
        )
    if diary_units is None:
        reasons.append(
            AccountabilityReason(
                "taken_dose_not_composable",
                spec.source,
                f"{drug_name}: a dose recorded taken cannot be made from the {spec.unit} "
                "strengths of the protocol; the count is not compared.",
                {"drug": drug_name, "unit": spec.unit},
            )
        )
    doses_taken = len(facts.taken_doses_mg)
    adherence = _pct(doses_taken, planned)
    count_adherence = _pct(expected, per_dose * planned) if per_dose is not None else None
    reasons.append(
        AccountabilityReason(
            "adherence",
            RULE_SOURCE,
            f"{drug_name}: {doses_taken} of {planned} planned doses taken"
            + (f" ({adherence}%)." if adherence is not None else "."),
            {
                "drug": drug_name,
                "taken": doses_taken,
                "planned": planned,
                "adherence_pct": None if adherence is None else str(adherence),
            },
        )
    )
    mismatch_units = None if diary_units is None else expected - diary_units
    mismatch = mismatch_units is not None and abs(mismatch_units) > tolerance
    if mismatch_units is not None:
        reasons.append(
            AccountabilityReason(
                "count_mismatch" if mismatch else "count_matches",
                protocol.accountability.source,
                f"{drug_name}: the count gives {expected} {spec.unit}(s) taken "
                f"({facts.dispensed} dispensed - {facts.returned} returned - {facts.lost} lost), "
                f"the diary {diary_units}"
                + (f": a difference of {mismatch_units}." if mismatch else ": they agree."),
                {
                    "drug": drug_name,
                    "count_units": expected,
                    "diary_units": diary_units,
                    "difference": mismatch_units,
                    "tolerance": str(tolerance),
                    "unit": spec.unit,
                },
            )
        )
    return AccountabilityResult(
        drug=facts.drug,
        unit=spec.unit,
        dispensed=facts.dispensed,
        returned=facts.returned,
        lost=facts.lost,
        expected_consumption=expected,
        planned_doses=planned,
        doses_taken=doses_taken,
        units_per_dose=per_dose,
        diary_units=diary_units,
        adherence_pct=adherence,
        count_adherence_pct=count_adherence,
        mismatch=mismatch,
        mismatch_units=mismatch_units,
        reasons=tuple(reasons),
    )
