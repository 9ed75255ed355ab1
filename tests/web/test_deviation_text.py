"""Deviations found by rule read in the user's language: the rule's template, translated, filled
with the parameters it stored."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from mmtrial.clinical import deviations as rules
from mmtrial.edc.models import Deviation
from mmtrial.web.deviation_text import TEMPLATES, category_text, deviation_text
from tests.web.conftest import register_participant


def test_each_template_is_still_the_rules_own():
    assert TEMPLATES == {
        "visit_out_of_window": rules.VISIT_OUT_OF_WINDOW,
        "response_assessment_missed": rules.RESPONSE_MISSED,
        "dose_not_as_decided": rules.DOSE_NOT_AS_DECIDED,
        "cycle_start_criteria_not_met": rules.CYCLE_CRITERIA_NOT_MET,
        "ineligible_enrolled": rules.INELIGIBLE_ENROLLED,
        "required_lab_missing": rules.REQUIRED_LAB_MISSING,
        "unblinding": rules.UNBLINDING,
    }
    assert set(TEMPLATES) == set(rules.RULES) | {"unblinding"}


@pytest.mark.django_db
def test_a_late_visit_reads_in_japanese_and_as_recorded_in_english(users, sites):
    participant = register_participant(users["coordinator"], sites["A"], "A-777")
    params = {
        "code": "C1D8",
        "actual": "2027-02-10",
        "window_start": "2027-02-05",
        "window_end": "2027-02-08",
        "days": 2,
        "side": "late",
    }
    deviation = Deviation.objects.create(
        participant=participant,
        rule="visit_out_of_window",
        record_key="visit:1",
        category="Visit schedule",
        important=False,
        detected_by="rule",
        description=rules.VISIT_OUT_OF_WINDOW.format(**params),
        params=params,
        detected_on=dt.date(2027, 2, 11),
    )
    with translation.override("ja"):
        assert deviation_text(deviation) == (
            "来院C1D8は2027-02-10に実施され、許容範囲2027-02-05～2027-02-08外でした（2日遅い）。"
        )
        assert category_text("Visit schedule") == "来院スケジュール"
        assert category_text("A sponsor's own category") == "A sponsor's own category"
    with translation.override("en"):
        assert deviation_text(deviation) == deviation.description
