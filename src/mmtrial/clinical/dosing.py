"""The dose decision at the start of each cycle (and, via :mod:`dose_day`, within a cycle).

Rule (shared/protocol.md sections 3-7; every number from the protocol file)
    1. Cycle 1: the regimen's starting doses; lenalidomide's renal dose when CrCl < 60 mL/min.
    2. Toxicity since the last decision: the dose-modification rules (section 7), with the
       alternating reduction for overlapping toxicities; the platelet and ANC rows act on every
       count since the last decision and on count-less grade 4 events (:mod:`toxicity_events`);
       below the lowest level a drug is discontinued (section 6); a discontinued drug does not
       end the others (setting ``discontinued_drug_ends_treatment``).
    3. Renal function fallen into a band during treatment (section 4): the labels' doses are
       proposed and the cycle waits for the investigator (``investigator_decision_required``)
       until ``renal_decision`` confirms or overrides them; otherwise the renal escalations.
    4. Cycle-start criteria (section 5): ANC >= 1,000/mm3, platelets >= 75,000/mm3,
       non-hematologic toxicity recovered to grade <= 1 or baseline; otherwise the cycle is
       delayed and re-checked after ``cycle_start.recheck_interval_days``.

A delay (or a pending investigator decision) consumes nothing: its ``carry_forward`` equals the
input state plus the counts read, so the re-check reads the same events and counts again and
the planned doses already show the reduction they call for. ``start``, ``discontinue_drug`` and
``discontinue_treatment`` consume them: their ``carry_forward`` holds the doses, alternation
counts and renal band to store.
"""

from __future__ import annotations

from decimal import Decimal

from mmtrial.clinical.dose_day import decide_day
from mmtrial.clinical.dose_levels import check_dose_level, dosing_days, fmt_mg
from mmtrial.clinical.dose_modification import (
    SHARED_SCOPE,
    apply_toxicities,
    compare,
    known_lab_variables,
    next_alternating_drug,
)
from mmtrial.clinical.dosing_models import (
    AlternationState,
    CarryForward,
    CountResult,
    CriterionCheck,
    CycleFacts,
    DayDecision,
    DayFacts,
    DoseChange,
    DoseDecision,
    Reason,
    ToxicityEvent,
)
from mmtrial.clinical.renal_dosing import renal_adjustment, renal_escalation, starting_doses
from mmtrial.clinical.toxicity_events import place_baseline, prepare_events
from mmtrial.clinical.value_ranges import check_value
from mmtrial.errors import InputError
from mmtrial.protocol.models import Protocol

__all__ = [
    "CycleFacts",
    "DayDecision",
    "DayFacts",
    "DoseDecision",
    "ToxicityEvent",
    "decide_day",
    "decide_next_cycle",
    "validate_cycle_facts",
]

DECISION_RULE = "cycle_decision"
RENAL_LAB_WINDOW = "crcl_within_lab_window"


def validate_events(events: list[ToxicityEvent], *, field: str, protocol: Protocol) -> None:
    """Raise InputError naming the field of an event that names an unknown drug or lab."""
    labs = known_lab_variables(protocol)
    for i, event in enumerate(events):
        for j, drug in enumerate(event.attributed_to):
            if drug not in protocol.drugs:
                raise InputError(
                    f"{field}[{i}].attributed_to[{j}]: unknown drug '{drug}' "
                    f"(known: {', '.join(protocol.drugs)})",
                    {"field": f"{field}[{i}].attributed_to[{j}]"},
                )
        if event.lab is not None and event.lab.variable not in labs:
            raise InputError(
                f"{field}[{i}].lab.variable: unknown lab '{event.lab.variable}' "
                f"(known: {', '.join(sorted(labs))})",
                {"field": f"{field}[{i}].lab.variable"},
            )
        if event.current_grade is not None and event.current_grade > event.grade:
            raise InputError(
                f"{field}[{i}].current_grade: {event.current_grade} is above the worst grade "
                f"{event.grade}",
                {"field": f"{field}[{i}].current_grade"},
            )


def validate_doses(doses: dict[str, Decimal | None], *, field: str, protocol: Protocol) -> None:
    for drug in doses:
        if drug not in protocol.drugs:
            raise InputError(
                f"{field}.{drug}: unknown drug (known: {', '.join(protocol.drugs)})",
                {"field": f"{field}.{drug}"},
            )
    for drug in protocol.drugs:
        if drug not in doses:
            raise InputError(
                f"{field}.{drug}: missing (give the dose in mg, or null when discontinued)",
                {"field": f"{field}.{drug}"},
            )
        dose = doses[drug]
        if dose is not None:
            check_dose_level(drug=drug, dose_mg=dose, protocol=protocol, field=f"{field}.{drug}")


def validate_cycle_facts(facts: CycleFacts, *, protocol: Protocol) -> None:
    """Checks that need the protocol (pydantic checks the shape). Raises InputError."""
    if facts.cycle == 1 and facts.current_doses_mg is not None:
        raise InputError(
            "current_doses_mg: omit it for cycle 1 (the starting doses come from the protocol)",
            {"field": "current_doses_mg"},
        )
    if facts.cycle == 1:
        for name in ("counts_since_last_decision", "current_every_days", "renal_band"):
            if getattr(facts, name):
                raise InputError(
                    f"{name}: cycle 1 has no earlier cycle-start decision; omit it (counts "
                    "before the first dose are not toxicities: the start criteria read the "
                    "day-1 counts)",
                    {"field": name},
                )
    if facts.cycle > 1:
        if facts.current_doses_mg is None:
            raise InputError(
                f"current_doses_mg: required for cycle {facts.cycle}",
                {"field": "current_doses_mg"},
            )
        validate_doses(facts.current_doses_mg, field="current_doses_mg", protocol=protocol)
    if facts.crcl_date and facts.decision_date and facts.crcl_date > facts.decision_date:
        raise InputError(
            f"crcl_date: {facts.crcl_date} is after decision_date {facts.decision_date}",
            {"field": "crcl_date"},
        )
    for name in ("cycles_at_current_dose", "current_every_days"):
        for drug in getattr(facts, name):
            if drug not in protocol.drugs:
                raise InputError(f"{name}.{drug}: unknown drug", {"field": f"{name}.{drug}"})
    bands = [b.id for b in protocol.renal.bands]
    for name, band in (
        ("renal_band", facts.renal_band),
        ("renal_decision.band", facts.renal_decision.band if facts.renal_decision else None),
    ):
        if band is not None and band not in bands:
            raise InputError(
                f"{name}: unknown renal band '{band}' (known: {', '.join(bands)})",
                {"field": name},
            )
    for name in ("anc_per_mm3", "platelets_per_mm3", "crcl_ml_min"):
        check_value(name, getattr(facts, name), protocol=protocol)
    validate_events(facts.toxicities, field="toxicities", protocol=protocol)


def _criteria(
    facts: CycleFacts,
    protocol: Protocol,
    baseline_grades: dict[str, int],
    events: list[ToxicityEvent],
) -> list[CriterionCheck]:
    checks: list[CriterionCheck] = []
    for crit in protocol.cycle_start.criteria:
        if crit.lab is not None:
            value = facts.lab_value(crit.lab.variable)
            met = value is not None and compare(value, crit.lab)
            checks.append(
                CriterionCheck(
                    id=crit.id,
                    text=crit.text,
                    met=met,
                    value=value,
                    threshold=f"{crit.lab.operator} {crit.lab.threshold} {crit.lab.unit}",
                    source=crit.source,
                )
            )
        elif crit.nonhematologic_grade_at_most is not None:
            limit = crit.nonhematologic_grade_at_most
            open_events = [
                e
                for e in events
                if e.nonhematologic
                and e.grade_now
                > max(limit, baseline_grades.get(e.term, 0) if crit.or_baseline else 0)
            ]
            value = "; ".join(f"{e.term} grade {e.grade_now}" for e in open_events) or "none"
            checks.append(
                CriterionCheck(
                    id=crit.id,
                    text=crit.text,
                    met=not open_events,
                    value=value,
                    threshold=f"grade <= {limit}" + (" or baseline" if crit.or_baseline else ""),
                    source=crit.source,
                )
            )
    window = protocol.renal.lab_window_days
    if facts.crcl_date is not None and facts.decision_date is not None:
        age_days = (facts.decision_date - facts.crcl_date).days
        checks.append(
            CriterionCheck(
                id=RENAL_LAB_WINDOW,
                text=f"Creatinine clearance from a creatinine at most {window} days old",
                met=age_days <= window,
                value=f"{age_days} days ({facts.crcl_date})",
                threshold=f"<= {window} days",
                source="shared/protocol.md section 4: most recent value within the lab window "
                "[ours] (renal.lab_window_days)",
            )
        )
    return checks


def _cycles_at_dose(
    facts: CycleFacts, before: dict, doses: dict, every: dict, given: dict, protocol: Protocol
) -> dict[str, int]:
    counts: dict[str, int] = {}
    for drug in protocol.drugs:
        if doses.get(drug) is None:
            continue
        done = facts.cycles_at_current_dose.get(drug, 0)
        changed = before.get(drug) != doses[drug] or facts.current_every_days.get(
            drug, 1
        ) != every.get(drug, 1)
        if facts.current_doses_mg is None or changed:
            counts[drug] = 0 if given.get(drug) is None else 1
        else:
            counts[drug] = done if given.get(drug) is None else done + 1
    return counts


def _day_one_counts(facts: CycleFacts, protocol: Protocol) -> list[CountResult]:
    """This decision's own counts, as counts the rows read (cycle 2 onwards). Undated when the
    decision date is not given: they then sort after every dated count."""
    if facts.cycle == 1:
        return []
    return [
        CountResult.model_construct(
            variable=variable, value=facts.lab_value(variable), date=facts.decision_date
        )
        for variable in protocol.dose_modification.cytopenias
        if facts.lab_value(variable) is not None
    ]


def _next_turns(counts: dict[str, int], protocol: Protocol) -> dict[str, str]:
    alt = protocol.dose_modification.alternation
    keys = [SHARED_SCOPE] if alt.scope == "shared" else list(alt.toxicity_groups)
    return {key: next_alternating_drug(count=counts.get(key, 0), protocol=protocol) for key in keys}


def decide_next_cycle(facts: CycleFacts, *, protocol: Protocol) -> DoseDecision:
    """The dose decision for the cycle about to start, with every reason.

    Parameters
    ----------
    facts
        :class:`CycleFacts`, the participant's state at the cycle start.
    protocol
        The protocol the participant is treated under.

    Returns
    -------
    DoseDecision
        ``decision`` (start, delay, discontinue_drug, discontinue_treatment,
        investigator_decision_required), the doses of this cycle and their days, the changes
        (from/to/rule/source), reasons, and the state to carry forward.

    Raises
    ------
    InputError
        Facts that do not fit the protocol (unknown drug or term, dose not on the drug's
        ladder, a count-less grade that straddles a threshold, ...), naming the field.
    """
    validate_cycle_facts(facts, protocol=protocol)
    mod = protocol.dose_modification
    reasons: list[Reason] = []
    changes: list[DoseChange] = []
    if facts.current_doses_mg is None:
        before, start_changes, start_reasons, renal_adjusted = starting_doses(
            crcl_ml_min=facts.crcl_ml_min, protocol=protocol
        )
        changes += start_changes
        reasons += start_reasons
    else:
        before = dict(facts.current_doses_mg)
        renal_adjusted = facts.renal_dose_adjusted

    prepared = prepare_events(
        events=facts.toxicities,
        counts=facts.counts_since_last_decision,
        day_one=_day_one_counts(facts, protocol),
        decision_date=facts.decision_date,
        protocol=protocol,
    )
    baseline = place_baseline(facts.baseline_grades, protocol=protocol)
    outcome = apply_toxicities(
        events=prepared.events,
        doses=before,
        counts=dict(facts.alternation.counts),
        lab_values={v: facts.lab_value(v) for v in known_lab_variables(protocol)},
        baseline_grades=baseline,
        protocol=protocol,
    )
    changes += outcome.changes
    reasons += outcome.reasons
    renal_drug = protocol.renal.start.drug
    if renal_drug in outcome.reduced:
        renal_adjusted = False

    renal = renal_adjustment(
        facts=facts,
        doses=outcome.doses,
        every_days=dict(facts.current_every_days),
        protocol=protocol,
    )
    doses, every_days = renal.doses, renal.every_days
    changes += renal.changes
    reasons += renal.reasons
    if renal_drug in renal.adjusted:
        renal_adjusted = doses.get(renal_drug) is not None

    if not any(p.drug == renal_drug for p in renal.proposals):
        escalation = renal_escalation(
            facts=facts,
            dose=doses.get(renal_drug),
            renal_dose_adjusted=renal_adjusted and facts.current_doses_mg is not None,
            modified_now=renal_drug in outcome.reduced or renal_drug in outcome.held,
            protocol=protocol,
        )
        reasons += escalation.reasons
        if escalation.change is not None and not outcome.discontinue_rule:
            doses[renal_drug] = escalation.dose
            every_days.pop(renal_drug, None)  # an escalation returns to the regimen's days
            changes.append(escalation.change)

    criteria = _criteria(facts, protocol, baseline, prepared.events)
    for check in criteria:
        if not check.met:
            reasons.append(
                Reason(
                    rule=f"cycle_start_{check.id}",
                    source=check.source,
                    text=f"Cycle start criterion not met: {check.text} (value {check.value}).",
                    values={"value": check.value, "threshold": check.threshold},
                )
            )

    newly_discontinued = [
        d for d in protocol.drugs if before.get(d) is not None and doses.get(d) is None
    ]
    if outcome.discontinue_rule:
        stopping = next(r for r in mod.rules if r.id == outcome.discontinue_rule)
        for drug in protocol.drugs:
            if doses.get(drug) is not None:
                changes.append(
                    DoseChange(
                        drug=drug,
                        from_mg=doses[drug],
                        to_mg=None,
                        kind="discontinue",
                        rule=stopping.id,
                        source=stopping.source,
                        text=f"{stopping.text}: {drug} discontinued with the regimen.",
                    )
                )
                doses[drug] = None
    ended_by_drug = mod.discontinued_drug_ends_treatment and newly_discontinued
    all_stopped = all(doses.get(d) is None for d in protocol.drugs)
    counts_after = outcome.counts
    if outcome.discontinue_rule or all_stopped or ended_by_drug:
        decision = "discontinue_treatment"
        if all_stopped and not outcome.discontinue_rule:
            why = "no study drug continues"
        elif ended_by_drug:
            why = (
                f"{', '.join(newly_discontinued)} discontinued and the protocol ends treatment then"
            )
        else:
            why = "a toxicity rule discontinues the regimen"
        doses = {d: None for d in protocol.drugs}
        given = dict(doses)
    elif renal.pending:
        decision = "investigator_decision_required"
        why = (
            f"{renal.band.text}: the investigator confirms or overrides the proposed doses "
            "(with a reason) before the cycle starts"
        )
        given = {d: None for d in protocol.drugs}
    elif not all(c.met for c in criteria):
        decision = "delay"
        why = (
            "the cycle start criteria are not met; re-check in "
            f"{protocol.cycle_start.recheck_interval_days} days (the events are evaluated again then)"
        )
        given = {d: None for d in protocol.drugs}
    else:
        decision = "discontinue_drug" if newly_discontinued else "start"
        given = {d: (None if d in outcome.held else doses.get(d)) for d in protocol.drugs}
        held = [d for d in protocol.drugs if d in outcome.held and doses.get(d) is not None]
        why = "the cycle starts: " + ", ".join(
            f"{d} {'held' if d in held else fmt_mg(given[d])}" for d in protocol.drugs
        )
        if held:
            why += "; held until the toxicity resolves: " + ", ".join(
                f"{d} (rule {outcome.held[d]})" for d in held
            )
        if newly_discontinued:
            why += (
                f"; {', '.join(newly_discontinued)} discontinued, the other drugs continue "
                "(discontinued_drug_ends_treatment: false)"
            )

    if decision in ("delay", "investigator_decision_required"):
        carry = CarryForward(
            current_doses_mg=facts.current_doses_mg,
            alternation=facts.alternation,
            renal_dose_adjusted=facts.renal_dose_adjusted,
            cycles_at_current_dose=facts.cycles_at_current_dose,
            last_cycle_hold_or_reduction=facts.last_cycle_hold_or_reduction,
            current_every_days=facts.current_every_days,
            renal_band=facts.renal_band,
            counts_since_last_decision=[c for c in prepared.counts if c.date is not None],
        )
        counts_after = dict(facts.alternation.counts)
    else:
        band = renal.band.id if renal.band is not None else None
        carry = CarryForward(
            current_doses_mg=dict(doses),
            alternation=AlternationState(counts=counts_after),
            renal_dose_adjusted=renal_adjusted and doses.get(renal_drug) is not None,
            cycles_at_current_dose=_cycles_at_dose(
                facts, before, doses, every_days, given, protocol
            ),
            last_cycle_hold_or_reduction=bool(outcome.reduced)
            or any(given[d] is None and doses.get(d) is not None for d in protocol.drugs),
            current_every_days={
                d: n for d, n in every_days.items() if n != 1 and doses.get(d) is not None
            },
            renal_band=band,
        )
    reasons.append(
        Reason(
            rule=DECISION_RULE,
            source=protocol.cycle_start.source,
            text=f"Cycle {facts.cycle}: {decision} - {why}.",
            values={"decision": decision},
        )
    )
    return DoseDecision(
        cycle=facts.cycle,
        decision=decision,
        doses_mg=given,
        planned_doses_mg=dict(doses),
        dosing_days={
            d: dosing_days(drug=d, every_days=every_days.get(d, 1), protocol=protocol)
            for d in protocol.drugs
            if doses.get(d) is not None
        },
        changes=changes,
        reasons=reasons,
        cycle_start_criteria=criteria,
        recheck_in_days=protocol.cycle_start.recheck_interval_days if decision == "delay" else None,
        investigator_review_required=renal.pending,
        proposals=renal.proposals,
        next_alternating_reduction=_next_turns(counts_after, protocol),
        carry_forward=carry,
        protocol_version=protocol.identification.version,
    )
