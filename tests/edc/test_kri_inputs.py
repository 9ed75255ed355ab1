"""The KRI reader: the frames `analysis.kri` reads, from the database, in a fixed number of
queries; and what each role may see."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mmtrial.analysis.kri import site_kris
from mmtrial.edc.models import AdverseEvent, LabResult
from mmtrial.edc.selectors.kri_inputs import enrollment_inputs, kri_inputs, kri_sites_visible
from mmtrial.protocol.loader import load_protocol
from tests.edc.factories import make_participant, make_site, make_user

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2027, 3, 31)


def _site(code: str):
    from mmtrial.edc.models import Site

    return Site.objects.filter(code=code).first() or make_site(code)


def _study(participants_per_site: int = 2):
    protocol = load_protocol()
    first, second = _site("KRI-A"), _site("KRI-B")
    for site in (first, second):
        for _ in range(participants_per_site):
            p = make_participant(site, status="on_treatment", enrolled_on=dt.date(2027, 1, 11))
            AdverseEvent.objects.create(
                participant=p, term="Fatigue", grade=1, start_date=dt.date(2027, 2, 1)
            )
            # platelets 20,000/mm3: CTCAE v5.0 grade 4 (< 25,000); 150,000: grade 0
            for value in ("20000", "150000"):
                LabResult.objects.create(
                    participant=p, analyte="platelets", value=value, unit="/mm3",
                    collected_on=dt.date(2027, 2, 1), source="local",
                )  # fmt: skip
    make_participant(first, status="screen_failed")
    return protocol, first, second


def test_the_frames_hold_each_sites_facts():
    protocol, _, _ = _study()
    inputs, sites = kri_inputs(protocol=protocol, as_of=AS_OF)
    assert {"KRI-A", "KRI-B"} <= set(sites)
    people = inputs.participants.set_index("site")
    assert people.loc["KRI-A", "screen_failed"].sum() == 1
    report = site_kris(inputs, settings=protocol.central_monitoring, as_of=AS_OF, sites=sites)
    ae = report.metric("ae_rate").set_index("site")
    # 2 participants enrolled 2027-01-11, on study to 2027-03-31: 80 days each
    assert ae.loc["KRI-A", "numerator"] == 2
    assert ae.loc["KRI-A", "denominator"] == pytest.approx(160 / 30.4375)
    labs = report.metric("lab_abnormality_rate").set_index("site")
    assert (labs.loc["KRI-B", "numerator"], labs.loc["KRI-B", "denominator"]) == (2, 4)
    sf = report.metric("screen_failure_rate").set_index("site")
    assert (sf.loc["KRI-A", "numerator"], sf.loc["KRI-A", "denominator"]) == (1, 1)


def _queries(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


def test_the_reader_runs_a_fixed_number_of_queries_whatever_the_study_size():
    protocol, _, _ = _study(participants_per_site=1)
    small = _queries(lambda: kri_inputs(protocol=protocol, as_of=AS_OF))
    _study(participants_per_site=4)
    large = _queries(lambda: kri_inputs(protocol=protocol, as_of=AS_OF))
    assert small == large <= 12
    assert _queries(enrollment_inputs) <= 2


def test_site_staff_see_only_their_own_sites_indicators_and_a_monitor_sees_all():
    _, first, _ = _study(participants_per_site=1)
    coordinator = make_user(role="coordinator", site=first)
    monitor = make_user(role="monitor", site=None)
    assert kri_sites_visible(coordinator) == {"KRI-A"}
    assert kri_sites_visible(monitor) is None


def test_enrollment_dates_by_site():
    _study(participants_per_site=2)
    inputs = enrollment_inputs()
    assert inputs.enrollment_dates["KRI-A"] == [dt.date(2027, 1, 11)] * 2
