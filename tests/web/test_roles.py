"""The role matrix at the pages: each role's POST to each action succeeds or gets 403, as
`mmtrial.edc.permissions.ROLE_MATRIX` says (compliance P11-10g: checked at the view, not just by
hiding buttons)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mmtrial.edc.models.people import Role
from mmtrial.edc.permissions import ROLE_MATRIX, Action
from tests.web.conftest import PASSWORD, make_user
from tests.web.flow import C1D1, treated

pytestmark = pytest.mark.django_db


def _enter_lab(client, pk):
    return client.post(
        reverse("lab_new", args=[pk]),
        {
            "collected_on": C1D1.isoformat(),
            "source": "local",
            "value_anc": "1400",
            "unit_anc": "/mm3",
        },
    )


def _raise_query(client, pk):
    from mmtrial.edc.models import LabResult

    lab = LabResult.objects.filter(participant_id=pk).first()
    return client.post(
        reverse("query_raise", args=[pk]),
        {"model": "labresult", "object_pk": lab.pk, "text": "Please check"},
    )


def _sign(client, pk):
    return client.post(
        reverse("sign", args=[pk]),
        {"username": client.username, "password": PASSWORD, "meaning": "Approval", "confirm": "on"},
    )


def _lock(client, pk):
    return client.post(
        reverse("lock", args=[pk]), {"action": "lock", "reason": "data review complete"}
    )


ACTIONS = {
    Action.ENTER_DATA: _enter_lab,
    Action.QUERY_OPEN: _raise_query,
    Action.SIGN: _sign,
    Action.LOCK: _lock,
}


@pytest.mark.req("P11-10g")
@pytest.mark.parametrize("role", [r.value for r in Role])
@pytest.mark.parametrize("action", list(ACTIONS), ids=lambda a: a.value)
def test_each_role_may_do_exactly_what_the_matrix_allows(client, users, sites, role, action):
    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    site = sites["A"] if role in ("coordinator", "investigator") else None
    actor = make_user(f"{role}_actor", role, site, full_name=f"{role} person")
    actor.identity_verified_by = users["data_manager"]
    actor.save(update_fields=["identity_verified_by"])
    client.force_login(actor)
    client.username = actor.username
    response = ACTIONS[action](client, pk)
    allowed = action in ROLE_MATRIX[role]
    if allowed:
        assert response.status_code == 302, (role, action, response.status_code)
    elif Action.VIEW in ROLE_MATRIX[role]:
        assert response.status_code == 403, (role, action, response.status_code)
    else:
        # a role that sees no participant is not told that this one exists (site isolation)
        assert response.status_code == 404, (role, action, response.status_code)
