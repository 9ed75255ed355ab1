"""A large simulated study: the demo cohort (seeded through the EDC services) copied row for row.

`replicate_study(copies=k)` adds k copies of every participant of the database with all their
records (screening, cycles and doses, visits, labs, disease and response assessments, AEs, end
of treatment, follow-up contacts, death), each copy with its own subject ID, screening number
and central-lab accession numbers. Test data only: it writes the rows directly with
`bulk_create` (no audit events), as the selector tests' builders do. Seeding 1,000 participants
through the services takes about 17 minutes; copying the seeded demo takes seconds, and the
copies are real EDC data, so the IMWG engine derives their responses again from the copied labs.
"""

from __future__ import annotations

from django.db import models

from mmtrial.edc.models import (
    AdverseEvent,
    Cycle,
    Death,
    DiseaseAssessment,
    DoseAdministration,
    EndOfTreatment,
    FollowUpContact,
    LabResult,
    Participant,
    ResponseAssessment,
    ResponseSummary,
    Screening,
    Visit,
)

__all__ = ["replicate_study"]

#: models copied with their participant (visit-linked ones after Visit)
_PER_PARTICIPANT = (
    Screening, Visit, LabResult, DiseaseAssessment, ResponseAssessment, ResponseSummary,
    AdverseEvent, EndOfTreatment, FollowUpContact, Death,
)  # fmt: skip
_BATCH = 2000


def _values(instance: models.Model) -> dict:
    return {
        f.attname: getattr(instance, f.attname)
        for f in instance._meta.concrete_fields
        if not f.primary_key
    }


def _copy(model, rows, **changes) -> list:
    created = []
    for start in range(0, len(rows), _BATCH):
        batch = [
            model(**{**_values(r), **changes.get("fixed", {}), **changes["each"](r)})
            for r in rows[start : start + _BATCH]
        ]
        created += model.objects.bulk_create(batch)
    return created


def _copy_once(tag: str, originals, rows, cycles, doses) -> int:
    people = _copy(
        Participant,
        originals,
        each=lambda p: {
            "subject_id": f"{p.subject_id}-{tag}" if p.subject_id else None,
            "screening_number": f"{p.screening_number}-{tag}",
        },
    )
    participant = {old.pk: new.pk for old, new in zip(originals, people, strict=True)}
    new_cycles = _copy(
        Cycle, cycles, each=lambda c: {"participant_id": participant[c.participant_id]}
    )
    cycle = {old.pk: new.pk for old, new in zip(cycles, new_cycles, strict=True)}
    _copy(DoseAdministration, doses, each=lambda d: {"cycle_id": cycle[d.cycle_id]})
    visits = _copy(
        Visit, rows[Visit], each=lambda v: {"participant_id": participant[v.participant_id]}
    )
    visit = {old.pk: new.pk for old, new in zip(rows[Visit], visits, strict=True)}

    def each(r):
        change = {"participant_id": participant[r.participant_id]}
        if getattr(r, "visit_id", None) is not None:
            change["visit_id"] = visit[r.visit_id]
        if isinstance(r, LabResult) and r.accession:
            change["accession"] = f"{r.accession}-{tag}"
        return change

    for model in _PER_PARTICIPANT:
        if model is not Visit:
            _copy(model, rows[model], each=each)
    return len(people)


def replicate_study(*, copies: int) -> int:
    """Add `copies` copies of every participant; returns the number of participants added."""
    originals = list(Participant.objects.filter(is_deleted=False).order_by("pk"))
    rows = {m: list(m.objects.filter(participant__in=originals)) for m in _PER_PARTICIPANT}
    cycles = list(Cycle.objects.filter(participant__in=originals))
    doses = list(DoseAdministration.objects.filter(cycle__in=cycles))
    return sum(
        _copy_once(f"S{k:03d}", originals, rows, cycles, doses) for k in range(1, copies + 1)
    )
