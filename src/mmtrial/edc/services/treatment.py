"""Cycles and doses: the dose decision at each cycle start, and each dose given or held.

`cycle_start` gathers the participant's facts from the database and asks
`clinical.dosing.decide_next_cycle`; it never decides a dose itself. Facts gathered:
- CrCl by `clinical.renal` from the latest creatinine within the protocol's lab window
  (`renal.lab_window_days`) before the start, the latest recorded weight (visit, else
  screening) and the age (from the year of birth);
- day-1 ANC and platelets: the latest values within the same window;
- toxicities: adverse events ongoing at, or starting since, the last cycle start (events an
  earlier decision already acted on are marked `counted_before`); a hematologic event carries
  the lowest matching count measured during it; events before C1D1 are baseline grades;
- best confirmed response (ResponseSummary), the previous decision's carry-forward state
  (doses, alternation counts, renal adjustment), cycles at the current dose, and whether the
  last cycle had a dose held or reduced.
The decision is stored with its reasons and engine version, the cycle's planned doses are
created, and the planned visits are regenerated from `clinical.schedule`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import transaction

import mmtrial
from mmtrial.clinical import dosing, renal
from mmtrial.clinical.dosing_models import LabValue, ToxicityEvent
from mmtrial.edc.models import (
    AdverseEvent,
    Cycle,
    DoseAdministration,
    LabResult,
    Participant,
    ResponseSummary,
    Screening,
    Visit,
)
from mmtrial.edc.models.people import ParticipantStatus
from mmtrial.edc.models.treatment import CycleStatus, DoseStatus
from mmtrial.edc.permissions import Action
from mmtrial.edc.services._bulk import records_create_many
from mmtrial.edc.services._records import record_create, record_update
from mmtrial.edc.services.participants import acting, participant_for, protocol_of
from mmtrial.edc.services.responses import response_derive
from mmtrial.edc.services.visits import STARTED, visits_regenerate
from mmtrial.errors import InputError, NotFound, ProtocolViolation

__all__ = ["ENGINE_VERSION", "cycle_facts", "cycle_start", "dose_record"]

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
# CTCAE v5 terms of the hematologic toxicities the dose rules read, and the count each reads.
HEMATOLOGIC_LABS = {
    "platelet_count_decreased": ("platelets", "platelets_per_mm3"),
    "thrombocytopenia": ("platelets", "platelets_per_mm3"),
    "neutrophil_count_decreased": ("anc", "anc_per_mm3"),
    "neutropenia": ("anc", "anc_per_mm3"),
}


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
    """(toxicity events since `boundary`, baseline grades) from the adverse events."""
    aes = list(
        AdverseEvent.objects.filter(
            participant=participant, is_deleted=False, start_date__lte=start
        ).order_by("start_date", "id")
    )
    baseline: dict[str, int] = {}
    events: list[ToxicityEvent] = []
    counts = {}
    for ae in aes:
        if ae.start_date < c1d1:
            if ae.end_date is None or ae.end_date >= c1d1:
                baseline[_term(ae)] = max(baseline.get(_term(ae), 0), ae.grade)
            continue
        if boundary is None or (ae.end_date is not None and ae.end_date < boundary):
            continue
        lab = None
        term = _term(ae)
        if term in HEMATOLOGIC_LABS:
            analyte, variable = HEMATOLOGIC_LABS[term]
            if analyte not in counts:
                counts[analyte] = list(
                    LabResult.objects.filter(
                        participant=participant, analyte=analyte, is_deleted=False
                    ).values_list("collected_on", "value")
                )
            during = [
                v
                for day, v in counts[analyte]
                if v is not None and ae.start_date <= day <= (ae.end_date or start)
            ]
            if during:
                lab = LabValue(variable=variable, value=min(during))
        recovered = ae.end_date is not None and ae.end_date <= start
        events.append(
            ToxicityEvent(
                term=term,
                grade=ae.grade,
                with_pain=ae.with_pain,
                nonhematologic=ae.nonhematologic,
                attributed_to=[drug for drug, related in (ae.attribution or {}).items() if related],
                lab=lab,
                current_grade=0 if recovered else None,
                current_with_pain=False if recovered else None,
                counted_before=ae.start_date < boundary,
            )
        )
    return events, baseline


def cycle_facts(participant: Participant, *, start_date: dt.date, protocol) -> dosing.CycleFacts:
    """The participant's `CycleFacts` for a cycle starting on `start_date` (module docstring)."""
    cycles = [
        c
        for c in Cycle.objects.filter(participant=participant, is_deleted=False).order_by("number")
        if c.status in STARTED
    ]
    previous = cycles[-1] if cycles else None
    window = protocol.renal.lab_window_days
    creatinine = _latest_lab(participant, "creatinine", start_date, window)
    if creatinine is None or creatinine.value is None:
        raise ProtocolViolation(
            MISSING_LAB.format(what="creatinine", days=window, date=start_date),
            {"field": "creatinine"},
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
            raise ProtocolViolation(
                MISSING_LAB.format(
                    what=analyte.upper() if analyte == "anc" else analyte,
                    days=window,
                    date=start_date,
                ),
                {"field": analyte},
            )
        counts[analyte] = int(lab.value)
    c1d1 = participant.c1d1_date or start_date
    events, baseline = _events(
        participant, start=start_date, c1d1=c1d1, boundary=previous.start_date if previous else None
    )
    summary = ResponseSummary.objects.filter(participant=participant).first()
    facts = {
        "cycle": (previous.number + 1) if previous else 1,
        "crcl_ml_min": Decimal(str(round(crcl.crcl_ml_min, 2))),
        "anc_per_mm3": counts["anc"],
        "platelets_per_mm3": counts["platelets"],
        "toxicities": events,
        "best_confirmed_response": summary.best_overall_response if summary else None,
        "baseline_grades": baseline,
    }
    if previous is not None:
        carry = previous.decision.get("carry_forward", {})
        current = carry.get("current_doses_mg") or {}
        facts["current_doses_mg"] = current
        facts["alternation"] = carry.get("alternation", {})
        facts["renal_dose_adjusted"] = carry.get("renal_dose_adjusted", False)
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
    return dosing.CycleFacts.model_validate(facts)


def _planned_doses(cycle: Cycle, protocol) -> list[DoseAdministration]:
    rows = []
    for drug, entry in protocol.regimen.items():
        dose = cycle.planned_doses_mg.get(drug)
        if dose is None:
            continue
        for day in entry.days:
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
@transaction.atomic
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
        raise ProtocolViolation(message.format(subject=subject))
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
            raise ProtocolViolation(
                TOO_EARLY.format(
                    date=start_date, prev=last.number, prev_start=last.start_date, length=length
                ),
                {"field": "start_date"},
            )
    facts = cycle_facts(participant, start_date=start_date, protocol=protocol)
    decision = dosing.decide_next_cycle(facts, protocol=protocol)
    status = {
        "start": CycleStatus.STARTED,
        "discontinue_drug": CycleStatus.STARTED,
        "delay": CycleStatus.DELAYED,
        "discontinue_treatment": CycleStatus.NOT_STARTED,
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
    else:  # a delayed cycle decided again
        pending.participant = participant
        cycle = record_update(
            pending,
            expected_version=pending.version,
            values=fields,
            reason="cycle start decided again after a delay",
            context=context,
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


DOSE_STATUSES = (DoseStatus.TAKEN, DoseStatus.REDUCED, DoseStatus.HELD, DoseStatus.MISSED)


@acting
@transaction.atomic
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
    Changing a dose already recorded needs a reason for change.
    """
    dose = DoseAdministration.objects.select_related("cycle").filter(pk=dose_id).first()
    if dose is None or dose.is_deleted:
        raise NotFound(DOSE_NOT_FOUND.format(pk=dose_id), {"id": dose_id})
    try:
        participant = participant_for(
            user=user, participant_id=dose.cycle.participant_id, action=Action.ENTER_DATA
        )
    except NotFound:
        raise NotFound(DOSE_NOT_FOUND.format(pk=dose_id), {"id": dose_id}) from None
    dose.cycle.participant = participant
    if status not in DOSE_STATUSES:
        raise InputError(
            f"status: {status!r} must be one of {', '.join(DOSE_STATUSES)}", {"field": "status"}
        )
    taken = None
    if status == DoseStatus.TAKEN:
        taken = dose.planned_dose_mg
    elif status == DoseStatus.REDUCED:
        try:
            taken = Decimal(str(taken_dose_mg))
        except InvalidOperation:
            raise InputError(
                f"taken dose mg: {taken_dose_mg!r} is not a number", {"field": "taken_dose_mg"}
            ) from None
        if taken <= 0 or (dose.planned_dose_mg is not None and taken >= dose.planned_dose_mg):
            raise InputError(
                f"taken dose mg: a reduced dose must be above 0 and below the planned "
                f"{dose.planned_dose_mg} mg",
                {"field": "taken_dose_mg"},
            )
    if status in (DoseStatus.HELD, DoseStatus.MISSED, DoseStatus.REDUCED) and not reason.strip():
        raise InputError(f"reason: say why the dose was {status}", {"field": "reason"})
    first_entry = dose.status == DoseStatus.PLANNED
    return record_update(
        dose,
        expected_version=expected_version,
        values={"status": status, "taken_dose_mg": taken, "reason": reason.strip()},
        reason=reason,
        reason_required=not first_entry,
    )
