"""Protocol deviations: the re-check by rule, an entry by hand, a resolution.

`deviations_recheck(participant_ids=...)` runs `clinical.deviations` over the participants'
data and brings their deviations in line with the findings:
- a finding with no deviation yet is created (status open, detected by rule);
- an open deviation whose fact the data no longer show (a corrected date, a reason added) is
  withdrawn;
- a withdrawn one whose fact is shown again is opened again (one row per fact: never raised
  twice);
- a resolved one is left as it is.

It runs after every unit of work that changed a participant's visits, doses, labs, responses,
cycles or screening (`unit_of_work.flush` registers it on the transaction's commit, so it sees
the committed data and adds no query to the data entry itself), and over the whole study from
`mmtrial safety recheck`. Every change is audited (model "deviation"); a deviation is not data
of the case report form, so no signature is voided.

Source: ICH E3 section 10.2; ICH E6(R3) 3.10 (deviations documented and explained) and its
glossary (important protocol deviation).
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import Counter
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from mmtrial.clinical.deviations import UNBLINDING, classify, find_deviations
from mmtrial.edc.audit import EventSpec
from mmtrial.edc.models import Deviation, Participant
from mmtrial.edc.models.deviations import DetectedBy, DeviationStatus
from mmtrial.edc.permissions import Action, authorize
from mmtrial.edc.selectors.deviations import deviation_facts
from mmtrial.edc.services._acting import actor_for
from mmtrial.edc.services.participants import participant_for, protocol_of
from mmtrial.edc.unit_of_work import subject_label, unit_of_work
from mmtrial.errors import ConflictError, InputError, NotFound

__all__ = [
    "DEVIATION_DESCRIPTION_REQUIRED",
    "DEVIATION_NOT_OPEN",
    "DEVIATION_RESOLUTION_REQUIRED",
    "DEVIATION_STALE",
    "WATCHED_MODELS",
    "deviation_enter",
    "deviation_record_unblinding",
    "deviation_resolve",
    "deviations_recheck",
    "deviations_recheck_study",
    "recheck_after_commit",
]

DEVIATION_DESCRIPTION_REQUIRED = "Describe the deviation."
DEVIATION_CATEGORY_REQUIRED = "Choose the deviation's category."
DEVIATION_RESOLUTION_REQUIRED = "Say how the deviation was resolved."
DEVIATION_NOT_OPEN = "Deviation {pk} is {status}; only an open deviation can be resolved."
DEVIATION_STALE = (
    "Deviation {pk} was changed by someone else since you opened it (your version {expected}, "
    "now {current}). Reload it and try again."
)
DEVIATION_NOT_FOUND = "No deviation {pk}."

# The records the rules read: a unit of work that changed one re-checks its participant.
WATCHED_MODELS = frozenset(
    {
        "visit",
        "doseadministration",
        "labresult",
        "responseassessment",
        "responsesummary",
        "cycle",
        "screening",
        "participant",
        "endoftreatment",
        "death",
    }
)
_BATCH = 500


def _today() -> dt.date:
    return timezone.localdate()


def _event(deviation: Deviation, participant: Participant, action: str, changes, reason=""):
    return EventSpec(
        action=action,
        model="deviation",
        object_pk=str(deviation.pk),
        site_code=participant.site.code,
        subject=subject_label(participant),
        changes=changes,
        reason=reason,
        context={
            "rule": deviation.rule,
            "source_model": deviation.source_model,
            "source_pk": deviation.source_pk,
        },
    )


def _source(record: tuple[str, str], participant: Participant) -> tuple[str, str]:
    """The record a deviation links to: the finding's record, or the participant for a
    planned assessment never recorded."""
    model, key = record
    if model == "response_assessment_planned":
        return "participant", str(participant.pk)
    return model, key.split(":")[0]


_pending = threading.local()


def recheck_after_commit(participant_ids: Iterable[int]) -> None:
    """Re-check these participants once the current transaction commits (`unit_of_work.flush`
    calls it). The units of work of one transaction (a whole demo seeding, a view's several
    services) share one re-check: the participants are gathered, and the first callback run
    at commit takes them all (the others find nothing left). Participants gathered in a
    transaction that rolled back are re-checked with the next one: harmless, the re-check
    only brings deviations in line with the data."""
    if getattr(_pending, "ids", None) is None:
        _pending.ids = set()
    _pending.ids.update(participant_ids)
    transaction.on_commit(_drain, robust=True)


def _drain() -> None:
    ids, _pending.ids = getattr(_pending, "ids", None) or set(), set()
    if ids:
        deviations_recheck(participant_ids=ids)


def deviations_recheck(*, participant_ids: Iterable[int], today: dt.date | None = None) -> Counter:
    """Run the rules over these participants and bring their deviations in line (module
    docstring). Returns the counts of what changed: created, withdrawn, reopened, unchanged.
    A fixed number of queries for the reads, one per deviation changed."""
    today = today or _today()
    ids = sorted(set(participant_ids))
    counts: Counter = Counter()
    for start in range(0, len(ids), _BATCH):
        with unit_of_work() as uow:
            batch = ids[start : start + _BATCH]
            # One re-check of a participant at a time (two commits re-checking the same
            # participant never create one fact twice: the unique constraint backs this).
            list(Participant.objects.select_for_update().filter(pk__in=batch).values_list("pk"))
            existing: dict[tuple[int, str, str], Deviation] = {
                (d.participant_id, d.rule, d.record_key): d
                for d in Deviation.objects.filter(participant_id__in=batch, detected_by="rule")
            }
            seen: set[tuple[int, str, str]] = set()
            new: list[tuple[Deviation, Participant]] = []
            for item in deviation_facts(batch):
                participant = item.participant
                for finding in find_deviations(item.facts, protocol=item.protocol, today=today):
                    key = (participant.pk, finding.rule, finding.record_key)
                    seen.add(key)
                    current = existing.get(key)
                    if current is None:
                        model, pk = _source(finding.record, participant)
                        new.append(
                            (
                                Deviation(
                                    participant=participant,
                                    rule=finding.rule,
                                    record_key=finding.record_key,
                                    category=finding.category,
                                    important=finding.important,
                                    detected_by=DetectedBy.RULE,
                                    source_model=model,
                                    source_pk=pk,
                                    description=finding.description,
                                    params=dict(finding.params),
                                    detected_on=today,
                                    occurred_on=finding.day,
                                ),
                                participant,
                            )
                        )
                    elif current.status == DeviationStatus.WITHDRAWN:
                        _set(
                            uow,
                            current,
                            participant,
                            "deviation_reopen",
                            status=DeviationStatus.OPEN,
                            description=finding.description,
                            params=dict(finding.params),
                        )
                        counts["reopened"] += 1
                    else:
                        counts["unchanged"] += 1
            if new:
                Deviation.objects.bulk_create([d for d, _ in new])
                for deviation, participant in new:
                    uow.audit(
                        _event(
                            deviation,
                            participant,
                            "deviation_detect",
                            {
                                "status": {"old": None, "new": deviation.status},
                                "category": {"old": None, "new": deviation.category},
                                "important": {"old": None, "new": deviation.important},
                                "description": {"old": None, "new": deviation.description},
                            },
                        )
                    )
                counts["created"] += len(new)
            people = {
                p.pk: p
                for p in Participant.objects.select_related("site").filter(
                    pk__in={k[0] for k, d in existing.items() if k not in seen}
                )
            }
            for key, deviation in existing.items():
                if key in seen or deviation.status != DeviationStatus.OPEN:
                    continue
                _set(
                    uow,
                    deviation,
                    people[key[0]],
                    "deviation_withdraw",
                    status=DeviationStatus.WITHDRAWN,
                    reason="The data no longer show this deviation (re-check by rule).",
                )
                counts["withdrawn"] += 1
    return counts


def _set(
    uow,
    deviation: Deviation,
    participant: Participant,
    action: str,
    *,
    reason="",
    actor=None,
    **values,
):
    changes = {
        name: {"old": getattr(deviation, name), "new": value}
        for name, value in values.items()
        if getattr(deviation, name) != value
    }
    if not changes:
        return
    version = deviation.version
    updated = Deviation.objects.filter(pk=deviation.pk, version=version).update(
        **values, version=version + 1, updated_at=timezone.now()
    )
    if updated != 1:
        raise ConflictError.coded(
            DEVIATION_STALE,
            {"expected_version": version},
            pk=deviation.pk,
            expected=version,
            current="?",
        )
    for name, value in values.items():
        setattr(deviation, name, value)
    deviation.version = version + 1
    uow.audit(_event(deviation, participant, action, changes, reason), actor=actor)


def deviation_enter(
    *,
    user,
    participant_id: int,
    category: str,
    description: str,
    important: bool,
    source_model: str = "",
    source_pk: str = "",
    detected_on: dt.date | None = None,
    occurred_on: dt.date | None = None,
) -> Deviation:
    """A deviation entered by hand (a monitor or data manager: the permission to open
    queries)."""
    participant = participant_for(
        user=user, participant_id=participant_id, action=Action.QUERY_OPEN
    )
    if not (description or "").strip():
        raise InputError(DEVIATION_DESCRIPTION_REQUIRED, {"field": "description"})
    if not (category or "").strip():
        raise InputError(DEVIATION_CATEGORY_REQUIRED, {"field": "category"})
    with unit_of_work() as uow:
        deviation = Deviation(
            participant=participant,
            rule="",
            record_key=f"manual:{uuid.uuid4().hex}",
            category=category.strip(),
            important=bool(important),
            detected_by=DetectedBy.MANUAL,
            source_model=source_model,
            source_pk=str(source_pk or ""),
            description=description.strip(),
            detected_on=detected_on or _today(),
            occurred_on=occurred_on,
            entered_by=user,
        )
        deviation.full_clean()
        deviation.save()
        uow.audit(
            _event(
                deviation,
                participant,
                "deviation_enter",
                {
                    "status": {"old": None, "new": deviation.status},
                    "category": {"old": None, "new": deviation.category},
                    "important": {"old": None, "new": deviation.important},
                    "description": {"old": None, "new": deviation.description},
                },
            ),
            actor=actor_for(user),
        )
    return deviation


def deviation_resolve(
    *, user, deviation_id: int, resolution: str, expected_version: int | None = None
) -> Deviation:
    """Close an open deviation with what was done about it (a monitor or data manager)."""
    if not (resolution or "").strip():
        raise InputError(DEVIATION_RESOLUTION_REQUIRED, {"field": "resolution"})
    with unit_of_work() as uow:
        deviation = (
            Deviation.objects.select_for_update()
            .select_related("participant__site")
            .filter(pk=deviation_id)
            .first()
        )
        if deviation is None:
            raise NotFound.coded(DEVIATION_NOT_FOUND, {"id": deviation_id}, pk=deviation_id)
        participant = participant_for(
            user=user, participant_id=deviation.participant_id, action=Action.VIEW
        )
        authorize(user, Action.QUERY_CLOSE, participant.site_id)
        if expected_version is not None and deviation.version != expected_version:
            raise ConflictError.coded(
                DEVIATION_STALE,
                {"expected_version": expected_version, "current_version": deviation.version},
                pk=deviation.pk,
                expected=expected_version,
                current=deviation.version,
            )
        if deviation.status != DeviationStatus.OPEN:
            raise InputError.coded(DEVIATION_NOT_OPEN, pk=deviation.pk, status=deviation.status)
        _set(
            uow,
            deviation,
            participant,
            "deviation_resolve",
            status=DeviationStatus.RESOLVED,
            resolution=resolution.strip(),
            resolved_on=_today(),
            actor=actor_for(user),
        )
    return deviation


def deviation_record_unblinding(*, unblinding, participant: Participant) -> Deviation | None:
    """An emergency unblinding kept as a deviation-class record (category and importance from
    the protocol file's `deviations.rules.unblinding`), pointing to the unblinding record;
    called by `emergency_unblind` in its unit of work. None when the protocol file does not
    class unblindings."""
    found = classify("unblinding", protocol=protocol_of(participant))
    if found is None:
        return None
    category, important, _source_text = found
    params = {
        "at": timezone.localtime(unblinding.at).date().isoformat(),
        "by": unblinding.by,
        "reason": unblinding.reason,
    }
    with unit_of_work() as uow:
        deviation = Deviation.objects.create(
            participant=participant,
            rule="unblinding",
            record_key=f"unblinding:{unblinding.pk}",
            category=category,
            important=important,
            detected_by=DetectedBy.SYSTEM,
            source_model="unblinding",
            source_pk=str(unblinding.pk),
            description=UNBLINDING.format(**params),
            params=params,
            detected_on=timezone.localtime(unblinding.at).date(),
            occurred_on=timezone.localtime(unblinding.at).date(),
        )
        uow.audit(
            _event(
                deviation,
                participant,
                "deviation_detect",
                {
                    "status": {"old": None, "new": deviation.status},
                    "category": {"old": None, "new": deviation.category},
                    "important": {"old": None, "new": deviation.important},
                },
            )
        )
    return deviation


def deviations_recheck_study(*, today: dt.date | None = None) -> dict[str, int]:
    """Every rule over every participant of the study (`mmtrial safety recheck`): what
    changed, then the study's deviations by status and the important open ones."""
    ids = list(Participant.objects.filter(is_deleted=False).values_list("pk", flat=True))
    counts = deviations_recheck(participant_ids=ids, today=today)
    totals = {
        "participants": len(ids),
        "created": counts["created"],
        "withdrawn": counts["withdrawn"],
        "reopened": counts["reopened"],
    }
    for status in DeviationStatus.values:
        totals[f"{status}_total"] = Deviation.objects.filter(status=status).count()
    totals["important_open"] = Deviation.objects.filter(
        status=DeviationStatus.OPEN, important=True
    ).count()
    return totals
