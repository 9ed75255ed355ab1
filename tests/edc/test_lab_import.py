"""Central laboratory import: all rows or none, every problem named, idempotent, attributed
(compliance E6-4.2.5, P11-10h)."""

import datetime as dt
import getpass
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from freezegun import freeze_time
from typer.testing import CliRunner

from mmtrial.edc.lab_import import LabImportError, lab_import
from mmtrial.edc.models import AuditEvent, LabResult, ResponseAssessment
from mmtrial.errors import PermissionDenied
from tests.edc.builders import Study, started

pytestmark = pytest.mark.django_db

HEADER = "subject_id,accession,collected_on,analyte,value,unit\n"


def _rows(subject: str, n: int, *, start_accession: int = 1) -> list[str]:
    analytes = [
        ("serum_m_protein", "1.2", "g/dL"),
        ("urine_m_protein", "150", "mg/24h"),
        ("kappa_flc", "12.5", "mg/L"),
        ("lambda_flc", "310", "mg/L"),
        ("serum_ife", "positive", ""),
    ]
    rows = []
    for i in range(n):
        analyte, value, unit = analytes[i % len(analytes)]
        rows.append(f"{subject},ACC{start_accession + i:05d},2027-02-08,{analyte},{value},{unit}\n")
    return rows


def _csv(rows: list[str]) -> bytes:
    return (HEADER + "".join(rows)).encode()


@pytest.fixture
def setup():
    study = Study("C1")
    participant, _ = started(study)
    return study, participant


TODAY = dt.date(2027, 6, 1)


def _import(study, data: bytes, name="central.csv", **kwargs):
    return lab_import(user=study.data_manager, data=data, file_name=name, today=TODAY, **kwargs)


def _counts():
    return LabResult.objects.count(), AuditEvent.objects.count()


@pytest.mark.req("E6-4.2.5")
def test_a_100_row_file_with_row_57_invalid_writes_nothing_and_names_row_57(setup):
    study, participant = setup
    rows = _rows(participant.subject_id, 100)
    rows[56] = f"{participant.subject_id},ACC00057,2027-02-08,serum_m_protein,abc,g/dL\n"
    before = _counts()
    with pytest.raises(LabImportError) as caught:
        _import(study, _csv(rows))
    assert [(p.row, p.column) for p in caught.value.problems] == [(57, "value")]
    assert "row 57" in str(caught.value)
    assert _counts() == before


@pytest.mark.req("E6-4.2.5")
def test_a_valid_file_writes_every_row_audited_with_user_file_and_checksum(setup):
    study, participant = setup
    data = _csv(_rows(participant.subject_id, 100))
    report = _import(study, data, name="central-2027-02.csv")
    assert (report.created, report.corrected, report.unchanged) == (100, 0, 0)
    sha = hashlib.sha256(data).hexdigest()
    assert report.sha256 == sha
    events = AuditEvent.objects.filter(
        model="labresult", action="create", context__file="central-2027-02.csv"
    )
    assert events.count() == 100
    for event in events[:5]:
        assert event.actor_id == study.data_manager.pk
        assert event.context["sha256"] == sha
        assert "central-2027-02.csv" in event.reason
    # responses re-derived once for the participant
    assert ResponseAssessment.objects.filter(participant=participant).count() == 1


@pytest.mark.req("E6-4.2.5")
def test_importing_the_same_file_again_changes_nothing(setup):
    study, participant = setup
    data = _csv(_rows(participant.subject_id, 20))
    _import(study, data)
    before = _counts()
    report = _import(study, data)
    assert (report.created, report.corrected, report.unchanged) == (0, 0, 20)
    assert _counts() == before


def test_a_changed_value_is_an_audited_correction_naming_the_file(setup):
    study, participant = setup
    _import(study, _csv(_rows(participant.subject_id, 5)))
    rows = _rows(participant.subject_id, 5)
    rows[0] = rows[0].replace(",1.2,", ",1.4,")
    data = _csv(rows)
    report = _import(study, data, name="corrected.csv")
    assert (report.created, report.corrected, report.unchanged) == (0, 1, 4)
    lab = LabResult.objects.get(accession="ACC00001", analyte="serum_m_protein")
    assert str(lab.value.normalize()) == "1.4"
    assert lab.version == 2
    event = AuditEvent.objects.get(model="labresult", object_pk=str(lab.pk), action="update")
    assert "corrected.csv" in event.reason
    assert hashlib.sha256(data).hexdigest() in event.reason
    assert event.changes["value"]["old"] == "1.2"


def test_units_are_converted_at_the_boundary_and_the_reported_value_is_kept(setup):
    study, participant = setup
    s = participant.subject_id
    _import(
        study,
        _csv(
            [
                f"{s},A1,2027-02-08,serum_m_protein,12,g/L\n",
                f"{s},A1,2027-02-08,kappa_flc,1.5,mg/dL\n",
                f"{s},A1,2027-02-08,urine_m_protein,0.35,g/24h\n",
                f"{s},A1,2027-02-08,urine_ife,NEGATIVE,\n",
            ]
        ),
    )
    got = {
        lab.analyte: (lab.value, lab.value_text, lab.unit, lab.reported_value, lab.reported_unit)
        for lab in LabResult.objects.filter(accession="A1")
    }
    assert (
        float(got["serum_m_protein"][0]) == pytest.approx(1.2)
        and got["serum_m_protein"][2] == "g/dL"
    )
    assert got["serum_m_protein"][3:] == ("12", "g/L")
    assert got["kappa_flc"][0] == 15 and got["kappa_flc"][2] == "mg/L"
    assert got["urine_m_protein"][0] == 350 and got["urine_m_protein"][2] == "mg/24h"
    assert got["urine_ife"][1] == "negative"


BAD_ROWS = {
    "unknown participant": ("XX-999,A9,2027-02-08,serum_m_protein,1.0,g/dL", "subject_id"),
    "unknown analyte": ("{s},A9,2027-02-08,albumin,3.5,g/dL", "analyte"),
    "non-numeric value": ("{s},A9,2027-02-08,serum_m_protein,1,0,g/dL", ""),
    "text value": ("{s},A9,2027-02-08,serum_m_protein,high,g/dL", "value"),
    "negative value": ("{s},A9,2027-02-08,serum_m_protein,-0.5,g/dL", "value"),
    "impossible date": ("{s},A9,2027-02-30,serum_m_protein,1.0,g/dL", "collected_on"),
    "not a date": ("{s},A9,08/02/2027,serum_m_protein,1.0,g/dL", "collected_on"),
    "wrong unit": ("{s},A9,2027-02-08,serum_m_protein,1.0,mmol/L", "unit"),
    "ife not positive or negative": ("{s},A9,2027-02-08,serum_ife,maybe,", "value"),
    "missing accession": ("{s},,2027-02-08,serum_m_protein,1.0,g/dL", "accession"),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
@pytest.mark.req("P11-10h")
def test_a_bad_row_is_reported_with_its_row_and_column_and_nothing_is_written(setup, case):
    study, participant = setup
    bad, column = BAD_ROWS[case]
    rows = _rows(participant.subject_id, 3)
    rows.insert(1, bad.format(s=participant.subject_id) + "\n")
    before = _counts()
    with pytest.raises(LabImportError) as caught:
        _import(study, _csv(rows))
    problems = caught.value.problems
    assert [p.row for p in problems] == [2]
    assert problems[0].column == column
    assert _counts() == before


def test_duplicate_rows_name_both_rows(setup):
    study, participant = setup
    rows = _rows(participant.subject_id, 3)
    rows.append(rows[0])
    with pytest.raises(LabImportError) as caught:
        _import(study, _csv(rows))
    (problem,) = caught.value.problems
    assert (problem.row, problem.column) == (4, "accession")
    assert "row 1" in problem.message
    assert LabResult.objects.filter(source="central").count() == 0


def test_every_problem_of_the_file_is_reported_not_only_the_first(setup):
    study, participant = setup
    s = participant.subject_id
    rows = [
        f"{s},A1,2027-02-30,serum_m_protein,x,g/dL\n",
        f"{s},A2,2027-02-08,serum_m_protein,1.0,g/dL\n",
        "ZZ,A3,2027-02-08,serum_m_protein,1.0,kg\n",
    ]
    with pytest.raises(LabImportError) as caught:
        _import(study, _csv(rows))
    found = {(p.row, p.column) for p in caught.value.problems}
    assert found == {(1, "collected_on"), (1, "value"), (3, "subject_id"), (3, "unit")}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty"),
        (b"subject_id,accession,collected_on,analyte,value,unit\n", "no data rows"),
        (b"patient,acc,date,test,result,unit\nX,1,2027-01-01,a,1,g\n", "missing column"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV"),
        (b'{"subject_id": "A-001", "value": 1.2}\n', "not a CSV"),
        ("subject_id,accession\n".encode("utf-16"), "not a CSV"),
    ],
    ids=["empty", "header only", "wrong columns", "binary", "json", "utf-16"],
)
def test_a_file_that_is_not_the_expected_csv_is_refused(setup, data, expected):
    study, _ = setup
    before = _counts()
    with pytest.raises(LabImportError, match=expected):
        _import(study, data)
    assert _counts() == before


def test_a_coordinator_may_not_import_central_laboratory_files(setup):
    study, participant = setup
    coordinator = study.coordinator
    with pytest.raises(PermissionDenied):
        lab_import(
            user=coordinator,
            data=_csv(_rows(participant.subject_id, 1)),
            file_name="x.csv",
            today=TODAY,
        )


def test_a_locked_participant_refuses_new_values_but_a_repeated_file_is_no_change(setup):
    study, participant = setup
    _import(study, _csv(_rows(participant.subject_id, 2)))
    participant.locked = True
    participant.save(update_fields=["locked"])
    before = _counts()
    report = _import(study, _csv(_rows(participant.subject_id, 2)))
    assert report.unchanged == 2
    with pytest.raises(LabImportError, match="locked"):
        _import(study, _csv(_rows(participant.subject_id, 3)))
    assert _counts() == before


# --- the command line ----------------------------------------------------------------------

CLI_PASSWORD = "importer-pass-long-1"


def _cli_importer(study) -> tuple[list[str], str]:
    """The data manager with a password of their own: the options and standard input that
    authenticate them at the command line."""
    from django.utils import timezone

    user = study.data_manager
    user.set_password(CLI_PASSWORD)
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "password_changed_at"])
    return ["--user", user.username, "--password-stdin"], CLI_PASSWORD + "\n"


def test_cli_refusal_prints_each_problem_and_exits_2_without_traceback(setup, tmp_path):
    from mmtrial.cli import app

    study, participant = setup
    path = tmp_path / "bad.csv"
    rows = _rows(participant.subject_id, 3)
    rows[2] = rows[2].replace("2027-02-08", "2027-13-01")
    path.write_bytes(_csv(rows))
    auth, password = _cli_importer(study)
    with freeze_time("2027-06-01"):
        result = CliRunner().invoke(app, ["lab", "import", str(path), *auth], input=password)
    assert result.exit_code == 2
    assert "row 3, column collected_on" in result.output
    assert "Traceback" not in result.output
    assert LabResult.objects.filter(source="central").count() == 0


def test_cli_imports_and_reports_counts(setup, tmp_path):
    from mmtrial.cli import app

    study, participant = setup
    path = tmp_path / "good.csv"
    path.write_bytes(_csv(_rows(participant.subject_id, 10)))
    auth, password = _cli_importer(study)
    args = ["lab", "import", str(path), *auth, "--json"]
    with freeze_time("2027-06-01"):
        result = CliRunner().invoke(app, args, input=password)
        assert result.exit_code == 0, result.output
        assert '"created": 10' in result.output
        again = CliRunner().invoke(app, args, input=password)
    events = AuditEvent.objects.filter(model="labresult", context__file="good.csv")
    assert events.count() == 10
    # compliance KF-3: the audit user is the importing person, through the CLI, who
    # authenticated; the operating-system account is recorded beside them
    assert {(e.actor_id, e.context["via"]) for e in events} == {(study.data_manager.pk, "cli")}
    assert {(e.context["auth"], e.context["os_account"]) for e in events} == {
        ("password", getpass.getuser())
    }
    assert '"unchanged": 10' in again.output


def test_cli_import_without_authentication_is_refused_and_imports_nothing(setup, tmp_path):
    from mmtrial.cli import app

    study, participant = setup
    path = tmp_path / "good.csv"
    path.write_bytes(_csv(_rows(participant.subject_id, 3)))
    _cli_importer(study)
    username = study.data_manager.username
    for args, stdin in (
        (["--user", username], None),  # no password and no terminal
        (["--user", username, "--password-stdin"], "wrong-password\n"),
    ):
        with freeze_time("2027-06-01"):
            result = CliRunner().invoke(app, ["lab", "import", str(path), *args], input=stdin)
        assert result.exit_code == 2, result.output
        assert result.output.startswith("error: --user:")
    assert LabResult.objects.filter(source="central").count() == 0


def test_cli_unknown_user_is_one_line_exit_2(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(HEADER.encode())
    env = {**os.environ, "MMTRIAL_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [str(Path(sys.executable).parent / "mmtrial"), "manage", "migrate", "-v", "0"],
        env=env,
        check=True,
    )
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "mmtrial"),
            "lab",
            "import",
            str(path),
            "--user",
            "nobody",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "--user" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.req("P11-70")
def test_an_import_into_signed_data_invalidates_the_signature_with_an_audit_event(setup):
    from django.utils import timezone

    from mmtrial.edc.models import Signature
    from mmtrial.edc.models.trust import SignatureStatus

    study, participant = setup
    _import(study, _csv(_rows(participant.subject_id, 3)))
    signature = Signature.objects.create(
        participant=participant,
        signer=study.investigator,
        printed_name="Test User",
        meaning="Approval",
        signed_at=timezone.now(),
        content_sha256="0" * 64,
        confirmation_text_version="1",
    )
    # the same file again changes nothing, so the signature stays valid
    _import(study, _csv(_rows(participant.subject_id, 3)))
    signature.refresh_from_db()
    assert signature.status == SignatureStatus.VALID
    # new values (rows 4 and 5) are a change of signed data
    _import(study, _csv(_rows(participant.subject_id, 5)), name="more.csv")
    signature.refresh_from_db()
    assert signature.status == SignatureStatus.INVALIDATED
    event = AuditEvent.objects.get(action="signature_invalidated", object_pk=str(signature.pk))
    assert event.actor_id == study.data_manager.pk


def test_cli_missing_file_is_one_line_exit_2(setup, tmp_path):
    from mmtrial.cli import app

    study, _ = setup
    auth, password = _cli_importer(study)
    result = CliRunner().invoke(
        app, ["lab", "import", str(tmp_path / "nope.csv"), *auth], input=password
    )
    assert result.exit_code == 2
    assert "no such file" in result.output
    assert "Traceback" not in result.output
