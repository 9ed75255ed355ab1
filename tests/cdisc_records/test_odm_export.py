"""`mmtrial export odm`: ODM 1.3.2, schema-valid, whose transactions replay to the database.

The expected values are read from the database here (each field's stored value, written as
ODM text: ISO dates, plain decimals, true/false, JSON with sorted keys), and the audit events
from the audit table, not from the exporter.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from mmtrial.cli import app
from tests.cdisc_records.conftest import CHANGE_REASON

pytestmark = pytest.mark.django_db

NS = {"odm": "http://www.cdisc.org/ns/odm/v1.3"}
O = "{http://www.cdisc.org/ns/odm/v1.3}"  # noqa: E741


@pytest.fixture(scope="module")
def exported(demo, tmp_path_factory):
    out = tmp_path_factory.mktemp("odm") / "study.xml"
    result = CliRunner().invoke(app, ["export", "odm", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result.output, ET.parse(out).getroot()


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def test_the_export_validates_against_the_odm_1_3_2_schema(exported):
    from mmtrial.cdisc.odm import validate_odm

    path, output, root = exported
    assert "valid ODM 1.3.2" in output
    assert validate_odm(path) == []
    assert root.get("FileType") == "Transactional" and root.get("ODMVersion") == "1.3.2"


def test_a_broken_file_is_reported_by_the_schema(exported, tmp_path):
    from mmtrial.cdisc.odm import validate_odm

    text = exported[0].read_text(encoding="utf-8")
    broken = tmp_path / "broken.xml"
    broken.write_text(text.replace('FileType="Transactional"', 'FileType="Everything"', 1))
    problems = validate_odm(broken)
    assert problems and "FileType" in " ".join(problems)


def test_study_metadata_comes_from_the_protocol_file(exported):
    from mmtrial.protocol import load_protocol

    protocol = load_protocol()
    root = exported[2]
    assert root.find("odm:Study/odm:GlobalVariables/odm:StudyName", NS).text == "IRD-J"
    mdv = root.find("odm:Study/odm:MetaDataVersion", NS)
    assert mdv.get("OID") == f"MDV.IRD-J.{protocol.identification.version}"
    cycle = mdv.find("odm:StudyEventDef[@OID='SE.CYCLE']", NS)
    assert cycle.get("Repeating") == "Yes"
    description = cycle.find("odm:Description/odm:TranslatedText", NS).text
    assert f"{protocol.cycle_length_days}-day cycle" in description
    assert "Ixazomib 4 mg oral, days 1, 8, 15" in description
    drugs = mdv.find("odm:CodeList[@OID='CL.DOSEADMINISTRATION.DRUG']", NS)
    decodes = [t.text for t in drugs.iter(f"{O}TranslatedText")]
    assert "イキサゾミブ" in decodes and "Lenalidomide" in decodes


def test_every_reference_points_at_a_definition(exported):
    root = exported[2]
    defined = {
        "ItemOID": {e.get("OID") for e in root.iter(f"{O}ItemDef")},
        "ItemGroupOID": {e.get("OID") for e in root.iter(f"{O}ItemGroupDef")},
        "FormOID": {e.get("OID") for e in root.iter(f"{O}FormDef")},
        "StudyEventOID": {e.get("OID") for e in root.iter(f"{O}StudyEventDef")},
        "UserOID": {e.get("OID") for e in root.iter(f"{O}User")},
        "LocationOID": {e.get("OID") for e in root.iter(f"{O}Location")},
        "SignatureOID": {e.get("OID") for e in root.iter(f"{O}SignatureDef")},
        "CodeListOID": {e.get("OID") for e in root.iter(f"{O}CodeList")},
    }
    for element in root.iter():
        for attribute, known in defined.items():
            value = element.get(attribute)
            if value is not None and not element.tag.endswith("Def"):
                assert value in known, (element.tag, attribute, value)


def test_replaying_the_transactions_gives_the_database(exported):
    """Every record of every participant, field by field, and its deletion flag."""
    from mmtrial.cdisc import odm_forms
    from mmtrial.edc.selectors.records_export import record_models

    root = exported[2]
    state: dict[tuple, dict[str, str | None]] = {}
    removed: set[tuple] = set()
    for group in root.iter(f"{O}ItemGroupData"):
        key = (group.get("ItemGroupOID"), group.get("ItemGroupRepeatKey"))
        kind = group.get("TransactionType")
        if kind == "Remove":
            removed.add(key)
            continue
        if kind == "Insert":
            assert key not in state, key
            state[key] = {}
        for item in group.findall("odm:ItemData", NS):
            state[key][item.get("ItemOID")] = (
                None if item.get("IsNull") == "Yes" else item.get("Value")
            )
    compared = 0
    for name, (model, _path) in record_models().items():
        for row in model.objects.all():
            key = (f"IG.{name.upper()}", str(row.pk))
            assert key in state, key
            assert (key in removed) == row.is_deleted, key
            for f in odm_forms.data_fields(model):
                expected = _text(getattr(row, f.attname))
                assert state[key].get(odm_forms.item_oid(name, f.attname)) == expected, (
                    key,
                    f.attname,
                )
                compared += 1
    assert compared > 1000


def test_each_audit_event_is_a_transaction_with_who_when_and_why(exported):
    from mmtrial.edc.models import AuditEvent, User

    root = exported[2]
    subjects = root.findall("odm:ClinicalData/odm:SubjectData", NS)
    participant_events = AuditEvent.objects.exclude(subject="").exclude(site_code="")
    assert len(subjects) == participant_events.count()
    changed = AuditEvent.objects.get(reason=CHANGE_REASON)
    record = next(
        s.find("odm:AuditRecord", NS)
        for s in subjects
        if f"audit event {changed.id} " in s.find("odm:AuditRecord/odm:SourceID", NS).text
    )
    assert record.find("odm:ReasonForChange", NS).text == CHANGE_REASON
    assert record.find("odm:UserRef", NS).get("UserOID") == f"USR.{changed.actor_id}"
    stamp = dt.datetime.fromisoformat(record.find("odm:DateTimeStamp", NS).text)
    assert stamp == changed.occurred_at and stamp.utcoffset() == dt.timedelta(0)
    assert changed.hash in record.find("odm:SourceID", NS).text
    users = {u.get("OID"): u for u in root.iter(f"{O}User")}
    actor = User.objects.get(pk=changed.actor_id)
    assert users[f"USR.{actor.pk}"].find("odm:LoginName", NS).text == actor.username


def test_signatures_and_their_invalidation_are_in_the_file(exported):
    from mmtrial.edc.models import Signature

    root = exported[2]
    signatures = list(root.iter(f"{O}Signature"))
    assert len(signatures) == Signature.objects.count() >= 1
    signature = Signature.objects.order_by("pk").last()  # the fixture's, invalidated
    element = signatures[-1]
    assert element.find("odm:UserRef", NS).get("UserOID") == f"USR.{signature.signer_id}"
    assert element.find("odm:SignatureRef", NS).get("SignatureOID") == "SD.APPROVAL"
    assert dt.datetime.fromisoformat(element.find("odm:DateTimeStamp", NS).text) == (
        signature.signed_at
    )
    comments = " ".join(c.text for c in root.iter(f"{O}Comment"))
    assert signature.content_sha256 in comments
    assert f"signature_invalidated signature {signature.pk}" in comments


def test_the_export_is_recorded_in_the_audit_trail_with_its_checksum(exported):
    from mmtrial.edc.models import AuditEvent

    path = exported[0]
    event = AuditEvent.objects.filter(action="export_odm").latest("id")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert event.context["files"] == [{"name": path.name, "sha256": sha}]
    assert sha in exported[1]


def test_reading_the_records_costs_a_fixed_number_of_queries(demo, django_assert_max_num_queries):
    from mmtrial.edc.models import Participant
    from mmtrial.edc.selectors.records_export import participant_records_iter

    participants = Participant.objects.all()
    with django_assert_max_num_queries(24):  # 1 + participants + 16 record types + 4
        records = list(participant_records_iter(participants, chunk_size=1000))
    assert len(records) == participants.count()
    with django_assert_max_num_queries(2 * 24):  # two chunks
        assert len(list(participant_records_iter(participants, chunk_size=3))) == len(records)


def test_participants_are_read_one_at_a_time_while_the_file_is_written(demo, tmp_path):
    """Streaming: when participant k is reported written, only k have been read."""
    from django.utils import timezone

    from mmtrial.cdisc.odm import write_odm
    from mmtrial.edc.selectors import records_export as rx
    from mmtrial.protocol import load_protocol

    pulled = []

    def participants():
        for records in rx.participant_records_iter(rx.records_export_participants(), chunk_size=2):
            pulled.append(records.subject_key)
            yield records

    written = []
    summary = write_odm(
        tmp_path / "stream.xml",
        protocol=load_protocol(),
        participants=participants(),
        models={name: model for name, (model, _) in rx.record_models().items()},
        users=rx.records_export_users(),
        sites=rx.records_export_sites(),
        meanings=["Approval"],
        legal_reason="test",
        now=timezone.now(),
        advance=lambda: written.append(len(pulled)),
    )
    assert written == list(range(1, summary.participants + 1))
    assert summary.participants == len(pulled) >= 5


def test_a_demo_events_audit_record_names_the_study_date_it_stands_for(exported):
    """Issue 12 item 7: DateTimeStamp is the real time; SourceID says which study date."""
    from mmtrial.edc.models import AuditEvent

    root = exported[2]
    event = (
        AuditEvent.objects.exclude(subject="")
        .exclude(site_code="")
        .filter(context__has_key="stands_for")
        .first()
    )
    record = next(
        s.find("odm:AuditRecord", NS)
        for s in root.findall("odm:ClinicalData/odm:SubjectData", NS)
        if f"audit event {event.id} " in s.find("odm:AuditRecord/odm:SourceID", NS).text
    )
    stamp = dt.datetime.fromisoformat(record.find("odm:DateTimeStamp", NS).text)
    assert stamp == event.occurred_at
    source = record.find("odm:SourceID", NS).text
    assert f"standing for study date {event.context['stands_for']}" in source
