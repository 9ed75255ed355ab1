"""The demo's drug accountability: the cycle whose every dose the demo records (the demo
site's participants' current cycle, `demo_runner.DOSES_SITE`) gets its capsule and tablet count.

A full cycle's supply is dispensed on the cycle's first day (units per dose x planned doses,
from the protocol's strengths); on the day the diary is saved the site counts what is left:
dispensed minus the units the diary records, so the count agrees with the doses. For the first
of the demo site's participants not signed or locked at the cut-off, one extra lenalidomide capsule is counted as returned: the count
then disagrees with the diary by one, and the EDC opens its query.
Writes go through `edc.services.accountability` only.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from mmtrial.clinical.accountability import units_per_dose
from mmtrial.edc.models import Cycle, DoseAdministration
from mmtrial.edc.models.treatment import DoseStatus
from mmtrial.sim.plans import Phase

__all__ = ["MISMATCH_DRUG", "schedule_accountability"]

MISMATCH_DRUG = "lenalidomide"
_GIVEN = (DoseStatus.TAKEN, DoseStatus.REDUCED)
_TRUST = {"signed", "locked"}  # signed or locked at the cut-off: their queries must be closed


def schedule_accountability(runner, plan, cycle_plan, cycle, *, day: dt.date, user_key: str):
    """Queue the count of `cycle` on `day` (after its diary) for the demo site's last cycles."""
    from mmtrial.sim.demo_runner import DOSES_SITE

    if plan.site.code != DOSES_SITE or cycle_plan.number != plan.cycles[-1].number:
        return
    first = min(
        (p.index for p in runner.plans if p.site.code == DOSES_SITE and not _TRUST & set(p.roles)),
        default=None,
    )
    runner.push(
        day,
        Phase.DOSES,
        plan.index,
        "drug accountability",
        _step(runner, plan, cycle.pk, mismatch=plan.index == first),
        user_key,
    )


def _step(runner, plan, cycle_pk: int, *, mismatch: bool):
    def step(day, user):
        from mmtrial.edc.services.accountability import accountability_record
        from mmtrial.edc.services.participants import protocol_of

        cycle = Cycle.objects.select_related("participant").get(pk=cycle_pk)
        protocol = protocol_of(cycle.participant)
        if protocol.accountability is None:
            return
        doses = list(DoseAdministration.objects.filter(cycle=cycle, is_deleted=False))
        for drug, spec in protocol.accountability.units.items():
            planned = cycle.planned_doses_mg.get(drug)
            if planned is None:
                continue
            per_dose = units_per_dose(dose_mg=Decimal(str(planned)), strengths_mg=spec.strengths_mg)
            mine = [d for d in doses if d.drug == drug]
            if per_dose is None or not mine:
                continue
            used = 0
            for dose in mine:
                if dose.status in _GIVEN:
                    taken = dose.taken_dose_mg if dose.taken_dose_mg is not None else planned
                    used += (
                        units_per_dose(dose_mg=Decimal(str(taken)), strengths_mg=spec.strengths_mg)
                        or 0
                    )
            dispensed = per_dose * len(mine)
            returned = dispensed - used
            if mismatch and drug == MISMATCH_DRUG and returned < dispensed:
                returned += 1  # one capsule more in the bottle than the diary leaves
            accountability_record(
                user=user,
                participant_id=cycle.participant_id,
                cycle_number=cycle.number,
                drug=drug,
                dispensed_count=dispensed,
                dispensed_on=cycle.start_date,
                returned_count=returned,
                returned_on=day,
                bottle_count=1,
                bottle_id=f"{plan.screening_number}-C{cycle.number}-{drug[:3].upper()}",
            )

    return step
