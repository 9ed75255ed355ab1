"""The demo stays current (issue 12 items 6 and 7): its dates are relative to the day it is
seeded, the same cohort shifted by whole weeks, deterministic in the seed and the seeding day;
its audit events keep the real time and name the study date they stand for."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pytest
from django.db import transaction

from mmtrial.edc.audit import audit_actor, audit_stands_for
from mmtrial.edc.models import Cycle, Participant, ResponseAssessment, Site
from mmtrial.errors import MmtrialError
from mmtrial.sim.cohort import build_cohort
from mmtrial.sim.demo import seed_demo_study, seeding_day
from mmtrial.sim.plans import DATA_CUTOFF, data_cutoff_for

FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SEED = 20270104
D = dt.date


@pytest.mark.parametrize(
    ("seeded_on", "cutoff"),
    [
        (D(2026, 11, 2), D(2026, 11, 2)),  # the reference cut-off itself (a Monday)
        (D(2026, 12, 7), D(2026, 12, 7)),  # a Monday five weeks later
        (D(2026, 12, 10), D(2026, 12, 7)),  # a Thursday: the Monday before
        (D(2026, 11, 1), D(2026, 10, 26)),  # a Sunday before the reference
        (D(2027, 6, 20), D(2027, 6, 14)),
    ],
)
def test_the_data_cut_off_is_the_latest_monday_on_or_before_the_seeding_day(seeded_on, cutoff):
    assert DATA_CUTOFF.weekday() == 0
    assert data_cutoff_for(seeded_on) == cutoff


def _dates(value):
    """Every date in a plan, in a fixed order."""
    if isinstance(value, dt.date):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            if f.name not in ("archetype", "site", "calendar", "data_cutoff"):
                yield from _dates(getattr(value, f.name))
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _dates(item)


def test_the_cohort_is_the_same_shifted_by_the_weeks_between_the_cut_offs():
    later = D(2027, 3, 1)  # 17 weeks after the reference cut-off
    reference = build_cohort(seed=SEED)
    shifted = build_cohort(seed=SEED, data_cutoff=later)
    shift = later - DATA_CUTOFF
    assert shift.days == 17 * 7
    assert [p.screening_number for p in shifted] == [p.screening_number for p in reference]
    for before, after in zip(reference, shifted, strict=True):
        assert after.archetype == before.archetype and after.site == before.site
        assert [d + shift for d in _dates(before)] == list(_dates(after))
        assert [c.holds for c in after.cycles] == [c.holds for c in before.cycles]
        assert [(a.term, a.grade) for a in after.adverse_events] == [
            (a.term, a.grade) for a in before.adverse_events
        ]
        assert after.year_of_birth == before.year_of_birth + 1  # 2026 -> 2027: ages kept


def test_audit_stands_for_is_refused_outside_the_demo(db):
    with (
        audit_actor(None, via="web"),
        pytest.raises(MmtrialError, match="Only the demo"),
        audit_stands_for(D(2026, 1, 5)),
    ):
        pass
    with pytest.raises(MmtrialError), audit_stands_for(D(2026, 1, 5)):
        pass


def test_an_event_of_another_door_inside_the_demos_context_is_refused_and_not_written(db):
    """A stands-for date never reaches an event written by a real door (21 CFR 11.10(e))."""
    from mmtrial.edc.audit import EventSpec, audit_record_many
    from mmtrial.edc.models import AuditEvent

    spec = EventSpec(action="test", model="", object_pk="", site_code="", subject="", changes={})
    with (
        audit_actor(None, via="demo"),
        audit_stands_for(D(2026, 1, 5)),
        audit_actor(None, via="web"),
        pytest.raises(MmtrialError, match="Only the demo"),
    ):
        audit_record_many([spec])
    assert not AuditEvent.objects.filter(action="test").exists()
    with audit_actor(None, via="demo"), audit_stands_for(D(2026, 1, 5)):
        audit_record_many([spec])
    event = AuditEvent.objects.get(action="test")
    assert event.context["stands_for"] == "2026-01-05" and event.context["via"] == "demo"


def _snapshot(shift: dt.timedelta = dt.timedelta(0)) -> dict:
    return {
        "participants": sorted(
            Participant.objects.values_list("screening_number", "subject_id", "status")
        ),
        "cycles": sorted(
            (c.participant.subject_id, c.number, c.start_date - shift)
            for c in Cycle.objects.select_related("participant")
        ),
        "responses": sorted(
            (r.participant.subject_id, r.assessment_date - shift, r.derived_response)
            for r in ResponseAssessment.objects.select_related("participant")
        ),
    }


def test_seeding_on_another_day_gives_the_same_study_shifted(db, settings):
    settings.PASSWORD_HASHERS = FAST_HASHER
    today = seeding_day()
    earlier = today - dt.timedelta(days=28)
    with transaction.atomic():
        summary = seed_demo_study(stdout=io.StringIO(), participants=3, today=earlier)
        first = _snapshot()
        transaction.set_rollback(True)
    assert summary.data_cutoff == data_cutoff_for(earlier)
    assert not Site.objects.exists()
    summary = seed_demo_study(stdout=io.StringIO(), participants=3, today=today)
    assert summary.seeded and summary.problems == []
    assert summary.data_cutoff == data_cutoff_for(today)
    assert _snapshot(dt.timedelta(days=28)) == first
