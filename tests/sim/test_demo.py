"""The demo study: one seeding for the module (rolled back at the end), checked as a whole.

Seeding goes through the EDC services only, so these tests also exercise them end to end:
dose decisions, the lab import, response derivation, queries, signature and lock.
"""

import datetime as dt
import io

import pytest
from django.apps import apps
from django.db import transaction
from django.test import override_settings

from mmtrial.edc.audit import audit_verify
from mmtrial.edc.models import (
    AuditEvent,
    Cycle,
    Death,
    DoseAdministration,
    FollowUpContact,
    LabResult,
    Membership,
    Participant,
    Query,
    ResponseAssessment,
    ResponseSummary,
    Signature,
    Site,
    User,
    Visit,
)
from mmtrial.edc.models.people import BLINDING_ROLES, Role
from mmtrial.edc.services.users import password_must_change
from mmtrial.sim.demo import demo_users, seed_demo_study

# Each test also runs in its own transaction (rolled back to the module's seeded state), and
# the mark makes pytest-django create the test database before the module fixture needs it.
pytestmark = pytest.mark.django_db

FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The full demo study, seeded once; everything is rolled back after the module."""
    from django.db import connection

    assert "memory" in str(connection.settings_dict["NAME"]) or connection.vendor != "sqlite"
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHER),
        transaction.atomic(),
    ):
        out = io.StringIO()
        summary = seed_demo_study(stdout=out)
        yield summary, out.getvalue()
        transaction.set_rollback(True)


def _changes(kind: str):
    for cycle in Cycle.objects.select_related("participant"):
        for change in cycle.decision.get("changes", []):
            if change["kind"] == kind:
                yield cycle, change


def test_16_sites_in_tokyo_and_34_participants(demo):
    summary, printed = demo
    assert summary.seeded and summary.problems == []
    # progress without a terminal, from the month of the first consent (the study is shifted
    # to the seeding day: plans.data_cutoff_for)
    first = Participant.objects.order_by("consent_date").first().consent_date
    assert f"entering the study data of {first:%Y-%m}" in printed
    sites = Site.objects.all()
    assert sites.count() == 16 and {s.timezone for s in sites} == {"Asia/Tokyo"}
    assert all(s.name_ja for s in sites)
    assert Participant.objects.count() == 34 == summary.participants


def test_participants_are_spread_over_the_stages_of_the_study(demo):
    statuses = dict.fromkeys(
        ("screening", "screen_failed", "on_treatment", "off_treatment", "follow_up", "died"), 0
    )
    for status in Participant.objects.values_list("status", flat=True):
        statuses[status] += 1
    assert statuses["screening"] >= 2 and statuses["screen_failed"] == 1
    assert statuses["on_treatment"] >= 15
    assert statuses["off_treatment"] + statuses["follow_up"] >= 2
    assert 1 <= statuses["died"] <= 2 and Death.objects.count() == statuses["died"]
    cycles = [p.cycles.count() for p in Participant.objects.filter(status="on_treatment")]
    assert min(cycles) == 1 and max(cycles) == 20


def test_renal_dosing_starts_lenalidomide_at_10_mg_and_escalates_one_to_15(demo):
    ten = [c for c in Cycle.objects.all() if c.planned_doses_mg.get("lenalidomide") == 10]
    assert ten and any(c.number == 1 for c in ten)
    escalations = [
        (cycle, change)
        for cycle, change in _changes("escalate")
        if change["drug"] == "lenalidomide" and change["to_mg"] == 15
    ]
    assert len(escalations) == 1
    cycle, change = escalations[0]
    assert cycle.number == 3 and cycle.planned_doses_mg["lenalidomide"] == 15
    assert change["from_mg"] == 10 and change["rule"] == "renal_escalation_not_responding"


def test_platelet_and_neutrophil_drops_hold_doses_and_reduce_the_next_cycle(demo):
    rules = {change["rule"] for _, change in _changes("reduce")}
    assert {"platelets_below_30000", "anc_below_500", "dexamethasone_related"} <= rules
    reduced_drugs = {change["drug"] for _, change in _changes("reduce")}
    assert {"lenalidomide", "ixazomib", "dexamethasone"} <= reduced_drugs
    assert DoseAdministration.objects.filter(status="held").exists()
    assert DoseAdministration.objects.filter(status="taken").exists()


def test_central_labs_come_through_the_import_as_the_data_manager(demo):
    data_manager = User.objects.get(username="yuto.takahashi")
    central = LabResult.objects.filter(source="central")
    assert central.count() > 300
    events = AuditEvent.objects.filter(model="labresult", action="create", actor=data_manager)
    assert events.count() == central.count()
    assert all(e.context.get("file", "").startswith("central-lab-") for e in events[:50])


def test_responses_range_from_vgpr_or_better_to_progression(demo):
    derived = set(ResponseAssessment.objects.values_list("derived_response", flat=True))
    assert derived & {"VGPR", "CR", "sCR"} and "PD" in derived
    best = set(ResponseSummary.objects.values_list("best_overall_response", flat=True))
    assert best & {"VGPR", "CR", "sCR"}
    assert ResponseSummary.objects.filter(progression_date__isnull=False).count() >= 3
    assert (
        not ResponseAssessment.objects.filter(investigator_response="")
        .exclude(derived_response="NE")
        .exists()
    )


def test_a_response_disagreement_opens_a_query(demo):
    queries = Query.objects.filter(origin="response_disagreement")
    assert queries.count() == 1
    row = ResponseAssessment.objects.get(pk=queries.get().object_pk)
    assert row.investigator_response and row.investigator_response != row.derived_response
    assert Query.objects.filter(origin="manual", status="closed").exists()
    assert Query.objects.filter(origin="manual", status="open").exists()


def test_follow_up_after_progression_then_one_signed_and_one_locked(demo):
    assert FollowUpContact.objects.count() >= 3
    signature = Signature.objects.get()
    assert signature.status == "valid" and signature.participant.site.code == "JP-01"
    locked = Participant.objects.get(locked=True)
    assert locked.status == "died"


def test_one_user_per_role_with_the_printed_passwords(demo):
    _, printed = demo
    memberships = list(Membership.objects.select_related("user", "site"))
    # the demo study is open label: nobody holds a role that only a blinded study has
    assert {m.role for m in memberships} == set(Role.values) - BLINDING_ROLES
    sites = {}
    for membership in memberships:
        sites.setdefault(membership.user.username, set()).add(
            membership.site.code if membership.site else None
        )
    for user in demo_users():
        account = User.objects.get(username=user.username)
        assert account.check_password(user.password)
        assert not password_must_change(account)  # their own password: no forced change
        assert user.password in printed and user.username in printed
        assert sites[user.username] == (set(user.sites) or {None})
    assert sites["hanako.yamada"] == sites["kenji.sato"] == {"JP-01"}
    for username in ("aiko.suzuki", "yuto.takahashi", "mei.ito", "ren.watanabe"):
        assert sites[username] == {None}
    assert len(sites["misaki.kobayashi"]) == 15


def test_the_audit_chain_verifies_and_every_event_came_through_the_demo(demo):
    assert audit_verify().ok
    vias = set(AuditEvent.objects.values_list("context__via", flat=True))
    assert vias == {"demo"}
    anonymous = AuditEvent.objects.filter(actor__isnull=True).exclude(
        actor_username__startswith="operator:"
    )
    assert not anonymous.exists()


def test_seeding_again_changes_nothing(demo):
    models = [m for m in apps.get_app_config("edc").get_models()]
    before = {m.__name__: m.objects.count() for m in models}
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    out = io.StringIO()
    summary = seed_demo_study(stdout=out)
    assert not summary.seeded
    assert {m.__name__: m.objects.count() for m in models} == before
    assert AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() == last
    assert "already" in out.getvalue() and demo_users()[0].password in out.getvalue()


def test_the_study_is_in_progress_on_the_day_it_is_seeded(demo):
    """The data stop on the latest Monday on or before today (issue 12 item 6): no recorded
    date after it, some in its last week, and visits still to come."""
    from mmtrial.sim.demo import seeding_day

    summary, printed = demo
    today = seeding_day()
    cutoff = summary.data_cutoff
    assert cutoff <= today < cutoff + dt.timedelta(days=7)
    assert f"data up to {cutoff.isoformat()}" in printed
    done = list(Visit.objects.exclude(actual_date=None).values_list("actual_date", flat=True))
    labs = list(LabResult.objects.values_list("collected_on", flat=True))
    assert max(done + labs) <= cutoff
    assert max(done + labs) >= cutoff - dt.timedelta(days=7)
    ahead = Visit.objects.filter(status="due", planned_date__gt=today, is_deleted=False)
    assert ahead.exists()


def test_audit_events_keep_the_real_time_and_name_the_study_date_they_stand_for(demo):
    summary, _ = demo
    events = list(AuditEvent.objects.values_list("occurred_at", "context"))
    stands = [dt.date.fromisoformat(c["stands_for"]) for _, c in events if "stands_for" in c]
    assert stands and max(stands) == summary.data_cutoff
    assert min(stands) < summary.data_cutoff - dt.timedelta(days=365)
    assert all(when.date() >= summary.data_cutoff for when, _ in events)  # seeded now
    assert audit_verify().ok


def _japanese(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in text)


def test_the_demo_people_write_in_japanese(demo):
    from mmtrial.edc.models import QueryMessage

    manual = Query.objects.filter(origin="manual")
    assert manual.exists() and all(_japanese(q.text) for q in manual)
    messages = QueryMessage.objects.filter(query__origin="manual")
    assert messages.exists() and all(_japanese(m.text) for m in messages if m.text)
    locks = AuditEvent.objects.filter(action="lock")
    assert locks.exists() and all(_japanese(e.reason) for e in locks)
    held = DoseAdministration.objects.filter(status="held")
    assert held.exists() and all(_japanese(d.reason) for d in held)


def test_the_audit_history_shows_the_study_date_beside_the_real_time(demo, client):
    participant = Participant.objects.exclude(subject_id="").order_by("pk").first()
    data_manager = User.objects.get(username="yuto.takahashi")
    client.force_login(data_manager)
    page = client.get(f"/participants/{participant.pk}/audit/").content.decode()
    assert 'data-testid="stands-for"' in page
    days = {
        c["stands_for"]
        for c in AuditEvent.objects.filter(subject=participant.subject_id).values_list(
            "context", flat=True
        )
    }
    assert any(f"demo: stands for {day}" in page for day in days)


def test_a_correction_carries_its_reason_for_change_in_japanese(demo):
    corrections = AuditEvent.objects.filter(action="update", model="labresult").exclude(reason="")
    assert corrections.exists() and all(_japanese(e.reason) for e in corrections)
    event = corrections.first()
    assert event.changes["value"]["old"] != event.changes["value"]["new"]


def test_the_monitors_worklist_on_the_seeding_day_has_no_backlog(demo):
    """What the finding was: weeks after a fixed cut-off, dozens of visits overdue. Seeded
    today, only what fell between the cut-off (a Monday) and today can be overdue."""
    from mmtrial.edc.selectors.worklist import worklist
    from mmtrial.sim.demo import seeding_day

    summary, _ = demo
    monitor = User.objects.get(username="aiko.suzuki")
    result = worklist(user=monitor, today=seeding_day())
    assert all(item.planned > summary.data_cutoff - dt.timedelta(days=7) for item in result.overdue)
    assert result.by_week[0] or result.by_week[1]
    assert {i.kind for week in result.by_week for i in week} >= {"treatment", "response_assessment"}
