"""Reading every participant's records with their audit trail, signatures and queries, for the
ODM export and the casebooks (21 CFR 11.10(b): complete and accurate copies).

Participants are read in chunks; each chunk costs a fixed number of queries whatever its size
(the participants, one query per record type, the audit events, signatures, queries and their
messages), and a chunk is handed over and dropped before the next is read, so memory is bounded
by the chunk, not by the study.

Records are plain dicts of their concrete fields (`attname` keys: `visit_id`, not the visit),
soft-deleted ones included: trial data is never removed and the copy shows what was deleted.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db.models import Q, QuerySet

from mmtrial.edc.models import (
    AuditEvent,
    Participant,
    Query,
    QueryMessage,
    Signature,
    Site,
    User,
)
from mmtrial.edc.models.base import ClinicalRecord
from mmtrial.edc.models.imports import without_staged
from mmtrial.edc.permissions import Action, authorize, scope_to_sites
from mmtrial.errors import NotFound

__all__ = [
    "ParticipantRecords",
    "participant_records_iter",
    "record_models",
    "records_export_participants",
    "records_export_sites",
    "records_export_users",
]

NO_PARTICIPANT = "No participant {label} among the participants you may export."
NO_SITE = "No site {code} among the sites you may export."
CHUNK_SIZE = 100


def record_models() -> dict[str, tuple[Any, str]]:
    """Every clinical record type of a participant: model name -> (model, path to participant)."""
    found: dict[str, tuple[Any, str]] = {"participant": (Participant, "pk")}
    for model in apps.get_app_config("edc").get_models():
        if not issubclass(model, ClinicalRecord) or model is Participant:
            continue
        names = {f.name for f in model._meta.concrete_fields}
        if "participant" in names:
            found[model._meta.model_name] = (model, "participant_id")
        elif "cycle" in names:
            found[model._meta.model_name] = (model, "cycle__participant_id")
    return found


def _fields(model) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


@dataclass
class ParticipantRecords:
    """One participant's data as stored now, and how it came to be so."""

    participant: Participant
    #: model name -> rows (dicts of every concrete field), ordered by id
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: every audit event about the participant's data, queries and signatures, in chain order
    events: list[AuditEvent] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)
    queries: list[Query] = field(default_factory=list)
    #: query id -> its messages, oldest first
    messages: dict[int, list[QueryMessage]] = field(default_factory=dict)

    @property
    def subject_key(self) -> str:
        """The subject id; before enrolment the site code and screening number (screening
        numbers are unique per site only)."""
        p = self.participant
        return p.subject_id or f"{p.site.code}-{p.screening_number}"


def records_export_participants(
    *, user=None, participant: str | None = None, site: str | None = None
) -> QuerySet[Participant]:
    """The participants to export: all of them, one (by subject id or screening number) or one
    site's, limited to the sites where `user` may export (None: the whole study, for the command
    line run by the server operator). NotFound when the participant or site is not there."""
    queryset = Participant.objects.all()
    if user is not None:
        authorize(user, Action.EXPORT)
        queryset = scope_to_sites(queryset, user, Action.EXPORT)
    if site is not None:
        if not queryset.filter(site__code=site).exists() and not _site_visible(user, site):
            raise NotFound.coded(NO_SITE, {"site": site}, code=site)
        queryset = queryset.filter(site__code=site)
    if participant is not None:
        queryset = queryset.filter(Q(subject_id=participant) | Q(screening_number=participant))
        if not queryset.exists():
            raise NotFound.coded(NO_PARTICIPANT, {"participant": participant}, label=participant)
    return queryset.order_by("site__code", "subject_id", "screening_number", "pk")


def _site_visible(user, code: str) -> bool:
    sites = Site.objects.filter(code=code)
    if user is not None:
        sites = scope_to_sites(sites, user, Action.EXPORT, site_field="pk")
    return sites.exists()


def records_export_sites(*, user=None) -> QuerySet[Site]:
    sites = Site.objects.all()
    if user is not None:
        sites = scope_to_sites(sites, user, Action.EXPORT, site_field="pk")
    return sites.order_by("code")


def records_export_users() -> QuerySet[User]:
    """Every user: the audit trail and the signatures name them (a study has a bounded staff)."""
    return User.objects.order_by("pk")


def participant_records_iter(
    participants: QuerySet[Participant], *, chunk_size: int = CHUNK_SIZE
) -> Iterator[ParticipantRecords]:
    """Each participant's records, events, signatures and queries, chunk by chunk."""
    ids = list(participants.values_list("pk", flat=True))
    models = record_models()
    for start in range(0, len(ids), chunk_size):
        chunk = ids[start : start + chunk_size]
        people = {
            p.pk: ParticipantRecords(participant=p)
            for p in Participant.objects.filter(pk__in=chunk).select_related("site")
        }
        for name, (model, path) in models.items():
            columns = _fields(model)
            key = "pk" if model is Participant else path
            rows = (
                without_staged(model.objects.filter(**{f"{key}__in": chunk}))
                .order_by("pk")
                .values(*columns, owner=_owner(path))
            )
            for row in rows.iterator(chunk_size=2000):
                owner = row.pop("owner")
                people[owner].records.setdefault(name, []).append(row)
        by_label = {
            (p.participant.site.code, label): p
            for p in people.values()
            for label in (p.participant.screening_number, p.participant.subject_id)
            if label
        }
        events = AuditEvent.objects.filter(
            site_code__in={code for code, _ in by_label},
            subject__in={label for _, label in by_label},
        ).order_by("id")
        for event in events.iterator(chunk_size=2000):
            owner = by_label.get((event.site_code, event.subject))
            if owner is not None:
                owner.events.append(event)
        for signature in (
            Signature.objects.filter(participant_id__in=chunk)
            .select_related("signer")
            .order_by("signed_at", "pk")
        ):
            people[signature.participant_id].signatures.append(signature)
        messages: dict[int, list[QueryMessage]] = defaultdict(list)
        for message in (
            QueryMessage.objects.filter(query__participant_id__in=chunk)
            .select_related("author")
            .order_by("at", "pk")
        ):
            messages[message.query_id].append(message)
        for query in Query.objects.filter(participant_id__in=chunk).order_by("opened_at", "pk"):
            owner = people[query.participant_id]
            owner.queries.append(query)
            owner.messages[query.pk] = messages.get(query.pk, [])
        for pk in chunk:
            if pk in people:
                yield people.pop(pk)


def _owner(path: str):
    from django.db.models import F

    return F("pk") if path == "pk" else F(path)
