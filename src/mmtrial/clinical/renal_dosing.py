"""Lenalidomide renal dosing: the renal starting dose, the renal escalations, severe impairment.

Rule (shared/protocol.md section 4, ``protocol.renal``)
    - CrCl < 60 mL/min at the start: lenalidomide 10 mg once daily, days 1-21 [seed][REV 2.6].
    - After 2 cycles at 10 mg: 15 mg if not responding (no confirmed PR or better) and tolerating
      (no lenalidomide-related grade >= 3 toxicity, no hold or reduction in the last cycle) [seed]
      with "not responding" and "tolerating" defined by us [ours].
    - CrCl >= 60 mL/min again and tolerating: 25 mg [seed].
    - CrCl < 30 mL/min: the labels' severe-renal doses are proposed and the participant is
      flagged for the investigator's decision; no renal escalation meanwhile [NIN 2.5][REV 2.6]
      [ours].

The escalations only apply while the dose is set by these renal rules (``renal_dose_adjusted``):
a participant reduced to 10 mg for toxicity is not escalated back by them [ours].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from mmtrial.clinical.dose_levels import fmt_mg
from mmtrial.clinical.dosing_models import (
    RESPONSES,
    CycleFacts,
    DoseChange,
    Proposal,
    Reason,
)
from mmtrial.protocol.models import Protocol, RenalEscalation

__all__ = [
    "RENAL_START_RULE",
    "SEVERE_RENAL_RULE",
    "STARTING_DOSE_RULE",
    "EscalationOutcome",
    "is_responding",
    "renal_escalation",
    "severe_renal",
    "starting_doses",
]

STARTING_DOSE_RULE = "starting_dose"
RENAL_START_RULE = "renal_start"
SEVERE_RENAL_RULE = "renal_severe"


def starting_doses(
    *, crcl_ml_min: Decimal, protocol: Protocol
) -> tuple[dict[str, Decimal | None], list[DoseChange], list[Reason], bool]:
    """Cycle 1 doses: the regimen's doses, with the renal starting dose below the CrCl cut-off.

    Returns (doses, changes, reasons, renal_dose_adjusted).
    Example: CrCl 45 mL/min -> lenalidomide 10 mg; CrCl 60.0 -> 25 mg (the cut-off is "< 60").
    """
    start = protocol.renal.start
    doses: dict[str, Decimal | None] = {}
    changes: list[DoseChange] = []
    reasons: list[Reason] = []
    renal = crcl_ml_min < start.crcl_below_ml_min
    for drug in protocol.drugs:
        entry = protocol.regimen[drug]
        if drug == start.drug and renal:
            dose = start.dose
            text = (
                f"CrCl {crcl_ml_min} mL/min is below {start.crcl_below_ml_min} mL/min: "
                f"{drug} starts at the renal dose {fmt_mg(dose)} (instead of {fmt_mg(entry.dose)})."
            )
            change = DoseChange(
                drug=drug,
                from_mg=None,
                to_mg=dose,
                kind="renal_start",
                rule=RENAL_START_RULE,
                source=start.source,
                text=text,
            )
            reasons.append(
                Reason(
                    rule=RENAL_START_RULE,
                    source=start.source,
                    text=text,
                    values={
                        "crcl_ml_min": crcl_ml_min,
                        "crcl_below_ml_min": start.crcl_below_ml_min,
                        "dose_mg": dose,
                    },
                )
            )
        else:
            dose = entry.dose
            text = f"{drug} starts at {fmt_mg(dose)} ({entry.frequency})."
            if drug == start.drug:
                text = (
                    f"CrCl {crcl_ml_min} mL/min is not below {start.crcl_below_ml_min} mL/min: "
                    + text
                )
                reasons.append(
                    Reason(
                        rule=RENAL_START_RULE,
                        source=start.source,
                        text=text,
                        values={
                            "crcl_ml_min": crcl_ml_min,
                            "crcl_below_ml_min": start.crcl_below_ml_min,
                            "dose_mg": dose,
                        },
                    )
                )
            else:
                reasons.append(
                    Reason(
                        rule=STARTING_DOSE_RULE,
                        source=entry.source,
                        text=text,
                        values={"drug": drug, "dose_mg": dose},
                    )
                )
            change = DoseChange(
                drug=drug,
                from_mg=None,
                to_mg=dose,
                kind="start",
                rule=STARTING_DOSE_RULE,
                source=entry.source,
                text=text,
            )
        doses[drug] = dose
        changes.append(change)
    return doses, changes, reasons, renal


def is_responding(best: str | None, *, protocol: Protocol) -> bool:
    """True when the best confirmed response is at least the protocol's response level (PR)."""
    if best is None:
        return False
    return RESPONSES.index(best) <= RESPONSES.index(protocol.renal.not_responding_below)


def _tolerating(
    facts: CycleFacts, drug: str, modified_now: bool, protocol: Protocol
) -> tuple[bool, str]:
    tol = protocol.renal.tolerating
    related = [
        e
        for e in facts.toxicities
        if drug in e.attributed_to and e.grade >= tol.related_grade_below
    ]
    if related:
        terms = ", ".join(f"{e.term} grade {e.grade}" for e in related)
        return False, f"{drug}-related toxicity of grade >= {tol.related_grade_below} ({terms})"
    if facts.last_cycle_hold_or_reduction:
        return False, "a dose hold or reduction in the last cycle"
    if modified_now:
        return False, f"{drug} is reduced or held at this decision"
    return True, (
        f"no {drug}-related grade >= {tol.related_grade_below} toxicity and no hold or "
        "reduction in the last cycle"
    )


@dataclass
class EscalationOutcome:
    dose: Decimal | None
    change: DoseChange | None = None
    reasons: list[Reason] = field(default_factory=list)


def _check(
    esc: RenalEscalation,
    facts: CycleFacts,
    current: Decimal,
    modified_now: bool,
    severe: bool,
    protocol: Protocol,
) -> tuple[bool, list[str], dict]:
    unmet: list[str] = []
    done = facts.cycles_at_current_dose.get(esc.drug, 0)
    values: dict = {"current_dose_mg": current, "cycles_at_current_dose": done}
    if done < esc.after_cycles_at_dose:
        unmet.append(
            f"{done} cycle(s) completed at {fmt_mg(current)}, {esc.after_cycles_at_dose} needed"
        )
    if esc.requires_not_responding:
        best = facts.best_confirmed_response
        values["best_confirmed_response"] = best
        if is_responding(best, protocol=protocol):
            unmet.append(
                f"responding (best confirmed response {best}, at least "
                f"{protocol.renal.not_responding_below})"
            )
    if esc.requires_tolerating:
        ok, why = _tolerating(facts, esc.drug, modified_now, protocol)
        values["tolerating"] = ok
        if not ok:
            unmet.append(f"not tolerating: {why}")
    if esc.crcl_at_least_ml_min is not None:
        values["crcl_ml_min"] = facts.crcl_ml_min
        values["crcl_at_least_ml_min"] = esc.crcl_at_least_ml_min
        if facts.crcl_ml_min < esc.crcl_at_least_ml_min:
            unmet.append(f"CrCl {facts.crcl_ml_min} mL/min is below {esc.crcl_at_least_ml_min}")
    if severe:
        unmet.append("severe renal impairment: escalation is left to the investigator")
    return not unmet, unmet, values


def renal_escalation(
    *,
    facts: CycleFacts,
    dose: Decimal | None,
    renal_dose_adjusted: bool,
    modified_now: bool,
    protocol: Protocol,
) -> EscalationOutcome:
    """The highest renal escalation whose conditions all hold, with a reason for each one checked.

    Only escalations whose ``from_doses`` hold the current dose are considered, and only while the
    dose is renal-adjusted. ``modified_now``: the drug is reduced or held at this decision.
    """
    out = EscalationOutcome(dose=dose)
    if dose is None or not renal_dose_adjusted:
        return out
    severe_cfg = protocol.renal.severe
    severe = severe_cfg.blocks_escalation and facts.crcl_ml_min < severe_cfg.crcl_below_ml_min
    best: RenalEscalation | None = None
    for esc in protocol.renal.escalations:
        if dose not in esc.from_doses or esc.to_dose <= dose:
            continue
        ok, unmet, values = _check(esc, facts, dose, modified_now, severe, protocol)
        if ok:
            text = f"{esc.text} Conditions met: {esc.drug} {fmt_mg(dose)} -> {fmt_mg(esc.to_dose)}."
            if best is None or esc.to_dose > best.to_dose:
                best = esc
        else:
            text = f"{esc.text} Not applied: " + "; ".join(unmet) + "."
        out.reasons.append(Reason(rule=esc.id, source=esc.source, text=text, values=values))
    if best is not None:
        out.dose = best.to_dose
        out.change = DoseChange(
            drug=best.drug,
            from_mg=dose,
            to_mg=best.to_dose,
            kind="escalate",
            rule=best.id,
            source=best.source,
            text=f"{best.text} {best.drug} {fmt_mg(dose)} -> {fmt_mg(best.to_dose)}.",
        )
    return out


def severe_renal(
    *, crcl_ml_min: Decimal, doses: dict[str, Decimal | None], protocol: Protocol
) -> tuple[list[Proposal], list[Reason], bool]:
    """Below the severe cut-off: the labels' doses as proposals, and the investigator flag."""
    severe = protocol.renal.severe
    if crcl_ml_min >= severe.crcl_below_ml_min:
        return [], [], False
    proposals = [
        Proposal(
            drug=drug,
            dose_mg=dose,
            text=severe.proposals.get(drug, fmt_mg(dose)),
            rule=SEVERE_RENAL_RULE,
            source=severe.source,
        )
        for drug, dose in severe.doses.items()
        if doses.get(drug) is not None
    ]
    text = (
        f"CrCl {crcl_ml_min} mL/min is below {severe.crcl_below_ml_min} mL/min (severe renal "
        "impairment): proposed "
        + "; ".join(f"{p.drug} {p.text}" for p in proposals)
        + ". The investigator decides; the doses above are not changed automatically."
    )
    reason = Reason(
        rule=SEVERE_RENAL_RULE,
        source=severe.source,
        text=text,
        values={"crcl_ml_min": crcl_ml_min, "crcl_below_ml_min": severe.crcl_below_ml_min},
    )
    return proposals, [reason], severe.flag_for_investigator
