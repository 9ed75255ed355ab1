"""A falling CrCl on the participant's page: "Needs investigator decision", and only the site's
investigator confirms or overrides the proposed doses (issue 10 item 3; protocol.md section 4).

CrCl by hand (Cockcroft-Gault): female, 60 kg, born 1955, creatinine 0.6 mg/dL gives about
80 mL/min (lenalidomide 25 mg); creatinine 2.0 gives (140 - age) x 60 / (72 x 2.0) x 0.85,
about 24.5 mL/min at age 71: below 30, so ixazomib 3 mg and lenalidomide 15 mg every 48 hours
(NINLARO 2.5, REVLIMID 2.6) are proposed.
"""

from __future__ import annotations

import datetime as dt

import pytest

from mmtrial.edc.models import Cycle
from mmtrial.edc.models.treatment import CycleStatus
from mmtrial.protocol.loader import load_protocol
from tests.web.flow import C1D1, enter_labs, register, screen_and_enroll, start_cycle

pytestmark = pytest.mark.django_db


def _pending(client, site) -> int:
    pk = register(client, site)
    screen_and_enroll(client, pk)
    enter_labs(client, pk, C1D1, creatinine="0.6", anc="1500", platelets="150000")
    start_cycle(client, pk, C1D1)
    c2 = C1D1 + dt.timedelta(days=load_protocol().cycle_length_days)
    enter_labs(client, pk, c2, creatinine="2.0", anc="1500", platelets="150000")
    start_cycle(client, pk, c2)
    return pk


def test_the_coordinator_sees_the_wait_and_cannot_answer(client, users, sites):
    client.force_login(users["coordinator"])
    pk = _pending(client, sites["A"])
    assert (
        Cycle.objects.get(participant_id=pk, number=2).status == CycleStatus.AWAITING_INVESTIGATOR
    )
    html = client.get(f"/participants/{pk}/").content.decode()
    assert 'data-testid="needs-investigator"' in html
    assert "waits for the investigator" in html
    assert 'data-testid="renal-decision-link"' not in html
    assert client.get(f"/participants/{pk}/cycles/renal-decision/").status_code == 403


def test_the_investigator_overrides_with_a_reason_and_the_cycle_starts(client, users, sites):
    client.force_login(users["coordinator"])
    pk = _pending(client, sites["A"])
    client.force_login(users["investigator"])
    html = client.get(f"/participants/{pk}/").content.decode()
    assert 'data-testid="renal-decision-link"' in html
    page = client.get(f"/participants/{pk}/cycles/renal-decision/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "15 mg every 48 hours" in text and "3 mg on days 1, 8 and 15" in text
    url = f"/participants/{pk}/cycles/renal-decision/"
    refused = client.post(
        url, {"action": "override", "dose_ixazomib": "3", "dose_lenalidomide": "10"}
    )
    assert refused.status_code == 400 and "reason" in refused.content.decode()
    done = client.post(
        url,
        {
            "action": "override",
            "dose_ixazomib": "3",
            "dose_lenalidomide": "10",
            "every_lenalidomide": "2",
            "reason": "10 mg every 48 h: patient's choice after discussion",
        },
    )
    assert done.status_code == 302
    cycle = Cycle.objects.get(participant_id=pk, number=2)
    assert cycle.status == CycleStatus.STARTED
    assert cycle.planned_doses_mg["lenalidomide"] == 10 and cycle.planned_doses_mg["ixazomib"] == 3
    assert cycle.decision["dosing_days"]["lenalidomide"] == list(range(1, 22, 2))
    assert cycle.doses.filter(drug="lenalidomide").count() == 11
