"""End to end without --adam: a small demo study seeded through the EDC services, then
`mmtrial analyze --json` and `mmtrial report --out X.pdf` read it from the database
(`mmtrial.edc.selectors.analysis_source` -> `mmtrial.analysis.derive`).

The expected figures are computed here from the stored rows (ResponseSummary, ResponseAssessment,
Participant), not from the analysis code, and the confidence limits from scipy directly.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess
from collections import Counter

import pytest
from django.db import transaction
from django.test import override_settings
from pypdf import PdfReader
from scipy.stats import binomtest
from typer.testing import CliRunner

from mmtrial.cli import app
from mmtrial.edc.models import LabResult, Participant, ResponseAssessment, ResponseSummary, Visit
from mmtrial.sim.demo import seed_demo_study, seeding_day
from mmtrial.sim.plans import data_cutoff_for

pytestmark = pytest.mark.django_db

PARTICIPANTS = 4  # deaths, progressions, responders and one on treatment
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ORR = {"sCR", "CR", "VGPR", "PR"}


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The first participants of the demo cohort, seeded once; rolled back after the module."""
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHER),
        transaction.atomic(),
    ):
        seed_demo_study(participants=PARTICIPANTS, stdout=io.StringIO())
        yield
        transaction.set_rollback(True)


def _stored_study() -> dict:
    """Populations and best responses as the EDC stored them."""
    enrolled = Participant.objects.filter(is_deleted=False, enrolled_on__isnull=False)
    dosed = enrolled.filter(c1d1_date__isnull=False)
    assessed = set(
        ResponseAssessment.objects.filter(is_deleted=False).values_list("participant_id", flat=True)
    )
    summaries = {s.participant_id: s for s in ResponseSummary.objects.filter(is_deleted=False)}
    evaluable = [
        p.pk for p in dosed if p.pk in assessed and p.pk in summaries and summaries[p.pk].followed
    ]
    best = Counter(summaries[pk].best_overall_response for pk in evaluable)
    return {
        "enrolled": enrolled.count(),
        "safety": dosed.count(),
        "evaluable": evaluable,
        "best": best,
    }


def test_analyze_prints_the_populations_and_rates_of_the_stored_responses(demo):
    stored = _stored_study()
    assert stored["enrolled"] >= 2 and stored["evaluable"]  # a study worth analysing
    result = CliRunner().invoke(app, ["analyze", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    n = len(stored["evaluable"])
    assert summary["populations"] == {
        "enrolled": stored["enrolled"],
        "safety": stored["safety"],
        "response_evaluable": n,
    }
    counts = summary["best_response"]["counts"]
    assert {k: v for k, v in counts.items() if v} == dict(stored["best"])
    responders = sum(v for k, v in stored["best"].items() if k in ORR)
    assert 0 < responders < n  # neither rate is trivially 0 % or 100 %
    orr = summary["orr"]
    assert (orr["responders"], orr["n"]) == (responders, n)
    assert orr["percent"] == pytest.approx(responders / n * 100)
    ci = binomtest(responders, n).proportion_ci(method="exact")
    assert orr["ci95"] == pytest.approx([ci.low * 100, ci.high * 100])
    vgpr = sum(v for k, v in stored["best"].items() if k in {"sCR", "CR", "VGPR"})
    assert summary["vgpr_or_better"]["responders"] == vgpr
    pfs = summary["time_to_event"]["PFS"]
    progressed = ResponseSummary.objects.filter(progression_date__isnull=False).count()
    assert pfs["n"] == stored["safety"] and pfs["events"] >= progressed


def test_report_from_the_database_names_the_population_and_the_data_cut(demo, tmp_path):
    out = tmp_path / "report.pdf"
    result = CliRunner().invoke(app, ["report", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    reader = PdfReader(out)
    pages = len(reader.pages)
    texts = [page.extract_text() for page in reader.pages]

    # the data cut: the latest recorded data, within the demo's data cut-off
    title = texts[0]
    cut = title.split("Data cut-off date: ")[1][:10]
    latest_lab = max(LabResult.objects.values_list("collected_on", flat=True))
    latest_visit = max(
        Visit.objects.exclude(actual_date=None).values_list("actual_date", flat=True)
    )
    # the demo's data stop at its cut-off, relative to the day it is seeded
    cutoff = data_cutoff_for(seeding_day())
    assert max(latest_lab, latest_visit).isoformat() <= cut <= cutoff.isoformat()
    stored = _stored_study()
    assert f"Enrolled: {stored['enrolled']}" in title
    assert f"Response-evaluable population: {len(stored['evaluable'])}" in title
    assert "Source datasets: database" in title

    everything = "\n".join(texts)
    for expected in (
        "Kaplan-Meier plot: Progression-free survival",
        "Kaplan-Meier plot: Overall survival",
        "Swimmer plot",
        "Waterfall plot",
        "Spider plot",
        "Adverse events",
        "Exposure and dose modifications",
    ):
        assert expected in everything, expected
    assert "data is missing" not in everything.lower()

    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils (pdftoppm) is not installed")
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(out), str(tmp_path / "page")], check=True)
    rendered = sorted(tmp_path.glob("page-*.png"))
    assert len(rendered) == pages
    assert all(path.stat().st_size > 1000 for path in rendered)


def test_a_data_cut_before_c1d1_leaves_nothing_dosed(demo):
    """--data-cut leaves out everything dated after it: before the first dose nobody is dosed."""
    first_dose = min(
        Participant.objects.filter(c1d1_date__isnull=False).values_list("c1d1_date", flat=True)
    )
    cut = (first_dose - dt.timedelta(days=1)).isoformat()
    result = CliRunner().invoke(app, ["analyze", "--json", "--data-cut", cut])
    assert result.exit_code == 0, result.output
    populations = json.loads(result.stdout)["populations"]
    assert populations["safety"] == 0
    assert populations["response_evaluable"] == 0


def test_data_cut_must_be_a_date_and_applies_to_the_database_only(tmp_path):
    bad = CliRunner().invoke(app, ["analyze", "--json", "--data-cut", "2027-02-30"])
    assert bad.exit_code == 2
    assert "--data-cut" in bad.stderr
    with_adam = CliRunner().invoke(
        app, ["analyze", "--adam", str(tmp_path), "--data-cut", "2027-01-01"]
    )
    assert with_adam.exit_code == 2
    assert "ADaM datasets carry their own cut" in with_adam.stderr
