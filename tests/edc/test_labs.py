"""Single lab results: units at the boundary, audited edits and deletes, responses follow."""

import datetime as dt

import pytest

from mmtrial.edc.models import AuditEvent, LabResult, ResponseAssessment
from mmtrial.edc.services._records import REASON_REQUIRED
from mmtrial.edc.services.labs import lab_result_delete, lab_result_record, lab_result_update
from mmtrial.errors import ConflictError, InputError, NotFound, PermissionDenied
from tests.edc.builders import Study, make_user, started

pytestmark = pytest.mark.django_db
DAY = dt.date(2027, 2, 8)


@pytest.fixture
def treated():
    study = Study("L1")
    participant, _ = started(study)
    return study, participant


def _record(study, participant, **kwargs):
    values = dict(analyte="anc", value="1800", unit="/mm3", collected_on=DAY)
    values.update(kwargs)
    return lab_result_record(user=study.coordinator, participant_id=participant.pk, **values)


@pytest.mark.req("P11-10e")
def test_create_edit_delete_write_three_audit_events_in_order_with_reasons(treated):
    study, participant = treated
    lab = _record(study, participant, analyte="anc", value="40", unit="/mm3")
    with pytest.raises(InputError, match=REASON_REQUIRED):
        lab_result_update(
            user=study.coordinator, lab_result_id=lab.pk, expected_version=1, value="44", reason=""
        )
    edited = lab_result_update(
        user=study.coordinator,
        lab_result_id=lab.pk,
        expected_version=1,
        value="44",
        reason="transcription error",
    )
    lab_result_delete(
        user=study.coordinator,
        lab_result_id=lab.pk,
        expected_version=edited.version,
        reason="duplicate",
    )
    events = list(AuditEvent.objects.filter(model="labresult", object_pk=str(lab.pk)))
    assert [e.action for e in events] == ["create", "update", "delete"]
    assert events[1].changes["value"] == {"old": "40", "new": "44"}
    assert [e.reason for e in events[1:]] == ["transcription error", "duplicate"]
    assert all(e.actor_id == study.coordinator.pk for e in events)
    assert LabResult.objects.get(pk=lab.pk).is_deleted


def test_values_are_stored_in_the_canonical_unit(treated):
    study, participant = treated
    lab = _record(study, participant, analyte="platelets", value="150", unit="x10^9/L")
    assert (lab.value, lab.unit, lab.reported_value, lab.reported_unit) == (
        150000,
        "/mm3",
        "150",
        "x10^9/L",
    )
    creatinine = _record(study, participant, analyte="creatinine", value="88.42", unit="umol/L")
    assert creatinine.value == 1 and creatinine.unit == "mg/dL"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"value": "-1"}, "value"),
        ({"value": "abc"}, "value"),
        ({"unit": "g/L"}, "unit"),
        ({"analyte": "glucose"}, "analyte"),
        ({"collected_on": dt.date(2026, 1, 1)}, "collected_on"),
    ],
)
@pytest.mark.req("P11-10h")
def test_invalid_input_is_refused_naming_the_field(treated, kwargs, field):
    study, participant = treated
    before = AuditEvent.objects.count()
    with pytest.raises(InputError) as caught:
        _record(study, participant, **kwargs)
    assert caught.value.extra["field"] == field
    assert AuditEvent.objects.count() == before


def test_a_stale_edit_is_a_conflict(treated):
    study, participant = treated
    lab = _record(study, participant)
    lab_result_update(
        user=study.coordinator, lab_result_id=lab.pk, expected_version=1, value="1900", reason="a"
    )
    with pytest.raises(ConflictError):
        lab_result_update(
            user=study.coordinator,
            lab_result_id=lab.pk,
            expected_version=1,
            value="2000",
            reason="b",
        )


def test_deleting_a_central_m_protein_re_derives_the_responses(treated):
    study, participant = treated
    lab = _record(
        study,
        participant,
        analyte="serum_m_protein",
        value="1.1",
        unit="g/dL",
        source="central",
        accession="X1",
    )
    row = ResponseAssessment.objects.get(participant=participant)
    assert not row.is_deleted
    lab_result_delete(
        user=study.coordinator, lab_result_id=lab.pk, expected_version=1, reason="wrong patient"
    )
    row.refresh_from_db()
    assert row.is_deleted


def test_site_isolation_and_roles(treated):
    study, participant = treated
    lab = _record(study, participant)
    other = Study("L2")
    with pytest.raises(NotFound):
        _record(other, participant)
    with pytest.raises(NotFound):
        lab_result_update(
            user=other.coordinator, lab_result_id=lab.pk, expected_version=1, value="1", reason="x"
        )
    monitor = make_user(role="monitor", site=study.site)
    with pytest.raises(PermissionDenied):
        lab_result_update(
            user=monitor, lab_result_id=lab.pk, expected_version=1, value="1", reason="x"
        )
    lab.refresh_from_db()
    assert lab.version == 1
