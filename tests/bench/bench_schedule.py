"""Schedules and dose calendars for 10,000 participants x 26 cycles in <= 3 s on one core.

The participants are synthetic but varied (seeded): C1D1 over two years, delays of 1-14 days
in a fifth of the cycles, reduced or held doses, half with all 26 cycles listed and half with
6 listed and 20 projected, some with progression, end of treatment and death. Input validation
(parsing JSON into ScheduleInput) happens once per participant before the clock starts; the
timed part is the calendar itself (`schedule_dict`, the JSON-ready output of `build_schedule`).
"""

from __future__ import annotations

import datetime as dt
import random
import time

from mmtrial.clinical.schedule import ScheduleInput, build_schedule, schedule_dict
from mmtrial.protocol import load_protocol

PARTICIPANTS = 10_000
CYCLES = 26
GOAL_SECONDS = 3.0
SEED = 20271111


def make_participants(n: int = PARTICIPANTS, *, seed: int = SEED) -> list[ScheduleInput]:
    protocol = load_protocol()
    length = protocol.cycle_length_days
    levels = {drug: [float(x) for x in protocol.levels(drug)] for drug in protocol.regimen}
    rng = random.Random(seed)
    first_day = dt.date(2027, 1, 4).toordinal()
    people = []
    for _ in range(n):
        start = first_day + rng.randrange(730)
        listed = CYCLES if rng.random() < 0.5 else 6
        doses = {drug: lv[0] for drug, lv in levels.items()}
        cycles = []
        for _c in range(listed):
            if rng.random() < 0.1:
                drug = rng.choice(list(levels))
                lower = [x for x in levels[drug] if doses[drug] is None or x < doses[drug]]
                doses[drug] = lower[0] if lower else None
            cycles.append(
                {
                    "start_date": dt.date.fromordinal(start).isoformat(),
                    **{f"{d}_mg": v for d, v in doses.items()},
                }
            )
            start += length + (rng.randint(1, 14) if rng.random() < 0.2 else 0)
        facts: dict = {"cycles": cycles, "project_cycles": CYCLES - listed}
        last_start = dt.date.fromisoformat(cycles[-1]["start_date"])
        if rng.random() < 0.3:
            progression = last_start + dt.timedelta(days=rng.randrange(length))
            facts["progression_date"] = progression.isoformat()
            if listed == CYCLES:
                facts["end_of_treatment_date"] = progression.isoformat()
            if rng.random() < 0.3:
                facts["death_date"] = (progression + dt.timedelta(days=400)).isoformat()
        facts["last_enrollment_date"] = "2028-12-28"
        people.append(ScheduleInput.model_validate(facts))
    return people


REPEATS = 3


def _run_all(people: list[ScheduleInput], protocol) -> tuple[float, float, int, int]:
    wall, cpu = time.perf_counter(), time.process_time()
    rows = visits = 0
    for facts in people:
        result = schedule_dict(facts, protocol=protocol)
        rows += len(result["dosing"])
        visits += len(result["visits"])
    return time.perf_counter() - wall, time.process_time() - cpu, rows, visits


def main() -> bool:
    """Best of REPEATS runs; the goal is checked on CPU time (one core, whatever else runs)."""
    protocol = load_protocol()
    people = make_participants()
    schedule_dict(people[0], protocol=protocol)  # per-protocol tables, once
    runs = [_run_all(people, protocol) for _ in range(REPEATS)]
    wall = min(r[0] for r in runs)
    cpu = min(r[1] for r in runs)
    rows, visits = runs[0][2], runs[0][3]

    sample = people[:1000]
    started = time.process_time()
    for facts in sample:
        build_schedule(facts, protocol=protocol)
    pydantic_per_1000 = time.process_time() - started

    print(
        f"schedule: {PARTICIPANTS} participants x {CYCLES} cycles: {cpu:.2f} s CPU, "
        f"{wall:.2f} s wall (best of {REPEATS}; {rows} dosing rows, {visits} visits; "
        f"goal <= {GOAL_SECONDS} s)"
    )
    print(
        f"schedule: build_schedule (validated pydantic Schedule) for 1,000 participants: "
        f"{pydantic_per_1000:.2f} s CPU"
    )
    return cpu <= GOAL_SECONDS


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
