"""`mmtrial randomization generate / list / unblind / unblind-study` (issue 16 item 2): each
user authenticates; the arms are printed only to an unblinded role or after the study's
unblinding; refusals are one line and exit 2 (ICH E9 2.3)."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone
from typer.testing import CliRunner

from mmtrial.edc.models import AuditEvent, Unblinding
from mmtrial.protocol.loader import PROTOCOLS_DIR
from tests.edc.builders import Study, make_user

pytestmark = pytest.mark.django_db
PASSWORD = "randomization-pass-1"
STRATUM = {"prior_lines": 2, "pi_exposed": True, "iss_stage": 3}


@pytest.fixture(autouse=True)
def _tmm1(monkeypatch):
    monkeypatch.setenv("MMTRIAL_PROTOCOL_FILE", str(PROTOCOLS_DIR / "tmm1.yaml"))


def _with_password(user):
    user.set_password(PASSWORD)
    user.password_changed_at = timezone.now()
    user.save(update_fields=["password", "password_changed_at"])
    return user


@pytest.fixture
def study():
    study = Study("R1")
    study.admin = _with_password(make_user(role="randomization_admin", site=None))
    study.blinded = _with_password(make_user(role="statistician", site=None))
    _with_password(study.investigator)
    return study


def _run(*args, user):
    from mmtrial.cli import app

    command = ["randomization", *args, "--by", user.username, "--password-stdin"]
    return CliRunner().invoke(app, command, input=PASSWORD + "\n")


def test_generate_then_list_the_allocations_with_their_arms(study):
    done = _run("generate", user=study.admin)
    assert done.exit_code == 0, done.output
    assert "commitment" in done.output
    participants = [study.enrolled(f"SCR-{i}", values=STRATUM) for i in range(4)]
    listed = _run("list", "--json", user=study.admin)
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert sorted(r["subject"] for r in rows) == sorted(p.subject_id for p in participants)
    assert {r["arm_id"] for r in rows} <= {"IRD", "PRD"}
    assert [r["position"] for r in rows] == [1, 2, 3, 4]
    again = _run("generate", user=study.admin)
    assert again.exit_code == 2 and "never made again" in again.output


def test_a_blinded_role_is_refused_the_list_in_one_line(study):
    _run("generate", user=study.admin)
    study.enrolled("SCR-1", values=STRATUM)
    refused = _run("list", user=study.blinded)
    assert refused.exit_code == 2
    assert "hidden until the study is unblinded" in refused.output
    assert "IRD" not in refused.output and "PRD" not in refused.output
    assert "Traceback" not in refused.output


def test_emergency_unblinding_at_the_command_line_needs_the_investigator_and_a_reason(study):
    _run("generate", user=study.admin)
    participant = study.enrolled("SCR-1", values=STRATUM)
    subject = participant.subject_id
    refused = _run("unblind", subject, "--reason", "x", user=study.blinded)
    assert refused.exit_code == 2 and not Unblinding.objects.exists()
    blank = _run("unblind", subject, "--reason", " ", user=study.investigator)
    assert blank.exit_code == 2 and "Say why" in blank.output
    done = _run("unblind", subject, "--reason", "severe reaction", user=study.investigator)
    assert done.exit_code == 0, done.output
    names = ("Ixazomib", "Placebo")
    assert any(name.lower() in done.output.lower() for name in names), done.output
    event = AuditEvent.objects.get(action="emergency_unblind")
    assert event.reason == "severe reaction" and event.context.get("via") == "cli"


def test_unblinding_the_study_opens_the_list_to_every_role(study):
    _run("generate", user=study.admin)
    study.enrolled("SCR-1", values=STRATUM)
    refused = _run("unblind-study", "--reason", "database locked", user=study.blinded)
    assert refused.exit_code == 2
    done = _run("unblind-study", "--reason", "database locked", user=study.admin)
    assert done.exit_code == 0, done.output
    listed = _run("list", "--json", user=study.blinded)
    assert listed.exit_code == 0 and json.loads(listed.output)[0]["arm_id"] in ("IRD", "PRD")
