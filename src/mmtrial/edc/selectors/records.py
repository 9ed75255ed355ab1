"""Reading clinical records of one kind across participants (the API's lists), scoped to the
sites where the user may see data, and what changed after a point of the audit trail.

`record_list(user=, kind=)` is one query per page whatever the number of rows (the participant
and site are joined); `changed_after` keeps the records that an audit event after a given event
id touched, so a client that remembers the last event id it saw (the *cursor*) reads only what
changed since (incremental sync). The cursor is the audit trail's own sequence: every write goes
through the unit of work, which audits it in the same transaction, and events are appended one
transaction at a time (the chain head is locked), so no change can appear below a cursor
already handed out.
"""

from __future__ import annotations

from django.db.models import BigIntegerField, Max, QuerySet
from django.db.models.functions import Cast

from mmtrial.edc.models import (
    AdverseEvent,
    AuditEvent,
    DiseaseAssessment,
    DoseAdministration,
    LabResult,
    Participant,
    Query,
    ResponseAssessment,
    Signature,
    Site,
    Visit,
)
from mmtrial.edc.permissions import Action, scope_to_sites
from mmtrial.errors import NotFound

__all__ = ["RECORD_KINDS", "audit_cursor", "changed_after", "record_get", "record_list"]

RECORD_NOT_FOUND = "No {kind} {pk} at the sites you can see."

#: kind -> (model, path from the record to its site id, its audit label, select_related)
RECORD_KINDS: dict[str, tuple[type, str, tuple[str, ...]]] = {
    "site": (Site, "id", ()),
    "participant": (Participant, "site_id", ("site", "response_summary")),
    "lab_result": (LabResult, "participant__site_id", ("participant",)),
    "visit": (Visit, "participant__site_id", ("participant",)),
    "dose": (DoseAdministration, "cycle__participant__site_id", ("cycle",)),
    "adverse_event": (AdverseEvent, "participant__site_id", ("participant",)),
    "disease_assessment": (DiseaseAssessment, "participant__site_id", ("participant",)),
    "response": (ResponseAssessment, "participant__site_id", ("participant",)),
    "query": (Query, "participant__site_id", ("participant",)),
    "signature": (Signature, "participant__site_id", ("participant", "signer")),
}
_PARTICIPANT_PATH = {
    "participant": "pk",
    "dose": "cycle__participant_id",
    "site": None,
}


def _label(model) -> str:
    return model._meta.model_name


def audit_cursor() -> int:
    """The id of the last audit event now: what a client passes as `changed_since` later."""
    return AuditEvent.objects.aggregate(last=Max("id"))["last"] or 0


def changed_after(queryset: QuerySet, *, model, since: int, until: int) -> QuerySet:
    """The records of `queryset` that an audit event with id in (since, until] touched."""
    touched = (
        AuditEvent.objects.filter(id__gt=since, id__lte=until, model=_label(model))
        .annotate(record_pk=Cast("object_pk", BigIntegerField()))
        .values("record_pk")
    )
    return queryset.filter(pk__in=touched)


def record_list(
    *,
    user,
    kind: str,
    participant_id: int | None = None,
    include_deleted: bool = False,
    action: Action = Action.VIEW,
) -> QuerySet:
    """Records of `kind` at the user's sites (or one participant's), by id."""
    model, site_path, related = RECORD_KINDS[kind]
    queryset = scope_to_sites(model.objects.all(), user, action, site_field=site_path)
    if related:
        queryset = queryset.select_related(*related)
    if participant_id is not None:
        path = _PARTICIPANT_PATH.get(kind, "participant_id")
        if path is not None:
            queryset = queryset.filter(**{path: participant_id})
    if not include_deleted and hasattr(model, "is_deleted"):
        queryset = queryset.filter(is_deleted=False)
    return queryset.order_by("pk")


def record_get(*, user, kind: str, pk: int, action: Action = Action.VIEW):
    """One record of `kind` the user may see; NotFound (same text) when at another site."""
    found = record_list(user=user, kind=kind, action=action).filter(pk=pk).first()
    if found is None:
        raise NotFound.coded(
            RECORD_NOT_FOUND, {"kind": kind, "id": pk}, kind=kind.replace("_", " "), pk=pk
        )
    return found
