"""Dose decisions: 1,000 participants x 26 cycle starts, chained through carry_forward.

Goal [ours, a regression guard]: <= 10 s CPU on one core, i.e. well under a millisecond per
decision (the EDC decides one participant's cycle at a time; the simulator decides whole cohorts).
Participants are synthetic and seeded: CrCl 30-110 mL/min, a toxicity in about a third of the
cycles (platelet or ANC drops, rash, neuropathy, attributed non-hematologic, dexamethasone-related),
low day-1 counts in some cycles (delays, re-checked until the cycle starts).
"""

from __future__ import annotations

import random
import time
from decimal import Decimal

from mmtrial.clinical.dosing import CycleFacts, decide_next_cycle
from mmtrial.clinical.dosing_models import ToxicityEvent
from mmtrial.protocol import load_protocol

PARTICIPANTS = 1_000
CYCLES = 26
GOAL_SECONDS = 10.0
SEED = 20271125


def _event(rng: random.Random) -> ToxicityEvent:
    kind = rng.randrange(6)
    if kind == 0:
        return ToxicityEvent(
            term="platelet count decreased",
            grade=4,
            lab={"variable": "platelets_per_mm3", "value": rng.randrange(5000, 60000)},
        )
    if kind == 1:
        return ToxicityEvent(
            term="neutrophil count decreased",
            grade=4,
            lab={"variable": "anc_per_mm3", "value": rng.randrange(100, 1000)},
        )
    if kind == 2:
        return ToxicityEvent(term="rash", grade=rng.choice([1, 2, 3]), current_grade=1)
    if kind == 3:
        return ToxicityEvent(
            term="peripheral_neuropathy",
            grade=rng.choice([1, 2, 3]),
            with_pain=rng.random() < 0.3,
            current_grade=1,
            current_with_pain=False,
        )
    if kind == 4:
        return ToxicityEvent(
            term="diarrhea",
            grade=3,
            current_grade=0,
            attributed_to=[rng.choice(["ixazomib", "lenalidomide"])],
        )
    return ToxicityEvent(
        term="hyperglycemia", grade=2, current_grade=1, attributed_to=["dexamethasone"]
    )


def run(participants: int = PARTICIPANTS, *, seed: int = SEED) -> tuple[int, dict[str, int]]:
    protocol = load_protocol()
    rng = random.Random(seed)
    decisions = 0
    outcomes: dict[str, int] = {}
    for _ in range(participants):
        crcl = Decimal(rng.randrange(300, 1100)) / 10
        carry: dict = {}
        cycle = 1
        while cycle <= CYCLES:
            events = [_event(rng)] if rng.random() < 0.33 else []
            low = rng.random() < 0.1
            facts = CycleFacts(
                cycle=cycle,
                crcl_ml_min=crcl,
                anc_per_mm3=800 if low else 2500,
                platelets_per_mm3=150000,
                toxicities=events,
                best_confirmed_response=rng.choice([None, "SD", "PR", "VGPR"]),
                **carry,
            )
            decision = decide_next_cycle(facts, protocol=protocol)
            decisions += 1
            outcomes[decision.decision] = outcomes.get(decision.decision, 0) + 1
            if decision.decision == "discontinue_treatment":
                break
            if decision.decision == "delay":
                facts = facts.model_copy(update={"anc_per_mm3": 2500})
                decision = decide_next_cycle(facts, protocol=protocol)
                decisions += 1
                outcomes[decision.decision] = outcomes.get(decision.decision, 0) + 1
            carry = decision.carry_forward.model_dump()
            if carry["current_doses_mg"] is None:
                carry.pop("current_doses_mg")
            cycle += 1
    return decisions, outcomes


def main() -> bool:
    cpu, wall = time.process_time(), time.perf_counter()
    decisions, outcomes = run()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    print(
        f"{PARTICIPANTS} participants x {CYCLES} cycles: {decisions} decisions in {cpu:.2f} s CPU "
        f"({wall:.2f} s wall; {cpu / decisions * 1e6:.0f} us CPU per decision; goal <= "
        f"{GOAL_SECONDS:.0f} s CPU); outcomes {dict(sorted(outcomes.items()))}"
    )
    return cpu <= GOAL_SECONDS


if __name__ == "__main__":
    main()
