"""Finishing what an interrupted central laboratory import left (run with the import lock held).

An import killed while it staged its rows leaves them invisible (`is_deleted`) under a
`staging` record: the next import marks that import abandoned (an audit event says so, and how
many staged rows are removed), then removes the staged rows in short transactions. They were
never visible, so never trial data; their `create` events stay in the audit trail, followed by
the abandonment. An import killed after its commit but before its responses were re-derived
gets them re-derived (they are a cache of the labs: design rule 4).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db.models import Count
from django.utils import timezone

from mmtrial.edc.audit import EventSpec
from mmtrial.edc.models import LabImport, LabImportStatus, LabResult
from mmtrial.edc.unit_of_work import unit_of_work

__all__ = ["INTERRUPTED", "abandon", "derive_responses", "recover_interrupted"]

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


def abandon(record: LabImport, reason: str) -> None:
    """Mark an import that did not commit abandoned (audited), then remove its staged rows."""
    staged = LabResult.objects.filter(lab_import=record, is_deleted=True).count()
    with unit_of_work() as uow:
        LabImport.objects.filter(pk=record.pk).update(
            status=LabImportStatus.ABANDONED, finished_at=timezone.now()
        )
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
        ids = LabResult.objects.filter(lab_import=record).values_list("participant_id", flat=True)
        derive_responses(record, list(ids.distinct()), pause)
        found += 1
    return found
