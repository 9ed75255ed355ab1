"""Cycles and doses: the dose decision at each cycle start, and each dose given or held.

`cycle_start` gathers the participant's facts from the database and asks
`clinical.dosing.decide_next_cycle`; it never decides a dose itself. Facts gathered:
- CrCl by `clinical.renal` from the latest creatinine within the protocol's lab window
  (`renal.lab_window_days`) before the start, the latest recorded weight (visit, else
  screening) and the age (from the year of birth);
- day-1 ANC and platelets: the latest values within the same window;
- every platelet and ANC count (central and local) collected after the last cycle start, so
  the labels' platelet and neutrophil rows act on the counts themselves, not on whether an
  adverse event was typed (the engine forms the episodes and matches them to the events);
- toxicities: adverse events ongoing at, or starting since, the last cycle start, with their
  dates (events an earlier decision already acted on are marked `counted_before`); events
  before C1D1 are baseline grades;
- best confirmed response (ResponseSummary), the previous decision's carry-forward state
  (doses and their days, alternation counts, renal adjustment and band), cycles at the
  current dose, whether the last cycle had a dose held or reduced, and the investigator's
  renal decision for this cycle (`renal_decision_record`).
The decision is stored with its reasons and engine version, the cycle's planned doses are
created on the decision's dosing days, and the planned visits are regenerated from
`clinical.schedule`. A decision that needs the investigator leaves the cycle
`awaiting_investigator`; `renal_decision_record` records the investigator's answer and decides
the cycle again.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.utils import timezone

import mmtrial
from mmtrial.clinical import dosing, renal
from mmtrial.clinical.dosing_models import CountResult, ToxicityEvent
from mmtrial.edc.models import (
    AdverseEvent,
    Cycle,
    DoseAdministration,
    LabResult,
    Participant,
    RenalDoseDecision,
    ResponseSummary,
    Screening,
    Visit,
)
from mmtrial.edc.models.people import ParticipantStatus
from mmtrial.edc.models.treatment import CycleStatus, DoseStatus
from mmtrial.edc.permissions import Action
from mmtrial.edc.services._bulk import records_create_many
from mmtrial.edc.services._records import record_create, record_update
from mmtrial.edc.services.accountability import accountability_recheck
from mmtrial.edc.services.doses import dose_values
from mmtrial.edc.services.participants import acting, participant_for, protocol_of
from mmtrial.edc.services.responses import response_derive
from mmtrial.edc.services.visits import STARTED, visits_regenerate
from mmtrial.edc.unit_of_work import writes
from mmtrial.errors import InputError, NotFound, ProtocolViolation

__all__ = [
    "ENGINE_VERSION",
    "cycle_facts",
    "cycle_start",
    "decide_cycle",
    "dose_record",
    "renal_decision_record",
]

# clinical.dosing has no version of its own yet: the package version identifies the rules
ENGINE_VERSION = getattr(dosing, "ENGINE_VERSION", f"mmtrial-dosing/{mmtrial.__version__}")
NOT_ENROLLED = "Participant {subject} is not enrolled: treatment cannot start."
TREATMENT_ENDED = "Participant {subject} is off treatment: no further cycle can start."
TOO_EARLY = (
    "start date: {date} is before cycle {prev} ends (it started {prev_start}; a cycle lasts "
    "{length} days)"
)
MISSING_LAB = (
    "No {what} collected within {days} days before {date}: record it before starting the cycle."
)
MISSING_WEIGHT = "No body weight recorded (visit or screening): record it before the cycle starts."
DOSE_NOT_FOUND = "Dose {pk} was not found among the records you may see."
AE_NOT_USABLE = (
    "Adverse event '{term}' grade {grade} (from {start}) cannot be read by the dose rules: "
    "{problem}. Correct the adverse event, then start the cycle."
)
COUNT_NEEDED = (
    "Adverse event '{term}' grade {grade} (from {start}) has no count recorded during it, and "
    "grade {grade} does not tell whether the count was below the label's threshold: record the "
    "count (local or central lab), then start the cycle."
)
NO_PENDING_DECISION = (
    "Participant {subject} has no cycle waiting for an investigator's renal decision."
)
# The lab analytes behind the counts the dose rules read (the engine's variable names).
COUNT_ANALYTES = {"platelets": "platelets_per_mm3", "anc": "anc_per_mm3"}


def _term(ae: AdverseEvent) -> str:
    return (ae.ctcae_term or ae.term).strip().lower().replace(" ", "_").replace("-", "_")


def _latest_lab(participant, analyte: str, on: dt.date, days: int) -> LabResult | None:
    return (
        LabResult.objects.filter(
            participant=participant,
            analyte=analyte,
            is_deleted=False,
            collected_on__lte=on,
            collected_on__gte=on - dt.timedelta(days=days),
        )
        .order_by("-collected_on", "-id")
        .first()
    )


def _weight_kg(participant, on: dt.date) -> Decimal:
    visit = (
        Visit.objects.filter(
            participant=participant,
            is_deleted=False,
            weight_kg__isnull=False,
            actual_date__lte=on,
        )
        .order_by("-actual_date", "-id")
        .first()
    )
    if visit is not None:
        return visit.weight_kg
    screening = Screening.objects.filter(participant=participant, is_deleted=False).first()
    weight = (screening.values or {}).get("weight_kg") if screening else None
    if weight is None:
        raise ProtocolViolation(MISSING_WEIGHT, {"field": "weight_kg"})
    try:
        return Decimal(str(weight))
    except InvalidOperation:
        raise ProtocolViolation(MISSING_WEIGHT, {"field": "weight_kg"}) from None


def _events(participant, *, start: dt.date, c1d1: dt.date, boundary: dt.date | None):
    """(toxicity events since `boundary`, the adverse events behind them, baseline grades)."""
    aes = list(
        AdverseEvent.objects.filter(
            participant=participant, is_deleted=False, start_date__lte=start
        ).order_by("start_date", "id")
    )
    baseline: dict[str, int] = {}
    events: list[ToxicityEvent] = []
    sources: list[AdverseEvent] = []
    for ae in aes:
        if ae.start_date < c1d1:
            if ae.end_date is None or ae.end_date >= c1d1:
                baseline[_term(ae)] = max(baseline.get(_term(ae), 0), ae.grade)
            continue
        if boundary is None or (ae.end_date is not None and ae.end_date < boundary):
            continue
        recovered = ae.end_date is not None and ae.end_date <= start
        event = {
            "term": _term(ae),
            "grade": ae.grade,
            "with_pain": ae.with_pain,
            "attributed_to": [drug for drug, related in (ae.attribution or {}).items() if related],
            "current_grade": 0 if recovered else None,
            "current_with_pain": False if recovered else None,
            "counted_before": ae.start_date < boundary,
            "start_date": ae.start_date,
            "end_date": ae.end_date,
        }
        if not ae.nonhematologic:  # the site said hematologic; else the engine places the term
            event["nonhematologic"] = False
        events.append(ToxicityEvent.model_validate(event))
        sources.append(ae)
    return events, sources, baseline


def _counts_since(participant, *, after: dt.date, until: dt.date) -> list[CountResult]:
    """Every platelet and ANC count collected in (after, until], central and local."""
    rows = LabResult.objects.filter(
        participant=participant,
        analyte__in=list(COUNT_ANALYTES),
        is_deleted=False,
        value__isnull=False,
        collected_on__gt=after,
        collected_on__lte=until,
    ).order_by("collected_on", "id")
    return [
        CountResult(
            variable=COUNT_ANALYTES[lab.analyte],
            value=int(lab.value),
            date=lab.collected_on,
            source=lab.source,
        )
        for lab in rows
    ]


def cycle_facts(participant: Participant, *, start_date: dt.date, protocol) -> dosing.CycleFacts:
    """The participant's `CycleFacts` for a cycle starting on `start_date` (module docstring)."""
    return _gather(participant, start_date=start_date, protocol=protocol)[0]


def _gather(participant: Participant, *, start_date: dt.date, protocol):
    """(CycleFacts, the adverse events behind facts.toxicities, in order)."""
    cycles = [
        c
        for c in Cycle.objects.filter(participant=participant, is_deleted=False).order_by("number")
        if c.status in STARTED
    ]
    previous = cycles[-1] if cycles else None
    window = protocol.renal.lab_window_days
    creatinine = _latest_lab(participant, "creatinine", start_date, window)
    if creatinine is None or creatinine.value is None:
        raise ProtocolViolation.coded(
            MISSING_LAB, {"field": "creatinine"}, what="creatinine", days=window, date=start_date
        )
    crcl = renal.creatinine_clearance(
        age_years=start_date.year - participant.year_of_birth,
        sex=participant.sex,
        weight_kg=_weight_kg(participant, start_date),
        creatinine_mg_dl=creatinine.value,
        protocol=protocol,
    )
    counts = {}
    for analyte in ("anc", "platelets"):
        lab = _latest_lab(participant, analyte, start_date, window)
        if lab is None or lab.value is None:
            raise ProtocolViolation.coded(
                MISSING_LAB,
                {"field": analyte},
                what=analyte.upper() if analyte == "anc" else analyte,
                days=window,
                date=start_date,
            )
        counts[analyte] = int(lab.value)
    c1d1 = participant.c1d1_date or start_date
    events, sources, baseline = _events(
        participant, start=start_date, c1d1=c1d1, boundary=previous.start_date if previous else None
    )
    summary = ResponseSummary.objects.filter(participant=participant).first()
    number = (previous.number + 1) if previous else 1
    facts = {
        "cycle": number,
        "crcl_ml_min": Decimal(str(round(crcl.crcl_ml_min, 2))),
        "crcl_date": creatinine.collected_on,
        "decision_date": start_date,
        "anc_per_mm3": counts["anc"],
        "platelets_per_mm3": counts["platelets"],
        "toxicities": events,
        "best_confirmed_response": summary.best_overall_response if summary else None,
        "baseline_grades": baseline,
    }
    answer = (
        RenalDoseDecision.objects.filter(
            participant=participant, cycle_number=number, is_deleted=False
        )
        .order_by("-id")
        .first()
    )
    if answer is not None:
        facts["renal_decision"] = {
            "band": answer.band,
            "action": answer.action,
            "doses_mg": answer.doses_mg,
            "every_days": answer.every_days,
            "reason": answer.reason,
            "decided_by": answer.decided_by,
            "decided_on": answer.decided_on,
        }
    if previous is not None:
        carry = previous.decision.get("carry_forward", {})
        current = carry.get("current_doses_mg") or {}
        facts["current_doses_mg"] = current
        facts["alternation"] = carry.get("alternation", {})
        facts["renal_dose_adjusted"] = carry.get("renal_dose_adjusted", False)
        facts["current_every_days"] = carry.get("current_every_days", {})
        facts["renal_band"] = carry.get("renal_band")
        facts["counts_since_last_decision"] = _counts_since(
            participant, after=previous.start_date, until=start_date
        )
        at_dose = {}
        for drug, dose in current.items():
            n = 0
            for cycle in reversed(cycles):
                if dose is None or cycle.planned_doses_mg.get(drug) != dose:
                    break
                n += 1
            at_dose[drug] = n
        facts["cycles_at_current_dose"] = at_dose
        facts["last_cycle_hold_or_reduction"] = DoseAdministration.objects.filter(
            cycle=previous, status__in=[DoseStatus.HELD, DoseStatus.REDUCED]
        ).exists() or any(c.get("kind") == "reduce" for c in previous.decision.get("changes", []))
    return dosing.CycleFacts.model_validate(facts), sources


def decide_cycle(participant: Participant, *, start_date: dt.date, protocol):
    """(CycleFacts, DoseDecision) for the cycle starting on `start_date`, written nowhere: what
    `cycle_start` records and what the dose preview shows."""
    facts, sources = _gather(participant, start_date=start_date, protocol=protocol)
    return facts, _decide(facts, sources, protocol)


def _decide(facts, sources: list[AdverseEvent], protocol):
    """The engine's decision; an event it cannot read is named as the site knows it."""
    try:
        return dosing.decide_next_cycle(facts, protocol=protocol)
    except InputError as exc:
        index = _event_index(exc.extra.get("field", ""))
        if index is None or index >= len(sources):
            raise
        ae = sources[index]
        words = {"term": ae.ctcae_term or ae.term, "grade": ae.grade, "start": ae.start_date}
        if exc.extra.get("code") == "cytopenia_count_needed":
            raise ProtocolViolation.coded(COUNT_NEEDED, exc.extra, **words) from None
        problem = exc.extra.get("problem") or exc.message.split(": ", 1)[-1]
        raise ProtocolViolation.coded(AE_NOT_USABLE, exc.extra, problem=problem, **words) from None


def _event_index(field: str) -> int | None:
    if not field.startswith("toxicities["):
        return None
    return int(field[len("toxicities[") : field.index("]")])


def _planned_doses(cycle: Cycle, protocol) -> list[DoseAdministration]:
    rows = []
    days_of = cycle.decision.get("dosing_days") or {}
    for drug, entry in protocol.regimen.items():
        dose = cycle.planned_doses_mg.get(drug)
        if dose is None:
            continue
        for day in days_of.get(drug, entry.days):
            rows.append(
                DoseAdministration(
                    cycle=cycle,
                    drug=drug,
                    day=day,
                    date=cycle.start_date + dt.timedelta(days=day - 1),
                    planned_dose_mg=Decimal(str(dose)),
                    status=DoseStatus.PLANNED,
                )
            )
    return rows


@acting
@writes
def cycle_start(*, user, participant_id: int, start_date: dt.date) -> Cycle:
    """Decide and record the next cycle's start (or its delay) per `clinical.dosing`.

    A delayed cycle is decided again by calling this again with a later date. Returns the
    cycle; `cycle.decision` holds the decision with its reasons.
    """
    participant = participant_for(
        user=user, participant_id=participant_id, action=Action.ENTER_DATA, for_update=True
    )
    subject = participant.subject_id or participant.screening_number
    if participant.status not in (ParticipantStatus.ENROLLED, ParticipantStatus.ON_TREATMENT):
        message = NOT_ENROLLED if participant.enrolled_on is None else TREATMENT_ENDED
        raise ProtocolViolation.coded(message, subject=subject)
    if start_date < participant.enrolled_on:
        raise ProtocolViolation(
            f"start date: {start_date} is before enrollment ({participant.enrolled_on})",
            {"field": "start_date"},
        )
    protocol = protocol_of(participant)
    existing = list(Cycle.objects.filter(participant=participant, is_deleted=False))
    started = sorted((c for c in existing if c.status in STARTED), key=lambda c: c.number)
    if started:
        last = started[-1]
        length = protocol.cycle_length_days
        if start_date < last.start_date + dt.timedelta(days=length):
            raise ProtocolViolation.coded(
                TOO_EARLY,
                {"field": "start_date"},
                date=start_date,
                prev=last.number,
                prev_start=last.start_date,
                length=length,
            )
    facts, decision = decide_cycle(participant, start_date=start_date, protocol=protocol)
    status = {
        "start": CycleStatus.STARTED,
        "discontinue_drug": CycleStatus.STARTED,
        "delay": CycleStatus.DELAYED,
        "discontinue_treatment": CycleStatus.NOT_STARTED,
        "investigator_decision_required": CycleStatus.AWAITING_INVESTIGATOR,
    }[decision.decision]
    payload = decision.model_dump(mode="json")
    fields = {
        "start_date": start_date,
        "status": status,
        "planned_doses_mg": payload["doses_mg"],
        "decision": {**payload, "facts": facts.model_dump(mode="json")},
        "alternation_state": payload["carry_forward"]["alternation"],
        "engine_version": ENGINE_VERSION,
    }
    context = {"derived_by": "clinical.dosing", "engine_version": ENGINE_VERSION}
    pending = next((c for c in existing if c.number == facts.cycle), None)
    if pending is None:
        cycle = record_create(
            Cycle(participant=participant, number=facts.cycle, **fields), context=context
        )
    else:  # a delayed cycle (or one awaiting the investigator) decided again
        pending.participant = participant
        why = (
            "cycle start decided again after the investigator's renal decision"
            if pending.status == CycleStatus.AWAITING_INVESTIGATOR
            else "cycle start decided again after a delay"
        )
        cycle = record_update(
            pending, expected_version=pending.version, values=fields, reason=why, context=context
        )
    if status == CycleStatus.STARTED:
        records_create_many(participant, _planned_doses(cycle, protocol), context=context)
        values = {"status": ParticipantStatus.ON_TREATMENT}
        if facts.cycle == 1:
            values["c1d1_date"] = start_date
        participant = record_update(
            participant,
            expected_version=participant.version,
            values=values,
            reason="",
            reason_required=False,
        )
        visits_regenerate(participant=participant, why=f"cycle {facts.cycle} started")
        if facts.cycle == 1:
            # C1D1 dates the response baseline: derive from the data already stored
            response_derive(participant=participant)
    return cycle


RENAL_ACTIONS = ("confirm", "override")


@acting
@writes
def renal_decision_record(
    *,
    user,
    participant_id: int,
    action: str,
    reason: str = "",
    doses_mg: dict[str, Decimal | float | str | None] | None = None,
    every_days: dict[str, int] | None = None,
) -> Cycle:
    """The investigator confirms or overrides the renal proposal of the cycle waiting for it,
    and the cycle is decided again with that answer (protocol.md section 4).

    Only an investigator of the participant's site may answer (`Action.INVESTIGATOR_DECISION`);
    an override needs the dose of every proposed drug (null stops it) and a reason. The answer
    is a record of its own, audited; the re-decided cycle is returned.
    """
    participant = participant_for(
        user=user,
        participant_id=participant_id,
        action=Action.INVESTIGATOR_DECISION,
        for_update=True,
    )
    subject = participant.subject_id or participant.screening_number
    pending = (
        Cycle.objects.filter(
            participant=participant,
            is_deleted=False,
            status=CycleStatus.AWAITING_INVESTIGATOR,
        )
        .order_by("-number")
        .first()
    )
    if pending is None:
        raise ProtocolViolation.coded(NO_PENDING_DECISION, subject=subject)
    if action not in RENAL_ACTIONS:
        raise InputError(
            f"decision: {action!r} must be one of {', '.join(RENAL_ACTIONS)}", {"field": "action"}
        )
    proposals = pending.decision.get("proposals") or []
    band = proposals[0]["rule"] if proposals else ""
    doses: dict[str, str | None] = {}
    if action == "override":
        if not reason.strip():
            raise InputError(
                "reason: say why the proposed doses are overridden", {"field": "reason"}
            )
        for proposal in proposals:
            drug = proposal["drug"]
            given = (doses_mg or {}).get(drug, "missing")
            if given == "missing":
                raise InputError(
                    f"{drug} dose: give the dose you decide (mg), or leave it empty to stop {drug}",
                    {"field": f"doses_mg.{drug}"},
                )
            if given in (None, ""):
                doses[drug] = None
                continue
            try:
                doses[drug] = str(Decimal(str(given)))
            except InvalidOperation:
                raise InputError(
                    f"{drug} dose: {given!r} is not a number of mg", {"field": f"doses_mg.{drug}"}
                ) from None
    record_create(
        RenalDoseDecision(
            participant=participant,
            cycle_number=pending.number,
            band=band,
            action=action,
            doses_mg=doses,
            every_days=every_days or {},
            reason=reason.strip(),
            decided_by=user.get_full_name() or user.get_username(),
            decided_on=timezone.localdate(),
        ),
        reason=reason.strip(),
    )
    return cycle_start(user=user, participant_id=participant.pk, start_date=pending.start_date)


@acting
@writes
def dose_record(
    *,
    user,
    dose_id: int,
    status: str,
    expected_version: int,
    taken_dose_mg: Decimal | float | str | None = None,
    reason: str = "",
) -> DoseAdministration:
    """Record one planned dose as taken, taken reduced, held or missed.

    `reduced` needs the dose taken (below the planned one); `held` and `missed` need a reason.
    Changing a dose already recorded needs a reason for change (rules: `doses.dose_values`).
    """
    dose = DoseAdministration.objects.select_related("cycle").filter(pk=dose_id).first()
    if dose is None or dose.is_deleted:
        raise NotFound.coded(DOSE_NOT_FOUND, {"id": dose_id}, pk=dose_id)
    try:
        participant = participant_for(
            user=user, participant_id=dose.cycle.participant_id, action=Action.ENTER_DATA
        )
    except NotFound:
        raise NotFound.coded(DOSE_NOT_FOUND, {"id": dose_id}, pk=dose_id) from None
    dose.cycle.participant = participant
    values = dose_values(dose, status=status, taken_dose_mg=taken_dose_mg, reason=reason)
    first_entry = dose.status == DoseStatus.PLANNED
    written = record_update(
        dose,
        expected_version=expected_version,
        values=values,
        reason=reason,
        reason_required=not first_entry,
    )
    accountability_recheck(participant=participant, cycle=dose.cycle)  # the count reads the diary
    return written
