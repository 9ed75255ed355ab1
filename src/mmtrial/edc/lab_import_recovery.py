"""Finishing what an interrupted central laboratory import left (run with the import lock held).

An import killed while it staged its rows leaves them invisible (`is_deleted`) under a
`staging` record: the next import marks that import abandoned (an audit event says so, and how
many staged rows are removed), then removes the staged rows in short transactions. They were
never visible, so never trial data; their `create` events stay in the audit trail, followed by
the abandonment. An import killed after its commit but before its responses were re-derived
gets them re-derived (they are a cache of the labs: design rule 4) for every participant whose
data it changed: those of the rows it added and those of the stored results it corrected
(`changed_participants`), and their deviations re-checked. Re-deriving writes only what differs,
so a participant already re-derived before the crash is left as it is.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db.models import Count
from django.utils import timezone

from mmtrial.edc.audit import EventSpec
from mmtrial.edc.models import AuditEvent, LabImport, LabImportStatus, LabResult
from mmtrial.edc.unit_of_work import model_label, unit_of_work

__all__ = [
    "INTERRUPTED",
    "abandon",
    "changed_participants",
    "derive_responses",
    "recover_interrupted",
]

INTERRUPTED = (
    "central laboratory import of {file} (SHA-256 {sha256}) was interrupted before its commit: "
    "none of its rows became visible; {rows} staged rows removed"
)
_DELETE_CHUNK = 2000
_DERIVE_CHUNK = 50  # participants re-derived per transaction, at most
_DERIVE_LABS = (
    5000  # and the results they have between them, at most (one participant may have more)
)
_LOOKUP_CHUNK = 900  # below SQLite's smallest limit on query parameters


def abandon(record: LabImport, reason: str) -> bool:
    """Mark an import that did not commit abandoned (audited), then remove its staged rows.

    Returns False, changing nothing, when the import has committed after all (an interruption
    that arrived just after the commit): its rows are trial data, and what it still owes (its
    re-derivation) is finished by `recover_interrupted`."""
    staged = LabResult.objects.filter(lab_import=record, is_deleted=True).count()
    with unit_of_work() as uow:
        marked = LabImport.objects.filter(pk=record.pk, status=LabImportStatus.STAGING).update(
            status=LabImportStatus.ABANDONED, finished_at=timezone.now()
        )
        if not marked:
            return False
        uow.audit(
            EventSpec(
                action="lab_import_abandon",
                model="labimport",
                object_pk=str(record.pk),
                changes={"status": {"old": record.status, "new": LabImportStatus.ABANDONED.value}},
                reason=reason.format(file=record.file_name, sha256=record.sha256, rows=staged),
                context={"file": record.file_name, "sha256": record.sha256, "removed": staged},
            )
        )
    record.status = LabImportStatus.ABANDONED
    _remove_staged(record)
    return True


def _remove_staged(record: LabImport) -> None:
    """Delete the never-visible rows of an abandoned import, a short transaction at a time."""
    while True:
        with unit_of_work() as uow:
            removed = uow.remove_staged(LabResult, _DELETE_CHUNK, lab_import=record)
        if not removed:
            break
    LabImport.objects.filter(pk=record.pk).update(staged_rows=0)


def _derive_chunks(ids: list[int]) -> list[list[int]]:
    """The participants in chunks of at most _DERIVE_CHUNK, and of at most _DERIVE_LABS results
    between them (a derivation reads every result of its participants inside its transaction)."""
    counts: dict[int, int] = {}
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        counts.update(
            LabResult.objects.filter(
                participant_id__in=ids[start : start + _LOOKUP_CHUNK], is_deleted=False
            )
            .values("participant_id")
            .annotate(n=Count("id"))
            .values_list("participant_id", "n")
        )
    chunks: list[list[int]] = []
    labs = 0
    for pk in ids:
        n = counts.get(pk, 0)
        if not chunks or len(chunks[-1]) >= _DERIVE_CHUNK or labs + n > _DERIVE_LABS:
            chunks.append([])
            labs = 0
        chunks[-1].append(pk)
        labs += n
    return chunks


def derive_responses(
    record: LabImport, participant_ids: list[int], pause: Callable[[float], None]
) -> int:
    """Re-derive the responses of the import's participants, a few per transaction."""
    from mmtrial.edc.services.responses import response_derive_many

    done = 0
    for chunk in _derive_chunks(sorted(set(participant_ids))):
        began = time.monotonic()
        with unit_of_work():
            done += response_derive_many(participant_ids=chunk)
        pause(time.monotonic() - began)
    LabImport.objects.filter(pk=record.pk).update(responses_derived=True)
    return done


def changed_participants(record: LabImport) -> list[int]:
    """Every participant whose stored data the committed import `record` changed, in id order.

    The rows it added carry the import (`lab_import`); the stored results it corrected do not,
    so they are found by their `update` events, whose context names the import (written in the
    commit's transaction, after the import's start event). Participants whose rows were all
    identical to stored ones are not among them: the import changed nothing of theirs."""
    ids = set(
        LabResult.objects.filter(lab_import=record)
        .values_list("participant_id", flat=True)
        .distinct()
    )
    start = (
        AuditEvent.objects.filter(
            model="labimport", object_pk=str(record.pk), action="lab_import_start"
        )
        .values_list("pk", flat=True)
        .first()
    )
    corrected = [
        int(pk)
        for pk in AuditEvent.objects.filter(
            pk__gt=start or 0,
            model=model_label(LabResult),
            action="update",
            context__lab_import=record.pk,
        ).values_list("object_pk", flat=True)
    ]
    for begin in range(0, len(corrected), _LOOKUP_CHUNK):
        ids.update(
            LabResult.objects.filter(pk__in=corrected[begin : begin + _LOOKUP_CHUNK]).values_list(
                "participant_id", flat=True
            )
        )
    return sorted(ids)


def _finish_committed(record: LabImport, pause: Callable[[float], None]) -> None:
    """What a committed import owes after a crash: its participants' responses re-derived and
    their deviations re-checked (the re-check its commit ran may have been cut short too; it
    only brings deviations in line with the data, so running it again is harmless)."""
    from mmtrial.edc.services.deviations import deviations_recheck

    ids = changed_participants(record)
    deviations_recheck(participant_ids=ids)
    derive_responses(record, ids, pause)


def recover_interrupted(pause: Callable[[float], None] = lambda elapsed: None) -> int:
    """Clean up after every interrupted import; returns how many there were."""
    found = 0
    for record in LabImport.objects.filter(status=LabImportStatus.STAGING).order_by("pk"):
        abandon(record, INTERRUPTED)
        found += 1
    for record in LabImport.objects.filter(
        status=LabImportStatus.ABANDONED, staged_rows__gt=0
    ).order_by("pk"):
        _remove_staged(record)  # an abandonment itself interrupted
    for record in LabImport.objects.filter(
        status=LabImportStatus.COMMITTED, responses_derived=False
    ).order_by("pk"):
        _finish_committed(record, pause)
        found += 1
    return found
