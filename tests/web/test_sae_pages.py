"""The AE form coded from CTCAE v5.0 (term list, the term's own grades, lab suggestions), the
SAE clock on the dashboard and the SAE page, and the report form, through the pages."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from tests.web.flow import C1D1, enter_labs, treated

pytestmark = pytest.mark.django_db

ONSET = C1D1 + dt.timedelta(days=7)
NEXT_DAY = (ONSET + dt.timedelta(days=1)).isoformat()


def test_grade_options_are_the_terms_own_grades_with_their_text(login, users):
    client = login(users["coordinator"])
    body = client.get("/safety/ae-grades/", {"ctcae_term": "Platelet count decreased"}).content
    options = re.findall(r'<option value="(\d)">([^<]*)</option>', body.decode())
    assert [v for v, _ in options] == ["1", "2", "3", "4"]  # no grade 5 in CTCAE v5.0
    assert options[3][1] == "4: &lt;25,000/mm3; &lt;25.0 x 10e9 /L"


def test_the_form_lists_ctcae_terms_and_suggests_from_labs(login, users, sites):
    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    enter_labs(client, pk, C1D1 + dt.timedelta(days=7), platelets="20000")
    body = client.get(f"/participants/{pk}/adverse-events/new/").content.decode()
    assert '<option value="Platelet count decreased">' in body
    assert 'list="ctcae-terms"' in body and 'hx-get="/safety/ae-grades/"' in body
    suggestions = re.search(r'data-testid="ae-suggestions".*?</section>', body, re.S).group(0)
    assert "Platelet count decreased</strong> grade 4" in suggestions
    assert "10035528" in suggestions


def _post_sae(client, pk, **extra):
    data = {
        "term": "血小板減少で入院",
        "ctcae_term": "platelet count decreased",
        "grade": "4",
        "start_date": ONSET.isoformat(),
        "seriousness": ["hospitalization"],
        "aware_at": f"{ONSET.isoformat()}T23:30",
        "outcome": "RECOVERING/RESOLVING",
        "action_taken": "dose_held",
        "nonhematologic": "",
        "related_lenalidomide": "on",
        "action_lenalidomide": "DRUG INTERRUPTED",
        "action_ixazomib": "DOSE NOT CHANGED",
    }
    data.update(extra)
    return client.post(f"/participants/{pk}/adverse-events/new/", data)


def test_a_grade_the_term_does_not_define_is_not_offered(login, users, sites):
    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    response = _post_sae(client, pk, grade="5")
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


def test_an_sae_saved_from_the_form_is_coded_and_its_clock_shown(login, users, sites):
    from mmtrial.edc.models import AdverseEvent

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    response = _post_sae(client, pk)
    assert response.status_code == 302, response.content.decode()[:3000]
    ae = AdverseEvent.objects.get(participant_id=pk)
    assert (ae.ctcae_term, ae.meddra_code, ae.serious) == (
        "Platelet count decreased",
        "10035528",
        True,
    )
    # 23:30 at the Tokyo site is 14:30 UTC the same day.
    assert ae.aware_at == dt.datetime.combine(ONSET, dt.time(14, 30), tzinfo=dt.UTC)
    assert ae.actions == {"lenalidomide": "DRUG INTERRUPTED", "ixazomib": "DOSE NOT CHANGED"}
    # Awareness was weeks ago and no report is recorded: overdue on the dashboard.
    body = client.get("/").content.decode()
    assert 'data-testid="count-sae">1<' in body
    row = re.search(rf'data-testid="sae-{ae.pk}".*?</tr>', body, re.S).group(0)
    assert "Overdue" in row and f"{NEXT_DAY} 23:30 JST" in row
    # The initial report, sent at 22:00 the next day (within 24 h): reported on time.
    response = client.post(
        f"/participants/{pk}/adverse-events/{ae.pk}/sae-report/",
        {"kind": "initial", "sent_at": f"{NEXT_DAY}T22:00", "summary": "Initial SAE form"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    monitor = login(users["monitor"])
    page = monitor.get("/safety/sae/").content.decode()
    row = re.search(rf'data-testid="sae-{ae.pk}".*?</tr>', page, re.S).group(0)
    assert "Reported on time" in row and f"{NEXT_DAY} 22:00 JST" in row


def test_another_sites_coordinator_does_not_see_the_sae(login, users, sites):
    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    assert _post_sae(client, pk).status_code == 302
    other = login(users["coordinator_b"])
    assert "No serious adverse event." in other.get("/safety/sae/").content.decode()
