"""Dose levels: each drug's ladder from the protocol, one level down, discontinuation below.

Rule: a reduction moves a drug to the next lower level of its ladder; below the lowest level
the drug is discontinued. Source: shared/protocol.md section 6 (``protocol.dose_levels``):
ixazomib [NIN] section 2.4 table 1; lenalidomide [REV] section 2 (not below 2.5 mg daily) with
capsule-strength steps [ours]; dexamethasone [ours].
"""

from __future__ import annotations

from decimal import Decimal

from mmtrial.errors import InputError
from mmtrial.protocol.models import Protocol

__all__ = ["check_dose_level", "dosing_days", "fmt_mg", "is_dose_level", "one_level_down"]


def fmt_mg(dose: Decimal | None) -> str:
    """``25 mg``, ``2.3 mg`` or ``discontinued``."""
    if dose is None:
        return "discontinued"
    return f"{format(Decimal(dose).normalize(), 'f')} mg"


def is_dose_level(*, drug: str, dose_mg: Decimal, protocol: Protocol) -> bool:
    return Decimal(dose_mg) in protocol.levels(drug)


def check_dose_level(*, drug: str, dose_mg: Decimal, protocol: Protocol, field: str) -> None:
    """Raise InputError naming ``field`` when the dose is not one of the drug's levels."""
    if not is_dose_level(drug=drug, dose_mg=dose_mg, protocol=protocol):
        levels = ", ".join(fmt_mg(level) for level in protocol.levels(drug))
        raise InputError(
            f"{field}: {fmt_mg(dose_mg)} is not a dose level of {drug} ({levels})",
            {"field": field},
        )


def one_level_down(*, drug: str, dose_mg: Decimal, protocol: Protocol) -> Decimal | None:
    """The next lower level, or None (discontinue) below the lowest level.

    Example: lenalidomide 10 mg -> 5 mg; 2.5 mg -> None (discontinue).
    """
    levels = protocol.levels(drug)
    index = levels.index(Decimal(dose_mg))
    return levels[index + 1] if index + 1 < len(levels) else None


def dosing_days(*, drug: str, every_days: int, protocol: Protocol) -> list[int]:
    """The days of a cycle a drug is taken: its regimen days, thinned to every `every_days`-th
    day from the first (every_days 2 on days 1-21 gives 1, 3, ..., 21: every 48 hours)."""
    days = protocol.regimen[drug].days
    if every_days == 1:
        return list(days)
    return [d for d in days if (d - days[0]) % every_days == 0]
