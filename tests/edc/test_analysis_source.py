"""`analysis_source`: the study database as the analysis's plain frames (StudySource).

A small study is entered through the EDC services (tests/edc/builders.py): a responder who
progresses, stops treatment, starts a new therapy and dies of myeloma; a participant on
treatment with a held and a reduced dose and a serious grade 3 AE; an enrolled participant never
dosed; a screen-stage participant (not enrolled); and a participant at another site.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from mmtrial.analysis.derive import StudySource, derive_adsl, derive_adtte
from mmtrial.edc.models import DoseAdministration, ResponseSummary
from mmtrial.edc.models.treatment import DoseStatus
from mmtrial.edc.selectors import analysis_source
from mmtrial.edc.services.adverse_events import ae_record
from mmtrial.edc.services.follow_up import (
    death_record,
    end_of_treatment_record,
    follow_up_contact_record,
)
from mmtrial.edc.services.labs import lab_result_record
from mmtrial.edc.services.treatment import cycle_start, dose_record
from mmtrial.errors import PermissionDenied
from tests.edc.builders import C1D1, Study, day1_labs, make_user, started

pytestmark = pytest.mark.django_db

D = dt.date
PD_DATE = D(2027, 4, 5)
EOT_LAST_DOSE = D(2027, 4, 10)
NEW_THERAPY = D(2027, 5, 20)
CONTACT = D(2027, 6, 28)
DEATH = D(2027, 8, 1)


def serum(study, participant, day: dt.date, value: str, accession: str) -> None:
    lab_result_record(
        user=study.coordinator,
        participant_id=participant.pk,
        analyte="serum_m_protein",
        value=value,
        unit="g/dL",
        collected_on=day,
        source="central",
        accession=accession,
    )


def progressing_participant(study, number: str = "SCR-001"):
    """Cycle 2 at a lower lenalidomide dose; PR confirmed, then PD (confirmed) on PD_DATE, EOT,
    a new therapy, death due to PD."""
    participant, _ = started(study, number)
    tag = f"{study.site.code}{number}"
    serum(study, participant, D(2027, 2, 8), "1.1", f"{tag}-1")
    # grade 4 thrombocytopenia in cycle 1: the dose rules lower lenalidomide for cycle 2
    low_platelets = C1D1 + dt.timedelta(days=14)
    lab_result_record(
        user=study.coordinator,
        participant_id=participant.pk,
        analyte="platelets",
        value="22000",
        unit="/mm3",
        collected_on=low_platelets,
    )
    ae_record(
        user=study.coordinator,
        participant_id=participant.pk,
        term="Platelet count decreased",
        ctcae_term="platelet_count_decreased",
        grade=4,
        nonhematologic=False,
        start_date=low_platelets,
        end_date=low_platelets + dt.timedelta(days=6),
    )
    day1_labs(study, participant, D(2027, 2, 8))
    cycle_start(user=study.coordinator, participant_id=participant.pk, start_date=D(2027, 2, 8))
    serum(study, participant, D(2027, 3, 8), "1.0", f"{tag}-2")
    serum(study, participant, PD_DATE, "1.8", f"{tag}-3")
    serum(study, participant, D(2027, 5, 3), "2.1", f"{tag}-4")
    end_of_treatment_record(
        user=study.coordinator,
        participant_id=participant.pk,
        last_dose_date=EOT_LAST_DOSE,
        reason="progressive_disease",
    )
    follow_up_contact_record(
        user=study.coordinator,
        participant_id=participant.pk,
        contact_date=CONTACT,
        alive=True,
        new_anticancer_therapy=True,
        new_therapy_start_date=NEW_THERAPY,
    )
    death_record(
        user=study.coordinator,
        participant_id=participant.pk,
        death_date=DEATH,
        cause="progressive_disease",
    )
    participant.refresh_from_db()
    return participant


def treated_participant(study, number: str = "SCR-002"):
    """On treatment: PR confirmed; in cycle 1 one lenalidomide dose held, one reduced; an AE."""
    participant, cycle = started(study, number)
    tag = f"{study.site.code}{number}"
    serum(study, participant, D(2027, 2, 8), "1.1", f"{tag}-1")
    serum(study, participant, D(2027, 3, 8), "1.0", f"{tag}-2")
    doses = {
        d.day: d
        for d in DoseAdministration.objects.filter(cycle=cycle, drug="lenalidomide").order_by("day")
    }
    dose_record(
        user=study.coordinator,
        dose_id=doses[3].pk,
        status=DoseStatus.HELD,
        expected_version=doses[3].version,
        reason="neutropenia",
    )
    reduced_mg = doses[4].planned_dose_mg - 5
    dose_record(
        user=study.coordinator,
        dose_id=doses[4].pk,
        status=DoseStatus.REDUCED,
        taken_dose_mg=reduced_mg,
        expected_version=doses[4].version,
        reason="neutropenia",
    )
    ae_record(
        user=study.coordinator,
        participant_id=participant.pk,
        term="Low neutrophils",
        ctcae_term="Neutrophil count decreased",
        grade=3,
        serious=True,
        start_date=C1D1 + dt.timedelta(days=2),
        end_date=D(2027, 3, 20),
        attribution={"lenalidomide": True},
        action_taken="dose_held",
    )
    participant.refresh_from_db()
    return participant, cycle


@pytest.fixture(scope="module")
def study(django_db_setup, django_db_blocker):
    """Entered once for the module (each test runs in its own rolled-back transaction)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _study()
        transaction.set_rollback(True)


def _study() -> Study:
    study = Study("AN")
    study.statistician = make_user(role="statistician", site=study.site)
    study.progressing = progressing_participant(study)
    study.treated, study.treated_cycle = treated_participant(study)
    study.undosed = study.enrolled("SCR-003")
    study.screening_only = study.register("SCR-004")
    other = Study("AO")
    other.enrolled("SCR-001")
    study.other = other
    return study


def _row(source: StudySource, participant) -> dict:
    frame = source.participants.set_index("usubjid")
    return frame.loc[participant.subject_id].to_dict()


def test_the_enrolled_population_with_first_and_last_doses_deaths_and_flags(study):
    source = analysis_source()
    subjects = list(source.participants["usubjid"])
    assert subjects == sorted(subjects)
    assert set(subjects) == {
        study.progressing.subject_id,
        study.treated.subject_id,
        study.undosed.subject_id,
        *[p.subject_id for p in study.other.site.participants.all()],
    }
    assert study.screening_only.subject_id is None  # not enrolled: not in the frame

    progressing = _row(source, study.progressing)
    assert progressing["first_dose_date"] == C1D1
    assert progressing["last_dose_date"] == EOT_LAST_DOSE
    assert progressing["death_date"] == DEATH and progressing["death_due_to_pd"] is True
    assert progressing["new_therapy_date"] == NEW_THERAPY
    assert progressing["last_known_alive_date"] == CONTACT
    assert progressing["on_treatment"] is False
    assert progressing["measurable_disease"] is True

    treated = _row(source, study.treated)
    assert treated["on_treatment"] is True and treated["death_date"] is None
    assert treated["death_due_to_pd"] is False and treated["new_therapy_date"] is None
    # no end of treatment: the last dose given in the data (held and reduced doses are recorded,
    # the rest of the cycle counts as taken as planned up to the data cut)
    assert treated["last_dose_date"] is not None and treated["last_dose_date"] >= C1D1

    undosed = _row(source, study.undosed)
    assert undosed["first_dose_date"] is None and undosed["last_dose_date"] is None
    assert undosed["on_treatment"] is False and undosed["measurable_disease"] is None

    # no cut given: the latest date of any recorded data, the same on every row
    assert set(source.participants["data_cut_date"]) == {DEATH}


def test_responses_are_the_engines_and_agree_with_the_stored_summaries(study):
    source = analysis_source()
    for participant in (study.progressing, study.treated):
        result = source.responses[participant.subject_id]
        stored = ResponseSummary.objects.get(participant=participant)
        assert result.best_overall_response == stored.best_overall_response == "PR"
        assert result.response_date == stored.response_date == D(2027, 2, 8)
        assert result.progression_date == stored.progression_date
    assert source.responses[study.progressing.subject_id].progression_date == PD_DATE
    assert study.undosed.subject_id not in source.responses
    inputs = source.imwg_inputs[study.progressing.subject_id]
    assert inputs["baseline"]["serum_m_protein_g_dl"] == 2.4
    assert [a["date"] for a in inputs["assessments"]][-1] == "2027-05-03"


def test_time_to_event_inputs_give_the_sap_events_and_censoring(study):
    source = analysis_source()
    adtte = derive_adtte(source.participants, responses=source.responses)
    records = {(row.USUBJID, row.PARAMCD): row for row in adtte.itertuples(index=False)}
    progressing = study.progressing.subject_id
    pfs = records[(progressing, "PFS")]
    assert (pfs.ADT, pfs.CNSR, pfs.EVNTDESC) == (PD_DATE, 0, "PD")
    assert (PD_DATE - C1D1).days + 1 == pfs.AVAL
    os_ = records[(progressing, "OS")]
    assert (os_.ADT, os_.CNSR) == (DEATH, 0)
    dor = records[(progressing, "DOR")]
    assert (D(2027, 2, 8), PD_DATE, 0) == (dor.STARTDT, dor.ADT, dor.CNSR)
    treated = study.treated.subject_id
    assert records[(treated, "PFS")].CNSR == 1
    assert D(2027, 3, 8) == records[(treated, "PFS")].ADT  # last adequate assessment
    assert study.undosed.subject_id not in {key[0] for key in records}
    adsl = derive_adsl(source.participants, responses=source.responses).set_index("USUBJID")
    assert adsl.loc[progressing, "EFFFL"] == "Y" and adsl.loc[treated, "EFFFL"] == "Y"
    assert adsl.loc[study.undosed.subject_id, ["SAFFL", "EFFFL"]].tolist() == ["N", "N"]
    assert adsl.loc[treated, "EOTSTT"] == "ONGOING"


def test_a_data_cut_leaves_out_what_happened_after_it(study):
    cut = D(2027, 3, 1)
    source = analysis_source(data_cut_date=cut)
    progressing = _row(source, study.progressing)
    assert progressing["death_date"] is None and progressing["new_therapy_date"] is None
    assert progressing["on_treatment"] is True
    assert progressing["last_dose_date"] <= cut
    assert progressing["data_cut_date"] == cut
    result = source.responses[study.progressing.subject_id]
    # one assessment before the cut: the PR of 2027-02-08 is not confirmed yet
    assert [a.date for a in result.assessments] == [D(2027, 2, 8)]
    assert result.best_overall_response != "PR" and result.progression_date is None
    assert all(
        a["date"] <= cut.isoformat()
        for a in source.imwg_inputs[study.progressing.subject_id]["assessments"]
    )
    assert source.exposure["EXSTDT"].max() <= cut
    assert (source.adverse_events["AESTDT"] <= cut).all()
    # the neutropenia ended after the cut: its end is not known at the cut
    ends = dict(source.adverse_events[["AEDECOD", "AEENDT"]].itertuples(index=False))
    # the stored key "platelet_count_decreased" is read as the CTCAE v5.0 term
    assert ends == {"Platelet count decreased": D(2027, 1, 31), "Neutrophil count decreased": None}


def test_a_cut_before_an_enrolment_leaves_the_participant_out(study):
    source = analysis_source(data_cut_date=D(2027, 1, 7))
    assert len(source.participants) == 0
    assert len(source.responses) == 0


def test_adverse_events_in_cdisc_terms(study):
    source = analysis_source()
    adae = source.adverse_events
    assert len(adae) == 2
    ae = adae[adae["USUBJID"] == study.treated.subject_id].iloc[0].to_dict()
    assert ae["AEDECOD"] == "Neutrophil count decreased" and ae["AETERM"] == "Low neutrophils"
    assert (ae["AETOXGR"], ae["AESER"], ae["AEACN"], ae["AREL"]) == (
        3,
        "Y",
        "DRUG INTERRUPTED",
        "RELATED",
    )
    assert ae["ASTDY"] == 3 and ae["TRTEMFL"] == "Y"
    assert ae["AEENDT"] == D(2027, 3, 20)


def test_exposure_counts_held_and_reduced_doses_and_flags_assumed_ones(study):
    source = analysis_source()
    ex = source.exposure.set_index(["USUBJID", "EXTRT", "CYCLE"])
    doses = list(DoseAdministration.objects.filter(cycle=study.treated_cycle, drug="lenalidomide"))
    planned_total = sum(d.planned_dose_mg for d in doses)
    reduced = next(d for d in doses if d.status == DoseStatus.REDUCED)
    held = next(d for d in doses if d.status == DoseStatus.HELD)
    row = ex.loc[(study.treated.subject_id, "lenalidomide", 1)]
    assert row["EXPLDOS"] == float(planned_total)
    expected_given = (
        planned_total - held.planned_dose_mg - (reduced.planned_dose_mg - reduced.taken_dose_mg)
    )
    assert row["EXDOSE"] == float(expected_given)
    assert (row["HELDFL"], row["DOSREDFL"], row["ASSUMFL"]) == ("Y", "Y", "Y")
    # the progressing participant's doses stop at the end of treatment
    progressing = source.exposure[source.exposure["USUBJID"] == study.progressing.subject_id]
    assert progressing["EXENDT"].max() <= EOT_LAST_DOSE
    assert set(progressing["CYCLE"]) == {1, 2}
    # the dose decision of cycle 2 lowered lenalidomide only
    reduced = progressing[progressing["DOSREDFL"] == "Y"][["EXTRT", "CYCLE"]]
    assert reduced.values.tolist() == [["lenalidomide", 2]]
    assert study.undosed.subject_id not in set(source.exposure["USUBJID"])
    assert isinstance(row["EXDOSE"], float) and not isinstance(row["EXDOSE"], Decimal)


def test_a_user_sees_only_the_sites_where_they_may_export(study):
    own_site = analysis_source(user=study.statistician)
    assert set(own_site.participants["site"]) == {"AN"}
    everything = analysis_source(user=study.data_manager)
    assert set(everything.participants["site"]) == {"AN", "AO"}
    with pytest.raises(PermissionDenied):
        analysis_source(user=study.coordinator)  # coordinators do not export


def _study_with(n: int, code: str) -> Study:
    study = Study(code)
    for i in range(n):
        participant, _ = started(study, f"SCR-{i:03d}")
        serum(study, participant, D(2027, 2, 8), "1.1", f"{code}-{i}-1")
        if i % 2:
            ae_record(
                user=study.coordinator,
                participant_id=participant.pk,
                term="nausea",
                grade=1,
                start_date=D(2027, 1, 20),
            )
    return study


@pytest.mark.parametrize("n", [1, 20])
def test_a_fixed_number_of_queries_whatever_the_number_of_participants(
    n, django_assert_max_num_queries
):
    study = _study_with(n, f"Q{n}")
    statistician = make_user(role="statistician", site=study.site)
    with django_assert_max_num_queries(14):  # 13 today: one per table, +3 per 500 participants
        source = analysis_source(user=statistician)
    assert len(source.participants) == n
    assert len(source.responses) == n
