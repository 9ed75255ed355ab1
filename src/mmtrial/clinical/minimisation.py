"""Minimisation (Pocock and Simon 1975) over the stratification factors, reproducible from a seed.

Rule (protocol file ``randomization`` with ``method: minimisation``; Pocock SJ, Simon R.
Biometrics 1975;31:103-15; Taves DR. Clin Pharmacol Ther 1974;15:443-53; ICH E9 section 2.3.1
allows "dynamic allocation" when its procedure is documented)
    - For the new participant, count for every factor the participants already allocated to each
      arm who share the new participant's level of that factor, each count divided by the arm's
      ratio weight (so a 2:1 ratio is balanced at two to one).
    - For each candidate arm, add the new participant to it and take the range (largest minus
      smallest weighted count) per factor; the arm's imbalance is the sum of the ranges over the
      factors (Pocock and Simon's "range" measure, equal factor weights).
    - The arms with the smallest imbalance are "best". With probability ``probability_best`` the
      participant goes to a best arm (one of them at random when several tie), otherwise to one
      of the other arms at random. When every arm is best (a perfect tie, such as the first
      participant of a 1:1 study) the arm is drawn by the ratio weights.
    - The random element is one number in [0, 1) per allocation, derived from the study's secret
      seed and the allocation's sequence number, so the whole sequence of arms can be replayed
      from the seed and the order and levels of the allocations (auditable, ICH E9 2.3.1).
Nothing here reads a clock or a database.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

__all__ = ["MinimisationChoice", "draw_for", "minimisation_arm", "replay"]

# a quarter of the digest (64 bits): a resolution far finer than any probability_best
_DRAW_BYTES = hashlib.sha256().digest_size // 4


@dataclass(frozen=True)
class MinimisationChoice:
    arm_id: str
    imbalance: dict[str, Fraction]  # the sum of ranges per candidate arm
    best: tuple[str, ...]


def draw_for(*, seed: str, sequence: int) -> Fraction:
    """The allocation's random number in [0, 1): 64 bits of HMAC-SHA256(seed, sequence)."""
    digest = hmac.new(seed.encode(), f"minimisation:{sequence}".encode(), hashlib.sha256).digest()
    head = digest[:_DRAW_BYTES]
    return Fraction(int.from_bytes(head, "big"), 256 ** len(head))


def _pick(items: Sequence[str], weights: Sequence[int], u: Fraction) -> str:
    """The item whose share of [0, 1) (proportional to its weight) holds `u`."""
    total = sum(weights)
    edge = Fraction(0)
    for item, weight in zip(items, weights, strict=True):
        edge += Fraction(weight, total)
        if u < edge:
            return item
    return items[-1]


def minimisation_arm(
    *,
    previous: Sequence[tuple[dict[str, str], str]],
    levels: dict[str, str],
    arms: Sequence[str],
    weights: Sequence[int],
    probability_best: Decimal,
    u: Fraction,
) -> MinimisationChoice:
    """The arm for a participant with `levels` ({factor: level}) after the `previous`
    allocations ((levels, arm) in order), by the rule of the module docstring."""
    weight_of = dict(zip(arms, weights, strict=True))
    counts = {factor: dict.fromkeys(arms, 0) for factor in levels}
    for their_levels, arm in previous:
        for factor, level in levels.items():
            if their_levels.get(factor) == level:
                counts[factor][arm] += 1
    imbalance: dict[str, Fraction] = {}
    for candidate in arms:
        total = Fraction(0)
        for per_arm in counts.values():
            weighted = [
                Fraction(per_arm[arm] + (1 if arm == candidate else 0), weight_of[arm])
                for arm in arms
            ]
            total += max(weighted) - min(weighted)
        imbalance[candidate] = total
    smallest = min(imbalance.values())
    best = tuple(arm for arm in arms if imbalance[arm] == smallest)
    if len(best) == len(arms):
        arm_id = _pick(arms, weights, u)
    else:
        p = Fraction(probability_best)
        rest = [arm for arm in arms if arm not in best]
        if u < p:
            arm_id = _pick(best, [1] * len(best), u / p)
        else:
            arm_id = _pick(rest, [1] * len(rest), (u - p) / (1 - p))
    return MinimisationChoice(arm_id=arm_id, imbalance=imbalance, best=best)


def replay(
    *,
    seed: str,
    allocations: Sequence[tuple[int, dict[str, str]]],
    arms: Sequence[str],
    weights: Sequence[int],
    probability_best: Decimal,
) -> list[str]:
    """The arm of each allocation ((sequence number, levels), in sequence order), recomputed
    from the seed: what the study's allocations were, for an unblinded role or an auditor."""
    done: list[tuple[dict[str, str], str]] = []
    for sequence, levels in allocations:
        choice = minimisation_arm(
            previous=done,
            levels=levels,
            arms=arms,
            weights=weights,
            probability_best=probability_best,
            u=draw_for(seed=seed, sequence=sequence),
        )
        done.append((levels, choice.arm_id))
    return [arm for _levels, arm in done]
