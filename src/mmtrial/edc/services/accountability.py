"""Drug accountability: capsules and tablets dispensed for a cycle, returned and lost.

Written through the unit of work (audited, versioned). After each save the count is compared
with the dose diary by `clinical.accountability` (once the return is counted): a mismatch opens
one automatic query on the record (origin edit check, field "returned"), never a second while
one is open or answered; a correction that makes them agree closes it.
Source: ICH E6(R3) investigational product accountability.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from mmtrial.clinical.accountability import (
    AccountabilityInput,
    AccountabilityResult,
    account_for_cycle,
)
from mmtrial.edc.models import Cycle, DoseAdministration, DrugAccountability, Participant, Query
from mmtrial.edc.models.treatment import DoseStatus
from mmtrial.edc.models.trust import QueryOrigin, QueryStatus
from mmtrial.edc.permissions import Action
from mmtrial.edc.services._records import record_create, record_update
from mmtrial.edc.services.participants import acting, participant_for, protocol_of
from mmtrial.edc.services.queries import query_close_automatic, query_open
from mmtrial.edc.unit_of_work import writes
from mmtrial.errors import InputError, NotFound

__all__ = [
    "ACCOUNTABILITY_MISMATCH",
    "ACCOUNTABILITY_RESOLVED",
    "CYCLE_NOT_FOUND",
    "NOT_ACCOUNTED_DRUG",
    "RETURNED_BEFORE_DISPENSED",
    "RETURNED_TOO_MANY",
    "accountability_facts",
    "accountability_recheck",
    "accountability_record",
    "accountability_result",
]

ACCOUNTABILITY_MISMATCH = (
    "{drug}, cycle {cycle}: the count gives {count} {unit}(s) taken ({dispensed} dispensed, "
    "{returned} returned, {lost} lost) but the diary records {diary}. Please check the count "
    "and the dose diary."
)
ACCOUNTABILITY_RESOLVED = "The count and the dose diary now agree."
CYCLE_NOT_FOUND = "Cycle {cycle} of participant {subject} has not been started."
NOT_ACCOUNTED_DRUG = "{drug} is not a drug of this protocol's accountability ({known})."
RETURNED_TOO_MANY = (
    "Returned and lost ({returned} + {lost}) are more than the {dispensed} dispensed."
)
RETURNED_BEFORE_DISPENSED = "Date returned: {returned} is before the date dispensed ({dispensed})."
_QUERY_FIELD = "returned_count"
_GIVEN = (DoseStatus.TAKEN, DoseStatus.REDUCED)


def accountability_facts(
    row: DrugAccountability, cycle: Cycle, doses: list[DoseAdministration]
) -> AccountabilityInput:
    """The pure rule's input from a row, its cycle and that cycle's dose rows of the drug."""
    planned = cycle.planned_doses_mg.get(row.drug)
    days = (cycle.decision.get("dosing_days") or {}).get(row.drug)
    taken = [
        Decimal(d.taken_dose_mg if d.taken_dose_mg is not None else d.planned_dose_mg or 0)
        for d in doses
        if d.drug == row.drug and d.status in _GIVEN and not d.is_deleted
    ]
    return AccountabilityInput(
        drug=row.drug,
        dispensed=row.dispensed_count,
        returned=row.returned_count or 0,
        lost=row.lost_count,
        planned_dose_mg=None if planned is None else Decimal(str(planned)),
        dose_days=days,
        taken_doses_mg=taken,
    )


def accountability_result(
    row: DrugAccountability, cycle: Cycle, doses: list[DoseAdministration], protocol
) -> AccountabilityResult:
    return account_for_cycle(accountability_facts(row, cycle, doses), protocol=protocol)


def _clean(protocol, *, drug, dispensed_count, dispensed_on, returned_count, returned_on, lost):
    units = protocol.accountability.units if protocol.accountability else {}
    if drug not in units:
        known = ", ".join(protocol.drugs[d].name for d in units) or "-"
        raise InputError.coded(NOT_ACCOUNTED_DRUG, {"field": "drug"}, drug=drug, known=known)
    if dispensed_count is not None and (returned_count or 0) + (lost or 0) > dispensed_count:
        raise InputError.coded(
            RETURNED_TOO_MANY,
            {"field": "returned_count"},
            returned=returned_count or 0,
            lost=lost or 0,
            dispensed=dispensed_count,
        )
    if returned_on is not None and dispensed_on is not None and returned_on < dispensed_on:
        raise InputError.coded(
            RETURNED_BEFORE_DISPENSED,
            {"field": "returned_on"},
            returned=returned_on,
            dispensed=dispensed_on,
        )
    return units[drug].unit


def _reconcile(row: DrugAccountability, cycle: Cycle, participant: Participant, protocol) -> None:
    """Open one query on a mismatch, close it once the count agrees (module docstring)."""
    doses = list(DoseAdministration.objects.filter(cycle=cycle, drug=row.drug, is_deleted=False))
    result = accountability_result(row, cycle, doses, protocol)
    mismatch = row.returned_count is not None and result.mismatch
    open_queries = list(
        Query.objects.filter(
            participant_id=participant.pk,
            model="drugaccountability",
            object_pk=str(row.pk),
            field=_QUERY_FIELD,
            origin=QueryOrigin.EDIT_CHECK,
        ).exclude(status=QueryStatus.CLOSED)
    )
    if mismatch and not open_queries:
        query_open(
            user=None,
            participant=participant,
            model="drugaccountability",
            object_pk=str(row.pk),
            field=_QUERY_FIELD,
            text=ACCOUNTABILITY_MISMATCH.format(
                drug=protocol.drugs[row.drug].name,
                cycle=row.cycle_number,
                count=result.expected_consumption,
                unit=result.unit,
                dispensed=row.dispensed_count,
                returned=row.returned_count or 0,
                lost=row.lost_count,
                diary=result.diary_units,
            ),
            origin=QueryOrigin.EDIT_CHECK,
        )
    elif not mismatch:
        for query in open_queries:
            query_close_automatic(query=query, text=ACCOUNTABILITY_RESOLVED)


@acting
@writes
def accountability_record(
    *,
    user,
    participant_id: int,
    cycle_number: int,
    drug: str,
    dispensed_count: int,
    dispensed_on: dt.date,
    returned_count: int | None = None,
    returned_on: dt.date | None = None,
    lost_count: int = 0,
    bottle_count: int | None = None,
    bottle_id: str = "",
    comment: str = "",
    expected_version: int | None = None,
    reason: str = "",
) -> DrugAccountability:
    """Record (first entry) or change (at `expected_version`, with a reason) one drug's
    accountability for a cycle; then compare the count with the diary (module docstring)."""
    participant = participant_for(
        user=user, participant_id=participant_id, action=Action.ENTER_DATA
    )
    protocol = protocol_of(participant)
    cycle = Cycle.objects.filter(
        participant=participant, number=cycle_number, is_deleted=False
    ).first()
    if cycle is None:
        raise NotFound.coded(
            CYCLE_NOT_FOUND,
            {"field": "cycle_number"},
            cycle=cycle_number,
            subject=participant.subject_id or participant.pk,
        )
    unit = _clean(
        protocol,
        drug=drug,
        dispensed_count=dispensed_count,
        dispensed_on=dispensed_on,
        returned_count=returned_count,
        returned_on=returned_on,
        lost=lost_count,
    )
    values = dict(
        unit=unit,
        dispensed_count=dispensed_count,
        dispensed_on=dispensed_on,
        returned_count=returned_count,
        returned_on=returned_on,
        lost_count=lost_count or 0,
        bottle_count=bottle_count,
        bottle_id=(bottle_id or "").strip(),
        comment=(comment or "").strip(),
    )
    row = DrugAccountability.objects.filter(
        participant=participant, cycle_number=cycle_number, drug=drug, is_deleted=False
    ).first()
    if row is None:
        row = record_create(
            DrugAccountability(
                participant=participant, cycle_number=cycle_number, drug=drug, **values
            )
        )
    else:
        row.participant = participant
        # Filling a field left blank (the return, at the end of the cycle) is entry, not change.
        corrected = any(
            getattr(row, name) not in (None, "") and getattr(row, name) != value
            for name, value in values.items()
        )
        row = record_update(
            row,
            expected_version=expected_version,
            values=values,
            reason=reason,
            reason_required=corrected,
        )
    row.participant = participant
    _reconcile(row, cycle, participant, protocol)
    return row


def accountability_recheck(*, participant: Participant, cycle: Cycle) -> None:
    """The diary of `cycle` changed: compare each count of the cycle again (one query when the
    cycle has none), opening or closing the mismatch query."""
    rows = list(
        DrugAccountability.objects.filter(
            participant=participant, cycle_number=cycle.number, is_deleted=False
        )
    )
    if not rows:
        return
    protocol = protocol_of(participant)
    for row in rows:
        row.participant = participant
        _reconcile(row, cycle, participant, protocol)
