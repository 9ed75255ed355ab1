"""Edit checks from the protocol file (issue 11 item 2): hard limits refuse, soft limits save
and open a query, future dates (in the site's time zone) and dates before consent refuse, a
dose taken off the protocol's dose levels needs a reason. The limits are read from the protocol
file, the source of these rules (value_ranges)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from freezegun import freeze_time

from mmtrial.edc.edit_checks import ANALYTE_VARIABLES
from mmtrial.edc.models import DoseAdministration, LabResult, Query, Visit
from mmtrial.edc.services.labs import lab_result_record
from mmtrial.edc.services.treatment import dose_record
from mmtrial.edc.services.visits import visit_record
from mmtrial.errors import InputError
from mmtrial.protocol import load_protocol
from tests.edc.builders import C1D1, Study, started

pytestmark = pytest.mark.django_db
RANGES = load_protocol().value_ranges.variables
UNITS = {"serum_m_protein": "g/dL", "urine_m_protein": "mg/24h", "kappa_flc": "mg/L",
         "lambda_flc": "mg/L", "creatinine": "mg/dL", "anc": "/mm3", "platelets": "/mm3",
         "hemoglobin": "g/dL"}  # fmt: skip


def _record(study, participant, analyte, value, on=C1D1):
    return lab_result_record(
        user=study.coordinator,
        participant_id=participant.pk,
        analyte=analyte,
        value=str(value),
        unit=UNITS[analyte],
        collected_on=on,
    )


@pytest.mark.parametrize("analyte", sorted(ANALYTE_VARIABLES))
def test_each_analyte_at_its_hard_limit_is_saved_and_beyond_it_refused(analyte):
    study = Study("E" + analyte[:6])
    participant, _ = started(study)
    spec = RANGES[ANALYTE_VARIABLES[analyte]]
    top = spec.hard.maximum
    lab = _record(study, participant, analyte, top)
    assert lab.value == top
    beyond = top + (1 if spec.integer else Decimal("0.01"))
    with pytest.raises(InputError) as err:
        _record(study, participant, analyte, beyond)
    # the message names what the user sees: the analyte, the value, the limits and the unit
    assert err.value.message.startswith(f"{spec.label}: ")
    assert "is impossible" in err.value.message and spec.unit in err.value.message
    assert not LabResult.objects.filter(participant=participant, value=beyond).exists()


def test_a_value_outside_the_soft_limits_is_saved_flagged_and_queried():
    study = Study("E2")
    participant, _ = started(study)
    soft = RANGES["hemoglobin_g_dl"].soft
    lab = _record(study, participant, "hemoglobin", soft.maximum + 1)
    [query] = Query.objects.filter(participant=participant, origin="edit_check")
    assert (query.model, query.object_pk, query.field) == ("labresult", str(lab.pk), "value")
    assert "Hemoglobin" in query.text and "unusual" in query.text
    inside = _record(study, participant, "hemoglobin", soft.maximum)
    assert not Query.objects.filter(object_pk=str(inside.pk)).exists()


def test_a_weight_of_9999_kg_is_refused():
    study = Study("E3")
    participant, _ = started(study)
    visit = Visit.objects.filter(participant=participant, code="C1D1").get()
    with pytest.raises(InputError, match=r"^Body weight: 9999 kg is impossible"):
        visit_record(
            user=study.coordinator,
            visit_id=visit.pk,
            actual_date=C1D1,
            expected_version=visit.version,
            weight_kg="9999",
        )


def test_a_dose_dated_tomorrow_at_the_site_is_refused_as_taken():
    study = Study("E4")
    _, cycle = started(study)
    dose = DoseAdministration.objects.get(cycle=cycle, drug="ixazomib", day=8)
    with (
        freeze_time(dose.date - dt.timedelta(days=1)),
        pytest.raises(InputError, match=r"^Dose date: .* is in the future"),
    ):
        dose_record(
            user=study.coordinator, dose_id=dose.pk, status="taken", expected_version=dose.version
        )
    dose.refresh_from_db()
    assert dose.status == "planned"


def test_today_is_the_sites_today():
    """00:30 on 1 Jan in Tokyo is 15:30 on 31 Dec in UTC: a sample dated 1 Jan is today at a
    Tokyo site, and tomorrow at a New York site (10:30 on 31 Dec)."""
    tokyo = Study("E5")
    participant, _ = started(tokyo)
    with freeze_time("2029-12-31 15:30:00"):
        _record(tokyo, participant, "hemoglobin", 11, on=dt.date(2030, 1, 1))
        new_york = Study("E6")
        new_york.site.timezone = "America/New_York"
        new_york.site.save()
        other, _ = started(new_york)
        with pytest.raises(InputError, match=r"is in the future \(today is 2029-12-31"):
            _record(new_york, other, "hemoglobin", 11, on=dt.date(2030, 1, 1))


def test_a_date_before_consent_is_refused():
    study = Study("E7")
    participant, _ = started(study)
    before = participant.consent_date - dt.timedelta(days=1)
    with pytest.raises(InputError, match=r"before the participant's consent"):
        _record(study, participant, "hemoglobin", 11, on=before)


def test_a_dose_taken_off_the_dose_levels_needs_a_reason_and_opens_a_query():
    study = Study("E8")
    participant, cycle = started(study, creatinine="0.6")  # lenalidomide 25 mg
    dose = DoseAdministration.objects.get(cycle=cycle, drug="lenalidomide", day=2)
    dose_record(
        user=study.coordinator,
        dose_id=dose.pk,
        status="reduced",
        expected_version=dose.version,
        taken_dose_mg="7.5",
        reason="half capsules by mistake",
    )
    [query] = Query.objects.filter(participant=participant, origin="edit_check")
    assert query.field == "taken_dose_mg" and "7.5 mg" in query.text
