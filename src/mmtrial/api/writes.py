"""Write routes: lab results, doses, visits, adverse events and query answers, each through the
same service as the web (`edc.services`: the unit of work, its edit checks, audit, site
isolation and role matrix), attributed to the token's user and the token.

An update first finds the record as the service would (another site's is 404; a role without
the action is 403), then requires `If-Match` (428 without) and refuses a stale one (412 with
the current version); the service's own version check stays the last guard against a change
committed between the two (also 412).
"""

from __future__ import annotations

from typing import Annotated

from django.db import transaction
from django.http import HttpResponse
from django.utils.translation import gettext_noop
from ninja import Path, Status

from mmtrial.api import schemas as s
from mmtrial.api.auth import acting, site_today, user_of
from mmtrial.api.etags import expected_version, refuse_stale, with_etag
from mmtrial.api.pages import MAX_ID
from mmtrial.api.problems import Problem
from mmtrial.api.reads import router
from mmtrial.edc.models import DoseAdministration, Visit
from mmtrial.edc.permissions import Action, authorize
from mmtrial.edc.selectors.queries import query_get
from mmtrial.edc.selectors.records import record_get
from mmtrial.edc.services.adverse_events import ae_record, ae_update
from mmtrial.edc.services.labs import lab_result_for, lab_result_record, lab_result_update
from mmtrial.edc.services.participants import participant_for
from mmtrial.edc.services.queries import query_answer
from mmtrial.edc.services.treatment import dose_record
from mmtrial.edc.services.visits import visit_missed, visit_record
from mmtrial.errors import InputError

# One router with the reads: a path that is read and changed must be one URL pattern.

VISIT_DATE_REQUIRED = gettext_noop("actual date: give the date of the visit, or missed: true.")

Id = Annotated[int, Path(ge=1, le=MAX_ID)]
ERRORS = {
    400: Problem,
    401: Problem,
    403: Problem,
    404: Problem,
    409: Problem,
    422: Problem,
    423: Problem,
    429: Problem,
}
UPDATE_ERRORS = {**ERRORS, 412: Problem, 428: Problem}


def needs(action: Action) -> dict:
    return {"x-mmtrial-action": action.value}


def _unset(schema) -> dict:
    return schema.model_dump(exclude_unset=True)


@router.post(
    "/participants/{participant_id}/lab-results",
    response={201: s.LabResultOut, **ERRORS},
    operation_id="lab_result_create",
    tags=["write"],
    openapi_extra=needs(Action.ENTER_DATA),
)
def lab_result_create(request, response: HttpResponse, participant_id: Id, body: s.LabResultIn):
    """Record one lab value (converted to the analyte's canonical unit; edit checks apply)."""
    user = user_of(request)
    with acting(request), transaction.atomic():
        lab = lab_result_record(
            user=user,
            participant_id=participant_id,
            analyte=body.analyte,
            value=body.value,
            unit=body.unit,
            collected_on=body.collected_on,
            source=body.source,
            accession=body.accession,
            visit_id=body.visit_id,
            today=site_today(user),
        )
    return Status(201, with_etag(response, lab))


@router.patch(
    "/lab-results/{record_id}",
    response={200: s.LabResultOut, **UPDATE_ERRORS},
    operation_id="lab_result_update",
    tags=["write"],
    openapi_extra=needs(Action.EDIT_DATA),
)
def lab_result_change(request, response: HttpResponse, record_id: Id, body: s.LabResultUpdate):
    """Correct a lab value, unit or collection date, with a reason for change."""
    user = user_of(request)
    lab = lab_result_for(user=user, lab_result_id=record_id, action=Action.EDIT_DATA)
    version = expected_version(request)
    refuse_stale(lab, version)
    with acting(request), transaction.atomic():
        updated = lab_result_update(
            user=user,
            lab_result_id=record_id,
            expected_version=version,
            reason=body.reason,
            value=body.value,
            unit=body.unit,
            collected_on=body.collected_on,
            today=site_today(user),
        )
    return with_etag(response, updated)


@router.patch(
    "/doses/{record_id}",
    response={200: s.DoseOut, **UPDATE_ERRORS},
    operation_id="dose_update",
    tags=["write"],
    openapi_extra=needs(Action.ENTER_DATA),
)
def dose_change(request, response: HttpResponse, record_id: Id, body: s.DoseUpdate):
    """Record a planned dose as taken, taken reduced, held or missed."""
    user = user_of(request)
    dose: DoseAdministration = record_get(user=user, kind="dose", pk=record_id)
    participant_for(user=user, participant_id=dose.cycle.participant_id, action=Action.ENTER_DATA)
    version = expected_version(request)
    refuse_stale(dose, version)
    with acting(request), transaction.atomic():
        updated = dose_record(
            user=user,
            dose_id=record_id,
            status=body.status,
            expected_version=version,
            taken_dose_mg=body.taken_dose_mg,
            reason=body.reason,
        )
    return with_etag(response, updated)


@router.patch(
    "/visits/{record_id}",
    response={200: s.VisitOut, **UPDATE_ERRORS},
    operation_id="visit_update",
    tags=["write"],
    openapi_extra=needs(Action.ENTER_DATA),
)
def visit_change(request, response: HttpResponse, record_id: Id, body: s.VisitUpdate):
    """Record a visit as done on `actual_date` (status from its window) or as missed."""
    user = user_of(request)
    visit: Visit = record_get(user=user, kind="visit", pk=record_id)
    participant_for(user=user, participant_id=visit.participant_id, action=Action.ENTER_DATA)
    version = expected_version(request)
    refuse_stale(visit, version)
    with acting(request), transaction.atomic():
        if body.missed:
            updated = visit_missed(
                user=user, visit_id=record_id, expected_version=version, reason=body.reason
            )
        else:
            if body.actual_date is None:
                raise InputError(VISIT_DATE_REQUIRED, {"field": "actual_date"})
            updated = visit_record(
                user=user,
                visit_id=record_id,
                actual_date=body.actual_date,
                expected_version=version,
                weight_kg=body.weight_kg,
                notes=body.notes,
                reason=body.reason,
                today=site_today(user),
            )
    return with_etag(response, updated)


@router.post(
    "/participants/{participant_id}/adverse-events",
    response={201: s.AdverseEventOut, **ERRORS},
    operation_id="adverse_event_create",
    tags=["write"],
    openapi_extra=needs(Action.ENTER_DATA),
)
def adverse_event_create(
    request, response: HttpResponse, participant_id: Id, body: s.AdverseEventIn
):
    """Record an adverse event (CTCAE v5 grade, attribution per drug, action taken)."""
    user = user_of(request)
    with acting(request), transaction.atomic():
        ae = ae_record(user=user, participant_id=participant_id, **body.model_dump())
    return Status(201, with_etag(response, ae))


@router.patch(
    "/adverse-events/{record_id}",
    response={200: s.AdverseEventOut, **UPDATE_ERRORS},
    operation_id="adverse_event_update",
    tags=["write"],
    openapi_extra=needs(Action.EDIT_DATA),
)
def adverse_event_change(
    request, response: HttpResponse, record_id: Id, body: s.AdverseEventUpdate
):
    """Change an adverse event (e.g. its end date or grade), with a reason for change."""
    user = user_of(request)
    ae = record_get(user=user, kind="adverse_event", pk=record_id)
    participant_for(user=user, participant_id=ae.participant_id, action=Action.EDIT_DATA)
    version = expected_version(request)
    refuse_stale(ae, version)
    values = {k: v for k, v in _unset(body).items() if k != "reason" and v is not None}
    with acting(request), transaction.atomic():
        updated = ae_update(
            user=user, ae_id=record_id, expected_version=version, reason=body.reason, **values
        )
    return with_etag(response, updated)


@router.post(
    "/queries/{record_id}/answers",
    response={200: s.QueryOut, **UPDATE_ERRORS},
    operation_id="query_answer",
    tags=["write"],
    openapi_extra=needs(Action.QUERY_ANSWER),
)
def query_answer_create(request, response: HttpResponse, record_id: Id, body: s.QueryAnswerIn):
    """The site answers an open query (If-Match: the query's version)."""
    user = user_of(request)
    query = query_get(user=user, pk=record_id)
    authorize(user, Action.QUERY_ANSWER, query.participant.site_id)
    version = expected_version(request)
    refuse_stale(query, version)
    with acting(request), transaction.atomic():
        answered = query_answer(user=user, query=query, text=body.text, expected_version=version)
    return with_etag(response, answered)
