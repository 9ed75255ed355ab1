"""The site worklist (issue 12 item 4): visits, response assessments and follow-up contacts
due this week, next week (or the month) and overdue, with windows from the protocol file;
site isolation; a fixed number of queries whatever the number of participants.

Hand-worked calendar (irdj.yaml): C1D1 Monday 2027-01-11; visits C1D8 2027-01-18 (window
+/-1 day), C1D15 2027-01-25 (+/-1), C1D22 2027-02-01 (+/-1), then the projected cycle 2 from
2027-02-08 (C2D1 window +/-3); response assessment 1 at C1D1 + 28 = 2027-02-08 (window +/-7).
Today Thursday 2027-01-21: this week is 2027-01-18 to 01-24, next week 01-25 to 01-31.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mmtrial.edc.selectors.worklist import worklist
from mmtrial.errors import NotFound
from tests.edc.builders import Study, started

pytestmark = pytest.mark.django_db

D = dt.date
TODAY = D(2027, 1, 21)


def _codes(items) -> list[tuple[str, str]]:
    return [(i.kind, i.code) for i in items]


def test_the_week_view_shows_overdue_this_week_and_next_week_with_windows():
    study = Study("WL1")
    participant, _ = started(study)
    result = worklist(user=study.coordinator, today=TODAY)
    overdue = {i.code: i for i in result.overdue}
    assert "C1D8" in overdue
    c1d8 = overdue["C1D8"]
    assert (c1d8.window_start, c1d8.window_end) == (D(2027, 1, 17), D(2027, 1, 19))
    assert c1d8.place.days_overdue == 2
    assert result.weeks == [(D(2027, 1, 18), D(2027, 1, 24)), (D(2027, 1, 25), D(2027, 1, 31))]
    assert _codes(result.by_week[0]) == []
    next_week = result.by_week[1]
    assert _codes(next_week) == [("treatment", "C1D15")]
    assert (next_week[0].window_start, next_week[0].window_end) == (D(2027, 1, 24), D(2027, 1, 26))
    assert next_week[0].subject == participant.subject_id


def test_the_month_view_reaches_the_response_assessment_with_its_protocol_window():
    study = Study("WL2")
    started(study)
    result = worklist(user=study.coordinator, today=TODAY, view="month")
    # 2027-01-21 + 1 month = 2027-02-21, in the week of 2027-02-15: five weeks from 01-18.
    assert len(result.weeks) == 5
    in_month = [i for week in result.by_week for i in week]
    assessment = next(i for i in in_month if i.kind == "response_assessment")
    assert (assessment.code, assessment.planned) == ("1", D(2027, 2, 8))
    assert (assessment.window_start, assessment.window_end) == (D(2027, 2, 1), D(2027, 2, 15))
    assert assessment.place.week == 3
    assert ("treatment", "C1D22") in _codes(result.by_week[2])
    assert ("treatment", "C2D1") in _codes(result.by_week[3])


def test_a_coordinator_sees_only_their_sites():
    mine, theirs = Study("WL3"), Study("WL4")
    started(mine, "SCR-001")
    started(theirs, "SCR-002")
    result = worklist(user=mine.coordinator, today=TODAY, view="month")
    items = [*result.overdue, *(i for week in result.by_week for i in week)]
    assert items and {i.site_code for i in items} == {"WL3"}
    with pytest.raises(NotFound):
        worklist(user=mine.coordinator, today=TODAY, site_id=theirs.site.pk)
    everyone = worklist(user=mine.data_manager, today=TODAY, view="month")
    assert {i.site_code for i in everyone.overdue} >= {"WL3", "WL4"}


def _queries(user) -> int:
    with CaptureQueriesContext(connection) as ctx:
        worklist(user=user, today=TODAY, view="month")
    return len(ctx.captured_queries)


def test_the_number_of_queries_is_the_same_for_n_and_3n_participants(django_assert_num_queries):
    study = Study("WL5")
    for n in range(2):
        started(study, f"SCR-{n:03d}")
    with_n = _queries(study.coordinator)
    assert with_n <= 8
    for n in range(2, 6):
        started(study, f"SCR-{n:03d}")
    with django_assert_num_queries(with_n):
        result = worklist(user=study.coordinator, today=TODAY, view="month")
    assert len({i.participant_id for i in result.overdue}) == 6
