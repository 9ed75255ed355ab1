"""Acceptance: one participant from screening to follow-up after progression, signed and locked,
entirely through services, every step in a verified audit chain. Also the smaller services the
story uses (visits, adverse events, follow-up) and their refusals."""

import datetime as dt

import pytest
from django.contrib.auth.hashers import make_password

from mmtrial.edc.audit import audit_verify
from mmtrial.edc.lab_import import lab_import
from mmtrial.edc.models import (
    AuditEvent,
    Participant,
    Query,
    ResponseSummary,
    Signature,
    User,
    Visit,
)
from mmtrial.edc.models.people import ParticipantStatus
from mmtrial.edc.models.treatment import CycleStatus, VisitStatus
from mmtrial.edc.models.trust import SignatureStatus
from mmtrial.edc.selectors.timeline import participant_timeline
from mmtrial.edc.services.adverse_events import ae_record, ae_update
from mmtrial.edc.services.follow_up import (
    death_record,
    end_of_treatment_record,
    follow_up_contact_record,
)
from mmtrial.edc.services.labs import lab_result_record
from mmtrial.edc.services.locking import participant_lock
from mmtrial.edc.services.queries import query_answer, query_close
from mmtrial.edc.services.responses import investigator_response_record
from mmtrial.edc.services.signatures import participant_sign
from mmtrial.edc.services.treatment import cycle_start
from mmtrial.edc.services.visits import visit_missed, visit_record
from mmtrial.errors import InputError, LockedRecordError, ProtocolViolation
from tests.edc.builders import C1D1, Study, day1_labs, make_user, started

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery-9"
TODAY = dt.date(2027, 12, 31)


def _central(study, subject, rows, name):
    text = "subject_id,accession,collected_on,analyte,value,unit\n" + "".join(
        f"{subject},{acc},{day},{analyte},{value},{unit}\n"
        for acc, day, analyte, value, unit in rows
    )
    return lab_import(user=study.data_manager, data=text.encode(), file_name=name, today=TODAY)


def _signer(study):
    investigator = study.investigator
    investigator.password = make_password(PASSWORD)
    investigator.identity_verified_by = make_user(role="sponsor_admin", site=None)
    investigator.save(update_fields=["password", "identity_verified_by"])
    return User.objects.get(pk=investigator.pk)


@pytest.mark.req("P11-10e")
def test_a_participant_from_screening_to_follow_up_signed_and_locked():
    study = Study("LC")
    monitor = make_user(role="monitor", site=study.site)
    # screened, enrolled, cycle 1 started (dose decision with reasons), C1D1 set
    participant, cycle1 = started(study)
    assert participant.subject_id == "LC-001" and cycle1.status == CycleStatus.STARTED
    subject = participant.subject_id

    c1d1 = Visit.objects.get(participant=participant, code="C1D1")
    visit_record(
        user=study.coordinator,
        visit_id=c1d1.pk,
        actual_date=C1D1,
        weight_kg="60.0",
        expected_version=c1d1.version,
    )
    ae = ae_record(
        user=study.coordinator,
        participant_id=participant.pk,
        term="Rash maculo-papular",
        ctcae_term="rash",
        grade=1,
        start_date=C1D1 + dt.timedelta(days=5),
        attribution={"lenalidomide": True},
    )
    ae_update(
        user=study.coordinator,
        ae_id=ae.pk,
        expected_version=ae.version,
        reason="resolved",
        end_date=C1D1 + dt.timedelta(days=12),
    )

    # central laboratory values arrive by file; responses are derived after each import
    _central(study, subject, [("L1", "2027-02-08", "serum_m_protein", "11", "g/L")], "feb.csv")
    day1_labs(study, participant, dt.date(2027, 2, 8))
    cycle2 = cycle_start(
        user=study.coordinator, participant_id=participant.pk, start_date=dt.date(2027, 2, 8)
    )
    assert cycle2.number == 2 and cycle2.status == CycleStatus.STARTED
    _central(study, subject, [("L2", "2027-03-08", "serum_m_protein", "1.0", "g/dL")], "mar.csv")
    summary = ResponseSummary.objects.get(participant=participant)
    assert (summary.best_overall_response, summary.response_date) == ("PR", dt.date(2027, 2, 8))
    day1_labs(study, participant, dt.date(2027, 3, 8))
    cycle3 = cycle_start(
        user=study.coordinator, participant_id=participant.pk, start_date=dt.date(2027, 3, 8)
    )
    # responding (PR): no renal escalation from 10 mg
    assert cycle3.planned_doses_mg["lenalidomide"] == 10

    # the investigator disagrees once: an automatic query, answered and closed
    row = participant.responses.get(assessment_date=dt.date(2027, 3, 8))
    investigator_response_record(
        user=study.investigator,
        participant_id=participant.pk,
        assessment_date=row.assessment_date,
        response="VGPR",
        expected_version=row.version,
    )
    query = Query.objects.get(participant=participant)
    query = query_answer(user=study.coordinator, query=query, text="Re-read: PR is right")
    row.refresh_from_db()
    investigator_response_record(
        user=study.investigator,
        participant_id=participant.pk,
        assessment_date=row.assessment_date,
        response="PR",
        expected_version=row.version,
        reason="corrected after query",
    )
    query_close(user=monitor, query=query, text="agreed")

    # progression, confirmed by the next assessment
    _central(
        study,
        subject,
        [
            ("L3", "2027-04-05", "serum_m_protein", "1.8", "g/dL"),
            ("L4", "2027-05-03", "serum_m_protein", "2.1", "g/dL"),
        ],
        "may.csv",
    )
    summary.refresh_from_db()
    assert summary.progression_date == dt.date(2027, 4, 5)
    end_of_treatment_record(
        user=study.coordinator,
        participant_id=participant.pk,
        last_dose_date=dt.date(2027, 4, 10),
        reason="progressive_disease",
    )
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.FOLLOW_UP
    follow_ups = Visit.objects.filter(participant=participant, kind="follow_up", is_deleted=False)
    assert follow_ups.order_by("planned_date").first().planned_date == dt.date(2027, 4, 5) + (
        dt.timedelta(days=84)
    )
    assert Visit.objects.filter(participant=participant, code="EOT", is_deleted=False).exists()
    follow_up_contact_record(
        user=study.coordinator,
        participant_id=participant.pk,
        contact_date=dt.date(2027, 6, 28),
        alive=True,
        new_anticancer_therapy=True,
        new_therapy_start_date=dt.date(2027, 5, 20),
    )

    # signed by the investigator, then locked by data management
    investigator = _signer(study)
    signature = participant_sign(
        user=investigator,
        participant=Participant.objects.get(pk=participant.pk),
        password=PASSWORD,
        meaning="Approval",
        confirm=True,
        session_state={},
        username=investigator.username,
    )
    assert signature.status == SignatureStatus.VALID
    participant_lock(
        user=study.data_manager,
        participant=Participant.objects.get(pk=participant.pk),
        reason="database lock",
    )
    before = AuditEvent.objects.count()
    with pytest.raises(LockedRecordError):
        lab_result_record(
            user=study.coordinator,
            participant_id=participant.pk,
            analyte="anc",
            value="1500",
            unit="/mm3",
            collected_on=dt.date(2027, 7, 1),
        )
    assert AuditEvent.objects.count() == before
    assert Signature.objects.get(pk=signature.pk).status == SignatureStatus.VALID

    # every step is in the verified audit chain, attributed to the person who did it
    report = audit_verify()
    assert report.ok, report.problem
    # before enrolment events name the screening number, after it the subject id
    events = AuditEvent.objects.filter(subject__in=[subject, participant.screening_number])
    actions = {(e.model, e.action) for e in events}
    for expected in [
        ("participant", "update"),
        ("screening", "create"),
        ("cycle", "create"),
        ("doseadministration", "create"),
        ("visit", "update"),
        ("labresult", "create"),
        ("responseassessment", "create"),
        ("responsesummary", "update"),
        ("adverseevent", "update"),
        ("endoftreatment", "create"),
        ("followupcontact", "create"),
        ("signature", "sign"),
    ]:
        assert expected in actions, expected
    imported = events.filter(model="labresult", context__file="may.csv")
    assert {e.actor_id for e in imported} == {study.data_manager.pk}
    entered = events.filter(model="endoftreatment")
    assert {e.actor_id for e in entered} == {study.coordinator.pk}

    timeline = participant_timeline(user=study.investigator, participant_id=participant.pk)
    assert [r.derived_response for r in timeline.responses][:2] == ["PR", "PR"]
    assert timeline.calendar["follow_up_contacts"][0] == "2027-06-28"


def test_visit_out_of_window_missed_and_refusals():
    study = Study("LV")
    participant, _ = started(study)
    c1d8 = Visit.objects.get(participant=participant, code="C1D8")
    late = visit_record(
        user=study.coordinator,
        visit_id=c1d8.pk,
        actual_date=c1d8.window_end + dt.timedelta(days=2),
        expected_version=c1d8.version,
    )
    assert late.status == VisitStatus.OUT_OF_WINDOW
    c1d15 = Visit.objects.get(participant=participant, code="C1D15")
    with pytest.raises(InputError, match="why"):
        visit_missed(user=study.coordinator, visit_id=c1d15.pk, expected_version=1, reason="")
    missed = visit_missed(
        user=study.coordinator, visit_id=c1d15.pk, expected_version=1, reason="hospitalised"
    )
    assert missed.status == VisitStatus.MISSED
    with pytest.raises(ProtocolViolation):
        visit_missed(
            user=study.coordinator, visit_id=c1d8.pk, expected_version=late.version, reason="x"
        )


def test_adverse_event_grade_and_attribution_are_checked():
    study = Study("LA")
    participant, _ = started(study)
    kwargs = dict(user=study.coordinator, participant_id=participant.pk, start_date=C1D1)
    with pytest.raises(InputError, match="CTCAE"):
        ae_record(term="nausea", grade=6, **kwargs)
    with pytest.raises(InputError, match="unknown drug"):
        ae_record(term="nausea", grade=2, attribution={"aspirin": True}, **kwargs)
    with pytest.raises(InputError, match="before the start"):
        ae_record(term="nausea", grade=2, end_date=C1D1 - dt.timedelta(days=1), **kwargs)
    ae = ae_record(term="nausea", grade=2, serious=True, attribution={"ixazomib": True}, **kwargs)
    assert ae.serious and ae.attribution == {"ixazomib": True}


def test_follow_up_needs_progression_and_death_ends_it():
    study = Study("LF")
    participant, _ = started(study)
    with pytest.raises(ProtocolViolation, match="no derived progression"):
        follow_up_contact_record(
            user=study.coordinator,
            participant_id=participant.pk,
            contact_date=dt.date(2027, 6, 1),
            alive=True,
        )
    end_of_treatment_record(
        user=study.coordinator,
        participant_id=participant.pk,
        last_dose_date=dt.date(2027, 2, 1),
        reason="adverse_event",
    )
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.OFF_TREATMENT
    with pytest.raises(ProtocolViolation, match="off treatment"):
        cycle_start(
            user=study.coordinator, participant_id=participant.pk, start_date=dt.date(2027, 2, 8)
        )
    death_record(
        user=study.coordinator,
        participant_id=participant.pk,
        death_date=dt.date(2027, 3, 1),
        cause="adverse_event",
    )
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.DIED
    with pytest.raises(ProtocolViolation, match="has died"):
        follow_up_contact_record(
            user=study.coordinator,
            participant_id=participant.pk,
            contact_date=dt.date(2027, 6, 1),
            alive=True,
        )


# --- site isolation: every clinical service, every role, own site and another site ----------

ROLES = ("coordinator", "investigator", "monitor", "data_manager", "statistician", "sponsor_admin")


def _calls(participant, objects):
    """Each service of this helper's modules, called on `participant` (site A)."""
    from mmtrial.edc.services.disease import disease_assessment_record
    from mmtrial.edc.services.participants import screening_record

    day = dt.date(2027, 2, 8)
    return {
        "screening_record": lambda u: screening_record(
            user=u, participant_id=participant.pk, screened_on=day, values={}, answers={}
        ),
        "cycle_start": lambda u: cycle_start(user=u, participant_id=participant.pk, start_date=day),
        "lab_result_record": lambda u: lab_result_record(
            user=u,
            participant_id=participant.pk,
            analyte="anc",
            value="1",
            unit="/mm3",
            collected_on=day,
        ),
        "disease_assessment_record": lambda u: disease_assessment_record(
            user=u, participant_id=participant.pk, assessed_on=day, new_lesion=False
        ),
        "ae_record": lambda u: ae_record(
            user=u, participant_id=participant.pk, term="nausea", grade=1, start_date=day
        ),
        "visit_record": lambda u: visit_record(
            user=u, visit_id=objects["visit"].pk, actual_date=day, expected_version=1
        ),
        "end_of_treatment_record": lambda u: end_of_treatment_record(
            user=u, participant_id=participant.pk, last_dose_date=day, reason="other"
        ),
        "participant_timeline": lambda u: participant_timeline(
            user=u, participant_id=participant.pk
        ),
    }


WRITES = {
    "screening_record",
    "cycle_start",
    "lab_result_record",
    "disease_assessment_record",
    "ae_record",
    "visit_record",
    "end_of_treatment_record",
}


@pytest.mark.req("E6-4.3.8b-site")
@pytest.mark.parametrize("role", ROLES)
def test_site_isolation_matrix_for_clinical_services(role):
    from mmtrial.errors import NotFound, PermissionDenied

    site_a, site_b = Study("MA"), Study("MB")
    participant, _ = started(site_a)
    visit = Visit.objects.get(participant=participant, code="C1D8")
    calls = _calls(participant, {"visit": visit})
    other = make_user(role=role, site=site_b.site)
    own = make_user(role=role, site=site_a.site)
    before = AuditEvent.objects.count()
    for call in calls.values():
        with pytest.raises(NotFound):
            call(other)
    assert AuditEvent.objects.count() == before, "nothing written for another site's user"
    # own site: staff may write; monitors, data managers, statisticians and admins may not
    may_write = role in ("coordinator", "investigator")
    for name, call in calls.items():
        if name not in WRITES:
            call(own)  # every role with a membership at the site may read
        elif not may_write:
            with pytest.raises(PermissionDenied):
                call(own)


def test_end_of_treatment_removes_planned_visits_after_it_and_plans_the_eot_visit():
    study = Study("LE")
    participant, _ = started(study)
    planned = set(
        Visit.objects.filter(participant=participant, is_deleted=False).values_list(
            "code", flat=True
        )
    )
    assert "C2D1" in planned  # the projected next cycle
    end_of_treatment_record(
        user=study.coordinator,
        participant_id=participant.pk,
        last_dose_date=C1D1 + dt.timedelta(days=20),
        reason="withdrawal",
    )
    visits = {v.code: v for v in Visit.objects.filter(participant=participant)}
    assert visits["C2D1"].is_deleted and visits["C1D22"].is_deleted
    assert not visits["C1D15"].is_deleted
    eot = visits["EOT"]
    assert eot.planned_date == C1D1 + dt.timedelta(days=20 + 30)
    deleted = AuditEvent.objects.get(
        model="visit", object_pk=str(visits["C2D1"].pk), action="delete"
    )
    assert "end of treatment" in deleted.reason


def test_adverse_event_changes_need_a_reason_and_are_site_scoped():
    from mmtrial.errors import NotFound

    study = Study("LU")
    participant, _ = started(study)
    ae = ae_record(
        user=study.coordinator,
        participant_id=participant.pk,
        term="fatigue",
        grade=2,
        start_date=C1D1,
    )
    assert ae.attribution == {}
    with pytest.raises(InputError, match="reason"):
        ae_update(user=study.coordinator, ae_id=ae.pk, expected_version=1, reason="", grade=3)
    with pytest.raises(NotFound):
        ae_update(
            user=Study("LW").coordinator, ae_id=ae.pk, expected_version=1, reason="x", grade=3
        )
    updated = ae_update(
        user=study.coordinator, ae_id=ae.pk, expected_version=1, reason="worsened", grade=3
    )
    assert updated.grade == 3 and updated.version == 2


def test_progression_derived_after_end_of_treatment_moves_to_survival_follow_up():
    study = Study("LP")
    participant, _ = started(study)
    end_of_treatment_record(
        user=study.coordinator,
        participant_id=participant.pk,
        last_dose_date=dt.date(2027, 2, 1),
        reason="adverse_event",
    )
    _central(
        study,
        participant.subject_id,
        [
            ("P1", "2027-03-08", "serum_m_protein", "1.0", "g/dL"),
            ("P2", "2027-04-05", "serum_m_protein", "1.8", "g/dL"),
            ("P3", "2027-05-03", "serum_m_protein", "2.2", "g/dL"),
        ],
        "pd.csv",
    )
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.FOLLOW_UP
    contacts = Visit.objects.filter(participant=participant, kind="follow_up", is_deleted=False)
    assert contacts.order_by("planned_date").first().planned_date == dt.date(2027, 4, 5) + (
        dt.timedelta(days=84)
    )
