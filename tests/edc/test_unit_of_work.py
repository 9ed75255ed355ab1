"""The unit of work: one lock per participant, the version required, one audit batch, signatures
voided once, nothing half-written, every clinical write through it (issue 11 item 1)."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import mmtrial
from mmtrial.edc.audit import audit_verify
from mmtrial.edc.models import AuditEvent, DoseAdministration, LabResult, Signature
from mmtrial.edc.models.base import ClinicalRecord
from mmtrial.edc.models.trust import SignatureStatus
from mmtrial.edc.services.labs import lab_result_record
from mmtrial.edc.services.treatment import dose_record
from mmtrial.edc.unit_of_work import VERSION_REQUIRED, unit_of_work
from mmtrial.errors import ConflictError, InputError
from tests.edc.builders import C1D1, Study, started

pytestmark = pytest.mark.django_db


def _lab(participant, value="11", on=C1D1):
    return LabResult(
        participant=participant,
        analyte="hemoglobin",
        value=value,
        unit="g/dL",
        reported_value=value,
        reported_unit="g/dL",
        collected_on=on,
        source="local",
    )


def _selects(ctx, table: str) -> int:
    return sum(1 for q in ctx.captured_queries if f'FROM "{table}"' in q["sql"])


def test_the_participant_is_locked_once_and_the_audit_appended_once():
    participant, _ = started(Study("U1"))
    before = AuditEvent.objects.count()
    with CaptureQueriesContext(connection) as ctx, unit_of_work() as uow:
        for value in ("10", "11", "12"):
            uow.create(_lab(participant, value))
    locks = [q for q in ctx.captured_queries if 'SELECT "edc_participant"."locked"' in q["sql"]]
    assert len(locks) == 1
    assert _selects(ctx, "edc_auditchainhead") == 1
    events = list(AuditEvent.objects.order_by("id")[before:])
    assert [e.model for e in events] == ["labresult"] * 3
    assert [e.id for e in events] == list(range(events[0].id, events[0].id + 3))
    assert audit_verify().ok


def test_an_update_without_the_version_is_refused_and_nothing_changes():
    study = Study("U2")
    participant, _ = started(study)
    lab = lab_result_record(
        user=study.coordinator,
        participant_id=participant.pk,
        analyte="hemoglobin",
        value="11",
        unit="g/dL",
        collected_on=C1D1,
    )
    with pytest.raises(ConflictError) as err, unit_of_work() as uow:
        uow.update(lab, expected_version=None, values={"value": 12}, reason="typo")
    assert err.value.message == VERSION_REQUIRED
    lab.refresh_from_db()
    assert lab.value == 11 and lab.version == 1


def test_a_stale_version_is_a_conflict_naming_both_versions():
    participant, _ = started(Study("U3"))
    with unit_of_work() as uow:
        lab = uow.create(_lab(participant))
    with unit_of_work() as uow:
        uow.update(lab, expected_version=1, values={"value": 12}, reason="typo")
    stale = LabResult.objects.get(pk=lab.pk)
    stale.version = 1  # as the first editor's form still has it
    with pytest.raises(ConflictError, match=r"your version 1, now 2"), unit_of_work() as uow:
        uow.update(stale, expected_version=1, values={"value": 13}, reason="mine")
    assert LabResult.objects.get(pk=lab.pk).value == 12


def test_an_error_late_in_the_unit_leaves_nothing_written_not_even_audit_events():
    participant, _ = started(Study("U4"))
    labs, events = LabResult.objects.count(), AuditEvent.objects.count()
    with pytest.raises(InputError), unit_of_work() as uow:
        uow.create(_lab(participant, "11"))
        uow.create(_lab(participant, "500"))  # hemoglobin above the hard limit
    assert LabResult.objects.count() == labs and AuditEvent.objects.count() == events
    assert audit_verify().ok


def test_signatures_are_voided_once_for_many_changes():
    study = Study("U5")
    participant, _ = started(study)
    Signature.objects.create(
        participant=participant,
        signer=study.investigator,
        printed_name="Dr",
        meaning="approval",
        signed_at=dt.datetime(2027, 2, 1, tzinfo=dt.UTC),
        content_sha256="0" * 64,
        confirmation_text_version="1",
    )
    with unit_of_work() as uow:
        for value in ("10", "11"):
            uow.create(_lab(participant, value))
    voided = AuditEvent.objects.filter(action="signature_invalidated")
    assert voided.count() == 1
    signature = Signature.objects.get()
    assert signature.status == SignatureStatus.INVALIDATED
    assert "labresult" in signature.invalidated_reason


def test_a_dose_save_and_a_lab_save_take_at_most_15_queries():
    study = Study("U6")
    participant, cycle = started(study)
    dose = DoseAdministration.objects.filter(cycle=cycle).first()
    with CaptureQueriesContext(connection) as ctx:
        dose_record(
            user=study.coordinator, dose_id=dose.pk, status="taken", expected_version=dose.version
        )
    assert len(ctx.captured_queries) <= 15, [q["sql"][:80] for q in ctx.captured_queries]
    with CaptureQueriesContext(connection) as ctx:
        lab_result_record(
            user=study.coordinator,
            participant_id=participant.pk,
            analyte="hemoglobin",
            value="11",
            unit="g/dL",
            collected_on=C1D1,
        )
    assert len(ctx.captured_queries) <= 15, [q["sql"][:80] for q in ctx.captured_queries]


# --- every clinical write goes through the unit of work -----------------------------------------

_WRITES = {"create", "bulk_create", "update", "update_or_create", "get_or_create", "delete"}


def _clinical_models() -> set[str]:
    from django.apps import apps

    return {
        m.__name__ for m in apps.get_app_config("edc").get_models() if issubclass(m, ClinicalRecord)
    }


def test_no_module_but_the_unit_of_work_writes_clinical_rows():
    """`Model.objects.<write>` (create, update, delete...) on a clinical model appears in
    edc/unit_of_work.py only (design rule 3: one write path)."""
    clinical = _clinical_models()
    root = Path(mmtrial.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if "migrations" in path.parts or path.name == "unit_of_work.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in _WRITES:
                continue
            # Model.objects.create(...), Model.objects.filter(...).update(...)
            base = node.func.value
            while isinstance(base, ast.Call | ast.Attribute):
                base = base.func if isinstance(base, ast.Call) else base.value
            if isinstance(base, ast.Name) and base.id in clinical:
                offenders.append(f"{path.relative_to(root)}:{node.lineno}")
    assert offenders == []
