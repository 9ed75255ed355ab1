"""participant_register, screening_record, participant_enroll: eligibility decides enrolment."""

import datetime as dt

import pytest

from mmtrial.edc.models import AuditEvent, Participant, Screening
from mmtrial.edc.models.people import ParticipantStatus
from mmtrial.edc.services.participants import (
    INVESTIGATOR_ANSWERS_ONLY,
    participant_enroll,
    participant_register,
    screening_answers_authorize,
    screening_record,
)
from mmtrial.errors import EligibilityError, InputError, NotFound, PermissionDenied
from tests.edc.builders import (
    ELIGIBLE_ANSWERS,
    ELIGIBLE_VALUES,
    ENROLLED,
    SCREENED,
    Study,
    make_user,
)

pytestmark = pytest.mark.django_db


def test_register_uses_the_current_protocol_version_and_is_audited_in_the_users_name():
    study = Study("A1")
    participant = study.register("SCR-9")
    assert participant.protocol_version == "1.0"
    assert participant.status == ParticipantStatus.SCREENING
    event = AuditEvent.objects.get(model="participant", object_pk=str(participant.pk))
    assert event.actor_id == study.coordinator.pk
    assert event.actor_username == study.coordinator.username


def test_a_screening_number_is_used_once_per_site():
    study = Study()
    study.register("SCR-1")
    with pytest.raises(InputError, match="already used"):
        study.register("SCR-1")


def test_a_coordinator_cannot_register_at_another_site():
    study, other = Study("A"), Study("B")
    with pytest.raises(NotFound):
        participant_register(
            user=study.coordinator,
            site_id=other.site.pk,
            screening_number="X",
            sex="male",
            year_of_birth=1950,
            consent_date=dt.date(2027, 1, 1),
        )
    assert not Participant.objects.filter(screening_number="X").exists()


def test_a_monitor_may_not_register_participants():
    study = Study()
    monitor = make_user(role="monitor", site=study.site)
    with pytest.raises(PermissionDenied):
        participant_register(
            user=monitor,
            site_id=study.site.pk,
            screening_number="X",
            sex="male",
            year_of_birth=1950,
            consent_date=dt.date(2027, 1, 1),
        )


def test_screening_stores_each_criterion_and_derives_crcl_with_cockcroft_gault():
    study = Study()
    participant = study.register()
    screening = screening_record(
        user=study.investigator,
        participant_id=participant.pk,
        screened_on=SCREENED,
        values=ELIGIBLE_VALUES,
        answers=ELIGIBLE_ANSWERS,
    )
    assert screening.eligible
    ids = {c["id"]: c["status"] for c in screening.result["criteria"]}
    assert ids["INC-CRCL"] == "met"
    # (140 - 72) x 60 / (72 x 1.0) x 0.85 = 48.17 mL/min
    assert screening.values["crcl_ml_min"] == pytest.approx(48.17, abs=0.01)
    assert screening.values["age_years"] == 72


def test_an_ineligible_participant_cannot_be_enrolled_and_the_error_names_the_criterion():
    study = Study()
    participant = study.register()
    screening = screening_record(
        user=study.investigator,
        participant_id=participant.pk,
        screened_on=SCREENED,
        values={**ELIGIBLE_VALUES, "platelets_per_mm3": 50000},
        answers=ELIGIBLE_ANSWERS,
    )
    assert not screening.eligible
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.SCREEN_FAILED
    with pytest.raises(EligibilityError, match="INC-PLATELETS"):
        participant_enroll(
            user=study.coordinator,
            participant_id=participant.pk,
            enrolled_on=ENROLLED,
            expected_version=participant.version,
        )
    participant.refresh_from_db()
    assert participant.subject_id is None


def test_enrolment_without_screening_is_refused():
    study = Study()
    participant = study.register()
    with pytest.raises(EligibilityError, match="no screening"):
        participant_enroll(
            user=study.coordinator,
            participant_id=participant.pk,
            enrolled_on=ENROLLED,
            expected_version=participant.version,
        )


def test_enrolment_assigns_consecutive_subject_ids_per_site():
    study = Study("T7")
    first = study.enrolled("SCR-1")
    second = study.enrolled("SCR-2")
    assert (first.subject_id, second.subject_id) == ("T7-001", "T7-002")
    assert first.status == ParticipantStatus.ENROLLED


def test_rescreening_needs_the_version_and_a_reason():
    study = Study()
    participant = study.register()
    kwargs = dict(
        user=study.investigator,
        participant_id=participant.pk,
        screened_on=SCREENED,
        answers=ELIGIBLE_ANSWERS,
    )
    first = screening_record(values={**ELIGIBLE_VALUES, "ecog": 3}, **kwargs)
    assert not first.eligible
    with pytest.raises(InputError, match="reason"):
        screening_record(values=ELIGIBLE_VALUES, expected_version=first.version, **kwargs)
    second = screening_record(
        values=ELIGIBLE_VALUES, expected_version=first.version, reason="ECOG mis-typed", **kwargs
    )
    assert second.eligible
    assert Screening.objects.count() == 1
    participant.refresh_from_db()
    assert participant.status == ParticipantStatus.SCREENING


def test_only_an_investigator_answers_the_criteria_the_investigator_judges():
    study = Study()
    participant = study.register()
    with pytest.raises(PermissionDenied, match="EXC-OTHER, EXC-RECENT-TREATMENT") as refused:
        screening_answers_authorize(
            user=study.coordinator, participant_id=participant.pk, answers=ELIGIBLE_ANSWERS
        )
    assert refused.value.message == INVESTIGATOR_ANSWERS_ONLY.format(
        criteria="EXC-OTHER, EXC-RECENT-TREATMENT"
    )
    # the coordinator enters the values (no answer: allowed); the investigator answers; the
    # coordinator may then send the same answers with a corrected value, not other answers
    screening_answers_authorize(user=study.coordinator, participant_id=participant.pk, answers={})
    first = screening_record(
        user=study.coordinator,
        participant_id=participant.pk,
        screened_on=SCREENED,
        values=ELIGIBLE_VALUES,
        answers={},
    )
    assert first.result["overall"] == "incomplete"
    screening_answers_authorize(
        user=study.investigator, participant_id=participant.pk, answers=ELIGIBLE_ANSWERS
    )
    screening_record(
        user=study.investigator,
        participant_id=participant.pk,
        screened_on=SCREENED,
        values=ELIGIBLE_VALUES,
        answers=ELIGIBLE_ANSWERS,
        expected_version=first.version,
        reason="investigator's answers",
    )
    screening_answers_authorize(
        user=study.coordinator, participant_id=participant.pk, answers=ELIGIBLE_ANSWERS
    )
    with pytest.raises(PermissionDenied, match=r"\(EXC-OTHER\)"):
        screening_answers_authorize(
            user=study.coordinator,
            participant_id=participant.pk,
            answers={**ELIGIBLE_ANSWERS, "EXC-OTHER": True},
        )


def test_another_sites_participant_is_not_found_whatever_the_id():
    study, other = Study("A"), Study("B")
    theirs = other.register("B-1")
    with pytest.raises(NotFound):
        screening_record(
            user=study.coordinator,
            participant_id=theirs.pk,
            screened_on=SCREENED,
            values=ELIGIBLE_VALUES,
            answers=ELIGIBLE_ANSWERS,
        )
    assert not Screening.objects.exists()


@pytest.mark.parametrize("year", [1850, 2031, "1950"])
def test_an_impossible_year_of_birth_is_refused(year):
    study = Study()
    with pytest.raises(InputError, match="year of birth"):
        study.register("SCR-Y", year_of_birth=year)


def test_race_and_ethnicity_are_cdisc_categories_or_refused():
    """Race and ethnicity are stored as the CDISC RACE (C74457) / ETHNIC (C66790) categories;
    anything else is refused with the field named, and nothing is registered."""
    study = Study("R")
    for field, value in (("race", "japanese"), ("ethnicity", "asian")):
        with pytest.raises(InputError, match=f"^{field}: 'japanese'|^{field}: 'asian'"):
            participant_register(
                user=study.coordinator,
                site_id=study.site.pk,
                screening_number=f"R-{field}",
                sex="male",
                year_of_birth=1950,
                consent_date=dt.date(2027, 1, 1),
                **{field: value},
            )
    assert not Participant.objects.filter(screening_number__startswith="R-").exists()
    participant = participant_register(
        user=study.coordinator,
        site_id=study.site.pk,
        screening_number="R-ok",
        sex="male",
        year_of_birth=1950,
        consent_date=dt.date(2027, 1, 1),
        race="asian",
        ethnicity="not_hispanic_or_latino",
    )
    participant.refresh_from_db()
    assert (participant.race, participant.ethnicity) == ("asian", "not_hispanic_or_latino")
