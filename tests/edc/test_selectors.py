"""participant_timeline and visits_due: site-scoped, a fixed number of queries."""

import datetime as dt

import pytest
from django.utils import timezone

from mmtrial.edc.models import (
    AdverseEvent,
    Cycle,
    DoseAdministration,
    LabResult,
    Participant,
    Query,
    ResponseAssessment,
    Visit,
)
from mmtrial.edc.selectors.timeline import participant_timeline
from mmtrial.edc.selectors.visits import visits_due
from mmtrial.errors import NotFound
from tests.edc.builders import C1D1, Study, make_user, started

pytestmark = pytest.mark.django_db

ROWS = 12  # rows of each kind per participant


def _bulk_participant(site, n: int) -> Participant:
    """A participant with ROWS rows of every kind, written directly (test data only)."""
    p = Participant.objects.create(
        site=site,
        screening_number=f"B{n}",
        subject_id=f"{site.code}-{n:03d}",
        sex="male",
        year_of_birth=1950,
        protocol_version="1.0",
        consent_date=dt.date(2027, 1, 4),
        c1d1_date=C1D1,
        status="on_treatment",
    )
    for c in range(1, 4):
        cycle = Cycle.objects.create(
            participant=p,
            number=c,
            start_date=C1D1 + dt.timedelta(days=28 * (c - 1)),
            planned_doses_mg={"ixazomib": 4, "lenalidomide": 25, "dexamethasone": 40},
        )
        DoseAdministration.objects.bulk_create(
            DoseAdministration(
                cycle=cycle, drug="lenalidomide", day=d, date=cycle.start_date, status="planned"
            )
            for d in range(1, ROWS + 1)
        )
    Visit.objects.bulk_create(
        Visit(
            participant=p,
            code=f"V{i}",
            kind="treatment",
            planned_date=C1D1 + dt.timedelta(days=7 * i),
            window_start=C1D1 + dt.timedelta(days=7 * i - 1),
            window_end=C1D1 + dt.timedelta(days=7 * i + 1),
            status="due" if i % 3 else "out_of_window",
        )
        for i in range(ROWS)
    )
    LabResult.objects.bulk_create(
        LabResult(
            participant=p,
            analyte="anc",
            value=1500,
            unit="/mm3",
            collected_on=C1D1 + dt.timedelta(days=i),
            source="local",
        )
        for i in range(ROWS)
    )
    ResponseAssessment.objects.bulk_create(
        ResponseAssessment(
            participant=p,
            assessment_date=C1D1 + dt.timedelta(days=28 * (i + 1)),
            derived_response="PR",
            engine_version="x",
        )
        for i in range(ROWS)
    )
    AdverseEvent.objects.bulk_create(
        AdverseEvent(participant=p, term="rash", grade=1, start_date=C1D1) for _ in range(ROWS)
    )
    Query.objects.bulk_create(
        Query(participant=p, model="visit", object_pk="1", text="?", opened_at=timezone.now())
        for _ in range(ROWS)
    )
    return p


def _queries_for(call) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        call()
    return len(ctx.captured_queries)


@pytest.mark.parametrize("participants", [1, 50])
def test_timeline_query_count_does_not_grow_with_rows(participants, django_assert_max_num_queries):
    study = Study("Q1")
    people = [_bulk_participant(study.site, n) for n in range(participants)]
    target = people[-1]
    with django_assert_max_num_queries(14):
        timeline = participant_timeline(user=study.coordinator, participant_id=target.pk)
    assert len(timeline.visits) == ROWS and len(timeline.labs) == ROWS
    assert len(timeline.doses) == 3 * ROWS and len(timeline.queries) == ROWS
    assert timeline.calendar is not None and timeline.calendar["visits"]


def test_timeline_counts_are_equal_for_1_and_50_participants_with_more_rows():
    study = Study("Q2")
    first = _bulk_participant(study.site, 0)
    small = _queries_for(
        lambda: participant_timeline(user=study.coordinator, participant_id=first.pk)
    )
    for n in range(1, 50):
        _bulk_participant(study.site, n)
    big = _queries_for(
        lambda: participant_timeline(user=study.coordinator, participant_id=first.pk)
    )
    assert small == big


@pytest.mark.parametrize("participants", [1, 50])
def test_visits_due_query_count_does_not_grow(participants, django_assert_max_num_queries):
    study = Study("Q3")
    for n in range(participants):
        _bulk_participant(study.site, n)
    with django_assert_max_num_queries(3):
        rows = visits_due(
            user=study.coordinator,
            site_id=study.site.pk,
            start=C1D1,
            end=C1D1 + dt.timedelta(days=400),
            today=C1D1 + dt.timedelta(days=30),
        )
    assert len(rows) == participants * ROWS
    flagged = [r for r in rows if r.subject.endswith("-000")]
    overdue = {r.visit.code for r in flagged if r.overdue}
    out = {r.visit.code for r in flagged if r.out_of_window}
    # due visits whose window ended before day 30 (V1 day 8, V2 day 15, V4 day 29);
    # V0, V3, ... were done out of window
    assert overdue == {"V1", "V2", "V4"}
    assert out == {f"V{i}" for i in range(0, ROWS, 3)}


def test_a_coordinator_sees_neither_timeline_nor_visits_of_another_site():
    mine, other = Study("S1"), Study("S2")
    _bulk_participant(mine.site, 1)
    theirs = _bulk_participant(other.site, 2)
    with pytest.raises(NotFound):
        participant_timeline(user=mine.coordinator, participant_id=theirs.pk)
    with pytest.raises(NotFound):
        visits_due(
            user=mine.coordinator,
            site_id=other.site.pk,
            start=C1D1,
            end=C1D1 + dt.timedelta(days=90),
            today=C1D1,
        )
    rows = visits_due(
        user=mine.coordinator, start=C1D1, end=C1D1 + dt.timedelta(days=400), today=C1D1
    )
    assert rows and {r.site_code for r in rows} == {"S1"}
    # an all-sites monitor sees both
    monitor = make_user(role="monitor", site=None)
    rows = visits_due(user=monitor, start=C1D1, end=C1D1 + dt.timedelta(days=400), today=C1D1)
    assert {r.site_code for r in rows} == {"S1", "S2"}


def test_timeline_of_a_participant_built_through_services():
    study = Study("T1")
    participant, cycle = started(study)
    timeline = participant_timeline(user=study.investigator, participant_id=participant.pk)
    assert [c.pk for c in timeline.cycles] == [cycle.pk]
    assert timeline.visits[0].code == "C1D1"
    assert timeline.calendar["dosing"][0]["date"] == C1D1.isoformat()
    assert {lab.analyte for lab in timeline.labs} >= {"creatinine", "anc", "platelets"}


def test_visits_due_counts_are_equal_for_1_and_50_participants():
    study = Study("Q4")
    _bulk_participant(study.site, 0)

    def call():
        return visits_due(
            user=study.coordinator, start=C1D1, end=C1D1 + dt.timedelta(days=400), today=C1D1
        )

    small = _queries_for(call)
    for n in range(1, 50):
        _bulk_participant(study.site, n)
    assert _queries_for(call) == small
