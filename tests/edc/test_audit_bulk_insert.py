"""Rows inserted as tuples are the rows `bulk_create` would store, audited the same way.

`insert_rows` and `records_insert_across` replace model instances and `bulk_create` on the
lab import's hot path; a default, a timestamp or an id that differed would change what the
audit trail says about the stored record.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from mmtrial.edc.audit import audit_actor, audit_verify
from mmtrial.edc.models import AuditEvent, LabResult, Participant, ResponseAssessment
from mmtrial.edc.services._bulk import insert_rows, records_create_across, records_insert_across
from tests.edc.builders import Study

pytestmark = pytest.mark.django_db

_SKIP = {"id", "created_at", "updated_at", "accession", "participant_id", "assessment_date"}


def _stored(model, pk):
    row = model.objects.filter(pk=pk).values().get()
    assert row["created_at"] is not None and row["updated_at"] is not None
    return {k: v for k, v in row.items() if k not in _SKIP}


@pytest.fixture
def people():
    study = Study("C1")
    return study, study.register("SCR-001"), study.register("SCR-002")


def test_lab_rows_are_stored_as_bulk_create_stores_them_and_ids_follow_the_keys(people):
    _, first, second = people
    values = [
        (
            first.pk,
            "serum_m_protein",
            Decimal("1.20"),
            "",
            "g/dL",
            "12",
            "g/L",
            dt.date(2027, 2, 8),
        ),
        (second.pk, "serum_ife", None, "positive", "", "positive", "", dt.date(2027, 2, 9)),
        (first.pk, "kappa_flc", Decimal("125"), "", "mg/L", "12.5", "mg/dL", dt.date(2027, 2, 8)),
    ]
    fields = (
        "participant_id", "analyte", "value", "value_text", "unit", "reported_value",
        "reported_unit", "collected_on", "accession",
    )  # fmt: skip
    # accessions sorted against the insert order: an id must follow its key, not its position
    fast = [(*v, f"Z{9 - i}") for i, v in enumerate(values)]
    with transaction.atomic():
        ids = insert_rows(
            LabResult,
            fast,
            fields=fields,
            key=("accession", "analyte"),
            where={"source": "central"},
        )
        slow = LabResult.objects.bulk_create(
            LabResult(**dict(zip(fields, (*v, f"B{i}"), strict=True)), source="central")
            for i, v in enumerate(values)
        )
    for pk, row, reference in zip(ids, fast, slow, strict=True):
        stored = LabResult.objects.get(pk=pk)
        assert (stored.accession, stored.analyte) == (row[-1], row[1])
        assert _stored(LabResult, pk) == _stored(LabResult, reference.pk)


def test_derived_rows_from_tuples_are_stored_and_audited_as_from_instances(people):
    study, first, second = people
    participants = {
        p.pk: Participant.objects.select_related("site").get(pk=p.pk) for p in (first, second)
    }
    fields = ("participant_id", "assessment_date", "derived_response", "derived_confirmed",
              "reasons", "engine_version")  # fmt: skip
    rows = [
        (
            second.pk,
            dt.date(2027, 3, 8),
            "PR",
            True,
            ["M-protein fell by 55 %", {"rule": "x"}],
            "1",
        ),
        (first.pk, dt.date(2027, 2, 8), "SD", False, [], "1"),
    ]
    with audit_actor(study.data_manager, via="cli"), transaction.atomic():
        ids = records_insert_across(
            ResponseAssessment,
            rows,
            fields=fields,
            key=("participant_id", "assessment_date"),
            participants=participants,
            context={"derived_by": "clinical.imwg"},
        )
        later = [(pk, day + dt.timedelta(days=28), *rest) for pk, day, *rest in rows]
        reference = records_create_across(
            [ResponseAssessment(**dict(zip(fields, row, strict=True))) for row in later],
            participants=participants,
            context={"derived_by": "clinical.imwg"},
        )
    for pk, row, instance in zip(ids, rows, reference, strict=True):
        stored = ResponseAssessment.objects.get(pk=pk)
        assert (stored.participant_id, stored.assessment_date) == row[:2]
        assert _stored(ResponseAssessment, pk) == _stored(ResponseAssessment, instance.pk)
        fast_event = AuditEvent.objects.get(model="responseassessment", object_pk=str(pk))
        slow_event = AuditEvent.objects.get(model="responseassessment", object_pk=str(instance.pk))
        assert list(fast_event.changes) == list(slow_event.changes)
        for name in ("derived_response", "derived_confirmed", "reasons", "investigator_response"):
            assert fast_event.changes[name] == slow_event.changes[name]
        assert fast_event.context == slow_event.context
        assert (fast_event.site_code, fast_event.subject) == (
            slow_event.site_code,
            slow_event.subject,
        )
    assert audit_verify().ok


def test_ids_are_found_by_key_when_the_new_ids_are_not_above_the_old_ones(people, monkeypatch):
    from django.db.models import QuerySet

    _, first, second = people
    # as if rows had been stored with ids beyond the sequence (a restored or merged table)
    monkeypatch.setattr(QuerySet, "aggregate", lambda self, **kw: {"last": 10**9})
    fields = ("participant_id", "analyte", "collected_on", "accession")
    rows = [
        (second.pk, "kappa_flc", dt.date(2027, 2, 8), "Q2"),
        (first.pk, "kappa_flc", dt.date(2027, 2, 8), "Q1"),
    ]
    with transaction.atomic():
        ids = insert_rows(
            LabResult,
            rows,
            fields=fields,
            key=("accession", "analyte"),
            where={"source": "central"},
        )
    stored = LabResult.objects.in_bulk(ids)
    assert [(stored[pk].participant_id, stored[pk].accession) for pk in ids] == [
        (second.pk, "Q2"),
        (first.pk, "Q1"),
    ]
