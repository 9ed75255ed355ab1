"""One cycle's drug accountability, per drug of the protocol's accountability section, with the
count compared with the dose diary (`clinical.accountability`); and the adherence of a
participant's cycles. A fixed number of queries whatever the number of rows; scoped to the
user's sites (another site's participant is NotFound)."""

from __future__ import annotations

from dataclasses import dataclass

from mmtrial.clinical.accountability import AccountabilityResult
from mmtrial.edc.models import Cycle, DoseAdministration, DrugAccountability, Participant
from mmtrial.edc.selectors.participants import participant_get
from mmtrial.edc.services.accountability import accountability_result
from mmtrial.edc.services.participants import protocol_of
from mmtrial.errors import NotFound

__all__ = ["CycleAccountability", "DrugLine", "cycle_accountability", "participant_adherence"]

CYCLE_NOT_STARTED = "Cycle {number} has not been started."


@dataclass(frozen=True)
class DrugLine:
    drug: str
    unit: str
    row: DrugAccountability | None
    result: AccountabilityResult | None


@dataclass(frozen=True)
class CycleAccountability:
    participant: Participant
    cycle: Cycle
    lines: list[DrugLine]


def _lines(protocol, cycle, rows, doses) -> list[DrugLine]:
    if protocol.accountability is None:
        return []
    by_drug = {row.drug: row for row in rows}
    lines = []
    for drug, spec in protocol.accountability.units.items():
        row = by_drug.get(drug)
        result = accountability_result(row, cycle, doses, protocol) if row is not None else None
        lines.append(DrugLine(drug=drug, unit=spec.unit, row=row, result=result))
    return lines


def cycle_accountability(*, user, participant_id: int, cycle_number: int) -> CycleAccountability:
    participant = participant_get(user=user, pk=participant_id)
    cycle = Cycle.objects.filter(
        participant=participant, number=cycle_number, is_deleted=False
    ).first()
    if cycle is None:
        raise NotFound.coded(CYCLE_NOT_STARTED, {"cycle": cycle_number}, number=cycle_number)
    rows = list(
        DrugAccountability.objects.filter(
            participant=participant, cycle_number=cycle_number, is_deleted=False
        )
    )
    doses = list(DoseAdministration.objects.filter(cycle=cycle, is_deleted=False))
    protocol = protocol_of(participant)
    return CycleAccountability(participant, cycle, _lines(protocol, cycle, rows, doses))


def participant_adherence(*, participant: Participant) -> list[tuple[int, list[DrugLine]]]:
    """Every cycle with accountability recorded: (cycle number, its lines), three queries."""
    protocol = protocol_of(participant)
    rows = list(DrugAccountability.objects.filter(participant=participant, is_deleted=False))
    numbers = sorted({row.cycle_number for row in rows})
    cycles = {
        c.number: c
        for c in Cycle.objects.filter(participant=participant, number__in=numbers, is_deleted=False)
    }
    doses = list(
        DoseAdministration.objects.filter(cycle__in=list(cycles.values()), is_deleted=False)
    )
    out = []
    for number in numbers:
        cycle = cycles.get(number)
        if cycle is None:
            continue
        mine = [d for d in doses if d.cycle_id == cycle.pk]
        lines = _lines(protocol, cycle, [r for r in rows if r.cycle_number == number], mine)
        out.append((number, [line for line in lines if line.row is not None]))
    return out
