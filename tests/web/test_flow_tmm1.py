"""The coordinator's path through the pages of the second study, TOURMALINE-MM1, run from its
protocol file alone (issue 16 item 3): the screening form asks for the stratification factors,
enrollment randomizes, the cycle calendar doses "Ixazomib or placebo" with the protocol's rules,
doses and central labs are recorded, the IMWG response is derived, and the participant page
shows the kit code, never the arm."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from mmtrial.edc.models import Allocation, DoseAdministration, Participant
from mmtrial.edc.services.randomization import randomization_key_create
from mmtrial.protocol.loader import PROTOCOLS_DIR, load_protocol_file
from tests.web.conftest import make_user
from tests.web.flow import (
    C1D1,
    ENROLLED,
    as_site_investigator,
    enter_labs,
    register,
    screening_post,
    start_cycle,
)

pytestmark = pytest.mark.django_db
TMM1 = PROTOCOLS_DIR / "tmm1.yaml"


@pytest.fixture(autouse=True)
def _tmm1(monkeypatch):
    monkeypatch.setenv("MMTRIAL_PROTOCOL_FILE", str(TMM1))


@pytest.fixture
def randomized(users):
    admin = make_user("rand_admin", "randomization_admin", None, full_name="Rand Admin")
    randomization_key_create(user=admin)


def _enroll(client, pk: int, **values):
    with as_site_investigator(client, pk):  # only the investigator answers their criteria
        response = client.post(f"/participants/{pk}/screening/", screening_post(**values))
    assert response.status_code == 302, response.content.decode()[:3000]
    version = Participant.objects.get(pk=pk).version
    return client.post(
        f"/participants/{pk}/enroll/",
        {"enrolled_on": ENROLLED.isoformat(), "version": str(version)},
    )


def test_the_screening_form_asks_for_each_stratification_factor(login, users, sites, randomized):
    client = login(users["coordinator"])
    pk = register(client, sites["A"])
    page = client.get(f"/participants/{pk}/screening/").content.decode()
    protocol = load_protocol_file(TMM1)
    for stratum in protocol.randomization.strata:
        assert f'name="v_{stratum.variable}"' in page, stratum.variable
    assert "ISS stage at screening" in page  # the label the protocol file gives


def test_enrollment_without_a_stratification_factor_is_refused_naming_it(
    login, users, sites, randomized
):
    client = login(users["coordinator"])
    pk = register(client, sites["A"])
    response = _enroll(client, pk, pi_exposed=True)  # iss_stage missing
    assert response.status_code == 400
    assert "iss_stage" in response.content.decode() or "ISS" in response.content.decode()
    assert not Allocation.objects.exists()


def test_a_randomized_participant_is_treated_through_the_pages(login, users, sites, randomized):
    client = login(users["coordinator"])
    pk = register(client, sites["A"])
    response = _enroll(client, pk, pi_exposed=True, iss_stage=3, prior_lines=2)
    assert response.status_code == 302, response.content.decode()[:3000]
    allocation = Allocation.objects.get(participant_id=pk)
    assert allocation.stratum_key == "prior_lines=2-3|pi_exposure=exposed|iss=III"
    # Cockcroft-Gault: woman born 1955, 60 kg, creatinine 0.6 mg/dL: at least (140 - 72) x 60 /
    # (72 x 0.6) x 0.85 = 80 mL/min, so lenalidomide starts at 25 mg (not the < 60 mL/min dose)
    enter_labs(
        client, pk, C1D1, creatinine="0.6", anc="1500", platelets="150000", serum_m_protein="2.4"
    )
    start_cycle(client, pk, C1D1)
    # the regimen of the file: the blinded drug on days 1, 8 and 15 at 4 mg, lenalidomide 25 mg
    doses = DoseAdministration.objects.filter(cycle__participant_id=pk)
    blinded = sorted(d.day for d in doses if d.drug == "study_drug")
    assert blinded == [1, 8, 15]
    assert {float(d.planned_dose_mg) for d in doses if d.drug == "study_drug"} == {4.0}
    assert {float(d.planned_dose_mg) for d in doses if d.drug == "lenalidomide"} == {25.0}
    body = client.get(f"/participants/{pk}/").content.decode()
    assert 'data-testid="dose-decision"' in body
    assert "Ixazomib or placebo" in body
    assert allocation.kit_code in body
    assert not re.search(r"\bIRD\b|\bPRD\b|Placebo \+ lenalidomide", body)
    assert client.get(f"/participants/{pk}/cycles/1/doses/").status_code == 200
    enter_labs(client, pk, C1D1 + dt.timedelta(days=28), accession="ACC-1", serum_m_protein="0.9")
    body = client.get(f"/participants/{pk}/").content.decode()
    table = re.search(r'data-testid="response-table".*?</table>', body, re.S).group(0)
    assert "PR" in table  # 2.4 -> 0.9 g/dL: a 62.5% fall (IMWG 2016: PR is >= 50%)
