"""Doses given, held or missed: one dose (`treatment.dose_record`) or a whole cycle's diary in
one save (`cycle_doses_record`).

Both apply the same rules to each dose (`dose_values`): `taken` is the planned dose;
`reduced` needs the dose taken, above 0 and below the planned one; `held`, `missed` and
`reduced` need a reason; changing a dose already recorded needs a reason for change. The unit
of work then runs the same edit checks on every row (a date in the future, a dose off the
protocol's ladder, ...) and checks each row's version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_noop as _noop

from mmtrial.edc.models import Cycle, DoseAdministration
from mmtrial.edc.models.treatment import DoseStatus
from mmtrial.edc.permissions import Action
from mmtrial.edc.services.accountability import accountability_recheck
from mmtrial.edc.services.participants import acting, participant_for, protocol_of
from mmtrial.edc.unit_of_work import RowChange, unit_of_work, writes
from mmtrial.errors import InputError, NotFound

__all__ = [
    "CYCLE_NOT_FOUND",
    "DOSE_NOT_IN_CYCLE",
    "DOSE_STATUSES",
    "DoseEntry",
    "cycle_doses_record",
    "dose_row_label",
    "dose_values",
]

DOSE_STATUSES = (DoseStatus.TAKEN, DoseStatus.REDUCED, DoseStatus.HELD, DoseStatus.MISSED)
CYCLE_NOT_FOUND = "Cycle {number} of participant {subject} was not found."
DOSE_NOT_IN_CYCLE = "Dose {pk} is not a planned dose of cycle {number}: reload the page."
# How a message names one row of the cycle's form (the drug, the cycle day and its date).
DOSE_ROW = _noop("{drug}, day {day} ({date})")


@dataclass(frozen=True)
class DoseEntry:
    """One row of the cycle's dose form as entered: the dose record, what happened, the
    version the form was read at, the dose taken (reduced only) and the reason."""

    dose_id: int
    status: str
    expected_version: int | None
    taken_dose_mg: Decimal | float | str | None = None
    reason: str = ""


def dose_row_label(dose: DoseAdministration, protocol) -> str:
    drug = protocol.drugs[dose.drug].name if dose.drug in protocol.drugs else dose.drug
    return DOSE_ROW.format(drug=drug, day=dose.day, date=dose.date.isoformat())


def dose_values(
    dose: DoseAdministration, *, status: str, taken_dose_mg: Any, reason: str
) -> dict[str, Any]:
    """The fields a dose record takes for what the site entered (module docstring); an
    InputError names the field."""
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
            if not taken.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            raise InputError(
                f"Dose taken (mg): {taken_dose_mg!r} is not a number", {"field": "taken_dose_mg"}
            ) from None
        if taken <= 0 or (dose.planned_dose_mg is not None and taken >= dose.planned_dose_mg):
            raise InputError(
                f"Dose taken (mg): a reduced dose must be above 0 and below the planned "
                f"{dose.planned_dose_mg} mg",
                {"field": "taken_dose_mg"},
            )
    if status in (DoseStatus.HELD, DoseStatus.MISSED, DoseStatus.REDUCED) and not reason.strip():
        raise InputError(f"reason: say why the dose was {status}", {"field": "reason"})
    return {"status": status, "taken_dose_mg": taken, "reason": reason.strip()}


@acting
@writes
def cycle_doses_record(
    *, user, participant_id: int, cycle_number: int, entries: Sequence[DoseEntry]
) -> list[DoseAdministration]:
    """Record several doses of one cycle at once: all or nothing, one audit batch.

    Each entry is checked as `treatment.dose_record` checks one dose; the first row that
    fails is named in the error (drug, day and date) and nothing is saved. Entries whose
    values do not change are skipped. Returns the doses written. A fixed number of queries
    whatever the number of entries (automatic queries of soft edit-check findings aside).
    """
    participant = participant_for(
        user=user, participant_id=participant_id, action=Action.ENTER_DATA
    )
    subject = participant.subject_id or participant.screening_number
    cycle = Cycle.objects.filter(
        participant=participant, number=cycle_number, is_deleted=False
    ).first()
    if cycle is None:
        raise NotFound.coded(
            CYCLE_NOT_FOUND, {"cycle": cycle_number}, number=cycle_number, subject=subject
        )
    cycle.participant = participant
    doses = {d.pk: d for d in DoseAdministration.objects.filter(cycle=cycle, is_deleted=False)}
    protocol = protocol_of(participant)
    changes = []
    for entry in entries:
        dose = doses.get(entry.dose_id)
        if dose is None:
            raise NotFound.coded(
                DOSE_NOT_IN_CYCLE, {"row": entry.dose_id}, pk=entry.dose_id, number=cycle_number
            )
        dose.cycle = cycle
        label = dose_row_label(dose, protocol)
        try:
            values = dose_values(
                dose,
                status=entry.status,
                taken_dose_mg=entry.taken_dose_mg,
                reason=entry.reason or "",
            )
        except InputError as exc:
            raise InputError(f"{label}: {exc.message}", {**exc.extra, "row": dose.pk}) from None
        changes.append(
            RowChange(
                instance=dose,
                expected_version=entry.expected_version,
                values=values,
                reason=entry.reason or "",
                label=label,
                reason_required=dose.status != DoseStatus.PLANNED,
            )
        )
    with unit_of_work() as uow:
        written = uow.update_many(participant, changes)
        accountability_recheck(participant=participant, cycle=cycle)  # the count reads the diary
        return written
