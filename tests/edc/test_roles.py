"""The role matrix as a whole (21 CFR 11.10(g); compliance P11-10g).

Every role x every action, built from `permissions.ROLE_MATRIX`: the permission check itself,
and, for each action a service or selector here implements, the real call (allowed: it
succeeds; not allowed: PermissionDenied, or NotFound for reads). Actions whose services live
elsewhere (screen, enroll, enter/edit data, import labs, export) are checked at `authorize`.
"""

import pytest

from mmtrial.edc.models import Query
from mmtrial.edc.models.people import Role
from mmtrial.edc.permissions import ROLE_MATRIX, Action, authorize, can
from mmtrial.edc.selectors.audit import audit_trail_for_participant
from mmtrial.edc.selectors.participants import participant_get
from mmtrial.edc.services.locking import participant_lock, participant_unlock
from mmtrial.edc.services.queries import query_answer, query_close, query_open
from mmtrial.edc.services.signatures import participant_sign
from mmtrial.edc.services.sites import site_add
from mmtrial.edc.services.users import role_grant
from mmtrial.errors import NotFound, PermissionDenied
from tests.edc.factories import make_participant, make_site, make_user
from tests.edc.trust_builders import PASSWORD, fast_password_hashing, make_lab  # noqa: F401

pytestmark = pytest.mark.django_db


def _open_query(ctx):
    return query_open(
        user=ctx["monitor"],
        participant=ctx["participant"],
        model="labresult",
        object_pk=ctx["lab"].pk,
        text="check",
    )


def _locked(ctx):
    return participant_lock(
        user=ctx["data_manager"], participant=ctx["participant"], reason="data review complete"
    )


PROBES = {
    Action.VIEW: lambda ctx, user: participant_get(user=user, pk=ctx["participant"].pk),
    Action.QUERY_OPEN: lambda ctx, user: query_open(
        user=user,
        participant=ctx["participant"],
        model="labresult",
        object_pk=ctx["lab"].pk,
        text="please check",
    ),
    Action.QUERY_ANSWER: lambda ctx, user: query_answer(
        user=user, query=_open_query(ctx), text="checked"
    ),
    Action.QUERY_CLOSE: lambda ctx, user: query_close(
        user=user, query=_open_query(ctx), text="raised in error"
    ),
    Action.SIGN: lambda ctx, user: participant_sign(
        user=user,
        participant=ctx["participant"],
        username=user.username,
        password=PASSWORD,
        meaning="Approval",
        confirm=True,
        session_state={},
    ),
    Action.LOCK: lambda ctx, user: participant_lock(
        user=user, participant=ctx["participant"], reason="data review complete"
    ),
    Action.UNLOCK: lambda ctx, user: participant_unlock(
        user=user, participant=_locked(ctx), reason="correction"
    ),
    Action.VIEW_AUDIT: lambda ctx, user: audit_trail_for_participant(
        user=user, participant_id=ctx["participant"].pk
    ),
    Action.MANAGE_USERS: lambda ctx, user: role_grant(
        actor=user, user=ctx["colleague"], role="investigator", site=ctx["site"]
    ),
    Action.MANAGE_SITES: lambda ctx, user: site_add(actor=user, code="NEW-1", name="New site"),
}

CELLS = [(role, action) for role in Role.values for action in Action]


@pytest.fixture
def ctx():
    site = make_site("RM")
    participant = make_participant(site)
    return {
        "site": site,
        "participant": participant,
        "lab": make_lab(participant),
        "monitor": make_user(role="monitor", site=None),
        "data_manager": make_user(role="data_manager", site=None),
        "colleague": make_user(role="coordinator", site=site),
        "verifier": make_user(role="sponsor_admin", site=None),
    }


def _user_with(role, site, ctx):
    user = make_user(role=role, site=site)
    user.identity_verified_by = ctx["verifier"]
    user.save(update_fields=["identity_verified_by"])
    return user


def test_the_matrix_names_every_role_and_only_known_actions():
    assert set(ROLE_MATRIX) == set(Role.values)
    for actions in ROLE_MATRIX.values():
        assert actions <= set(Action)


@pytest.mark.req("P11-10g")
@pytest.mark.parametrize(("role", "action"), CELLS)
def test_each_role_may_do_exactly_what_the_matrix_says(ctx, role, action):
    allowed = action in ROLE_MATRIX[role]
    user = _user_with(role, ctx["site"], ctx)
    other_site = make_site()
    assert can(user, action, ctx["site"].pk) is allowed
    assert can(user, action, other_site.pk) is False, "a site role never reaches another site"
    probe = PROBES.get(action)
    if probe is None:
        if allowed:
            authorize(user, action, ctx["site"].pk)
        else:
            with pytest.raises(PermissionDenied):
                authorize(user, action, ctx["site"].pk)
        return
    if allowed:
        assert probe(ctx, user) is not None
    else:
        with pytest.raises((PermissionDenied, NotFound)):
            probe(ctx, user)


@pytest.mark.req("P11-10g")
@pytest.mark.parametrize(("role", "action"), CELLS)
def test_an_all_site_role_reaches_every_site_for_its_actions_only(ctx, role, action):
    user = _user_with(role, None, ctx)
    allowed = action in ROLE_MATRIX[role]
    assert can(user, action, ctx["site"].pk) is allowed
    assert can(user, action, make_site().pk) is allowed


@pytest.mark.req("P11-10g")
def test_spot_checks_from_the_compliance_checklist():
    """Independent of the matrix file: what the checklist names explicitly."""
    assert Action.EDIT_DATA not in ROLE_MATRIX[Role.MONITOR]
    assert Action.SIGN not in ROLE_MATRIX[Role.DATA_MANAGER]
    assert Action.EXPORT not in ROLE_MATRIX[Role.COORDINATOR]
    assert Action.EXPORT not in ROLE_MATRIX[Role.INVESTIGATOR]
    assert Action.SIGN in ROLE_MATRIX[Role.INVESTIGATOR]
    assert {Action.LOCK, Action.UNLOCK} <= ROLE_MATRIX[Role.DATA_MANAGER]
    signers = [role for role, actions in ROLE_MATRIX.items() if Action.SIGN in actions]
    assert signers == [Role.INVESTIGATOR]


def test_a_refused_query_action_leaves_no_query_behind(ctx):
    coordinator = _user_with("coordinator", ctx["site"], ctx)
    with pytest.raises(PermissionDenied):
        PROBES[Action.QUERY_OPEN](ctx, coordinator)
    assert not Query.objects.exists()
