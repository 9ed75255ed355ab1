"""Adverse events and outcomes (end of treatment, follow-up contacts, death) of a cohort plan.

Toxicities are placed so that the protocol's rules have something to decide: a platelet count
below 30,000/mm3 or an ANC below 500/mm3 in mid-cycle (doses held, the next cycle reduced by the
alternating rule), grade 2 hyperglycemia attributed to dexamethasone (dexamethasone reduced),
and background grade 1-2 events that resolve before the next cycle (no dose change).
"""

from __future__ import annotations

import datetime as dt
import random

from mmtrial.sim.plans import (
    SAMPLE_DAYS_BEFORE_CYCLE,
    AdverseEventPlan,
    EndOfTreatmentPlan,
    ParticipantPlan,
)

__all__ = ["adverse_events", "outcome"]


# (term, attribution, lowest and highest grade the simulation gives it); CTCAE v5.0 defines
# upper respiratory infection from grade 2.
_BACKGROUND = (
    ("Fatigue", {"lenalidomide": True}, 1, 2),
    ("Diarrhea", {"ixazomib": True, "lenalidomide": True}, 1, 2),
    ("Constipation", {"lenalidomide": True}, 1, 2),
    ("Nausea", {"ixazomib": True}, 1, 2),
    ("Insomnia", {"dexamethasone": True}, 1, 1),
    ("Edema limbs", {"dexamethasone": True}, 1, 1),
    ("Upper respiratory infection", {}, 2, 2),
    ("Back pain", {}, 1, 2),
    ("Peripheral sensory neuropathy", {"ixazomib": True}, 1, 1),
)


def _day(start: dt.date, day: int) -> dt.date:
    return start + dt.timedelta(days=day - 1)


def _hematologic(plan: ParticipantPlan, event: str, number: int, rng: random.Random) -> None:
    cycle = plan.cycles[number - 1]
    start = _day(cycle.start, plan.calendar.mid_cycle_day)
    if event == "thrombocytopenia":
        term, lab = "Platelet count decreased", ("platelets", rng.randrange(15000, 25000, 1000))
    else:
        term, lab = "Neutrophil count decreased", ("anc", rng.randrange(300, 480, 10))
    plan.adverse_events.append(
        AdverseEventPlan(
            term=term,
            grade=4,
            start=start,
            end=start + dt.timedelta(days=rng.randrange(6, 10)),
            attribution={"ixazomib": True, "lenalidomide": True},
            nonhematologic=False,
            action_taken="dose_held",
            lab=lab,
        )
    )


def adverse_events(plan: ParticipantPlan, rng: random.Random) -> None:
    """The participant's adverse events, in start order."""
    for event, number in plan.archetype.events:
        if number > len(plan.cycles):
            continue
        if event in ("thrombocytopenia", "neutropenia"):
            _hematologic(plan, event, number, rng)
        elif event == "hyperglycemia":
            start = _day(plan.cycles[number - 1].start, 9)
            plan.adverse_events.append(
                AdverseEventPlan(
                    term="Hyperglycemia",
                    grade=2,
                    start=start,
                    end=start + dt.timedelta(days=11),
                    attribution={"dexamethasone": True},
                    action_taken="dose_reduced",
                )
            )
    if plan.archetype.stage == "ae_stop":
        last = plan.cycles[-1]
        plan.adverse_events.append(
            AdverseEventPlan(
                term="Pneumonia",
                grade=3,
                start=_day(last.start, last.stop_day or 10),
                end=_day(last.start, 24),
                attribution={"ixazomib": False, "lenalidomide": False, "dexamethasone": False},
                serious=True,
                action_taken="treatment_discontinued",
            )
        )
    for _ in range(rng.randrange(0, 4)):
        term, attribution, bottom, top = rng.choice(_BACKGROUND)
        cycle = rng.choice(plan.cycles)
        start = _day(cycle.start, rng.randrange(3, 17))
        end = start + dt.timedelta(days=rng.randrange(3, 10))
        grade = rng.randrange(bottom, top + 1)
        if start > plan.data_cutoff:
            continue
        if end > plan.data_cutoff:
            if bottom > 1:
                continue  # an ongoing grade 2 would hold the next cycle: leave it out
            end, grade = None, 1  # still ongoing at the cut-off: mild, so no cycle waits for it
        plan.adverse_events.append(
            AdverseEventPlan(term=term, grade=grade, start=start, end=end, attribution=attribution)
        )
    plan.adverse_events.sort(key=lambda ae: (ae.start, ae.term))


def outcome(plan: ParticipantPlan, rng: random.Random) -> None:
    """End of treatment, follow-up contacts after progression and death."""
    stage = plan.archetype.stage
    last = plan.cycles[-1]
    if stage == "ae_stop":
        plan.end_of_treatment = EndOfTreatmentPlan(
            recorded_on=_day(last.start, 26),
            last_dose=_day(last.start, (last.stop_day or 10) - 1),
            reason="adverse_event",
            details="グレード3の肺炎のため、治験責任医師が治験治療を中止。",
        )
        return
    if stage != "progressed":
        return
    plan.end_of_treatment = EndOfTreatmentPlan(
        recorded_on=last.start + dt.timedelta(days=plan.calendar.cycle_days),
        last_dose=_day(last.start, plan.calendar.last_dosing_day),
        reason="progressive_disease",
        details="中央検査のM蛋白2回の結果で進行を確認。",
    )
    progression = last.start - dt.timedelta(days=SAMPLE_DAYS_BEFORE_CYCLE)
    contacts = []
    day = progression + dt.timedelta(days=plan.calendar.follow_up_days)
    while day <= plan.data_cutoff:
        contacts.append(day)
        day += dt.timedelta(days=plan.calendar.follow_up_days)
    if plan.archetype.dies and contacts:
        kept = contacts[: min(2, len(contacts))]
        death = kept[-1] + dt.timedelta(days=rng.randrange(20, 60))
        if death <= plan.data_cutoff:
            contacts, plan.death = kept, death
    plan.contacts = contacts
