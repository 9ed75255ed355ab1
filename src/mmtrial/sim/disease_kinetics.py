"""M-protein and free-light-chain values over time for a simulated participant.

A participant's involved parameter falls from its baseline towards a plateau (a fraction of the
baseline that sets the depth of response: near 0 for VGPR, a third for PR, ...), as
`plateau + (1 - plateau) * exp(-rate * j)` at the j-th four-weekly assessment, with a little
multiplicative noise. Progression is written explicitly: at the planned assessment the value
rises above the nadir by more than the IMWG PD margins (both the relative and the absolute one),
and rises again at the next assessment, which confirms it. The IMWG engine then derives the
categories from these numbers; nothing here decides a response.

The margins below are simulation settings chosen to clear the IMWG thresholds comfortably (the
thresholds themselves live in clinical/imwg_criteria.yaml); they are not protocol numbers.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

__all__ = ["KINETICS", "Kinetics", "involved_values"]


@dataclass(frozen=True)
class Kinetics:
    """How deep and how fast the involved parameter falls."""

    plateau: float  # fraction of baseline reached late in treatment
    rate: float  # per four-weekly assessment


KINETICS: dict[str, Kinetics] = {
    "CR": Kinetics(plateau=0.0, rate=1.3),
    "VGPR": Kinetics(plateau=0.04, rate=1.1),
    "PR": Kinetics(plateau=0.3, rate=1.0),
    "PR_FAST": Kinetics(plateau=0.3, rate=1.8),
    "MR": Kinetics(plateau=0.62, rate=0.9),
    "SD": Kinetics(plateau=0.9, rate=0.8),
    "SLOW_THEN_PR": Kinetics(plateau=0.6, rate=0.6),  # SD, MR, then PR after escalation
    "PD": Kinetics(plateau=1.08, rate=0.5),  # never falls: primary refractory
}

# PD margins of the simulation (above the IMWG ones so that rounding never hides a PD).
_PD_RELATIVE = 1.35
_PD_ABSOLUTE = {"serum": 0.65, "urine": 260.0, "flc": 160.0}
_CONFIRM_STEP = {"serum": 0.35, "urine": 150.0, "flc": 120.0}


def _fraction(kinetics: Kinetics, j: int, *, late_plateau: float | None) -> float:
    plateau = kinetics.plateau
    if late_plateau is not None and j >= 3:
        plateau = late_plateau
    return plateau + (1 - plateau) * math.exp(-kinetics.rate * j)


def involved_values(
    *,
    baseline: float,
    kind: str,
    kinetics: Kinetics,
    assessments: int,
    pd_at: int | None,
    rng: random.Random,
    late_plateau: float | None = None,
) -> list[float]:
    """The involved parameter at assessments 1..`assessments` (serum g/dL, urine mg/24h, dFLC).

    `pd_at` (1-based) is the first assessment of progression; the one after confirms it.
    """
    values: list[float] = []
    for j in range(1, assessments + 1):
        nadir = min([baseline, *values])
        if pd_at is not None and j == pd_at:
            value = max(nadir * _PD_RELATIVE, nadir + _PD_ABSOLUTE[kind])
        elif pd_at is not None and j > pd_at:
            value = values[-1] + _CONFIRM_STEP[kind]
        else:
            noise = 1 + rng.uniform(-0.02, 0.02)
            value = baseline * _fraction(kinetics, j, late_plateau=late_plateau) * noise
        values.append(value)
    return values
