"""Coded adverse events, ICH E2A seriousness and the SAE reports to the sponsor, through the
services: audited, refused when inconsistent, and the overdue-report query opened once."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from mmtrial.edc.models import AuditEvent, Query, SaeReport
from mmtrial.edc.models.trust import QueryOrigin
from mmtrial.edc.selectors.sae import sae_list
from mmtrial.edc.services.adverse_events import (
    AWARE_AT_REQUIRED,
    SERIOUS_NEEDS_CRITERION,
    ae_record,
    ae_update,
)
from mmtrial.edc.services.sae_reports import (
    SAE_FOLLOW_UP_FIRST,
    SAE_INITIAL_EXISTS,
    sae_overdue_queries,
    sae_report_record,
)
from mmtrial.errors import InputError
from tests.edc.builders import C1D1, Study, make_user, started

pytestmark = pytest.mark.django_db

TOKYO = ZoneInfo("Asia/Tokyo")
AWARE = dt.datetime(2027, 1, 20, 22, 0, tzinfo=TOKYO)  # 13:00 UTC; deadline 2027-01-21 22:00 JST


def _sae(study, participant, **overrides):
    values = dict(
        user=study.coordinator,
        participant_id=participant.pk,
        term="血小板減少",
        ctcae_term="Platelet count decreased",
        grade=4,
        start_date=C1D1 + dt.timedelta(days=8),
        seriousness=["hospitalization"],
        aware_at=AWARE,
        outcome="RECOVERING/RESOLVING",
        attribution={"lenalidomide": True, "ixazomib": True, "dexamethasone": False},
        actions={"lenalidomide": "DRUG INTERRUPTED", "ixazomib": "DOSE NOT CHANGED"},
    )
    values.update(overrides)
    return ae_record(**values)


def test_a_coded_serious_ae_carries_its_meddra_code_criteria_and_actions():
    study = Study()
    participant, _ = started(study)
    ae = _sae(study, participant)
    ae.refresh_from_db()
    assert ae.term == "血小板減少"  # the verbatim text kept
    assert ae.meddra_code == "10035528"  # Platelet count decreased, CTCAE v5.0
    assert ae.serious and ae.sae_hospitalization and not ae.sae_death
    assert ae.actions == {"lenalidomide": "DRUG INTERRUPTED", "ixazomib": "DOSE NOT CHANGED"}
    event = AuditEvent.objects.get(action="create", model="adverseevent", object_pk=str(ae.pk))
    assert event.changes["meddra_code"]["new"] == "10035528"


def test_a_grade_the_term_does_not_define_is_refused():
    study = Study()
    participant, _ = started(study)
    with pytest.raises(InputError, match="no grade 5 for Platelet count decreased"):
        _sae(study, participant, grade=5)


def test_serious_without_a_criterion_or_without_awareness_is_refused():
    study = Study()
    participant, _ = started(study)
    with pytest.raises(InputError) as no_criterion:
        _sae(study, participant, seriousness=[], serious=True)
    assert str(no_criterion.value) == SERIOUS_NEEDS_CRITERION
    with pytest.raises(InputError) as no_awareness:
        _sae(study, participant, aware_at=None)
    assert str(no_awareness.value) == AWARE_AT_REQUIRED


def test_no_criterion_means_not_serious_and_unknown_action_is_refused():
    study = Study()
    participant, _ = started(study)
    ae = _sae(study, participant, seriousness=[], aware_at=None, grade=2)
    assert not ae.serious
    with pytest.raises(InputError, match="not a CDISC action taken"):
        _sae(study, participant, actions={"lenalidomide": "dose_held"})


def test_reports_are_audited_and_initial_comes_once_before_follow_ups():
    study = Study()
    participant, _ = started(study)
    ae = _sae(study, participant)
    with pytest.raises(InputError) as early:
        sae_report_record(
            user=study.coordinator, ae_id=ae.pk, kind="follow_up", sent_at=AWARE, summary="x"
        )
    assert str(early.value) == SAE_FOLLOW_UP_FIRST.format(pk=ae.pk)
    sent = AWARE + dt.timedelta(hours=20)
    report = sae_report_record(
        user=study.coordinator, ae_id=ae.pk, kind="initial", sent_at=sent, summary="G4 PLT"
    )
    assert AuditEvent.objects.filter(
        action="create", model="saereport", object_pk=str(report.pk)
    ).exists()
    with pytest.raises(InputError) as twice:
        sae_report_record(
            user=study.coordinator, ae_id=ae.pk, kind="initial", sent_at=sent, summary="again"
        )
    assert str(twice.value) == SAE_INITIAL_EXISTS.format(pk=ae.pk)
    sae_report_record(
        user=study.coordinator,
        ae_id=ae.pk,
        kind="follow_up",
        sent_at=sent + dt.timedelta(days=3),
        summary="recovering",
    )
    assert SaeReport.objects.filter(adverse_event=ae).count() == 2
    [row] = sae_list(user=study.coordinator, now=sent + dt.timedelta(days=5))
    assert row.clock.state == "reported_on_time"
    assert [r.kind for r in row.reports] == ["initial", "follow_up"]


def test_an_overdue_sae_raises_one_query_and_a_due_one_none():
    study = Study()
    monitor = make_user(role="monitor", site=study.site)
    participant, _ = started(study)
    overdue = _sae(study, participant)
    due = _sae(study, participant, aware_at=AWARE + dt.timedelta(hours=12), term="発熱性好中球減少")
    now = dt.datetime(2027, 1, 21, 23, 0, tzinfo=TOKYO)  # 25 h after the first awareness
    opened = sae_overdue_queries(now=now)
    assert [q.object_pk for q in opened] == [str(overdue.pk)]
    assert sae_overdue_queries(now=now + dt.timedelta(hours=1)) == []  # once, not again
    query = Query.objects.get(origin=QueryOrigin.SAE_OVERDUE)
    assert "Platelet count decreased" in query.text and "overdue since 2027-01-21 22:00" in (
        query.text
    )
    rows = sae_list(user=monitor, now=now)
    assert [(r.ae.pk, r.clock.state) for r in rows] == [(overdue.pk, "overdue"), (due.pk, "due")]
    assert rows[0].overdue_query == query
    assert rows[1].clock.time_left == dt.timedelta(hours=11)


def test_another_sites_staff_do_not_see_the_sae():
    study, other = Study(), Study()
    participant, _ = started(study)
    _sae(study, participant)
    assert sae_list(user=other.coordinator, now=AWARE) == []


def test_seriousness_can_be_added_later_with_a_reason():
    study = Study()
    participant, _ = started(study)
    ae = _sae(study, participant, seriousness=[], aware_at=None, grade=3)
    changed = ae_update(
        user=study.coordinator,
        ae_id=ae.pk,
        expected_version=ae.version,
        reason="hospitalised on day 9",
        seriousness=["hospitalization", "life_threatening"],
        aware_at=AWARE,
    )
    assert changed.serious and changed.sae_life_threatening and changed.aware_at == AWARE


def test_sae_check_opens_the_overdue_query_once_and_lists_the_clocks():
    from typer.testing import CliRunner

    from mmtrial.cli import app

    study = Study()
    participant, _ = started(study)
    ae = _sae(study, participant)  # aware 2027-01-20; the test clock is years later
    first = CliRunner().invoke(app, ["safety", "sae-check"])
    assert first.exit_code == 1, first.output
    assert "Platelet count decreased (grade 4): overdue" in first.output
    assert "1 serious adverse events, 1 overdue; 1 queries opened now" in first.output
    second = CliRunner().invoke(app, ["safety", "sae-check"])
    assert "1 overdue; 0 queries opened now" in second.output
    assert Query.objects.filter(object_pk=str(ae.pk), origin=QueryOrigin.SAE_OVERDUE).count() == 1


def test_the_analysis_reads_the_coded_term_and_the_verbatim_without_one():
    from mmtrial.edc.selectors.analysis import analysis_source

    study = Study()
    participant, _ = started(study)
    _sae(study, participant, ctcae_term="platelet_count_decreased", term="血小板減少")
    _sae(study, participant, ctcae_term="Platelet count decreased", term="PLT low", grade=3)
    ae_record(
        user=study.coordinator,
        participant_id=participant.pk,
        term="Hiccups after dexamethasone",
        grade=1,
        start_date=C1D1 + dt.timedelta(days=3),
    )
    adae = analysis_source().adverse_events
    assert sorted(adae["AEDECOD"]) == [
        "Hiccups after dexamethasone",
        "Platelet count decreased",
        "Platelet count decreased",
    ]


def test_an_action_is_linked_to_the_participants_own_dose_records_only():
    from mmtrial.edc.models import DoseAdministration

    study = Study()
    participant, cycle = started(study)
    other, _ = started(study, "SCR-002")
    lenalidomide = DoseAdministration.objects.filter(cycle=cycle, drug="lenalidomide").order_by(
        "day"
    )
    held = [d.pk for d in lenalidomide[:2]]
    ae = _sae(study, participant, dose_links={"lenalidomide": held})
    assert ae.dose_links == {"lenalidomide": sorted(held)}
    foreign = DoseAdministration.objects.filter(cycle__participant=other).first()
    with pytest.raises(InputError, match="is not one of this participant's"):
        _sae(study, participant, dose_links={foreign.drug: [foreign.pk]})
    ixazomib = DoseAdministration.objects.filter(cycle=cycle, drug="ixazomib").first()
    with pytest.raises(InputError, match="lenalidomide doses"):
        _sae(study, participant, dose_links={"lenalidomide": [ixazomib.pk]})
