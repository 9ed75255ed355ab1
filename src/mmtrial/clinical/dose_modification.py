"""Dose modification for toxicity: which rule an event triggers, and what it does to the doses.

Rule
    shared/protocol.md section 7 (``protocol.dose_modification.rules``), from the NINLARO USPI
    section 2.4 table 2 (ixazomib with lenalidomide and dexamethasone) and the TOURMALINE-MM1
    protocol for dexamethasone:

    - platelets < 30,000/mm3 or ANC < 500/mm3: hold ixazomib and lenalidomide; resume with the
      **alternating** reduction (1st event lenalidomide one level down, 2nd ixazomib, ...);
    - rash grade 2-3: first occurrence hold lenalidomide and resume it one level down;
      recurrence hold both and resume ixazomib one level down (alternating); grade 4: stop;
    - peripheral neuropathy grade 1 with pain or grade 2: hold ixazomib, resume at the same dose;
      grade 2 with pain or grade 3: resume ixazomib one level down; grade 4: stop;
    - other non-hematologic grade 3-4: hold ixazomib; resume every attributed drug one level down;
    - dexamethasone-related grade >= 2: dexamethasone one level down.

    The alternation counts overlapping-toxicity events per scope (``alternation.scope``: one
    shared count [ours], or one per toxicity group); "first"/"recurrence" rows use that count.
    At most ``levels_down_per_drug_per_decision`` levels down per drug at one decision [ours].
    Below the lowest level a drug is discontinued (protocol.md section 6).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from decimal import Decimal

from mmtrial.clinical.dose_levels import fmt_mg, one_level_down
from mmtrial.clinical.dosing_models import DoseChange, Reason, ToxicityEvent
from mmtrial.protocol.models import DoseModificationRule, LabCondition, Protocol, ToxicityTrigger

__all__ = [
    "SHARED_SCOPE",
    "ModificationOutcome",
    "alternation_key",
    "apply_toxicities",
    "compare",
    "count_unit",
    "event_values",
    "known_lab_variables",
    "matching_rules",
    "next_alternating_drug",
    "resumption_met",
]

SHARED_SCOPE = "shared"

_OPERATORS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def compare(value: Decimal | int, condition: LabCondition) -> bool:
    return _OPERATORS[condition.operator](Decimal(value), condition.threshold)


def _lab_text(condition: LabCondition, value: Decimal | int) -> str:
    return f"{condition.variable} {value} {condition.operator} {condition.threshold}"


def _lab_trigger_matches(trigger: LabCondition, event: ToxicityEvent, protocol: Protocol) -> bool:
    """The event's count meets the condition, or its CTCAE grade implies it (a count-less grade
    on both sides of the threshold is refused earlier, in toxicity_events)."""
    lab = event.lab
    if lab is not None and lab.variable == trigger.variable and compare(lab.value, trigger):
        return True
    cytopenia = protocol.dose_modification.cytopenias.get(trigger.variable)
    if cytopenia is None or event.term != cytopenia.ctcae_term:
        return False
    from mmtrial.clinical.toxicity_terms import grade_implies  # it imports this module's users

    return grade_implies(event.term, event.grade, trigger) is True


def _trigger_matches(trigger: ToxicityTrigger, event: ToxicityEvent, protocol: Protocol) -> bool:
    if trigger.lab is not None and not _lab_trigger_matches(trigger.lab, event, protocol):
        return False
    if trigger.toxicity is not None and event.term != trigger.toxicity:
        return False
    if trigger.grades is not None and event.grade not in trigger.grades:
        return False
    if trigger.with_pain is not None and event.with_pain != trigger.with_pain:
        return False
    if trigger.nonhematologic is not None and event.nonhematologic != trigger.nonhematologic:
        return False
    return trigger.attributed_to is None or trigger.attributed_to in event.attributed_to


# Derived per protocol once: protocols are immutable, and holding the protocol in the value keeps
# its id from being reused while the entry lives.
_DERIVED: dict[tuple[int, str], tuple[Protocol, frozenset[str]]] = {}
_DERIVED_LIMIT = 64  # a handful of protocol versions; tests build more, so keep it bounded


def _derived(protocol: Protocol, name: str, compute) -> frozenset[str]:
    key = (id(protocol), name)
    hit = _DERIVED.get(key)
    if hit is None or hit[0] is not protocol:
        hit = (protocol, frozenset(compute(protocol)))
        if len(_DERIVED) >= _DERIVED_LIMIT:
            _DERIVED.clear()
        _DERIVED[key] = hit
    return hit[1]


def _named_toxicities(protocol: Protocol) -> frozenset[str]:
    return _derived(
        protocol,
        "named_toxicities",
        lambda p: {
            trig.toxicity
            for rule in p.dose_modification.rules
            for trig in rule.any_of
            if trig.toxicity is not None
        },
    )


def known_lab_variables(protocol: Protocol) -> frozenset[str]:
    """Lab variables the cycle-start criteria and the modification rules compare."""

    def compute(p: Protocol) -> set[str]:
        found = {c.lab.variable for c in p.cycle_start.criteria if c.lab is not None}
        for rule in p.dose_modification.rules:
            found.update(t.lab.variable for t in rule.any_of if t.lab is not None)
        return found

    return _derived(protocol, "lab_variables", compute)


def alternation_key(rule: DoseModificationRule, protocol: Protocol) -> str | None:
    """The alternation counter an event under this rule counts on, or None if it does not."""
    alt = protocol.dose_modification.alternation
    if rule.toxicity_group not in alt.toxicity_groups:
        return None
    return SHARED_SCOPE if alt.scope == "shared" else rule.toxicity_group


def next_alternating_drug(*, count: int, protocol: Protocol) -> str:
    """The drug reduced at the next event, after `count` events counted on a scope."""
    sequence = protocol.dose_modification.alternation.sequence
    return sequence[count % len(sequence)]


def matching_rules(
    event: ToxicityEvent, *, counts: dict[str, int], protocol: Protocol
) -> tuple[list[DoseModificationRule], str | None, int]:
    """The rules an event triggers, its alternation key and its occurrence number on that key.

    `counts` is not changed. A new event's occurrence number is the count it would make
    (count + 1); an event ``counted_before`` is already in the count (its number is the count).
    """
    named = _named_toxicities(protocol)
    candidates = [
        rule
        for rule in protocol.dose_modification.rules
        if any(_trigger_matches(trig, event, protocol) for trig in rule.any_of)
        and not (rule.excludes_named_toxicities and event.term in named)
    ]
    key = next(
        (k for k in (alternation_key(r, protocol) for r in candidates) if k is not None), None
    )
    occurrence = 0
    if key is not None:
        occurrence = max(counts.get(key, 0), 1) if event.counted_before else counts.get(key, 0) + 1
    chosen = [
        rule
        for rule in candidates
        if rule.occurrence == "any"
        or (rule.occurrence == "first" and occurrence == 1)
        or (rule.occurrence == "recurrence" and occurrence >= 2)
    ]
    return chosen, key, occurrence


def resumption_met(
    rule: DoseModificationRule,
    event: ToxicityEvent,
    *,
    lab_value: Decimal | int | None,
    baseline_grade: int,
) -> bool:
    """Whether the held drugs may resume now (the rule's `resume_when`, as data)."""
    if rule.resumption.kind == "discontinue_regimen":
        return False
    if rule.resume_lab is not None and (
        lab_value is None or not compare(lab_value, rule.resume_lab)
    ):
        return False
    if rule.resume_grade_at_most is not None and event.grade_now > max(
        rule.resume_grade_at_most, baseline_grade
    ):
        return False
    return not (rule.resume_without_pain and event.pain_now)


@dataclass
class ModificationOutcome:
    doses: dict[str, Decimal | None]
    counts: dict[str, int]
    changes: list[DoseChange] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    held: dict[str, str] = field(default_factory=dict)  # drug -> rule id
    discontinue_rule: str | None = None  # set when a rule discontinues the regimen
    reduced: dict[str, int] = field(default_factory=dict)


def _describe(event: ToxicityEvent) -> str:
    if event.lab is not None:
        when = f" on {event.lab.date}" if event.lab.date else ""
        lab = f", {event.lab.source} lab" if event.lab.source else ""
        grade = "" if event.start_date is None else f"grade {event.grade}, lowest count "
        return f"{event.term} ({grade}{event.lab.variable} {event.lab.value}{when}{lab})"
    if not event.nonhematologic:
        return f"{event.term} grade {event.grade}, no count (CTCAE v5.0 grade {event.grade})"
    pain = " with pain" if event.with_pain else ""
    return f"{event.term} grade {event.grade}{pain}"


def count_unit(variable: str, protocol: Protocol) -> str | None:
    """The unit the protocol compares a count in (``/mm3``), from the rules or start criteria."""
    conditions = [t.lab for r in protocol.dose_modification.rules for t in r.any_of]
    conditions += [c.lab for c in protocol.cycle_start.criteria]
    return next((c.unit for c in conditions if c is not None and c.variable == variable), None)


def event_values(event: ToxicityEvent, protocol: Protocol) -> dict:
    """The event as typed values, enough to describe it in any language (``_describe`` is the
    English): term and CTCAE term, grade, pain, and the count behind a cytopenia."""
    values: dict = {"term": event.term, "grade": event.grade}
    if event.ctcae_term is not None:
        values["ctcae_term"] = event.ctcae_term
    values["with_pain"] = event.with_pain
    values["nonhematologic"] = event.nonhematologic
    if event.lab is not None:
        values[event.lab.variable] = event.lab.value
        values["count_variable"] = event.lab.variable
        values["count_unit"] = count_unit(event.lab.variable, protocol)
        values["count_is_nadir"] = event.start_date is not None
        if event.lab.date is not None:
            values["count_date"] = event.lab.date.isoformat()
        if event.lab.source is not None:
            values["count_source"] = event.lab.source
    return values


def _reduce(
    out: ModificationOutcome,
    drug: str,
    rule: DoseModificationRule,
    why: str,
    protocol: Protocol,
    values: dict,
) -> None:
    """One level down for `drug`; `values` describe the event (and the alternation turn)."""
    limit = protocol.dose_modification.levels_down_per_drug_per_decision
    ladder = protocol.dose_levels[drug]
    source = f"{rule.source}; dose levels {ladder.source}"
    current = out.doses.get(drug)
    if current is None:
        out.reasons.append(
            Reason(
                rule=rule.id,
                source=rule.source,
                text=f"{why}: {drug} is already discontinued.",
                values={"kind": "already_discontinued", "drug": drug, **values},
            )
        )
        return
    if out.reduced.get(drug, 0) >= limit:
        out.reasons.append(
            Reason(
                rule=rule.id,
                source=protocol.dose_modification.source,
                text=f"{why}: {drug} was already reduced at this decision; at most {limit} "
                f"level(s) down per drug per decision.",
                values={
                    "kind": "already_reduced",
                    "drug": drug,
                    "levels_down_per_drug_per_decision": limit,
                    **values,
                },
            )
        )
        return
    lower = one_level_down(drug=drug, dose_mg=current, protocol=protocol)
    out.reduced[drug] = out.reduced.get(drug, 0) + 1
    out.doses[drug] = lower
    if lower is None:
        text = (
            f"{why}: {drug} is at its lowest level ({fmt_mg(current)}); below it the drug is "
            f"discontinued."
        )
        kind = "discontinue"
    else:
        text = f"{why}: {drug} one level down, {fmt_mg(current)} -> {fmt_mg(lower)}."
        kind = "reduce"
    out.changes.append(
        DoseChange(
            drug=drug,
            from_mg=current,
            to_mg=lower,
            kind=kind,
            rule=rule.id,
            source=source,
            text=text,
        )
    )
    out.reasons.append(
        Reason(
            rule=rule.id,
            source=source,
            text=text,
            values={
                "kind": "lowest_level" if lower is None else "reduce",
                "drug": drug,
                "from_mg": current,
                "to_mg": lower,
                **values,
            },
        )
    )


def _apply_rule(
    out: ModificationOutcome,
    rule: DoseModificationRule,
    event: ToxicityEvent,
    key: str | None,
    occurrence: int,
    protocol: Protocol,
) -> None:
    why = f"{rule.text} [{_describe(event)}]"
    kind = rule.resumption.kind
    values = event_values(event, protocol)
    if kind == "discontinue_regimen":
        out.discontinue_rule = rule.id
        out.reasons.append(
            Reason(
                rule=rule.id,
                source=rule.source,
                text=f"{why}: discontinue the regimen.",
                values={"kind": "discontinue_regimen", **values},
            )
        )
        return
    if kind == "same":
        out.reasons.append(
            Reason(
                rule=rule.id,
                source=rule.source,
                text=f"{why}: hold {', '.join(rule.hold)} until {rule.resume_when}; "
                "resume at the most recent dose.",
                values={"kind": "hold_same", "hold": list(rule.hold), **values},
            )
        )
        return
    if kind == "reduce":
        for drug in rule.resumption.drugs:
            _reduce(out, drug, rule, why, protocol, values)
        return
    if kind == "reduce_attributed":
        if not event.attributed_to:
            out.reasons.append(
                Reason(
                    rule=rule.id,
                    source=rule.source,
                    text=f"{why}: hold {', '.join(rule.hold)} until {rule.resume_when}; not "
                    "attributed to a study drug, so no dose is reduced.",
                    values={"kind": "hold_not_attributed", "hold": list(rule.hold), **values},
                )
            )
        for drug in event.attributed_to:
            attributed = {**values, "attributed_to": drug}
            _reduce(out, drug, rule, f"{why}, attributed to {drug}", protocol, attributed)
        return
    # alternate: the drug whose turn it is; a discontinued drug passes its turn to the next.
    sequence = protocol.dose_modification.alternation.sequence
    alt = protocol.dose_modification.alternation
    start = (occurrence - 1) % len(sequence)
    order = sequence[start:] + sequence[:start]
    drug = next((d for d in order if out.doses.get(d) is not None), order[0])
    turn = (
        f"{why}: overlapping toxicity no. {occurrence} on the '{key}' count, "
        f"{sequence[start]}'s turn"
    )
    if drug != sequence[start]:
        turn += f" ({sequence[start]} is discontinued, so {drug})"
    turn_values = {
        **values,
        "alternation_count": occurrence,
        "alternation_scope": key,
        "turn_drug": sequence[start],
    }
    _reduce(out, drug, rule, turn, protocol, turn_values)
    out.reasons[-1].source = f"{out.reasons[-1].source}; {alt.source}"


def apply_toxicities(
    *,
    events: list[ToxicityEvent],
    doses: dict[str, Decimal | None],
    counts: dict[str, int],
    lab_values: dict[str, int | None],
    baseline_grades: dict[str, int],
    protocol: Protocol,
) -> ModificationOutcome:
    """Apply every rule the events trigger, in the order the events occurred.

    Events marked ``counted_before`` trigger no reduction and no count; for every event whose
    rule's resumption condition is not met now, the rule's held drugs stay held.
    """
    out = ModificationOutcome(doses=dict(doses), counts=dict(counts))
    for event in events:
        rules, key, occurrence = matching_rules(event, counts=out.counts, protocol=protocol)
        if not event.counted_before:
            if key is not None and rules:
                out.counts[key] = occurrence
            for rule in rules:
                _apply_rule(out, rule, event, key, occurrence, protocol)
        for rule in rules:
            lab = rule.resume_lab.variable if rule.resume_lab is not None else None
            if resumption_met(
                rule,
                event,
                lab_value=lab_values.get(lab) if lab else None,
                baseline_grade=baseline_grades.get(event.term, 0),
            ):
                continue
            held = [*rule.hold, *(event.attributed_to if rule.hold_attributed else [])]
            for drug in held:
                out.held.setdefault(drug, rule.id)
    return out
