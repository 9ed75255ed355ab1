"""The round trip on a large simulated study: the demo cohort copied to 1,020 enrolled
participants (34 copies of its 30), `mmtrial analyze` from the database against
`mmtrial analyze --adam` on `mmtrial export adam` of the same database."""

from __future__ import annotations

import pyreadstat
import pytest
from typer.testing import CliRunner

from mmtrial.cli import app
from mmtrial.edc.models import Participant
from tests.cdisc.simulated import replicate_study

pytestmark = pytest.mark.django_db

COPIES = 33  # with the original: 34 x 30 enrolled = 1,020


def test_analyze_on_the_export_of_1020_participants_equals_analyze_on_the_database(
    demo_study, tmp_path
):
    replicate_study(copies=COPIES)
    enrolled = Participant.objects.filter(enrolled_on__isnull=False).count()
    assert enrolled >= 1000
    runner = CliRunner()
    export = runner.invoke(app, ["export", "adam", "--out", str(tmp_path), "--no-progress"])
    assert export.exit_code == 0, export.output
    from_database = runner.invoke(app, ["analyze", "--json"])
    from_export = runner.invoke(app, ["analyze", "--adam", str(tmp_path), "--json"])
    assert from_database.exit_code == 0 and from_export.exit_code == 0
    assert from_export.stdout == from_database.stdout
    adsl, _ = pyreadstat.read_xport(str(tmp_path / "adsl.xpt"))
    assert len(adsl) == enrolled and adsl["USUBJID"].is_unique
