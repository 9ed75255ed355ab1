"""Read routes: sites, participants, a participant's timeline, records of each kind, signatures
and the audit trail. Each is one selector call, scoped to the token user's sites exactly as the
web is (another site's record is 404, like one that does not exist); each operation names the
role-matrix action it needs (`x-mmtrial-action`), which the tests check for every route.
"""

from __future__ import annotations

from typing import Annotated

from django.http import HttpResponse, StreamingHttpResponse
from ninja import Path, Query, Router, Schema
from pydantic import Field

from mmtrial.api import schemas as s
from mmtrial.api.auth import user_of
from mmtrial.api.etags import with_etag
from mmtrial.api.pages import MAX_ID, ListParams, Page, page_of
from mmtrial.api.problems import Problem
from mmtrial.api.streaming import ndjson_lines
from mmtrial.edc.models import AuditEvent, Participant
from mmtrial.edc.permissions import Action
from mmtrial.edc.selectors.audit import (
    audit_event_list,
    audit_trail_for_participant,
    audit_trail_for_record,
)
from mmtrial.edc.selectors.participants import participant_get, participant_list
from mmtrial.edc.selectors.records import (
    RECORD_KINDS,
    audit_cursor,
    changed_after,
    record_get,
    record_list,
)
from mmtrial.edc.selectors.sites import site_list
from mmtrial.edc.selectors.timeline import participant_timeline

router = Router(tags=["read"])

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
ERRORS = {401: Problem, 403: Problem, 404: Problem, 422: Problem, 429: Problem}


def needs(action: Action) -> dict:
    return {"x-mmtrial-action": action.value}


def _optional_id(description: str):
    return Annotated[int, Field(ge=1, le=MAX_ID, description=description)] | None


class ParticipantFilters(ListParams):
    site: Annotated[str, Field(max_length=16, description="site code")] | None = None
    status: Annotated[str, Field(max_length=20)] | None = None
    response: (
        Annotated[str, Field(max_length=4, description="confirmed best overall response")] | None
    ) = None
    search: Annotated[str, Field(max_length=32)] | None = None


class RecordFilters(ListParams):
    participant_id: _optional_id("only this participant's records") = None


@router.get(
    "/sites",
    response={200: Page(s.SiteOut), **ERRORS},
    operation_id="site_list",
    openapi_extra=needs(Action.VIEW),
)
def sites(request, params: Query[ListParams]):
    queryset = site_list(user=user_of(request)).order_by("pk")
    return page_of(request, queryset, params, model=RECORD_KINDS["site"][0])


@router.get(
    "/participants",
    response={200: Page(s.ParticipantOut), **ERRORS},
    operation_id="participant_list",
    openapi_extra=needs(Action.VIEW),
)
def participants(request, params: Query[ParticipantFilters]):
    queryset = participant_list(
        user=user_of(request),
        search=params.search or "",
        site_code=params.site,
        status=params.status,
        response=params.response,
        include_deleted=params.changed_since is not None,
    ).order_by("pk")
    filters = {"site": params.site, "status": params.status, "response": params.response}
    filters["search"] = params.search
    return page_of(request, queryset, params, model=Participant, filters=filters)


@router.get(
    "/participants/{participant_id}",
    response={200: s.ParticipantOut, **ERRORS},
    operation_id="participant_get",
    openapi_extra=needs(Action.VIEW),
)
def participant(request, response: HttpResponse, participant_id: Id):
    return with_etag(response, participant_get(user=user_of(request), pk=participant_id))


@router.get(
    "/participants/{participant_id}/timeline",
    response={200: s.TimelineOut, **ERRORS},
    operation_id="participant_timeline",
    openapi_extra=needs(Action.VIEW),
)
def timeline(request, participant_id: Id):
    """Cycles with the dose decision and its reasons (codes, parameters, text in the
    Accept-Language), doses, visits with windows, labs, disease and response assessments,
    adverse events and queries."""
    found = participant_timeline(user=user_of(request), participant_id=participant_id)
    participant = found.participant
    return {
        "participant": participant,
        "cycles": [
            {
                "id": c.pk,
                "version": c.version,
                "number": c.number,
                "start_date": c.start_date,
                "status": c.status,
                "planned_doses_mg": c.planned_doses_mg or {},
                "engine_version": c.engine_version,
                "decision": s.decision_out(c.decision or {}),
            }
            for c in found.cycles
        ],
        "doses": found.doses,
        "visits": found.visits,
        "labs": found.labs,
        "disease_assessments": found.disease_assessments,
        "responses": found.responses,
        "best_overall_response": (
            found.response_summary.best_overall_response if found.response_summary else None
        ),
        "adverse_events": found.adverse_events,
        "queries": found.queries,
    }


def _list_route(path: str, kind: str, out: type, operation_id: str):
    model = RECORD_KINDS[kind][0]

    @router.get(
        path,
        response={200: Page(out), **ERRORS},
        operation_id=operation_id,
        openapi_extra=needs(Action.VIEW),
    )
    def listing(request, params: Query[RecordFilters]):
        queryset = record_list(
            user=user_of(request),
            kind=kind,
            participant_id=params.participant_id,
            include_deleted=params.changed_since is not None,
        )
        filters = {"participant_id": params.participant_id}
        return page_of(request, queryset, params, model=model, filters=filters)

    listing.__name__ = operation_id
    return listing


def _detail_route(path: str, kind: str, out: type, operation_id: str):
    @router.get(
        path,
        response={200: out, **ERRORS},
        operation_id=operation_id,
        openapi_extra=needs(Action.VIEW),
    )
    def detail(request, response: HttpResponse, record_id: Id):
        return with_etag(response, record_get(user=user_of(request), kind=kind, pk=record_id))

    detail.__name__ = operation_id
    return detail


for _path, _kind, _out in (
    ("/lab-results", "lab_result", s.LabResultOut),
    ("/visits", "visit", s.VisitOut),
    ("/doses", "dose", s.DoseOut),
    ("/adverse-events", "adverse_event", s.AdverseEventOut),
    ("/disease-assessments", "disease_assessment", s.DiseaseAssessmentOut),
    ("/responses", "response", s.ResponseOut),
    ("/queries", "query", s.QueryOut),
    ("/signatures", "signature", s.SignatureOut),
):
    _list_route(_path, _kind, _out, f"{_kind}_list")
    if _kind != "signature":
        _detail_route(_path + "/{record_id}", _kind, _out, f"{_kind}_get")


class ExportParams(Schema):
    participant_id: _optional_id("only this participant's results") = None
    changed_since: Annotated[int, Field(ge=0, le=MAX_ID)] | None = None


@router.get(
    "/exports/lab-results",
    response={401: Problem, 403: Problem, 422: Problem, 429: Problem},
    operation_id="lab_result_export",
    openapi_extra={
        **needs(Action.VIEW),
        "responses": {
            "200": {
                "description": "One lab result per line (JSON Lines), then a last line "
                '{"cursor": N} to pass as changed_since next time.',
                "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
            }
        },
    },
)
def lab_result_export(request, params: Query[ExportParams]):
    """Every lab result the user may see, streamed: memory stays bounded by one chunk of rows
    whatever the size of the study."""
    cursor = audit_cursor()
    queryset = record_list(
        user=user_of(request),
        kind="lab_result",
        participant_id=params.participant_id,
        include_deleted=params.changed_since is not None,
    )
    if params.changed_since is not None:
        queryset = changed_after(
            queryset, model=RECORD_KINDS["lab_result"][0], since=params.changed_since, until=cursor
        )
    lines = ndjson_lines(queryset, s.LabResultOut, cursor=cursor)
    return StreamingHttpResponse(lines, content_type="application/x-ndjson")


class AuditFilters(ListParams):
    participant_id: _optional_id("every event about this participant's data") = None


@router.get(
    "/audit-events",
    response={200: Page(s.AuditEventOut), **ERRORS},
    operation_id="audit_event_list",
    openapi_extra=needs(Action.VIEW_AUDIT),
)
def audit_events(request, params: Query[AuditFilters]):
    """The audit trail of one participant (`participant_id`), or every event the user may
    see; `changed_since` = the events after that id."""
    user = user_of(request)
    if params.participant_id is not None:
        queryset = audit_trail_for_participant(user=user, participant_id=params.participant_id)
    else:
        queryset = audit_event_list(user=user)
    if params.changed_since is not None:
        queryset = queryset.filter(id__gt=params.changed_since)
        params = params.model_copy(update={"changed_since": None})
    return page_of(
        request,
        queryset.order_by("id"),
        params,
        model=AuditEvent,
        filters={"participant_id": params.participant_id},
    )


@router.get(
    "/audit-events/{model}/{object_pk}",
    response={200: Page(s.AuditEventOut), **ERRORS},
    operation_id="record_audit_trail",
    openapi_extra=needs(Action.VIEW_AUDIT),
)
def record_audit(
    request,
    model: Annotated[str, Path(pattern="^[a-z_]{1,64}$")],
    object_pk: Annotated[str, Path(pattern="^[0-9]{1,18}$")],
    params: Query[ListParams],
):
    """Every event about one record (e.g. `labresult/42`), oldest first."""
    queryset = audit_trail_for_record(user=user_of(request), model=model, object_pk=object_pk)
    if params.changed_since is not None:
        queryset = queryset.filter(id__gt=params.changed_since)
        params = params.model_copy(update={"changed_since": None})
    return page_of(request, queryset, params, model=AuditEvent)
