"""`GET /me`: who the token is, its scope and expiry (a client's check of its configuration)."""

from __future__ import annotations

import datetime as dt

from ninja import Router, Schema

from mmtrial.api.auth import token_of
from mmtrial.api.problems import Problem

router = Router(tags=["token"])


class MeOut(Schema):
    username: str
    full_name: str
    token_id: int
    token_name: str
    scope: str
    expires_at: dt.datetime


@router.get(
    "/me",
    response={200: MeOut, 401: Problem, 429: Problem},
    operation_id="me",
    openapi_extra={"x-mmtrial-action": "none"},
)
def me(request):
    token = token_of(request)
    return {
        "username": token.user.username,
        "full_name": token.user.printed_name,
        "token_id": token.pk,
        "token_name": token.name,
        "scope": token.scope,
        "expires_at": token.expires_at,
    }
