"""An API client and a small study: two sites, one user of every role, a treated participant
at site A with labs, an adverse event and a query, and a token per user."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

SIGNING_PASSWORD = "correct-horse-battery-9"
ROLES = (
    "coordinator",
    "investigator",
    "monitor",
    "data_manager",
    "statistician",
    "sponsor_admin",
    "randomization_admin",
)


class Api:
    """Django's test client speaking JSON with a bearer token."""

    def __init__(self, client, token: str | None = None, language: str = "en") -> None:
        self.client = client
        self.token = token
        self.language = language

    def _headers(self, headers):
        out = {"HTTP_ACCEPT_LANGUAGE": self.language}
        if self.token:
            out["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        for name, value in (headers or {}).items():
            out["HTTP_" + name.upper().replace("-", "_")] = value
        return out

    def call(self, method: str, path: str, body=None, headers=None, **params):
        url = path if path.startswith("/") else f"/api/v1/{path}"
        kwargs = self._headers(headers)
        if method == "get":
            return self.client.get(url, params or None, **kwargs)
        return getattr(self.client, method)(
            url, json.dumps(body or {}), content_type="application/json", **kwargs
        )

    def get(self, path, **params):
        return self.call("get", path, **params)

    def post(self, path, body=None, headers=None):
        return self.call("post", path, body, headers)

    def patch(self, path, body=None, headers=None):
        return self.call("patch", path, body, headers)


def allow_tokens(*users) -> None:
    """The builders' users have no password of their own yet; tokens need one chosen."""
    from mmtrial.edc.models import User

    User.objects.filter(pk__in=[u.pk for u in users]).update(password_changed_at=timezone.now())
    for user in users:
        user.refresh_from_db()


def token_for(user, scope: str = "read_write") -> str:
    from mmtrial.edc.api_tokens import api_token_create

    return api_token_create(user=user, name="test", scope=scope)[1]


@pytest.fixture
def study(db):
    """Site A (treated participant) and site B (one participant), every role."""
    from mmtrial.edc.services.adverse_events import ae_record
    from mmtrial.edc.services.queries import query_open
    from tests.edc.builders import Study, make_user, started

    a = Study("JP01")
    b = Study("JP02")
    participant, cycle = started(a, "SCR-001")
    other = b.enrolled("SCR-900")
    users = {
        "coordinator": a.coordinator,
        "investigator": a.investigator,
        "coordinator_b": b.coordinator,
        "data_manager": a.data_manager,
        "monitor": make_user(role="monitor", site=None),
        "statistician": make_user(role="statistician", site=None),
        "sponsor_admin": make_user(role="sponsor_admin", site=None),
        "randomization_admin": make_user(role="randomization_admin", site=None),
    }
    allow_tokens(*users.values())
    ae = ae_record(
        user=a.coordinator,
        participant_id=participant.pk,
        term="Nausea",
        grade=1,
        start_date=cycle.start_date,
    )
    lab = participant.labs.order_by("pk").first()
    from mmtrial.edc.services.disease import disease_assessment_record
    from mmtrial.edc.services.labs import lab_result_record

    day_28 = cycle.start_date + dt.timedelta(days=27)
    for on, value in ((cycle.start_date, "2.4"), (day_28, "1.0")):
        lab_result_record(
            user=a.coordinator,
            participant_id=participant.pk,
            analyte="serum_m_protein",
            value=value,
            unit="g/dL",
            collected_on=on,
        )
    disease = disease_assessment_record(
        user=a.coordinator, participant_id=participant.pk, assessed_on=day_28, new_lesion=False
    )
    signature = _signed(a, participant, users["sponsor_admin"])  # before the open query
    query = query_open(
        user=users["monitor"],
        participant=participant,
        model="labresult",
        object_pk=lab.pk,
        text="Please confirm the value.",
    )
    visit = participant.visits.filter(is_deleted=False).order_by("planned_date").first()
    dose = cycle.doses.order_by("date", "drug").first()
    return {
        "signature": signature,
        "a": a,
        "b": b,
        "participant": participant,
        "other": other,
        "cycle": cycle,
        "users": users,
        "ae": ae,
        "lab": lab,
        "query": query,
        "visit": visit,
        "dose": dose,
        "disease": disease,
        "response": participant.responses.order_by("pk").first(),
    }


def _signed(study, participant, verifier):
    """The site A investigator signs the participant's data (identity verified, password)."""
    from mmtrial.edc.services.signatures import participant_sign

    investigator = study.investigator
    investigator.set_password(SIGNING_PASSWORD)
    investigator.identity_verified_by = verifier
    investigator.save(update_fields=["password", "identity_verified_by"])
    return participant_sign(
        user=investigator,
        participant=participant,
        username=investigator.username,
        password=SIGNING_PASSWORD,
        meaning="Approval",
        confirm=True,
        session_state={},
    )


@pytest.fixture
def api_as(client, study):
    """api_as("coordinator") -> an Api client with a read_write token of that user."""

    def make(role: str, scope: str = "read_write", language: str = "en") -> Api:
        return Api(client, token_for(study["users"][role], scope), language)

    return make


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Each test starts with empty per-token request counters (they live in the process's cache,
    and token ids repeat across tests whose databases are rolled back)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
