"""`mmtrial export casebook`: one PDF per participant with every form's data, its audit history
and the signatures (21 CFR 11.10(b), 11.50), in English or Japanese.

Expected text is read from the database (the records, audit events and signatures) and from
the protocol file, and looked for in the PDF's text (pypdf).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import warnings

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from mmtrial.cli import app
from tests.cdisc_records.conftest import CHANGE_REASON

pytestmark = pytest.mark.django_db


def _text(path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def signed(demo):
    from mmtrial.edc.models import Signature

    return Signature.objects.order_by("pk").last()


@pytest.fixture(scope="module")
def english(signed, tmp_path_factory):
    out = tmp_path_factory.mktemp("casebook") / "book.pdf"
    result = CliRunner().invoke(
        app,
        ["export", "casebook", "--participant", signed.participant.subject_id, "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    return out, result.output, _flat(_text(out))


@pytest.mark.req("P11-10b")
def test_every_record_and_field_of_the_participant_is_in_the_casebook(english, signed):
    from mmtrial.edc.models import LabResult, Visit

    text = english[2]
    participant = signed.participant
    assert f"Casebook: {participant.subject_id}" in text
    for lab in LabResult.objects.filter(participant=participant):
        assert f"Laboratory result #{lab.pk}" in text
    for visit in Visit.objects.filter(participant=participant):
        assert f"Visit #{visit.pk}" in text
        if visit.is_deleted:
            assert f"Visit #{visit.pk} [deleted" in text
    for label in ("Collected on", "Analyte", "Planned dose mg", "Taken dose mg", "Consent date"):
        assert label in text, label


@pytest.mark.req("P11-50")
def test_the_signature_shows_name_time_with_zone_meaning_and_status(english, signed):
    text = english[2]
    assert f"Signed by {signed.printed_name}" in text
    assert signed.signed_at.strftime("%Y-%m-%d %H:%M:%S") + " UTC" in text
    assert "JST" in text  # the site's time zone beside UTC
    assert "Meaning Approval" in text
    signed.refresh_from_db()
    assert signed.status == "invalidated" and "invalidated on" in text
    assert signed.content_sha256 in text.replace(" ", "")


def test_the_audit_history_names_who_when_what_and_why(english, signed):
    from mmtrial.edc.models import AuditEvent

    text = english[2]
    change = AuditEvent.objects.get(reason=CHANGE_REASON)
    assert f"reason: {CHANGE_REASON}" in text
    assert change.occurred_at.strftime("%Y-%m-%d %H:%M:%S") in text
    old, new = change.changes["value"]["old"], change.changes["value"]["new"]
    assert f"Value: {old} → {new}" in text
    assert f"Laboratory result #{change.object_pk} [edited after first entry]" in text


def test_a_demo_event_shows_its_real_time_and_the_study_date_it_stands_for(english, signed):
    """The demo's events were written at seeding time; each names its study date (issue 12
    item 7)."""
    from mmtrial.edc.models import AuditEvent

    text = english[2]
    subject = signed.participant.subject_id
    event = AuditEvent.objects.filter(subject=subject, context__has_key="stands_for").first()
    when = event.occurred_at.strftime("%Y-%m-%d %H:%M:%S")
    assert f"demo: stands for {event.context['stands_for']}" in text
    assert when in text


def test_the_casebook_export_is_audited_with_its_checksum(english):
    from mmtrial.edc.models import AuditEvent

    path = english[0]
    event = AuditEvent.objects.filter(action="export_casebook").latest("id")
    assert event.context["files"] == [
        {"name": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    ]


def test_a_japanese_casebook_uses_japanese_labels_without_missing_glyphs(signed, tmp_path):
    from mmtrial.cdisc.casebook import write_casebook
    from mmtrial.edc.selectors import records_export as rx
    from mmtrial.protocol import load_protocol

    participants = rx.records_export_participants(participant=signed.participant.subject_id)
    records = next(rx.participant_records_iter(participants))
    out = tmp_path / "ja.pdf"
    from django.utils import timezone

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)"
        write_casebook(
            out,
            records,
            protocol=load_protocol(),
            users={u.pk: u for u in rx.records_export_users()},
            models={name: model for name, (model, _) in rx.record_models().items()},
            lang="ja",
            now=timezone.now(),
        )
    text = _flat(_text(out))
    for expected in (
        "症例報告書",
        "電子署名",
        "署名者",
        "臨床検査結果",
        "採取日",
        "監査証跡",
        "理由",
    ):
        assert expected in text, expected
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-r", "20", "-png", "-f", "1", "-l", "2", str(out), str(tmp_path / "p")],
            check=True,
        )
        assert len(list(tmp_path.glob("p-*.png"))) == 2


def test_an_english_casebook_draws_the_sites_japanese_text_without_missing_glyphs(demo, tmp_path):
    """The demo's staff write in Japanese (a lock reason, held doses): the English casebook
    shows that text, every glyph drawn (issue 12 item 6)."""
    from django.utils import timezone

    from mmtrial.cdisc.casebook import write_casebook
    from mmtrial.edc.models import Participant
    from mmtrial.edc.selectors import records_export as rx
    from mmtrial.protocol import load_protocol

    locked = Participant.objects.get(locked=True)
    participants = rx.records_export_participants(participant=locked.subject_id)
    records = next(rx.participant_records_iter(participants))
    out = tmp_path / "en.pdf"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)"
        write_casebook(
            out,
            records,
            protocol=load_protocol(),
            users={u.pk: u for u in rx.records_export_users()},
            models={name: model for name, (model, _) in rx.record_models().items()},
            lang="en",
            now=timezone.now(),
        )
    text = _flat(_text(out))
    assert "Casebook" in text and "死亡後のデータレビュー" in text


def test_a_site_gives_one_casebook_per_participant(demo, tmp_path):
    from django.db.models import Count

    from mmtrial.edc.models import Participant

    # the site with the fewest records keeps the test quick; every site is written the same way
    site = (
        Participant.objects.values("site")
        .annotate(records=Count("labs") + Count("cycles"))
        .order_by("records", "site")
        .first()
    )
    site = Participant.objects.filter(site=site["site"]).first().site
    expected = Participant.objects.filter(site=site).count()
    out = tmp_path / "books"
    result = CliRunner().invoke(
        app, ["export", "casebook", "--site", site.code, "--out", str(out), "--lang", "en"]
    )
    assert result.exit_code == 0, result.output
    assert len(list(out.glob("casebook-*-en.pdf"))) == expected >= 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "x.pdf"], "give --participant ID or --site SITE"),
        (["--participant", "NOBODY-1", "--out", "{tmp}/x.pdf"], "No participant NOBODY-1"),
        (["--site", "XX-99", "--out", "{tmp}/dir"], "No site XX-99"),
        (["--site", "JP-01", "--out", "{tmp}/x.pdf"], "give a folder for --site"),
        (["--participant", "A", "--out", "{tmp}/x.pdf", "--lang", "fr"], "--lang must be en or ja"),
    ],
)
def test_wrong_options_are_one_line_and_exit_2(demo, tmp_path, args, message):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = CliRunner().invoke(app, ["export", "casebook", *args])
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.output
