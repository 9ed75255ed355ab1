"""participant_list's response filter (in the database), site_list and signature_list: scoped to
the user's sites, a fixed number of queries."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mmtrial.edc.models import ResponseSummary, Signature
from mmtrial.edc.permissions import Action
from mmtrial.edc.selectors.participants import participant_list
from mmtrial.edc.selectors.signatures import signature_list
from mmtrial.edc.selectors.sites import site_list
from mmtrial.errors import NotFound
from tests.edc.factories import make_participant, make_site, make_user

pytestmark = pytest.mark.django_db


def _with_response(site, response: str | None, **fields):
    participant = make_participant(site, **fields)
    if response is not None:
        ResponseSummary.objects.create(
            participant=participant, best_overall_response=response, engine_version="test"
        )
    return participant


def _count(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def test_the_response_filter_keeps_only_that_best_overall_response():
    site, other = make_site(), make_site()
    coordinator = make_user(role="coordinator", site=site)
    pr = [_with_response(site, "PR") for _ in range(3)]
    _with_response(site, "VGPR")
    _with_response(site, None)
    _with_response(other, "PR")  # another site's PR stays invisible
    found = participant_list(user=coordinator, response="PR")
    assert {p.pk for p in found} == {p.pk for p in pr}
    assert participant_list(user=coordinator, response="CR").count() == 0
    assert participant_list(user=coordinator).count() == 5


def test_a_deleted_response_summary_does_not_match():
    site = make_site()
    coordinator = make_user(role="coordinator", site=site)
    participant = _with_response(site, "PR")
    ResponseSummary.objects.filter(participant=participant).update(is_deleted=True)
    assert participant_list(user=coordinator, response="PR").count() == 0


def test_the_response_filter_and_summaries_are_read_in_one_query_whatever_the_rows():
    site = make_site()
    coordinator = make_user(role="coordinator", site=site)
    _with_response(site, "PR")

    def read():
        for participant in participant_list(user=coordinator, response="PR"):
            assert participant.response_summary.best_overall_response == "PR"
            assert participant.site.code

    few = _count(read)
    for _ in range(30):
        _with_response(site, "PR")
    assert _count(read) == few <= 2  # the memberships, then the participants with summaries


def test_site_list_is_scoped_to_the_users_sites_and_action():
    a, b = make_site("SLA"), make_site("SLB")
    closed = make_site("SLC")
    closed.active = False
    closed.save()
    coordinator = make_user(role="coordinator", site=a)
    monitor = make_user(role="monitor", site=None)
    assert [s.code for s in site_list(user=coordinator)] == ["SLA"]
    assert [s.code for s in site_list(user=coordinator, action=Action.SCREEN)] == ["SLA"]
    assert {"SLA", "SLB"} <= {s.code for s in site_list(user=monitor)}
    assert "SLC" not in {s.code for s in site_list(user=monitor)}
    # a monitor may see every site but screen at none
    assert list(site_list(user=monitor, action=Action.SCREEN)) == []
    assert b.code not in {s.code for s in site_list(user=coordinator)}


def test_signature_list_is_newest_first_with_the_signer_and_scoped():
    site, other_site = make_site(), make_site()
    participant = make_participant(site)
    investigator = make_user(role="investigator", site=site)
    outsider = make_user(role="coordinator", site=other_site)
    now = timezone.now()
    for hours in (2, 1):
        Signature.objects.create(
            participant=participant,
            signer=investigator,
            printed_name="Dr Test",
            meaning="Approval",
            signed_at=now - dt.timedelta(hours=hours),
            content_sha256="0" * 64,
            confirmation_text_version="1",
        )
    signatures = signature_list(user=investigator, participant_id=participant.pk)
    with CaptureQueriesContext(connection) as captured:
        rows = [(s.signed_at, s.signer.full_name) for s in signatures]
    assert len(captured.captured_queries) == 1
    assert [r[0] for r in rows] == sorted((r[0] for r in rows), reverse=True)
    with pytest.raises(NotFound):
        signature_list(user=outsider, participant_id=participant.pk)
    with pytest.raises(NotFound):
        signature_list(user=investigator, participant_id=999_999)
