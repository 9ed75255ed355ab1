"""Data queries: open, answer, re-open, close; every step audited (E6 4.2.2(a)(iii))."""

import re

import pytest

from mmtrial.edc.audit import audit_verify
from mmtrial.edc.models import AuditEvent, QueryMessage
from mmtrial.edc.models.trust import QueryStatus
from mmtrial.edc.selectors.queries import QUERY_NOT_FOUND, query_get, query_inbox
from mmtrial.edc.services.locking import participant_lock
from mmtrial.edc.services.queries import (
    QUERY_ALREADY_CLOSED,
    QUERY_AUTOMATIC_ONLY,
    QUERY_CLOSE_UNANSWERED_NEEDS_TEXT,
    QUERY_MANUAL_NEEDS_USER,
    QUERY_NOT_OPEN,
    QUERY_STALE,
    QUERY_TARGET_NOT_FOUND,
    QUERY_TEXT_REQUIRED,
    QUERY_UNKNOWN_FIELD,
    query_answer,
    query_close,
    query_open,
    query_reopen,
)
from mmtrial.errors import (
    ConflictError,
    InputError,
    LockedRecordError,
    NotFound,
    PermissionDenied,
)
from tests.edc.factories import make_participant, make_site, make_user
from tests.edc.trust_builders import fast_password_hashing, make_lab  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def study():
    site = make_site("QA")
    participant = make_participant(site)
    lab = make_lab(participant)
    return {
        "site": site,
        "participant": participant,
        "lab": lab,
        "monitor": make_user(role="monitor", site=None),
        "data_manager": make_user(role="data_manager", site=None),
        "coordinator": make_user(role="coordinator", site=site),
    }


def _open(study, **overrides):
    args = dict(
        user=study["monitor"],
        participant=study["participant"],
        model="labresult",
        object_pk=study["lab"].pk,
        field="value",
        text="ALT 40 U/L: please confirm against the source document.",
    )
    args.update(overrides)
    return query_open(**args)


@pytest.mark.req("E6-4.2.2a-iii")
def test_the_full_query_cycle_writes_one_message_and_one_audit_event_per_step(study):
    query = _open(study)
    assert query.status == QueryStatus.OPEN
    query = query_answer(user=study["coordinator"], query=query, text="Confirmed: 40 U/L.")
    assert query.status == QueryStatus.ANSWERED
    query = query_reopen(user=study["monitor"], query=query, text="Source says 44.")
    assert query.status == QueryStatus.OPEN
    query = query_answer(user=study["coordinator"], query=query, text="Corrected to 44.")
    query = query_close(user=study["data_manager"], query=query)
    assert query.status == QueryStatus.CLOSED

    kinds = list(QueryMessage.objects.filter(query=query).values_list("kind", flat=True))
    assert kinds == ["open", "answer", "reopen", "answer", "close"]
    events = AuditEvent.objects.filter(model="query", object_pk=str(query.pk)).order_by("id")
    assert [e.action for e in events] == [
        "query_open",
        "query_answer",
        "query_reopen",
        "query_answer",
        "query_close",
    ]
    assert [e.actor_id for e in events] == [
        study["monitor"].pk,
        study["coordinator"].pk,
        study["monitor"].pk,
        study["coordinator"].pk,
        study["data_manager"].pk,
    ]
    first = events[0]
    assert first.site_code == "QA"
    assert first.context["target_model"] == "labresult"
    assert first.context["target_field"] == "value"
    assert first.changes["status"] == {"old": None, "new": "open"}
    assert audit_verify().ok


def test_an_automatic_query_has_no_user_and_names_its_origin(study):
    query = query_open(
        user=None,
        participant=study["participant"],
        model="labresult",
        object_pk=study["lab"].pk,
        text="Derived response PR differs from investigator response VGPR.",
        origin="response_disagreement",
    )
    assert query.opened_by is None
    assert query.origin == "response_disagreement"
    event = AuditEvent.objects.get(action="query_open", object_pk=str(query.pk))
    assert event.actor_id is None
    assert event.context["origin"] == "response_disagreement"


def test_a_manual_query_needs_a_user_and_a_user_cannot_fake_an_automatic_one(study):
    with pytest.raises(InputError, match=QUERY_MANUAL_NEEDS_USER):
        _open(study, user=None)
    with pytest.raises(InputError, match=QUERY_AUTOMATIC_ONLY):
        _open(study, origin="edit_check")


def test_opening_needs_text_a_real_field_and_a_record_of_that_participant(study):
    with pytest.raises(InputError, match=QUERY_TEXT_REQUIRED):
        _open(study, text="   ")
    with pytest.raises(InputError, match=QUERY_UNKNOWN_FIELD.format(model="labresult", field="x")):
        _open(study, field="x")
    other = make_participant(study["site"])
    with pytest.raises(NotFound) as raised:
        _open(study, participant=other)
    assert raised.value.message == QUERY_TARGET_NOT_FOUND.format(
        model="labresult", object_pk=study["lab"].pk, subject=other.screening_number
    )
    assert AuditEvent.objects.filter(action="query_open").count() == 0


@pytest.mark.parametrize("role", ["coordinator", "investigator", "statistician", "sponsor_admin"])
def test_roles_without_query_open_cannot_open(study, role):
    user = make_user(role=role, site=study["site"])
    with pytest.raises(PermissionDenied):
        _open(study, user=user)


def test_a_monitor_cannot_answer_and_site_staff_cannot_close(study):
    query = _open(study)
    with pytest.raises(PermissionDenied):
        query_answer(user=study["monitor"], query=query, text="I answer myself")
    query = query_answer(user=study["coordinator"], query=query, text="ok")
    with pytest.raises(PermissionDenied):
        query_close(user=study["coordinator"], query=query)


def test_answering_an_answered_query_and_closing_a_closed_one_are_refused(study):
    query = query_answer(user=study["coordinator"], query=_open(study), text="ok")
    with pytest.raises(InputError, match=QUERY_NOT_OPEN.format(pk=query.pk, status="answered")):
        query_answer(user=study["coordinator"], query=query, text="again")
    query = query_close(user=study["monitor"], query=query)
    with pytest.raises(InputError, match=QUERY_ALREADY_CLOSED.format(pk=query.pk)):
        query_close(user=study["monitor"], query=query)


def test_closing_an_unanswered_query_needs_a_reason(study):
    query = _open(study)
    with pytest.raises(
        InputError, match=re.escape(QUERY_CLOSE_UNANSWERED_NEEDS_TEXT.format(pk=query.pk))
    ):
        query_close(user=study["monitor"], query=query)
    closed = query_close(user=study["monitor"], query=query, text="Raised in error")
    assert closed.status == QueryStatus.CLOSED


def test_a_stale_query_version_is_a_conflict(study):
    query = _open(study)
    query_answer(user=study["coordinator"], query=query, text="first", expected_version=1)
    with pytest.raises(ConflictError) as raised:
        query_close(user=study["monitor"], query=query, text="x", expected_version=1)
    assert raised.value.message == QUERY_STALE.format(pk=query.pk, expected=1, current=2)


def test_a_locked_participant_refuses_open_and_answer_but_allows_close(study):
    query = _open(study)
    participant_lock(
        user=study["data_manager"], participant=study["participant"], reason="data review complete"
    )
    before = AuditEvent.objects.count()
    with pytest.raises(LockedRecordError):
        _open(study)
    with pytest.raises(LockedRecordError):
        query_answer(user=study["coordinator"], query=query, text="too late")
    with pytest.raises(LockedRecordError):
        query_reopen(user=study["monitor"], query=query, text="x")
    assert AuditEvent.objects.count() == before
    assert query_close(user=study["monitor"], query=query, text="data locked as is").status == (
        QueryStatus.CLOSED
    )


def test_the_inbox_shows_unresolved_queries_of_the_users_sites_only(study):
    other_site = make_site("QB")
    other_participant = make_participant(other_site)
    other_lab = make_lab(other_participant)
    mine = _open(study)
    theirs = _open(study, participant=other_participant, object_pk=other_lab.pk)
    closed = query_close(user=study["monitor"], query=_open(study), text="dup")

    assert list(query_inbox(user=study["coordinator"])) == [mine]
    assert set(query_inbox(user=study["monitor"])) == {mine, theirs}
    assert closed in query_inbox(user=study["monitor"], statuses=["closed"])
    assert query_get(user=study["coordinator"], pk=mine.pk) == mine
    with pytest.raises(NotFound, match=QUERY_NOT_FOUND.format(pk=theirs.pk)):
        query_get(user=study["coordinator"], pk=theirs.pk)
    with pytest.raises(NotFound):
        query_get(user=study["coordinator"], pk="x")


def test_site_staff_cannot_answer_another_sites_query(study):
    other_site = make_site("QC")
    other_participant = make_participant(other_site)
    query = _open(study, participant=other_participant, object_pk=make_lab(other_participant).pk)
    with pytest.raises(PermissionDenied):
        query_answer(user=study["coordinator"], query=query, text="not mine")
