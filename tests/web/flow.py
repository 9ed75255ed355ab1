"""A participant's path through the web pages, as a coordinator does it (Django test client).

Dates are counted back from today, because the pages refuse dates in the future.
"""

from __future__ import annotations

import contextlib
import datetime as dt

# Screening values that meet every criterion of the protocol file (irdj.yaml `eligibility`).
from tests.edc.builders import ELIGIBLE_ANSWERS, ELIGIBLE_VALUES

TODAY = dt.date.today()
CONSENT = TODAY - dt.timedelta(days=70)
SCREENED = TODAY - dt.timedelta(days=69)
ENROLLED = TODAY - dt.timedelta(days=66)
C1D1 = TODAY - dt.timedelta(days=63)


def screening_post(
    *, screened_on=SCREENED, version: int | None = None, reason: str = "", **overrides
):
    data = {"screened_on": screened_on.isoformat(), "reason": reason}
    if version is not None:
        data["version"] = str(version)
    for name, value in {**ELIGIBLE_VALUES, **overrides}.items():
        if isinstance(value, bool):
            data[f"v_{name}"] = "yes" if value else "no"
        elif value is not None:
            data[f"v_{name}"] = str(value)
    for cid, answer in ELIGIBLE_ANSWERS.items():
        data[f"a_{cid}"] = "yes" if answer else "no"
    return data


def register(client, site, number="SCR-101"):
    response = client.post(
        "/participants/new/",
        {
            "site": str(site.pk),
            "screening_number": number,
            "sex": "female",
            "year_of_birth": "1955",
            "race": "asian",
            "consent_date": CONSENT.isoformat(),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    return int(response.url.strip("/").split("/")[1])


@contextlib.contextmanager
def as_site_investigator(client, pk: int):
    """The client logged in as an investigator of the participant's site (one is made when the
    site has none), then back as whoever it was: only an investigator answers the criteria the
    investigator judges."""
    from mmtrial.edc.models import Participant, User

    before = User.objects.get(pk=client.session["_auth_user_id"])
    site = Participant.objects.get(pk=pk).site
    investigator = User.objects.filter(
        memberships__site=site, memberships__role="investigator", memberships__active=True
    ).first()
    if investigator is None:
        from tests.web.conftest import make_user

        investigator = make_user(f"inv_{site.code.lower()}", "investigator", site)
    client.force_login(investigator)
    try:
        yield investigator
    finally:
        client.force_login(before)


def screen_and_enroll(client, pk: int) -> None:
    """The investigator screens (values and answers); whoever the client is enrolls."""
    with as_site_investigator(client, pk):
        response = client.post(f"/participants/{pk}/screening/", screening_post())
    assert response.status_code == 302, response.content.decode()[:3000]
    from mmtrial.edc.models import Participant

    version = Participant.objects.get(pk=pk).version
    response = client.post(
        f"/participants/{pk}/enroll/",
        {"enrolled_on": ENROLLED.isoformat(), "version": str(version)},
    )
    assert response.status_code == 302, response.content.decode()[:3000]


def enter_labs(client, pk: int, on: dt.date, *, accession: str = "", **values) -> None:
    """Local results, or central ones when an accession number is given."""
    data = {
        "collected_on": on.isoformat(),
        "source": "central" if accession else "local",
        "accession": accession,
    }
    units = {
        "creatinine": "mg/dL",
        "anc": "/mm3",
        "platelets": "/mm3",
        "serum_m_protein": "g/dL",
        "kappa_flc": "mg/L",
        "lambda_flc": "mg/L",
    }
    for analyte, value in values.items():
        data[f"value_{analyte}"] = str(value)
        if analyte in units:
            data[f"unit_{analyte}"] = units[analyte]
    response = client.post(f"/participants/{pk}/labs/new/", data)
    assert response.status_code == 302, response.content.decode()[:3000]


def start_cycle(client, pk: int, on: dt.date) -> None:
    response = client.post(f"/participants/{pk}/cycles/new/", {"start_date": on.isoformat()})
    assert response.status_code == 302, response.content.decode()[:3000]


def treated(client, site, number="SCR-101") -> int:
    """Registered, screened, enrolled, with day-1 labs and cycle 1 started: the participant id."""
    pk = register(client, site, number)
    screen_and_enroll(client, pk)
    enter_labs(
        client, pk, C1D1, creatinine="1.0", anc="1500", platelets="150000", serum_m_protein="2.4"
    )
    start_cycle(client, pk, C1D1)
    return pk
