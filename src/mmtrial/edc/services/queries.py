"""Data queries: opened on a record or field, answered at the site, re-opened or closed.

Who may do what comes from `permissions.ROLE_MATRIX`: monitors and data managers open, re-open
and close; site staff answer. Edit checks and the response-disagreement rule open queries
automatically with `user=None`. Every step writes a QueryMessage and an audit event
(E6 4.2.2(a)(iii)). Open, answer and re-open are refused on a locked participant; closing is
allowed so that data management can tidy up before the database lock.
"""

from __future__ import annotations

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.utils import timezone

from mmtrial.edc.audit import EventSpec
from mmtrial.edc.models import Participant, Query, QueryMessage
from mmtrial.edc.models.trust import QueryOrigin, QueryStatus
from mmtrial.edc.permissions import Action, authorize
from mmtrial.edc.services._acting import actor_for
from mmtrial.edc.services._records import (
    PARTICIPANT_LOCKED,
    participant_of,
    subject_label,
)
from mmtrial.edc.unit_of_work import record_event, writes
from mmtrial.errors import ConflictError, InputError, LockedRecordError, NotFound

QUERY_TEXT_REQUIRED = "Write the question or answer: the text is empty."
QUERY_UNKNOWN_MODEL = "There is no record type '{model}' to raise a query on."
QUERY_UNKNOWN_FIELD = "The record type '{model}' has no field '{field}'."
QUERY_TARGET_NOT_FOUND = "There is no {model} {object_pk} for participant {subject}."
QUERY_AUTOMATIC_ONLY = "Only edit checks and derived-response checks open queries without a user."
QUERY_MANUAL_NEEDS_USER = "A manual query needs the user who opens it."
QUERY_UNKNOWN_ORIGIN = "Unknown query origin '{origin}'."
QUERY_NOT_OPEN = "Query {pk} is {status}; only an open query can be answered."
QUERY_ALREADY_CLOSED = "Query {pk} is already closed."
QUERY_ALREADY_OPEN = "Query {pk} is already open."
QUERY_CLOSE_UNANSWERED_NEEDS_TEXT = (
    "Query {pk} has no answer yet: say why it is closed (for example, raised in error)."
)
QUERY_STALE = (
    "Query {pk} was changed by someone else since you opened it (your version {expected}, "
    "now {current}). Reload it first."
)
TEXT_MAX_LENGTH = 4000


def _text(text: str) -> str:
    cleaned = (text or "").strip()
    if not cleaned:
        raise InputError(QUERY_TEXT_REQUIRED, {"field": "text"})
    return cleaned[:TEXT_MAX_LENGTH]


def _assert_target(participant: Participant, model: str, object_pk, field: str) -> None:
    try:
        model_class = apps.get_model("edc", model)
    except LookupError:
        raise InputError.coded(QUERY_UNKNOWN_MODEL, {"field": "model"}, model=model) from None
    if field:
        try:
            model_class._meta.get_field(field)
        except FieldDoesNotExist:
            raise InputError.coded(
                QUERY_UNKNOWN_FIELD, {"field": "field"}, model=model, field=field
            ) from None
    target = model_class.objects.filter(pk=object_pk).first() if str(object_pk).isdigit() else None
    try:
        owner = participant_of(target) if target is not None else None
    except TypeError:
        owner = None
    if owner is None or owner.pk != participant.pk:
        raise NotFound.coded(
            QUERY_TARGET_NOT_FOUND,
            {"model": model, "object_pk": str(object_pk)},
            model=model,
            object_pk=object_pk,
            subject=subject_label(participant),
        )


def _assert_unlocked(participant: Participant) -> None:
    if participant.locked:
        raise LockedRecordError.coded(PARTICIPANT_LOCKED, subject=subject_label(participant))


def _event(query: Query, action: str, *, old_status, text: str) -> EventSpec:
    participant = query.participant
    return EventSpec(
        action=action,
        model="query",
        object_pk=str(query.pk),
        site_code=participant.site.code,
        subject=subject_label(participant),
        changes={
            "status": {"old": old_status, "new": query.status},
            "text": {"old": None, "new": text},
        },
        context={
            "target_model": query.model,
            "target_pk": query.object_pk,
            "target_field": query.field,
            "origin": query.origin,
        },
    )


def _locked_query(query: Query, expected_version: int | None) -> Query:
    current = Query.objects.select_for_update().select_related("participant__site").get(pk=query.pk)
    if expected_version is not None and current.version != expected_version:
        raise ConflictError.coded(
            QUERY_STALE,
            {"expected_version": expected_version, "current_version": current.version},
            pk=current.pk,
            expected=expected_version,
            current=current.version,
        )
    return current


def _transition(query: Query, *, user, kind: str, action: str, new_status: str, text: str) -> Query:
    old_status = query.status
    now = timezone.now()
    Query.objects.filter(pk=query.pk).update(status=new_status, version=query.version + 1)
    query.status, query.version = new_status, query.version + 1
    QueryMessage.objects.create(query=query, author=user, kind=kind, text=text, at=now)
    record_event(_event(query, action, old_status=old_status, text=text), actor=actor_for(user))
    return query


@writes
def query_open(
    *,
    user,
    participant: Participant,
    model: str,
    object_pk,
    field: str = "",
    text: str,
    origin: str = QueryOrigin.MANUAL,
) -> Query:
    """Open a query on a participant's record (or one of its fields).

    `user=None` is an automatic query (origin "edit_check" or "response_disagreement"); the
    audit event then names whoever's action triggered the check.
    """
    if origin not in QueryOrigin.values:
        raise InputError.coded(QUERY_UNKNOWN_ORIGIN, {"field": "origin"}, origin=origin)
    if user is None:
        if origin == QueryOrigin.MANUAL:
            raise InputError(QUERY_MANUAL_NEEDS_USER, {"field": "user"})
    else:
        authorize(user, Action.QUERY_OPEN, participant.site_id)
        if origin != QueryOrigin.MANUAL:
            raise InputError(QUERY_AUTOMATIC_ONLY, {"field": "origin"})
    participant = Participant.objects.select_related("site").get(pk=participant.pk)
    _assert_unlocked(participant)
    text = _text(text)
    _assert_target(participant, model, object_pk, field)
    now = timezone.now()
    query = Query.objects.create(
        participant=participant,
        model=model,
        object_pk=str(object_pk),
        field=field,
        text=text,
        origin=origin,
        opened_by=user,
        opened_at=now,
    )
    QueryMessage.objects.create(query=query, author=user, kind="open", text=text, at=now)
    record_event(_event(query, "query_open", old_status=None, text=text), actor=actor_for(user))
    return query


@writes
def query_answer(*, user, query: Query, text: str, expected_version: int | None = None) -> Query:
    """The site answers an open query; it waits for the monitor to close or re-open it."""
    authorize(user, Action.QUERY_ANSWER, query.participant.site_id)
    query = _locked_query(query, expected_version)
    _assert_unlocked(query.participant)
    text = _text(text)
    if query.status != QueryStatus.OPEN:
        raise InputError.coded(QUERY_NOT_OPEN, pk=query.pk, status=query.status)
    return _transition(
        query,
        user=user,
        kind="answer",
        action="query_answer",
        new_status=QueryStatus.ANSWERED,
        text=text,
    )


@writes
def query_reopen(*, user, query: Query, text: str, expected_version: int | None = None) -> Query:
    """A monitor or data manager re-opens an answered or closed query, saying why."""
    authorize(user, Action.QUERY_OPEN, query.participant.site_id)
    query = _locked_query(query, expected_version)
    _assert_unlocked(query.participant)
    text = _text(text)
    if query.status == QueryStatus.OPEN:
        raise InputError.coded(QUERY_ALREADY_OPEN, pk=query.pk)
    return _transition(
        query,
        user=user,
        kind="reopen",
        action="query_reopen",
        new_status=QueryStatus.OPEN,
        text=text,
    )


@writes
def query_close(
    *, user, query: Query, text: str = "", expected_version: int | None = None
) -> Query:
    """A monitor or data manager closes a query (answered, or open when raised in error)."""
    authorize(user, Action.QUERY_CLOSE, query.participant.site_id)
    query = _locked_query(query, expected_version)
    if query.status == QueryStatus.CLOSED:
        raise InputError.coded(QUERY_ALREADY_CLOSED, pk=query.pk)
    text = (text or "").strip()[:TEXT_MAX_LENGTH]
    if not text and query.status == QueryStatus.OPEN:
        raise InputError.coded(QUERY_CLOSE_UNANSWERED_NEEDS_TEXT, {"field": "text"}, pk=query.pk)
    text = text or "Closed"
    return _transition(
        query,
        user=user,
        kind="close",
        action="query_close",
        new_status=QueryStatus.CLOSED,
        text=text,
    )


@writes
def query_close_automatic(*, query: Query, text: str) -> Query:
    """Close an automatic query whose check no longer finds the problem (the data were
    corrected); the audit event names whoever's correction resolved it. Manual queries are
    closed only by a person (`query_close`)."""
    if query.origin == QueryOrigin.MANUAL:
        raise InputError(QUERY_AUTOMATIC_ONLY, {"field": "origin"})
    query = _locked_query(query, None)
    if query.status == QueryStatus.CLOSED:
        return query
    return _transition(
        query,
        user=None,
        kind="close",
        action="query_close",
        new_status=QueryStatus.CLOSED,
        text=_text(text),
    )
