"""Each row of a lab import gets its own audit event about its own stored result (P11-10e).

The import inserts the rows as tuples and reads their ids back; an id given to the wrong row
would audit one result under another's record. The rows must also be stored exactly as a
model save would store them (defaults, timestamps, source).
"""

import datetime as dt
from decimal import Decimal

import pytest

from mmtrial.edc.audit import audit_verify
from mmtrial.edc.lab_import import lab_import
from mmtrial.edc.models import AuditEvent, LabResult
from tests.edc.builders import Study, started

pytestmark = pytest.mark.django_db

TODAY = dt.date(2027, 6, 1)
# one accession carries several analytes, as a central laboratory sends them
ROWS = [
    ("ACC1", "2027-02-08", "serum_m_protein", "12", "g/L"),
    ("ACC1", "2027-02-08", "serum_ife", "positive", ""),
    ("ACC1", "2027-02-08", "kappa_flc", "1.25", "mg/dL"),
    ("ACC2", "2027-03-08", "serum_m_protein", "0.8", "g/dL"),
    ("ACC2", "2027-03-08", "lambda_flc", "310", "mg/L"),
]


def test_each_imported_row_is_stored_whole_and_audited_under_its_own_id():
    study = Study("C1")
    participant, _ = started(study)
    lines = ["subject_id,accession,collected_on,analyte,value,unit"] + [
        f"{participant.subject_id},{a},{d},{n},{v},{u}" for a, d, n, v, u in ROWS
    ]
    data = ("\n".join(lines) + "\n").encode()
    report = lab_import(user=study.data_manager, data=data, file_name="c.csv", today=TODAY)
    assert report.created == len(ROWS)
    labs = {(lab.accession, lab.analyte): lab for lab in LabResult.objects.filter(source="central")}
    assert len(labs) == len(ROWS)
    events = {
        e.object_pk: e
        for e in AuditEvent.objects.filter(
            model="labresult", action="create", reason__contains="c.csv"
        )
    }
    for number, (accession, day, analyte, value, unit) in enumerate(ROWS, start=1):
        lab = labs[(accession, analyte)]
        assert (lab.version, lab.is_deleted, lab.visit_id) == (1, False, None)
        assert lab.created_at is not None and lab.updated_at is not None
        assert (lab.participant_id, lab.collected_on) == (
            participant.pk,
            dt.date.fromisoformat(day),
        )
        assert (lab.reported_value, lab.reported_unit) == (value, unit)
        event = events[str(lab.pk)]
        assert event.context["row"] == number
        assert event.actor_username == study.data_manager.username
        assert event.changes["accession"]["new"] == accession
        assert event.changes["analyte"]["new"] == analyte
        assert event.changes["source"]["new"] == "central"
        stored = None if lab.value is None else format(lab.value.normalize(), "f")
        assert event.changes["value"]["new"] == stored
    assert labs[("ACC1", "serum_m_protein")].value == Decimal("1.2")  # g/L -> g/dL
    assert labs[("ACC1", "kappa_flc")].value == Decimal("12.5")  # mg/dL -> mg/L
    assert labs[("ACC1", "serum_ife")].value_text == "positive"
    assert audit_verify().ok
