"""Protocol deviations kept as records: the re-check after a unit of work, never twice for one
fact, withdrawn when the data are corrected, reopened when they show it again; resolved ones
left alone; entered by hand; audited (issue 15 item 2).

irdj.yaml: C1D8 has a -1/+1 day window (visits.windows); a visit outside it is the rule
`visit_out_of_window` (category "Visit schedule", not important)."""

from __future__ import annotations

import datetime as dt

import pytest

from mmtrial.edc.audit import audit_verify
from mmtrial.edc.models import AuditEvent, Deviation, Visit
from mmtrial.edc.services.deviations import (
    DEVIATION_RESOLUTION_REQUIRED,
    deviation_enter,
    deviation_resolve,
    deviations_recheck,
)
from mmtrial.edc.services.visits import visit_record
from mmtrial.errors import InputError, NotFound
from tests.edc.builders import Study, make_user, started

pytestmark = pytest.mark.django_db


def _visit_deviations(participant):
    return list(Deviation.objects.filter(participant=participant, rule="visit_out_of_window"))


def _record(study, visit, day, reason=""):
    visit.refresh_from_db()
    return visit_record(
        user=study.coordinator,
        visit_id=visit.pk,
        actual_date=day,
        expected_version=visit.version,
        reason=reason,
    )


def test_a_late_visit_raises_one_deviation_withdrawn_when_corrected_and_reopened(
    django_capture_on_commit_callbacks,
):
    study = Study("DV1")
    participant, _ = started(study)
    c1d8 = Visit.objects.get(participant=participant, code="C1D8")
    # the window's last day: inside, no deviation
    with django_capture_on_commit_callbacks(execute=True):
        _record(study, c1d8, c1d8.window_end)
    assert _visit_deviations(participant) == []
    # one day after it: the re-check after the unit of work finds it
    with django_capture_on_commit_callbacks(execute=True):
        _record(study, c1d8, c1d8.window_end + dt.timedelta(days=1), reason="typo")
    [deviation] = _visit_deviations(participant)
    assert (deviation.status, deviation.category, deviation.important) == (
        "open",
        "Visit schedule",
        False,
    )
    assert (deviation.source_model, deviation.source_pk) == ("visit", str(c1d8.pk))
    assert deviation.detected_by == "rule"
    # the same fact again (another late date, a re-check by hand): still one deviation
    with django_capture_on_commit_callbacks(execute=True):
        _record(study, c1d8, c1d8.window_end + dt.timedelta(days=2), reason="typo again")
    counts = deviations_recheck(participant_ids=[participant.pk])
    assert counts["created"] == 0
    assert len(_visit_deviations(participant)) == 1
    # corrected into the window: withdrawn, not deleted
    with django_capture_on_commit_callbacks(execute=True):
        _record(study, c1d8, c1d8.window_start, reason="date corrected from the source")
    [deviation] = _visit_deviations(participant)
    assert deviation.status == "withdrawn"
    # late once more: the same row is opened again
    with django_capture_on_commit_callbacks(execute=True):
        _record(study, c1d8, c1d8.window_start - dt.timedelta(days=1), reason="source re-read")
    [again] = _visit_deviations(participant)
    assert (again.pk, again.status) == (deviation.pk, "open")
    actions = list(
        AuditEvent.objects.filter(model="deviation", object_pk=str(deviation.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["deviation_detect", "deviation_withdraw", "deviation_reopen"]
    assert audit_verify().ok


def test_a_resolved_deviation_is_left_alone_when_its_fact_goes(django_capture_on_commit_callbacks):
    study = Study("DV2")
    participant, _ = started(study)
    c1d8 = Visit.objects.get(participant=participant, code="C1D8")
    with django_capture_on_commit_callbacks(execute=True):
        _record(study, c1d8, c1d8.window_end + dt.timedelta(days=1))
    [deviation] = _visit_deviations(participant)
    with pytest.raises(InputError, match=DEVIATION_RESOLUTION_REQUIRED):
        deviation_resolve(user=study.data_manager, deviation_id=deviation.pk, resolution=" ")
    resolved = deviation_resolve(
        user=study.data_manager,
        deviation_id=deviation.pk,
        resolution="Discussed with the site; patient travelled.",
        expected_version=deviation.version,
    )
    assert resolved.status == "resolved"
    with django_capture_on_commit_callbacks(execute=True):
        _record(study, c1d8, c1d8.window_end, reason="corrected")
    [deviation] = _visit_deviations(participant)
    assert deviation.status == "resolved"
    assert deviation.resolution == "Discussed with the site; patient travelled."


def test_a_deviation_entered_by_hand_and_who_may_enter_it():
    study = Study("DV3")
    participant, _ = started(study)
    deviation = deviation_enter(
        user=study.data_manager,
        participant_id=participant.pk,
        category="Informed consent",
        description="Consent form version 2 not signed before the C2D1 procedures.",
        important=True,
    )
    assert (deviation.detected_by, deviation.rule, deviation.status) == ("manual", "", "open")
    event = AuditEvent.objects.get(model="deviation", object_pk=str(deviation.pk))
    assert event.action == "deviation_enter"
    # a coordinator may not enter one; another site's monitor does not see the participant
    from mmtrial.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        deviation_enter(
            user=study.coordinator,
            participant_id=participant.pk,
            category="Other",
            description="x",
            important=False,
        )
    other = Study("DV4")
    monitor = make_user(role="monitor", site=other.site)
    with pytest.raises(NotFound):
        deviation_enter(
            user=monitor,
            participant_id=participant.pk,
            category="Other",
            description="x",
            important=False,
        )


def test_the_recheck_reads_many_participants_in_a_fixed_number_of_queries():
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    study = Study("DV5")
    one, _ = started(study, "SCR-001")
    deviations_recheck(participant_ids=[one.pk])
    with CaptureQueriesContext(connection) as ctx1:
        deviations_recheck(participant_ids=[one.pk])
    two, _ = started(study, "SCR-002")
    three, _ = started(study, "SCR-003")
    deviations_recheck(participant_ids=[two.pk, three.pk])
    with CaptureQueriesContext(connection) as ctx3:
        deviations_recheck(participant_ids=[one.pk, two.pk, three.pk])
    assert len(ctx3.captured_queries) == len(ctx1.captured_queries)


def test_safety_recheck_runs_every_rule_over_the_study_and_prints_counts():
    """A late C1D8 entered without the post-commit re-check (the test's transaction never
    commits) is found by `mmtrial safety recheck`; a second run finds nothing new."""
    from typer.testing import CliRunner

    from mmtrial.cli import app

    study = Study("DV6")
    participant, _ = started(study)
    c1d8 = Visit.objects.get(participant=participant, code="C1D8")
    _record(study, c1d8, c1d8.window_end + dt.timedelta(days=1))
    assert _visit_deviations(participant) == []
    # on C1D1 + 20 no response assessment window has closed yet (first one planned C1D1 + 28)
    day = participant.c1d1_date + dt.timedelta(days=20)
    result = CliRunner().invoke(app, ["safety", "recheck", "--today", day.isoformat()])
    assert result.exit_code == 0, result.output
    assert "1 new, 0 withdrawn, 0 reopened" in result.output
    assert "deviations: 1 open (0 important)" in result.output
    assert len(_visit_deviations(participant)) == 1
    again = CliRunner().invoke(app, ["safety", "recheck", "--today", day.isoformat()])
    assert "0 new, 0 withdrawn, 0 reopened" in again.output
    bad = CliRunner().invoke(app, ["safety", "recheck", "--today", "soon"])
    assert bad.exit_code == 2


def test_a_reduced_dose_with_its_reason_is_no_deviation(django_capture_on_commit_callbacks):
    """irdj.yaml `dose_not_as_decided`: the dose form already refuses a reduced dose without a
    reason (edc.services.doses), so the rule raises nothing for a dose recorded through it;
    ixazomib planned 4 mg on C1D1 (regimen), taken 3 mg with the reason."""
    from decimal import Decimal

    from mmtrial.edc.models import DoseAdministration
    from mmtrial.edc.services.treatment import dose_record

    study = Study("DV7")
    participant, cycle = started(study)
    dose = DoseAdministration.objects.get(cycle=cycle, drug="ixazomib", day=1)
    assert dose.planned_dose_mg == Decimal("4")
    with pytest.raises(InputError, match="say why"):
        dose_record(
            user=study.coordinator,
            dose_id=dose.pk,
            status="reduced",
            taken_dose_mg="3",
            expected_version=dose.version,
        )
    with django_capture_on_commit_callbacks(execute=True):
        dose_record(
            user=study.coordinator,
            dose_id=dose.pk,
            status="reduced",
            taken_dose_mg="3",
            expected_version=dose.version,
            reason="Nausea: the investigator reduced the dose",
        )
    assert not Deviation.objects.filter(participant=participant, rule="dose_not_as_decided")
