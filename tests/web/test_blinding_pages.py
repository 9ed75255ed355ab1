"""Blinding at the pages of a randomized, double-blind study (issue 16 item 2; ICH E9 2.3):
every blinded role reads the kit code and never the arm, on every page a participant appears;
the unblinded roles read the arm; the participant's investigator unblinds in an emergency with
a reason, audited, and then sees the arm, nobody else does."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from mmtrial.edc.models import AuditEvent
from mmtrial.edc.services.randomization import allocated_arm, randomization_key_create
from mmtrial.edc.services.treatment import cycle_start
from mmtrial.protocol.loader import PROTOCOLS_DIR, load_protocol_file
from tests.edc.builders import C1D1, Study, day1_labs, make_user

pytestmark = pytest.mark.django_db
TMM1 = PROTOCOLS_DIR / "tmm1.yaml"
STRATUM = {"prior_lines": 1, "pi_exposed": False, "iss_stage": 2}


@pytest.fixture(autouse=True)
def _tmm1(monkeypatch):
    monkeypatch.setenv("MMTRIAL_PROTOCOL_FILE", str(TMM1))


@pytest.fixture
def study():
    study = Study("B1")
    study.admin = make_user(role="randomization_admin", site=None)
    study.unblinded = make_user(role="unblinded_statistician", site=None)
    study.blinded = {
        "coordinator": study.coordinator,
        "investigator": study.investigator,
        "data_manager": study.data_manager,
        "monitor": make_user(role="monitor", site=None),
        "statistician": make_user(role="statistician", site=None),
        "sponsor_admin": make_user(role="sponsor_admin", site=None),
    }
    for user in (study.unblinded, study.coordinator, study.investigator, *study.blinded.values()):
        user.password_changed_at = timezone.now()  # no forced password change at the first page
        user.save(update_fields=["password_changed_at"])
    randomization_key_create(user=study.admin)
    study.participant = study.enrolled("SCR-1", values=STRATUM)
    day1_labs(study, study.participant, C1D1 - dt.timedelta(days=1))
    cycle_start(user=study.coordinator, participant_id=study.participant.pk, start_date=C1D1)
    return study


def _arm_words() -> list[str]:
    protocol = load_protocol_file(TMM1)
    words = []
    for arm in protocol.arms:
        words += [rf"\b{arm.id}\b", re.escape(arm.name), re.escape(arm.name_ja)]
    return words


def _pages(pk: int) -> list[str]:
    return [
        reverse("home"),
        reverse("participant_list"),
        reverse("participant_detail", args=[pk]),
        reverse("participant_audit", args=[pk]),
        reverse("entry_menu", args=[pk]),
        reverse("query_inbox"),
    ]


def _visible_text(response) -> str:
    html = response.content.decode()
    # the blinded drug's own name ("Ixazomib or placebo") tells nothing: drop it before looking
    drug = load_protocol_file(TMM1).drugs["study_drug"]
    return html.replace(drug.name, "").replace(drug.name_ja, "")


@pytest.mark.parametrize(
    "role",
    ["coordinator", "investigator", "data_manager", "monitor", "statistician", "sponsor_admin"],
)
def test_no_page_tells_a_blinded_role_the_arm(client, study, role):
    client.force_login(study.blinded[role])
    seen = 0
    for url in _pages(study.participant.pk):
        response = client.get(url)
        if response.status_code != 200:
            continue  # a page this role does not see tells nothing either
        seen += 1
        text = _visible_text(response)
        for word in _arm_words():
            assert not re.search(word, text), (role, url, word)
    assert seen >= 2, role
    detail = client.get(reverse("participant_detail", args=[study.participant.pk]))
    if detail.status_code == 200:
        assert study.participant.allocation.kit_code in detail.content.decode()


def test_the_unblinded_statistician_reads_the_arm(client, study):
    client.force_login(study.unblinded)
    response = client.get(reverse("participant_detail", args=[study.participant.pk]))
    assert response.status_code == 200
    arm = load_protocol_file(TMM1).arm(
        allocated_arm(user=study.unblinded, participant=study.participant)
    )
    assert arm.name in response.content.decode()


def test_emergency_unblinding_by_the_investigator_with_a_reason(client, study):
    pk = study.participant.pk
    client.force_login(study.coordinator)
    assert client.get(reverse("emergency_unblind", args=[pk])).status_code == 403
    client.force_login(study.investigator)
    detail = client.get(reverse("participant_detail", args=[pk])).content.decode()
    assert reverse("emergency_unblind", args=[pk]) in detail
    refused = client.post(reverse("emergency_unblind", args=[pk]), {"reason": "", "confirm": "on"})
    assert refused.status_code == 400
    assert not AuditEvent.objects.filter(action="emergency_unblind").exists()
    done = client.post(
        reverse("emergency_unblind", args=[pk]),
        {"reason": "Grade 4 reaction: treatment depends on the arm", "confirm": "on"},
    )
    assert done.status_code == 200
    arm = load_protocol_file(TMM1).arm(
        allocated_arm(user=study.unblinded, participant=study.participant)
    )
    assert arm.name in done.content.decode()
    event = AuditEvent.objects.get(action="emergency_unblind")
    assert event.reason.startswith("Grade 4 reaction")
    again = client.get(reverse("participant_detail", args=[pk])).content.decode()
    assert arm.name in again and "Unblinded in an emergency" in again
    client.force_login(study.coordinator)
    other = _visible_text(client.get(reverse("participant_detail", args=[pk])))
    assert arm.name not in other and "Unblinded in an emergency" in other
