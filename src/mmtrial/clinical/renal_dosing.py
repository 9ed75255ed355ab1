"""Lenalidomide renal dosing: the renal starting dose, the renal escalations, severe impairment.

Rule (shared/protocol.md section 4, ``protocol.renal``)
    - CrCl < 60 mL/min at the start: lenalidomide 10 mg once daily, days 1-21 [seed][REV 2.6].
    - After 2 cycles at 10 mg: 15 mg if not responding (no confirmed PR or better) and tolerating
      (no lenalidomide-related grade >= 3 toxicity, no hold or reduction in the last cycle) [seed]
      with "not responding" and "tolerating" defined by us [ours].
    - CrCl >= 60 mL/min again and tolerating: 25 mg [seed].
    - CrCl that falls during treatment into a band (``renal.bands``: below 60 mL/min,
      lenalidomide 10 mg daily [REV 2.6]; below 30, ixazomib 3 mg [NIN 2.5] and lenalidomide
      15 mg every 48 hours [REV 2.6]) while a dose is above the label's for it: the label's
      doses are proposed and the cycle waits for the investigator to confirm or override them
      with a reason; no renal escalation below 30 mL/min [ours].

The escalations only apply while the dose is set by these renal rules (``renal_dose_adjusted``):
a participant reduced to 10 mg for toxicity is not escalated back by them [ours].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from mmtrial.clinical.dose_levels import check_dose_level, fmt_mg
from mmtrial.clinical.dosing_models import (
    RESPONSES,
    CycleFacts,
    DoseChange,
    Proposal,
    Reason,
)
from mmtrial.errors import InputError
from mmtrial.protocol.models import Protocol, RenalBand, RenalEscalation

__all__ = [
    "RENAL_START_RULE",
    "STARTING_DOSE_RULE",
    "EscalationOutcome",
    "RenalOutcome",
    "band_rank",
    "current_band",
    "is_responding",
    "mg_per_day",
    "renal_adjustment",
    "renal_escalation",
    "starting_doses",
]

STARTING_DOSE_RULE = "starting_dose"
RENAL_START_RULE = "renal_start"


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
) -> tuple[bool, str, str | None]:
    """(tolerating, why in words, why as a code: related_toxicity, last_cycle_hold_or_reduction,
    modified_now; None when tolerating)."""
    tol = protocol.renal.tolerating
    related = [
        e
        for e in facts.toxicities
        if drug in e.attributed_to and e.grade >= tol.related_grade_below
    ]
    if related:
        terms = ", ".join(f"{e.term} grade {e.grade}" for e in related)
        why = f"{drug}-related toxicity of grade >= {tol.related_grade_below} ({terms})"
        return False, why, "related_toxicity"
    if facts.last_cycle_hold_or_reduction:
        return False, "a dose hold or reduction in the last cycle", "last_cycle_hold_or_reduction"
    if modified_now:
        return False, f"{drug} is reduced or held at this decision", "modified_now"
    return (
        True,
        f"no {drug}-related grade >= {tol.related_grade_below} toxicity and no hold or "
        "reduction in the last cycle",
        None,
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
    values: dict = {
        "drug": esc.drug,
        "current_dose_mg": current,
        "to_mg": esc.to_dose,
        "cycles_at_current_dose": done,
    }
    codes: list[str] = []
    if done < esc.after_cycles_at_dose:
        codes.append("cycles_at_dose")
        unmet.append(
            f"{done} cycle(s) completed at {fmt_mg(current)}, {esc.after_cycles_at_dose} needed"
        )
    if esc.requires_not_responding:
        best = facts.best_confirmed_response
        values["best_confirmed_response"] = best
        if is_responding(best, protocol=protocol):
            codes.append("responding")
            unmet.append(
                f"responding (best confirmed response {best}, at least "
                f"{protocol.renal.not_responding_below})"
            )
    if esc.requires_tolerating:
        ok, why, because = _tolerating(facts, esc.drug, modified_now, protocol)
        values["tolerating"] = ok
        if not ok:
            codes.append("not_tolerating")
            values["not_tolerating_because"] = because
            unmet.append(f"not tolerating: {why}")
    if esc.crcl_at_least_ml_min is not None:
        values["crcl_ml_min"] = facts.crcl_ml_min
        values["crcl_at_least_ml_min"] = esc.crcl_at_least_ml_min
        if facts.crcl_ml_min < esc.crcl_at_least_ml_min:
            codes.append("crcl_below")
            unmet.append(f"CrCl {facts.crcl_ml_min} mL/min is below {esc.crcl_at_least_ml_min}")
    if severe:
        codes.append("severe_renal_band")
        values["crcl_ml_min"] = facts.crcl_ml_min
        unmet.append(
            f"CrCl {facts.crcl_ml_min} mL/min: no renal escalation in this band (investigator)"
        )
    values["unmet"] = codes
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
    band = current_band(facts.crcl_ml_min, protocol=protocol)
    severe = band is not None and band.blocks_escalation
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


def current_band(crcl_ml_min: Decimal, *, protocol: Protocol) -> RenalBand | None:
    """The most severe band whose cut-off the CrCl is below (None: above every cut-off)."""
    below = [b for b in protocol.renal.bands if crcl_ml_min < b.crcl_below_ml_min]
    return min(below, key=lambda b: b.crcl_below_ml_min) if below else None


def band_rank(band_id: str | None, *, protocol: Protocol) -> int:
    """0 for no band; higher for a more severe band (a lower cut-off)."""
    if band_id is None:
        return 0
    ordered = sorted(protocol.renal.bands, key=lambda b: b.crcl_below_ml_min, reverse=True)
    return 1 + [b.id for b in ordered].index(band_id)


def mg_per_day(dose_mg: Decimal, every_days: int) -> Decimal:
    """A dose's intensity: 15 mg every 48 hours is 7.5 mg a day, 10 mg daily 10."""
    return Decimal(dose_mg) / every_days


@dataclass
class RenalOutcome:
    band: RenalBand | None
    doses: dict[str, Decimal | None]
    every_days: dict[str, int]
    proposals: list[Proposal] = field(default_factory=list)
    changes: list[DoseChange] = field(default_factory=list)
    reasons: list[Reason] = field(default_factory=list)
    pending: bool = False  # proposals wait for the investigator
    adjusted: set[str] = field(default_factory=set)  # drugs set by the renal decision


def _dose_text(dose: Decimal | None, every_days: int) -> str:
    if dose is None:
        return "discontinued"
    return fmt_mg(dose) + ("" if every_days == 1 else f" every {every_days} regimen days")


def renal_adjustment(
    *,
    facts: CycleFacts,
    doses: dict[str, Decimal | None],
    every_days: dict[str, int],
    protocol: Protocol,
) -> RenalOutcome:
    """CrCl fallen into a band during treatment (shared/protocol.md section 4).

    When the CrCl is in a band more severe than at the last cycle-start decision
    (``facts.renal_band``) and a drug's dose is above the label's dose for that band (compared
    in mg per day), the label's dose is proposed. Without the investigator's answer to this
    band (``facts.renal_decision``) the outcome is ``pending``; with it, the proposal (confirm)
    or the investigator's doses (override, with a reason) apply. Rule and source: the band's
    entry in ``protocol.renal.bands`` ([REV] 2.6, [NIN] 2.5; investigator confirmation [ours]).
    """
    band = current_band(facts.crcl_ml_min, protocol=protocol)
    out = RenalOutcome(band=band, doses=dict(doses), every_days=dict(every_days))
    answer = facts.renal_decision
    fallen = band_rank(band.id if band else None, protocol=protocol) > band_rank(
        facts.renal_band, protocol=protocol
    )
    if band is None or not fallen:
        if answer is not None:
            out.reasons.append(
                Reason(
                    rule="renal_decision_not_needed",
                    source=protocol.renal.start.source,
                    text=f"The investigator's renal decision ({answer.band}) is not needed: "
                    f"CrCl {facts.crcl_ml_min} mL/min asks for no renal dose change now.",
                    values={
                        "kind": "renal_decision_not_needed",
                        "crcl_ml_min": facts.crcl_ml_min,
                        "band": answer.band,
                    },
                )
            )
        return out
    values = {"crcl_ml_min": facts.crcl_ml_min, "crcl_below_ml_min": band.crcl_below_ml_min}
    if facts.crcl_date is not None:
        values["crcl_date"] = facts.crcl_date.isoformat()
    for drug, entry in band.doses.items():
        current = doses.get(drug)
        if current is None:
            continue
        now = every_days.get(drug, 1)
        if mg_per_day(current, now) > mg_per_day(entry.dose, entry.every_days):
            out.proposals.append(
                Proposal(
                    drug=drug,
                    from_mg=current,
                    dose_mg=entry.dose,
                    every_days=entry.every_days,
                    text=entry.text,
                    rule=band.id,
                    source=band.source,
                )
            )
    when = f" ({facts.crcl_date})" if facts.crcl_date else ""
    head = f"{band.text}: CrCl {facts.crcl_ml_min} mL/min{when} is below {band.crcl_below_ml_min}"
    if not out.proposals:
        out.reasons.append(
            Reason(
                rule=band.id,
                source=band.source,
                text=f"{head}; every dose is already at or below the label's dose for it.",
                values={"kind": "renal_at_label", **values},
            )
        )
        return out
    proposed = "; ".join(
        f"{p.drug} {_dose_text(p.from_mg, every_days.get(p.drug, 1))} -> {p.text}"
        for p in out.proposals
    )
    if answer is None or answer.band != band.id:
        out.pending = True
        stale = (
            f" (the investigator's decision answered {answer.band}, not {band.id})"
            if answer is not None
            else ""
        )
        out.reasons.append(
            Reason(
                rule=band.id,
                source=band.source,
                text=f"{head}: the label's doses are proposed ({proposed}). The cycle does not "
                f"start until the investigator confirms or overrides them{stale}.",
                values={
                    "kind": "renal_proposed",
                    **values,
                    "proposed": proposed,
                    "proposed_drugs": [p.drug for p in out.proposals],
                    "answered_band": answer.band if answer is not None else None,
                },
            )
        )
        for p in out.proposals:  # the planned doses show the proposal
            out.doses[p.drug] = p.dose_mg
            out.every_days[p.drug] = p.every_days
        return out
    _apply_answer(out, answer, band, head, values, protocol)
    return out


def _apply_answer(
    out: RenalOutcome, answer, band: RenalBand, head: str, band_values: dict, protocol
) -> None:
    proposed = {p.drug: p for p in out.proposals}
    if answer.action == "override":
        for drug in answer.doses_mg:
            if drug not in proposed:
                raise InputError(
                    f"renal_decision.doses_mg.{drug}: no dose of {drug} is proposed "
                    f"(proposed: {', '.join(proposed)})",
                    {"field": f"renal_decision.doses_mg.{drug}"},
                )
        for drug in proposed:
            if drug not in answer.doses_mg:
                raise InputError(
                    f"renal_decision.doses_mg.{drug}: missing (give the dose in mg, or null "
                    "to stop the drug)",
                    {"field": f"renal_decision.doses_mg.{drug}"},
                )
    who = f" {answer.decided_by}" if answer.decided_by else ""
    on = f" on {answer.decided_on}" if answer.decided_on else ""
    for drug, p in proposed.items():
        if answer.action == "confirm":
            dose, every = p.dose_mg, p.every_days
            how = f"proposal confirmed by the investigator{who}{on}"
        else:
            dose = answer.doses_mg[drug]
            every = answer.every_days.get(drug, 1)
            if dose is not None:
                check_dose_level(
                    drug=drug,
                    dose_mg=dose,
                    protocol=protocol,
                    field=f"renal_decision.doses_mg.{drug}",
                )
            how = f"overridden by the investigator{who}{on}: {answer.reason.strip()}"
        before = out.doses.get(drug)
        from_every = out.every_days.get(drug, 1)
        text = (
            f"{head}: {drug} {_dose_text(before, from_every)} -> "
            f"{_dose_text(dose, every)} (label: {p.text}; {how})."
        )
        out.doses[drug] = dose
        out.every_days[drug] = every
        out.adjusted.add(drug)
        out.changes.append(
            DoseChange(
                drug=drug,
                from_mg=before,
                to_mg=dose,
                kind="renal_adjust" if dose is not None else "discontinue",
                rule=band.id,
                source=band.source,
                text=text,
            )
        )
        out.reasons.append(
            Reason(
                rule=band.id,
                source=band.source,
                text=text,
                values={
                    "drug": drug,
                    "from_mg": before,
                    "to_mg": dose,
                    "every_days": every,
                    "action": answer.action,
                    "kind": "renal_adjust",
                    **band_values,
                    "from_every_days": from_every,
                    "decided_by": answer.decided_by,
                    "decided_on": answer.decided_on.isoformat() if answer.decided_on else None,
                    "override_reason": answer.reason.strip()
                    if answer.action == "override"
                    else None,
                },
            )
        )
