"""Every error of the API as RFC 9457 problem details (`application/problem+json`).

Each body has the standard members (`type`, `title`, `status`, `detail`) and ours: `code` (a
stable message code), `parameters` (the values the message names) and `text` (the message in
the caller's language, from Accept-Language). `detail` repeats `text`.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse
from django.utils.translation import gettext, gettext_noop
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.errors import AuthorizationError as NinjaAuthorizationError

from mmtrial.api.messages import Message, message_of
from mmtrial.edc.audit import to_jsonable
from mmtrial.errors import (
    ConflictError,
    EligibilityError,
    InputError,
    LockedRecordError,
    MmtrialError,
    NotFound,
    PermissionDenied,
    ProtocolViolation,
)

__all__ = ["ApiProblem", "Problem", "install_handlers", "problem_response"]

CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "/api/v1/problems/"

AUTHENTICATION_REQUIRED = gettext_noop(
    "Sign in with an API token: send the header 'Authorization: Bearer <token>' (create a token "
    "on your API tokens page or with `mmtrial token create`)."
)
REQUEST_INVALID = gettext_noop("The request is not valid: {summary}.")
NOT_FOUND_ROUTE = gettext_noop("There is no such address in the API.")
SERVER_ERROR = gettext_noop("The server could not complete the request; nothing was saved.")

TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    422: "Unprocessable content",
    423: "Locked",
    428: "Precondition required",
    429: "Too many requests",
    500: "Internal server error",
}

_STATUS = (
    (NotFound, 404),
    (PermissionDenied, 403),
    (ConflictError, 412),
    (LockedRecordError, 423),
    (EligibilityError, 409),
    (ProtocolViolation, 409),
    (InputError, 422),
)


class Problem(Schema):
    """RFC 9457 problem details with the message's code, parameters and text."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    parameters: dict[str, Any]
    text: str


class ApiProblem(Exception):
    """An error raised by the API layer itself (a missing If-Match, a rate limit)."""

    def __init__(
        self,
        status: int,
        message: Message,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message.text)
        self.status = status
        self.message = message
        self.headers = headers or {}


def problem_response(status: int, message: Message, headers=None) -> HttpResponse:
    body = {
        "type": TYPE_BASE + message.code,
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": message.text,
        "code": message.code,
        "parameters": to_jsonable(message.parameters),
        "text": message.text,
    }
    response = HttpResponse(
        json.dumps(body, ensure_ascii=False), status=status, content_type=CONTENT_TYPE
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def status_of(error: MmtrialError) -> int:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 400


def _validation_summary(errors: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    fields = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "payload")]
        fields.append({"field": ".".join(location), "problem": str(error.get("msg", ""))})
    summary = "; ".join(f"{f['field']}: {f['problem']}" for f in fields) or "malformed"
    return summary, fields


def install_handlers(api: NinjaAPI) -> None:
    """Map every error the API can meet to a problem response."""

    @api.exception_handler(MmtrialError)
    def _service_error(request, exc: MmtrialError):
        return problem_response(status_of(exc), message_of(exc))

    @api.exception_handler(ApiProblem)
    def _api_problem(request, exc: ApiProblem):
        return problem_response(exc.status, exc.message, exc.headers)

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request, exc):
        message = Message(
            code="authentication_required",
            parameters={},
            text=gettext(AUTHENTICATION_REQUIRED),
        )
        return problem_response(401, message, {"WWW-Authenticate": 'Bearer realm="mmtrial"'})

    @api.exception_handler(NinjaAuthorizationError)
    def _forbidden(request, exc):
        message = Message(code="forbidden", parameters={}, text=str(exc))
        return problem_response(403, message)

    @api.exception_handler(ValidationError)
    def _invalid(request, exc: ValidationError):
        summary, fields = _validation_summary(list(exc.errors))
        message = Message(
            code="request_invalid",
            parameters={"errors": fields},
            text=gettext(REQUEST_INVALID).format(summary=summary),
        )
        return problem_response(422, message)

    @api.exception_handler(HttpError)
    def _http_error(request, exc: HttpError):
        message = Message(code=f"http_{exc.status_code}", parameters={}, text=str(exc))
        return problem_response(exc.status_code, message)
