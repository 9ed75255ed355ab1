"""FHIR R4 central laboratory import: a bundle stores what the equivalent CSV stores, a bad
bundle names each bad entry and writes nothing, and importing it again changes nothing."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from decimal import Decimal

import pytest
from django.db import transaction
from freezegun import freeze_time
from typer.testing import CliRunner

from mmtrial.edc.lab_import import lab_import
from mmtrial.edc.lab_import_check import LabImportError
from mmtrial.edc.lab_import_fhir import lab_import_fhir
from mmtrial.edc.models import AuditEvent, LabResult
from tests.edc.builders import Study, started
from tests.edc.fhir_bundles import bundle, bundle_bytes, from_csv_rows, observation

pytestmark = pytest.mark.django_db

TODAY = dt.date(2027, 6, 1)
FIELDS = (
    "participant_id", "analyte", "value", "value_text", "unit", "reported_value",
    "reported_unit", "collected_on", "accession", "source", "is_deleted",
)  # fmt: skip


@pytest.fixture
def setup():
    study = Study("C1")
    first, _ = started(study, "SCR-001")
    second, _ = started(study, "SCR-002")
    return study, first, second


def _demo_rows(first, second):
    """A central laboratory month like the demo's: two participants, every analyte, the units
    central laboratories send (g/L, mg/dL, g/24h as well as the stored units)."""
    a, b = first.subject_id, second.subject_id
    return [
        (a, "CL2027-000123", "2027-02-08", "serum_m_protein", "1.150", "g/dL"),
        (a, "CL2027-000123", "2027-02-08", "kappa_flc", "12.4", "mg/L"),
        (a, "CL2027-000123", "2027-02-08", "lambda_flc", "31.0", "mg/dL"),
        (a, "CL2027-000123", "2027-02-08", "serum_ife", "positive", ""),
        (a, "CL2027-000124", "2027-02-08", "urine_m_protein", "0.18", "g/24h"),
        (a, "CL2027-000124", "2027-02-08", "urine_ife", "negative", ""),
        (b, "CL2027-000200", "2027-02-10", "serum_m_protein", "24", "g/L"),
        (b, "CL2027-000200", "2027-02-10", "kappa_flc", "1.9", "mg/dL"),
        (b, "CL2027-000200", "2027-02-10", "lambda_flc", "8.75", "mg/L"),
        (b, "CL2027-000200", "2027-02-10", "serum_ife", "Positive", ""),
        (b, "CL2027-000201", "2027-02-10", "urine_m_protein", "210", "mg/24h"),
        (b, "CL2027-000201", "2027-02-10", "urine_ife", "positive", ""),
    ]


def _csv(rows) -> bytes:
    lines = ["subject_id,accession,collected_on,analyte,value,unit"]
    lines += [",".join(row) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def _stored():
    return sorted(
        tuple(getattr(lab, f) for f in FIELDS)
        for lab in LabResult.objects.filter(source="central").order_by("pk")
    )


def _counts():
    return LabResult.objects.count(), AuditEvent.objects.count()


def _fhir(study, data: bytes, name="central-2027-02.json"):
    return lab_import_fhir(user=study.data_manager, data=data, file_name=name, today=TODAY)


def test_a_bundle_stores_the_same_values_as_the_equivalent_csv(setup):
    study, first, second = setup
    rows = _demo_rows(first, second)
    with transaction.atomic():  # import the CSV, remember what it stored, then undo it
        lab_import(user=study.data_manager, data=_csv(rows), file_name="c.csv", today=TODAY)
        from_csv = _stored()
        transaction.set_rollback(True)
    assert len(from_csv) == 12
    assert _stored() == []

    report = _fhir(study, from_csv_rows(rows))

    assert report.created == 12
    assert _stored() == from_csv  # field by field: value, unit, reported value and unit, date...
    by_key = {(r[8], r[1]): r for r in _stored()}
    # hand conversions (docs/lab-import.md): 31.0 mg/dL = 310 mg/L; 24 g/L = 2.4 g/dL;
    # 0.18 g/24h = 180 mg/24h; the reported literal is kept as written
    assert by_key[("CL2027-000123", "lambda_flc")][2] == Decimal("310")
    assert by_key[("CL2027-000200", "serum_m_protein")][2] == Decimal("2.4")
    assert by_key[("CL2027-000124", "urine_m_protein")][2] == Decimal("180")
    assert by_key[("CL2027-000123", "serum_m_protein")][5] == "1.150"
    assert by_key[("CL2027-000200", "serum_ife")][3] == "positive"


def test_every_result_is_audited_with_the_bundle_file_name_and_its_sha256(setup):
    study, first, second = setup
    data = from_csv_rows(_demo_rows(first, second))
    _fhir(study, data, name="central-2027-02.json")
    events = AuditEvent.objects.filter(
        model="labresult", action="create", context__file="central-2027-02.json"
    )
    assert events.count() == 12
    digest = hashlib.sha256(data).hexdigest()
    assert {(e.context["file"], e.context["sha256"]) for e in events} == {
        ("central-2027-02.json", digest)
    }
    assert {e.actor_id for e in events} == {study.data_manager.pk}
    # the row number is the entry's number in the bundle (1 = the first entry)
    assert sorted(e.context["row"] for e in events) == list(range(1, 13))


def test_importing_the_same_bundle_again_changes_nothing(setup):
    study, first, second = setup
    data = from_csv_rows(_demo_rows(first, second))
    _fhir(study, data)
    before, stored = _counts(), _stored()
    again = _fhir(study, data)
    assert (again.created, again.corrected, again.unchanged) == (0, 0, 12)
    assert _counts() == before
    assert _stored() == stored


def test_a_changed_value_for_a_stored_accession_is_an_audited_correction(setup):
    study, first, second = setup
    rows = _demo_rows(first, second)
    _fhir(study, from_csv_rows(rows))
    rows[0] = (*rows[0][:4], "1.30", "g/dL")
    report = _fhir(study, from_csv_rows(rows), name="central-2027-02-corrected.json")
    assert (report.created, report.corrected, report.unchanged) == (0, 1, 11)
    lab = LabResult.objects.get(accession="CL2027-000123", analyte="serum_m_protein")
    assert lab.value == Decimal("1.3")
    update = AuditEvent.objects.get(model="labresult", action="update", object_pk=str(lab.pk))
    assert "central-2027-02-corrected.json" in update.reason


def test_patient_and_specimen_entries_of_the_bundle_are_followed(setup):
    study, first, _ = setup
    result = observation(first.subject_id, "X", "2027-02-08", "kappa_flc", "12.4", "mg/L")
    result["subject"] = {"reference": "Patient/p1"}
    result["specimen"] = {"reference": "urn:uuid:spec-1"}
    del result["effectiveDateTime"]
    document = bundle([result])
    document["entry"] += [
        {
            "fullUrl": "urn:uuid:patient-1",
            "resource": {
                "resourceType": "Patient",
                "id": "p1",
                "identifier": [{"system": "urn:mmtrial:subject-id", "value": first.subject_id}],
            },
        },
        {
            "fullUrl": "urn:uuid:spec-1",
            "resource": {
                "resourceType": "Specimen",
                "accessionIdentifier": {"value": "CL2027-000900"},
                "collection": {"collectedDateTime": "2027-02-09T23:10:00-05:00"},
            },
        },
    ]
    report = _fhir(study, bundle_bytes(document))
    assert (report.rows, report.created) == (1, 1)
    lab = LabResult.objects.get(source="central")
    assert (lab.participant_id, lab.accession, lab.collected_on) == (
        first.pk,
        "CL2027-000900",
        dt.date(2027, 2, 9),  # the date as the laboratory wrote it, no time-zone shift
    )


def _one(first, **changes):
    resource = observation(first.subject_id, "CL1", "2027-02-08", "serum_m_protein", "1.2", "g/dL")
    for key, value in changes.items():
        if value is None:
            resource.pop(key, None)
        else:
            resource[key] = value
    return resource


def _bad_bundles(first):
    good = _one(first)
    condition = {
        "resourceType": "Condition",
        "subject": {"identifier": {"value": first.subject_id}},
    }
    creatinine = _one(first, code={"coding": [{"system": "http://loinc.org", "code": "2160-0"}]})
    mmol = _one(first)
    mmol["valueQuantity"] = dict(mmol["valueQuantity"], code="mmol/L", unit="mmol/L")
    stranger = _one(first, subject={"identifier": {"value": "T99-999"}})
    ife_quantity = observation(first.subject_id, "CL1", "2027-02-08", "serum_ife", "positive", "")
    ife_quantity["valueQuantity"] = {"value": 1, "system": "http://unitsofmeasure.org", "code": "1"}
    del ife_quantity["valueCodeableConcept"]
    return {
        "wrong resource type": ([good, condition], [(2, "resourceType")]),
        "unknown LOINC": ([creatinine], [(1, "code")]),
        "missing subject": ([_one(first, subject=None)], [(1, "subject")]),
        "wrong unit": ([mmol], [(1, "valueQuantity.code")]),
        "unknown participant": ([stranger], [(1, "subject")]),
        "no collection date": ([_one(first, effectiveDateTime=None)], [(1, "effectiveDateTime")]),
        "a future date": (
            [_one(first, effectiveDateTime="2027-07-01")],
            [(1, "effectiveDateTime")],
        ),
        "preliminary": ([_one(first, status="preliminary")], [(1, "status")]),
        "not FHIR R4": ([_one(first, status=None)], [(1, "resource")]),
        "IFE as a quantity": ([ife_quantity], [(1, "valueQuantity")]),
        "a huge value": (
            [observation(first.subject_id, "CL1", "2027-02-08", "kappa_flc", "1e400", "mg/L")],
            [(1, "value[x]")],
        ),
        "two bad entries": (
            [good, _one(first, subject=None), creatinine],
            [(2, "subject"), (3, "code")],
        ),
    }


BAD = (
    "wrong resource type", "unknown LOINC", "missing subject", "wrong unit",
    "unknown participant", "no collection date", "a future date", "preliminary", "not FHIR R4",
    "IFE as a quantity", "a huge value", "two bad entries",
)  # fmt: skip


@pytest.mark.parametrize("case", BAD)
def test_a_bad_bundle_names_each_bad_entry_and_writes_nothing(setup, case):
    study, first, _ = setup
    resources, expected = _bad_bundles(first)[case]
    before = _counts()
    with pytest.raises(LabImportError) as caught:
        _fhir(study, bundle_bytes(bundle(copy.deepcopy(resources))))
    found = [(p.row, p.column) for p in caught.value.problems]
    assert found == expected, caught.value.problems
    assert f"entry {expected[0][0]}" in str(caught.value)
    assert _counts() == before


def test_the_unknown_loinc_and_wrong_unit_messages_say_what_is_accepted(setup):
    study, first, _ = setup
    resources, _ = _bad_bundles(first)["wrong unit"]
    with pytest.raises(LabImportError) as caught:
        _fhir(study, bundle_bytes(bundle(resources)))
    message = caught.value.problems[0].message
    assert "'mmol/L'" in message and "g/dL, g/L, mg/dL" in message


@pytest.mark.parametrize(
    ("data", "column"),
    [
        (b"", ""),
        (b"subject_id,accession\n", ""),
        (json.dumps({"resourceType": "Observation"}).encode(), "resourceType"),
        (
            json.dumps({"resourceType": "Bundle", "type": "collection", "entry": []}).encode(),
            "entry",
        ),
        (json.dumps([1, 2]).encode(), ""),
        (json.dumps({"resourceType": "Bundle", "entry": [{}]}).encode(), "Bundle"),
    ],
    ids=["empty", "csv", "an observation", "no entries", "an array", "no bundle type"],
)
def test_a_file_that_is_not_a_bundle_is_refused_as_the_bundle(setup, data, column):
    study, _, _ = setup
    before = _counts()
    with pytest.raises(LabImportError) as caught:
        _fhir(study, data)
    first = caught.value.problems[0]
    assert (first.row, first.column) == (0, column)
    assert str(caught.value).startswith("central-2027-02.json: bundle")
    assert _counts() == before


CLI_PASSWORD = "importer-pass-long-1"


def _cli_importer(study):
    from django.utils import timezone

    user = study.data_manager
    user.set_password(CLI_PASSWORD)
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "password_changed_at"])
    return ["--user", user.username, "--password-stdin"], CLI_PASSWORD + "\n"


def test_cli_imports_a_json_bundle_and_refuses_a_bad_one_naming_the_entry(setup, tmp_path):
    from mmtrial.cli import app

    study, first, second = setup
    good = tmp_path / "central-2027-02.json"
    good.write_bytes(from_csv_rows(_demo_rows(first, second)))
    bad = tmp_path / "bad.json"
    resources, _ = _bad_bundles(first)["unknown LOINC"]
    bad.write_bytes(bundle_bytes(bundle(resources)))
    auth, password = _cli_importer(study)
    with freeze_time("2027-06-01"):
        refused = CliRunner().invoke(app, ["lab", "import", str(bad), *auth], input=password)
        assert refused.exit_code == 2
        assert "entry 1, code: unknown LOINC code '2160-0'" in refused.output
        assert "Traceback" not in refused.output
        assert LabResult.objects.filter(source="central").count() == 0
        result = CliRunner().invoke(
            app, ["lab", "import", str(good), *auth, "--json"], input=password
        )
    assert result.exit_code == 0, result.output
    assert '"created": 12' in result.output
    events = AuditEvent.objects.filter(model="labresult", context__file="central-2027-02.json")
    assert {e.context["via"] for e in events} == {"cli"}
