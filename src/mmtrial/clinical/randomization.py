"""Stratified permuted-block randomization with concealed, randomly varied block sizes.

Rule (protocol file ``randomization``; TOURMALINE-MM1 [pub]: 1:1, stratified by prior lines,
proteasome-inhibitor exposure and ISS stage; the method is ours, the standard one for such a
trial: ICH E9 section 2.3.1)
    - A participant's stratum is the level of each stratum factor that their screening values
      meet (every factor must be given and fall in exactly one level).
    - Each stratum has its own allocation list, made of consecutive blocks. A block holds every
      arm `ratio` times `m`, `m` drawn at random from ``block_multiples`` for each block, in a
      random order; so every completed block is balanced and its size cannot be guessed.
    - The lists come from one secret seed (kept by the randomization administrator, never shown
      to a blinded role) and are reproducible from it: slot `n` of a stratum is the same
      whenever it is computed. Each slot has a kit code that tells nothing about its arm.
Nothing here reads a clock or a database; the EDC stores the seed and who got which slot.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from mmtrial.errors import InputError
from mmtrial.protocol.models import Condition, Protocol

__all__ = [
    "Slot",
    "StratumAssignment",
    "allocation_slots",
    "kit_code",
    "seed_commitment",
    "stratum_of",
]

_COMPARE = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


@dataclass(frozen=True)
class StratumAssignment:
    key: str  # e.g. "prior_lines=1|pi_exposure=naive|iss=I-II"
    levels: dict[str, str]
    values: dict[str, Any]
    reasons: list[str]


@dataclass(frozen=True)
class Slot:
    position: int  # 1-based, in the stratum's list
    arm_id: str
    block: int  # 1-based
    block_size: int


def _holds(condition: Condition, value: Any) -> bool:
    threshold = condition.threshold
    if isinstance(threshold, bool) or isinstance(value, bool):
        return condition.operator in ("==", "!=") and _COMPARE[condition.operator](
            bool(value) if isinstance(value, bool) else value, threshold
        )
    return _COMPARE[condition.operator](Decimal(str(value)), Decimal(str(threshold)))


def stratum_of(values: dict[str, Any], *, protocol: Protocol) -> StratumAssignment:
    """The participant's stratum from their screening values, with a reason per factor.

    Raises InputError naming the value when a factor's value is missing or falls in no level
    (or in more than one: a protocol file with overlapping levels is refused the same way).
    """
    r = protocol.randomization
    if r is None:
        raise InputError("randomization: this protocol does not randomize", {"field": "protocol"})
    levels: dict[str, str] = {}
    used: dict[str, Any] = {}
    reasons: list[str] = []
    for stratum in r.strata:
        value = values.get(stratum.variable)
        if value is None:
            raise InputError(
                f"{stratum.variable}: missing; {stratum.name} is a stratification factor, so it "
                "is needed before randomization",
                {"field": stratum.variable},
            )
        hits = [level for level in stratum.levels if _holds(level.when, value)]
        if len(hits) != 1:
            problem = "falls in no level" if not hits else "falls in more than one level"
            raise InputError(
                f"{stratum.variable}: {value!r} {problem} of {stratum.name}",
                {"field": stratum.variable},
            )
        levels[stratum.id] = hits[0].id
        used[stratum.variable] = value
        reasons.append(f"{stratum.name}: {hits[0].name} ({stratum.variable} = {value})")
    key = "|".join(f"{sid}={lid}" for sid, lid in levels.items())
    return StratumAssignment(key=key, levels=levels, values=used, reasons=reasons)


def _block(seed: str, stratum_key: str, number: int, protocol: Protocol) -> list[str]:
    r = protocol.randomization
    rng = random.Random(f"{seed}:{stratum_key}:block:{number}")
    multiple = rng.choice(r.block_multiples)
    arms = [
        arm.id
        for arm, weight in zip(protocol.arms, r.weights(), strict=True)
        for _ in range(weight * multiple)
    ]
    rng.shuffle(arms)
    return arms


def allocation_slots(*, seed: str, stratum_key: str, upto: int, protocol: Protocol) -> list[Slot]:
    """Slots 1..`upto` of a stratum's list (at least `upto`; whole blocks)."""
    slots: list[Slot] = []
    number = 0
    while len(slots) < upto:
        number += 1
        arms = _block(seed, stratum_key, number, protocol)
        for arm_id in arms:
            slots.append(Slot(len(slots) + 1, arm_id, number, len(arms)))
    return slots


def kit_code(*, seed: str, stratum_key: str, position: int) -> str:
    """A treatment code for the slot that carries no information about its arm."""
    digest = hmac.new(seed.encode(), f"{stratum_key}:{position}".encode(), hashlib.sha256)
    # four bytes: 4 billion codes, unguessable without the seed, short enough to read aloud
    return f"K-{digest.digest()[:4].hex().upper()}"


def seed_commitment(seed: str) -> str:
    """What the audit trail keeps of the seed: its SHA-256, so the list is shown unchanged."""
    return hashlib.sha256(seed.encode()).hexdigest()
