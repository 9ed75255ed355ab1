"""Within a cycle: is a day's dose given or held (day 8 / day 15 ixazomib, lenalidomide days)?

Rule (shared/protocol.md section 7, last paragraph; ``protocol.dose_modification``)
    A dose of a drug on a day listed in ``within_cycle_hold_days`` is held when a rule's lab
    threshold is met on that day (platelets < 30,000/mm3 or ANC < 500/mm3 hold ixazomib and
    lenalidomide [NIN] section 2.4 table 2), or while a toxicity that holds the drug has not yet
    met its resumption condition (e.g. peripheral neuropathy grade 2: ixazomib held until
    grade <= 1 without pain). Held doses are not made up [ours, ``held_doses_made_up``].
    Reductions are decided at the next cycle start (:func:`mmtrial.clinical.dosing.decide_next_cycle`),
    where the episode is passed as a :class:`ToxicityEvent`.
"""

from __future__ import annotations

from mmtrial.clinical.dose_levels import check_dose_level, dosing_days, fmt_mg
from mmtrial.clinical.dose_modification import (
    compare,
    count_unit,
    matching_rules,
    resumption_met,
)
from mmtrial.clinical.dosing_models import DayDecision, DayDrug, DayFacts, Reason
from mmtrial.clinical.toxicity_events import place_baseline, place_events
from mmtrial.clinical.value_ranges import check_value
from mmtrial.errors import InputError
from mmtrial.protocol.models import Protocol

__all__ = ["decide_day"]


def _validate(facts: DayFacts, protocol: Protocol) -> None:
    if facts.day > protocol.cycle_length_days:
        raise InputError(
            f"day: {facts.day} is outside a {protocol.cycle_length_days}-day cycle",
            {"field": "day"},
        )
    for drug in facts.doses_mg:
        if drug not in protocol.drugs:
            raise InputError(f"doses_mg.{drug}: unknown drug", {"field": f"doses_mg.{drug}"})
    for drug in protocol.drugs:
        if drug not in facts.doses_mg:
            raise InputError(
                f"doses_mg.{drug}: missing (give the dose in mg, or null when not given)",
                {"field": f"doses_mg.{drug}"},
            )
        dose = facts.doses_mg[drug]
        if dose is not None:
            check_dose_level(drug=drug, dose_mg=dose, protocol=protocol, field=f"doses_mg.{drug}")
    for drug in facts.every_days:
        if drug not in protocol.drugs:
            raise InputError(f"every_days.{drug}: unknown drug", {"field": f"every_days.{drug}"})
    for name in ("anc_per_mm3", "platelets_per_mm3"):
        value = getattr(facts, name)
        if value is not None:
            check_value(name, value, protocol=protocol)
    from mmtrial.clinical.dosing import validate_events  # one validator for both decisions

    validate_events(facts.toxicities, field="toxicities", protocol=protocol)


def decide_day(facts: DayFacts, *, protocol: Protocol) -> DayDecision:
    """Give or hold each drug scheduled on this day of the cycle, with reasons.

    Raises InputError for facts that do not fit the protocol (unknown drug, dose off the ladder,
    day outside the cycle). A count that is not given cannot trigger a hold; the reasons say so.
    """
    _validate(facts, protocol)
    events = place_events(facts.toxicities, protocol=protocol)
    baseline = place_baseline(facts.baseline_grades, protocol=protocol)
    mod = protocol.dose_modification
    holds: dict[str, str] = {}
    reasons: list[Reason] = []
    triggered: list[str] = []

    for rule in mod.rules:
        for trig in rule.any_of:
            if trig.lab is None:
                continue
            value = facts.lab_value(trig.lab.variable)
            if value is None:
                reasons.append(
                    Reason(
                        rule=rule.id,
                        source=rule.source,
                        text=f"{trig.lab.variable} not given for day {facts.day}: "
                        f"'{rule.text}' could not be checked.",
                        values={
                            "kind": "day_count_missing",
                            trig.lab.variable: None,
                            "count_variable": trig.lab.variable,
                            "day": facts.day,
                        },
                    )
                )
                continue
            if compare(value, trig.lab):
                triggered.append(rule.id)
                for drug in rule.hold:
                    holds.setdefault(drug, rule.id)
                reasons.append(
                    Reason(
                        rule=rule.id,
                        source=rule.source,
                        text=f"{rule.text} on day {facts.day} ({trig.lab.variable} {value} "
                        f"{trig.lab.operator} {trig.lab.threshold}): hold "
                        f"{', '.join(rule.hold)} until {rule.resume_when}.",
                        values={
                            "kind": "day_count_hold",
                            trig.lab.variable: value,
                            "threshold": trig.lab.threshold,
                            "count_variable": trig.lab.variable,
                            "count_unit": count_unit(trig.lab.variable, protocol),
                            "operator": trig.lab.operator,
                            "day": facts.day,
                            "hold": list(rule.hold),
                        },
                    )
                )

    counts = dict(facts.alternation.counts)
    for event in events:
        rules, _, _ = matching_rules(event, counts=counts, protocol=protocol)
        for rule in rules:
            lab = rule.resume_lab.variable if rule.resume_lab is not None else None
            if resumption_met(
                rule,
                event,
                lab_value=facts.lab_value(lab) if lab else None,
                baseline_grade=baseline.get(event.term, 0),
            ):
                continue
            drugs = [*rule.hold, *(event.attributed_to if rule.hold_attributed else [])]
            if not drugs:
                continue
            triggered.append(rule.id)
            for drug in drugs:
                holds.setdefault(drug, rule.id)
            reasons.append(
                Reason(
                    rule=rule.id,
                    source=rule.source,
                    text=f"{rule.text} ({event.term} grade {event.grade_now} now): hold "
                    f"{', '.join(drugs)} until {rule.resume_when}.",
                    values={
                        "kind": "day_toxicity_hold",
                        "term": event.term,
                        **({"ctcae_term": event.ctcae_term} if event.ctcae_term else {}),
                        "grade_now": event.grade_now,
                        "day": facts.day,
                        "hold": list(drugs),
                    },
                )
            )

    drugs: dict[str, DayDrug] = {}
    for drug in protocol.drugs:
        dose = facts.doses_mg[drug]
        if dose is None:
            drugs[drug] = DayDrug(action="not_given_this_cycle", dose_mg=None)
        elif facts.day not in dosing_days(
            drug=drug, every_days=facts.every_days.get(drug, 1), protocol=protocol
        ):
            drugs[drug] = DayDrug(action="not_scheduled", dose_mg=None)
        elif drug in holds and facts.day in mod.within_cycle_hold_days.get(drug, []):
            drugs[drug] = DayDrug(action="hold", dose_mg=None)
            reasons.append(
                Reason(
                    rule=holds[drug],
                    source=mod.source,
                    text=f"{drug} {fmt_mg(dose)} held on day {facts.day}"
                    + ("; held doses are not made up." if not mod.held_doses_made_up else "."),
                    values={
                        "kind": "day_held",
                        "drug": drug,
                        "dose_mg": dose,
                        "day": facts.day,
                        "made_up": mod.held_doses_made_up,
                    },
                )
            )
        else:
            drugs[drug] = DayDrug(action="give", dose_mg=dose)
            if drug in holds:
                reasons.append(
                    Reason(
                        rule=holds[drug],
                        source=mod.source,
                        text=f"{drug} is not held within a cycle on day {facts.day} "
                        "(within_cycle_hold_days); given.",
                        values={"kind": "day_not_held", "drug": drug, "day": facts.day},
                    )
                )
    return DayDecision(
        cycle=facts.cycle,
        day=facts.day,
        drugs=drugs,
        doses_mg={d: v.dose_mg for d, v in drugs.items()},
        triggered_rules=list(dict.fromkeys(triggered)),
        reasons=reasons,
        held_doses_made_up=mod.held_doses_made_up,
        protocol_version=protocol.identification.version,
    )
