"""Site isolation: every selector and service here, own site and other site (E6 4.3.8(b); KF-1).

Subjects at sites A and B (and C). A site-A user sees and changes only site A, whatever id is
asked for; another site's participant looks exactly like one that does not exist.
"""

import pytest

from mmtrial.edc.models import AuditEvent
from mmtrial.edc.selectors.audit import (
    audit_event_list,
    audit_trail_for_participant,
    audit_trail_for_record,
    security_log,
)
from mmtrial.edc.selectors.participants import (
    PARTICIPANT_NOT_FOUND,
    participant_get,
    participant_list,
)
from mmtrial.edc.selectors.queries import query_get, query_inbox
from mmtrial.edc.services.locking import participant_lock, visit_lock
from mmtrial.edc.services.queries import query_answer, query_close, query_open
from mmtrial.edc.services.signatures import participant_sign, signature_verify
from mmtrial.edc.services.users import role_grant, role_revoke, user_create, user_deactivate
from mmtrial.errors import NotFound, PermissionDenied
from tests.edc.factories import make_participant, make_site, make_user
from tests.edc.trust_builders import (  # noqa: F401
    PASSWORD,
    fast_password_hashing,
    make_lab,
    make_verified_investigator,
    make_visit,
)

pytestmark = pytest.mark.django_db


def _subject(site, n):
    participant = make_participant(site, screening_number=f"SCR-{site.code}{n}")
    participant.subject_id = f"{site.code}-00{n}"
    participant.save(update_fields=["subject_id"])
    return participant


@pytest.fixture
def world():
    central_monitor = make_user(role="monitor", site=None)
    sites = {code: make_site(code) for code in ("A", "B", "C")}
    data = {"sites": sites, "central_monitor": central_monitor}
    for code, site in sites.items():
        participant = _subject(site, 1)
        lab = make_lab(participant)
        data[code] = {
            "participant": participant,
            "lab": lab,
            "visit": make_visit(participant, code="C1D1"),
            "query": query_open(
                user=central_monitor,
                participant=participant,
                model="labresult",
                object_pk=lab.pk,
                text=f"check {code}",
            ),
        }
    return data


def _ids(queryset):
    return {p.pk for p in queryset}


@pytest.mark.req("E6-4.3.8b-site")
@pytest.mark.req("KF-1")
@pytest.mark.parametrize("role", ["coordinator", "investigator", "monitor", "data_manager"])
def test_a_site_a_user_finds_no_site_b_subject_by_any_search(world, role):
    user = make_user(role=role, site=world["sites"]["A"])
    a = world["A"]["participant"]
    assert _ids(participant_list(user=user)) == {a.pk}
    for term in ("B-001", "B-0", "b-00", "SCR-B1", "SCR-B", "B1"):
        assert participant_list(user=user, search=term).count() == 0, term
    assert _ids(participant_list(user=user, search="001")) == {a.pk}
    assert participant_list(user=user, search="' OR 1=1--").count() == 0
    assert participant_list(user=user, site_code="B").count() == 0


@pytest.mark.req("E6-4.3.3b-IDOR")
def test_another_sites_id_is_not_found_exactly_like_a_missing_one(world):
    user = make_user(role="coordinator", site=world["sites"]["A"])
    b = world["B"]["participant"]
    assert participant_get(user=user, pk=world["A"]["participant"].pk).site.code == "A"
    with pytest.raises(NotFound) as other_site:
        participant_get(user=user, pk=b.pk)
    with pytest.raises(NotFound) as missing:
        participant_get(user=user, pk=999_999)
    assert other_site.value.message == PARTICIPANT_NOT_FOUND.format(ref=b.pk)
    assert missing.value.message == PARTICIPANT_NOT_FOUND.format(ref=999_999)
    for ref in (b.subject_id, b.screening_number):
        with pytest.raises(NotFound):
            participant_get(user=user, subject=ref)


@pytest.mark.req("E6-4.3.8b-site")
def test_audit_views_show_only_own_site_events(world):
    user = make_user(role="coordinator", site=world["sites"]["A"])
    a, b = world["A"], world["B"]
    trail = audit_trail_for_participant(user=user, participant_id=a["participant"].pk)
    assert {e.site_code for e in trail} == {"A"}
    assert trail.filter(model="query").exists()
    with pytest.raises(NotFound):
        audit_trail_for_participant(user=user, participant_id=b["participant"].pk)
    assert audit_trail_for_record(user=user, model="labresult", object_pk=a["lab"].pk).exists()
    with pytest.raises(NotFound):
        audit_trail_for_record(user=user, model="labresult", object_pk=b["lab"].pk)
    assert {e.site_code for e in audit_event_list(user=user)} == {"A"}
    assert audit_event_list(user=user, site_code="B").count() == 0
    with pytest.raises(PermissionDenied):
        security_log(user=user)


@pytest.mark.req("E6-4.3.8b-site")
def test_the_query_inbox_and_query_detail_are_site_scoped(world):
    user = make_user(role="coordinator", site=world["sites"]["A"])
    assert [q.pk for q in query_inbox(user=user)] == [world["A"]["query"].pk]
    assert query_inbox(user=user, site_code="B").count() == 0
    assert query_get(user=user, pk=world["A"]["query"].pk)
    with pytest.raises(NotFound):
        query_get(user=user, pk=world["B"]["query"].pk)


def _sign_after_closing_queries(world, site_code, **kwargs):
    if site_code == "A":  # own site: signing also needs the open query closed
        query_close(user=world["central_monitor"], query=world["A"]["query"], text="ok")
    return participant_sign(**kwargs)


def _other_site_attempts(world, site_code):
    """Every service here, aimed at `site_code`'s data, by users of site A."""
    target = world[site_code]
    site_a = world["sites"]["A"]
    monitor = make_user(role="monitor", site=site_a)
    coordinator = make_user(role="coordinator", site=site_a)
    data_manager = make_user(role="data_manager", site=site_a)
    investigator = make_verified_investigator(site_a)
    admin = make_user(role="sponsor_admin", site=site_a)
    someone = make_user(role="coordinator", site=world["sites"][site_code])
    return {
        "query_open": lambda: query_open(
            user=monitor,
            participant=target["participant"],
            model="labresult",
            object_pk=target["lab"].pk,
            text="x",
        ),
        "query_answer": lambda: query_answer(user=coordinator, query=target["query"], text="x"),
        "query_close": lambda: query_close(user=monitor, query=target["query"], text="x"),
        "participant_sign": lambda: _sign_after_closing_queries(
            world,
            site_code,
            user=investigator,
            participant=target["participant"],
            username=investigator.username,
            password=PASSWORD,
            meaning="Approval",
            confirm=True,
            session_state={},
        ),
        "participant_lock": lambda: participant_lock(
            user=data_manager, participant=target["participant"], reason="data review complete"
        ),
        "visit_lock": lambda: visit_lock(
            user=data_manager, visit=target["visit"], reason="data review complete"
        ),
        "role_grant": lambda: role_grant(
            actor=admin, user=someone, role="investigator", site=world["sites"][site_code]
        ),
        "role_revoke": lambda: role_revoke(
            actor=admin, user=someone, role="coordinator", site=world["sites"][site_code]
        ),
        "user_create": lambda: user_create(
            actor=admin,
            username=f"new-{site_code}",
            full_name="New Person",
            password="long-enough-pass-77",
            role="coordinator",
            site=world["sites"][site_code],
        ),
        "user_deactivate": lambda: user_deactivate(actor=admin, user=someone, reason="left"),
    }


@pytest.mark.req("E6-4.3.8b-site")
@pytest.mark.parametrize(
    "service",
    [
        "query_open",
        "query_answer",
        "query_close",
        "participant_sign",
        "participant_lock",
        "visit_lock",
        "role_grant",
        "role_revoke",
        "user_create",
        "user_deactivate",
    ],
)
def test_every_service_works_at_the_own_site_and_is_refused_at_another(world, service):
    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        _other_site_attempts(world, "B")[service]()
    assert AuditEvent.objects.count() == before, "a refused action writes nothing"
    _other_site_attempts(world, "A")[service]()
    assert AuditEvent.objects.count() > before


@pytest.fixture
def signed_world(world):
    for code in ("A", "B"):
        query_close(user=world["central_monitor"], query=world[code]["query"], text="ok")
        investigator = make_verified_investigator(world["sites"][code])
        participant_sign(
            user=investigator,
            participant=world[code]["participant"],
            username=investigator.username,
            password=PASSWORD,
            meaning="Approval",
            confirm=True,
            session_state={},
        )
    return world


def test_signature_verify_scoped_to_a_users_sites(signed_world):
    site_a_auditor = make_user(role="monitor", site=signed_world["sites"]["A"])
    assert signature_verify(user=site_a_auditor).checked == 1
    assert signature_verify(user=signed_world["central_monitor"]).checked == 2


@pytest.mark.req("E6-4.3.8b-site")
def test_a_user_at_sites_a_and_c_sees_exactly_a_and_c(world):
    user = make_user(role="coordinator", site=world["sites"]["A"])
    role_grant(
        actor=make_user(role="sponsor_admin", site=None),
        user=user,
        role="coordinator",
        site=world["sites"]["C"],
    )
    expected = {world["A"]["participant"].pk, world["C"]["participant"].pk}
    assert _ids(participant_list(user=user)) == expected
    assert {q.participant_id for q in query_inbox(user=user)} == expected
    assert {e.site_code for e in audit_event_list(user=user)} == {"A", "C"}


@pytest.mark.req("P11-10d")
def test_deactivation_and_role_removal_take_effect_on_the_next_call(world):
    admin = make_user(role="sponsor_admin", site=None)
    user = make_user(role="coordinator", site=world["sites"]["A"])
    assert participant_list(user=user).count() == 1
    role_revoke(actor=admin, user=user, role="coordinator", site=world["sites"]["A"])
    assert participant_list(user=user).count() == 0  # same user object, next call
    with pytest.raises(NotFound):
        participant_get(user=user, pk=world["A"]["participant"].pk)

    other = make_user(role="coordinator", site=world["sites"]["A"])
    stale = type(other).objects.get(pk=other.pk)  # loaded before the deactivation
    assert query_inbox(user=stale).count() == 1
    user_deactivate(actor=admin, user=other, reason="left the study")
    assert participant_list(user=stale).count() == 0
    assert query_inbox(user=stale).count() == 0
    with pytest.raises(PermissionDenied):
        query_answer(user=stale, query=world["A"]["query"], text="still here?")


@pytest.mark.parametrize("extra", [0, 20])
def test_list_selectors_use_a_fixed_number_of_queries(world, extra, django_assert_max_num_queries):
    """Same count with 1 or 21 participants and queries at the site."""
    user = make_user(role="coordinator", site=world["sites"]["A"])
    for n in range(extra):
        participant = _subject(world["sites"]["A"], n + 2)
        query_open(
            user=world["central_monitor"],
            participant=participant,
            model="participant",
            object_pk=participant.pk,
            text="check",
        )
    with django_assert_max_num_queries(2):
        rows = [(p.site.code, p.subject_id) for p in participant_list(user=user)]
    assert len(rows) == extra + 1
    with django_assert_max_num_queries(2):
        inbox = [(q.participant.site.code, q.opened_by_id) for q in query_inbox(user=user)]
    assert len(inbox) == extra + 1
    with django_assert_max_num_queries(3):
        events = [(e.site_code, e.actor_id) for e in audit_event_list(user=user)]
    assert events
