"""A coordinator's day through the pages: register, screen, enroll, labs, cycle, doses, visits.

Every step goes through the views and the services; the pages then show what the services
decided (eligibility per criterion, the dose decision with its reasons).
"""

from __future__ import annotations

import re

import pytest

from tests.web.flow import C1D1, enter_labs, register, screening_post, treated

pytestmark = pytest.mark.django_db


def test_screening_shows_each_criterion_with_value_and_threshold(login, users, sites):
    client = login(users["coordinator"])
    pk = register(client, sites["A"])
    client.post(f"/participants/{pk}/screening/", screening_post(platelets_per_mm3=50000))
    body = client.get(f"/participants/{pk}/screening/").content.decode()
    assert "Not eligible" in body
    row = re.search(r'data-testid="criterion-INC-PLATELETS".*?</tr>', body, re.S).group(0)
    assert "Not met" in row and "50000" in row and "75000" in row
    row = re.search(r'data-testid="criterion-INC-ECOG".*?</tr>', body, re.S).group(0)
    assert ">Met<" in row


def test_missing_values_are_shown_as_missing_not_failed(login, users, sites):
    client = login(users["coordinator"])
    pk = register(client, sites["A"])
    client.post(f"/participants/{pk}/screening/", screening_post(ecog=None))
    body = client.get(f"/participants/{pk}/screening/").content.decode()
    assert "Screening in progress: some values are missing" in body
    row = re.search(r'data-testid="criterion-INC-ECOG".*?</tr>', body, re.S).group(0)
    assert "Missing" in row


def test_enrolment_of_an_ineligible_participant_is_refused_with_a_reason(login, users, sites):
    from mmtrial.edc.models import Participant

    client = login(users["coordinator"])
    pk = register(client, sites["A"])
    client.post(f"/participants/{pk}/screening/", screening_post(platelets_per_mm3=50000))
    version = Participant.objects.get(pk=pk).version
    response = client.post(
        f"/participants/{pk}/enroll/", {"enrolled_on": C1D1.isoformat(), "version": version}
    )
    assert response.status_code == 400
    assert "not eligible" in response.content.decode()
    assert Participant.objects.get(pk=pk).subject_id is None


def test_changing_screening_needs_a_reason_and_nothing_is_saved_without(login, users, sites):
    from mmtrial.edc.models import Screening

    client = login(users["coordinator"])
    pk = register(client, sites["A"])
    client.post(f"/participants/{pk}/screening/", screening_post())
    screening = Screening.objects.get(participant_id=pk)
    response = client.post(
        f"/participants/{pk}/screening/", screening_post(ecog=2, version=screening.version)
    )
    assert response.status_code == 400
    assert "reason for change is required" in response.content.decode()
    screening.refresh_from_db()
    assert str(screening.values["ecog"]) == "1"


def test_cycle_start_shows_the_dose_decision_with_reasons_and_the_calendar(login, users, sites):
    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    body = client.get(f"/participants/{pk}/").content.decode()
    assert 'data-testid="dose-decision"' in body
    assert "Start the cycle" in body or "start the cycle" in body
    reasons = re.search(r'data-testid="decision-reasons">(.*?)</ul>', body, re.S).group(1)
    assert "<li>" in reasons
    assert 'data-testid="calendar-cycle-1"' in body
    assert C1D1.isoformat() in body


def test_doses_are_recorded_in_the_cycles_one_form(login, users, sites):
    """Issue 12 item 5 replaced the row-by-row saves: one form, one Save, the same checks."""
    from mmtrial.edc.models import DoseAdministration

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    page = client.get(f"/participants/{pk}/cycles/1/doses/")
    assert page.status_code == 200
    dose = (
        DoseAdministration.objects.filter(cycle__participant_id=pk, drug="lenalidomide")
        .order_by("day")
        .first()
    )
    prefix = f"dose{dose.pk}"
    response = client.post(
        f"/participants/{pk}/cycles/1/doses/",
        {f"{prefix}-status": "held", f"{prefix}-reason": "", f"{prefix}-version": dose.version},
    )
    assert response.status_code == 400
    assert "say why the dose was held" in response.content.decode()
    dose.refresh_from_db()
    assert dose.status == "planned"
    response = client.post(
        f"/participants/{pk}/cycles/1/doses/",
        {
            f"{prefix}-status": "held",
            f"{prefix}-reason": "neutropenia",
            f"{prefix}-version": dose.version,
        },
    )
    assert response.status_code == 302
    dose.refresh_from_db()
    assert dose.status == "held"
    calendar = client.get(f"/participants/{pk}/").content.decode()
    assert 'class="held"' in calendar


def test_a_lab_panel_with_one_bad_value_saves_none(login, users, sites):
    from mmtrial.edc.models import LabResult

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    before = LabResult.objects.filter(participant_id=pk).count()
    response = client.post(
        f"/participants/{pk}/labs/new/",
        {
            "collected_on": C1D1.isoformat(),
            "source": "local",
            "value_anc": "1200",
            "unit_anc": "/mm3",
            "value_platelets": "-5",
            "unit_platelets": "/mm3",
        },
    )
    assert response.status_code == 400
    assert "Nothing was saved" in response.content.decode()
    assert LabResult.objects.filter(participant_id=pk).count() == before


def test_stale_edit_is_a_clear_conflict_and_the_first_edit_stays(login, users, sites):
    from mmtrial.edc.models import LabResult

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    lab = LabResult.objects.filter(participant_id=pk, analyte="anc").first()
    url = f"/participants/{pk}/labs/{lab.pk}/"
    common = {"unit": "/mm3", "collected_on": lab.collected_on.isoformat(), "version": lab.version}
    first = client.post(url, {**common, "value": "1600", "reason": "transcription error"})
    assert first.status_code == 302
    second = client.post(url, {**common, "value": "1700", "reason": "another correction"})
    assert second.status_code == 400
    assert "changed by someone else" in second.content.decode()
    lab.refresh_from_db()
    assert lab.reported_value == "1600"


def test_future_dates_are_refused_in_plain_words(login, users, sites):
    import datetime as dt

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    response = client.post(
        f"/participants/{pk}/labs/new/",
        {
            "collected_on": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
            "source": "local",
            "value_anc": "1200",
            "unit_anc": "/mm3",
        },
    )
    assert response.status_code == 400
    assert "in the future" in response.content.decode()


def test_visit_is_recorded_and_shown_done(login, users, sites):
    from mmtrial.edc.models import Visit

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    visit = Visit.objects.filter(participant_id=pk, code="C1D8").first()
    response = client.post(
        f"/participants/{pk}/visits/{visit.pk}/",
        {
            "actual_date": visit.planned_date.isoformat(),
            "version": visit.version,
            "weight_kg": "60",
        },
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == "done"


def test_response_from_m_protein_is_shown_with_reasons(login, users, sites):
    import datetime as dt

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    enter_labs(client, pk, C1D1 + dt.timedelta(days=28), accession="ACC-1", serum_m_protein="0.9")
    body = client.get(f"/participants/{pk}/").content.decode()
    table = re.search(r'data-testid="response-table".*?</table>', body, re.S).group(0)
    assert "PR" in table
    assert '<ul class="reasons"><li>' in table


def test_investigator_assessment_beside_the_derived_one_opens_a_query_when_they_differ(
    login, users, sites
):
    import datetime as dt

    from mmtrial.edc.models import Query, ResponseAssessment

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    day = C1D1 + dt.timedelta(days=28)
    enter_labs(client, pk, day, accession="ACC-2", serum_m_protein="0.9")
    row = ResponseAssessment.objects.get(participant_id=pk, assessment_date=day)
    form = client.get(
        f"/participants/{pk}/response/",
        {
            "assessment_date": day.isoformat(),
            "version": row.version,
            "response": row.derived_response,
        },
    )
    assert form.status_code == 200
    response = client.post(
        f"/participants/{pk}/response/",
        {"assessment_date": day.isoformat(), "version": row.version, "response": "VGPR"},
    )
    assert response.status_code == 302
    body = client.get(f"/participants/{pk}/").content.decode()
    assert "VGPR" in body and "differs" in body
    assert Query.objects.filter(participant_id=pk, origin="response_disagreement").exists()


def test_adverse_event_end_of_treatment_and_death_are_recorded_through_the_pages(
    login, users, sites
):
    import datetime as dt

    from mmtrial.edc.models import AdverseEvent, Participant

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    response = client.post(
        f"/participants/{pk}/adverse-events/new/",
        {
            "term": "Rash",
            "grade": "2",
            "start_date": (C1D1 + dt.timedelta(days=5)).isoformat(),
            "action_taken": "none",
            "nonhematologic": "on",
            "related_lenalidomide": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    ae = AdverseEvent.objects.get(participant_id=pk)
    assert ae.attribution["lenalidomide"] is True and ae.attribution["ixazomib"] is False
    edit = client.post(
        f"/participants/{pk}/adverse-events/{ae.pk}/",
        {
            "term": "Rash",
            "grade": "3",
            "start_date": ae.start_date.isoformat(),
            "action_taken": "dose_held",
            "nonhematologic": "on",
            "version": ae.version,
            "reason": "",
        },
    )
    assert edit.status_code == 400  # a change needs a reason
    ae.refresh_from_db()
    assert ae.grade == 2
    last_dose = C1D1 + dt.timedelta(days=20)
    response = client.post(
        f"/participants/{pk}/end-of-treatment/",
        {"last_dose_date": last_dose.isoformat(), "reason": "adverse_event", "details": ""},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    response = client.post(
        f"/participants/{pk}/death/",
        {"death_date": (last_dose + dt.timedelta(days=10)).isoformat(), "cause": "adverse_event"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Participant.objects.get(pk=pk).status == "died"
    body = client.get(f"/participants/{pk}/").content.decode()
    assert "End of treatment" in body and "Death" in body


def test_a_participant_in_screening_has_a_timeline_without_cycles(login, users, sites):
    client = login(users["coordinator"])
    pk = register(client, sites["A"])
    response = client.get(f"/participants/{pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "No cycle has been decided yet" in body
    assert "No visits planned yet" in body


def test_a_second_cycle_shows_its_own_decision_and_both_calendars(login, users, sites):
    import datetime as dt

    from mmtrial.edc.models import Cycle

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    from mmtrial.protocol import load_protocol

    c2d1 = C1D1 + dt.timedelta(days=load_protocol().cycle_length_days)
    enter_labs(client, pk, c2d1, creatinine="1.0", anc="1500", platelets="150000")
    response = client.post(f"/participants/{pk}/cycles/new/", {"start_date": c2d1.isoformat()})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Cycle.objects.filter(participant_id=pk).count() == 2
    body = client.get(f"/participants/{pk}/").content.decode()
    assert "Dose decision: cycle 2" in body
    assert 'data-testid="calendar-cycle-1"' in body and 'data-testid="calendar-cycle-2"' in body


def test_a_cycle_started_too_early_is_refused_with_the_rule(login, users, sites):
    import datetime as dt

    client = login(users["coordinator"])
    pk = treated(client, sites["A"])
    response = client.post(
        f"/participants/{pk}/cycles/new/",
        {"start_date": (C1D1 + dt.timedelta(days=10)).isoformat()},
    )
    assert response.status_code == 400
    from mmtrial.protocol import load_protocol

    length = load_protocol().cycle_length_days
    assert f"a cycle lasts {length} days" in response.content.decode()
