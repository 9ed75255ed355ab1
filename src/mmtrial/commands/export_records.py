"""`mmtrial export odm` and `mmtrial export casebook`: complete copies of the records with their
audit trail and signatures (21 CFR 11.10(b)), electronic (ODM 1.3.2) and readable (PDF).

Both run as the server operator over the whole study, or with `--user NAME` over the sites where
that user may export. Each export is itself recorded in the audit trail with its files' SHA-256.
The commands join the `export` group (beside `export sdtm` / `export adam`); `register` creates
the group only when no other command module has.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from mmtrial.commands._io import fail

EXPORT_GROUP = "export"


def export_app_of(root: typer.Typer) -> typer.Typer:
    """The root's `export` sub-app, created (and added) when it does not exist yet."""
    for group in root.registered_groups:
        if group.name == EXPORT_GROUP and group.typer_instance is not None:
            return group.typer_instance
    app = typer.Typer(help="Export the study's data.", no_args_is_help=True)
    root.add_typer(app, name=EXPORT_GROUP)
    return app


def register(root: typer.Typer) -> None:
    app = export_app_of(root)
    app.command("odm")(odm)
    app.command("casebook")(casebook)


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmtrial.settings")
    import django

    django.setup()


def _user(username: str | None):
    if username is None:
        return None
    from mmtrial.edc.models import User

    user = User.objects.filter(username__iexact=username, is_active=True).first()
    if user is None:
        fail(f"--user: no active mmtrial user named {username!r}")
    return user


def _record_export(user, *, kind: str, files: list[tuple[Path, str]], participants: int) -> None:
    """The export's own audit event: who exported what, with each file's SHA-256."""
    from django.db import transaction

    from mmtrial.edc.audit import EventSpec, audit_actor, audit_record

    with audit_actor(user, via="cli"), transaction.atomic():
        audit_record(
            EventSpec(
                action=f"export_{kind}",
                context={
                    "files": [{"name": path.name, "sha256": sha} for path, sha in files],
                    "participants": participants,
                },
            )
        )


class _Progress:
    """A rich progress bar on standard error."""

    def __init__(self, total: int, label: str) -> None:
        from rich.console import Console
        from rich.progress import Progress

        self.bar = Progress(console=Console(stderr=True), transient=True)
        self.task = self.bar.add_task(label, total=total)

    def __enter__(self):
        self.bar.start()
        return lambda: self.bar.advance(self.task)

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()


def odm(
    out: Path = typer.Option(..., "--out", help="The ODM 1.3.2 XML file to write."),
    user: str | None = typer.Option(
        None, "--user", help="Export only the sites where this user may export."
    ),
    validate: bool = typer.Option(
        True, "--validate/--no-validate", help="Check the file against the ODM 1.3.2 schema."
    ),
) -> None:
    """Every participant's data with audit records and signatures as CDISC ODM 1.3.2."""
    _django()
    from django.utils import timezone

    from mmtrial.cdisc.odm import validate_odm, write_odm
    from mmtrial.edc.selectors import records_export as rx
    from mmtrial.edc.services.signatures import CONFIRMATION_TEXT, SIGNATURE_MEANINGS
    from mmtrial.errors import MmtrialError
    from mmtrial.protocol import load_protocol

    if not out.parent.is_dir():
        fail(f"--out: the folder {out.parent} does not exist")
    try:
        who = _user(user)
        participants = rx.records_export_participants(user=who)
        models = {name: model for name, (model, _) in rx.record_models().items()}
        with _Progress(participants.count(), "Writing ODM") as advance:
            summary = write_odm(
                out,
                protocol=load_protocol(),
                participants=rx.participant_records_iter(participants),
                models=models,
                users=rx.records_export_users(),
                sites=rx.records_export_sites(user=who),
                meanings=SIGNATURE_MEANINGS,
                legal_reason=CONFIRMATION_TEXT,
                now=timezone.now(),
                advance=advance,
            )
    except MmtrialError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    if validate:
        problems = validate_odm(out)
        if problems:
            for problem in problems:
                typer.echo(f"schema: {problem}", err=True)
            fail(f"{out} does not validate against the ODM 1.3.2 schema")
    _record_export(
        who, kind="odm", files=[(out, summary.sha256)], participants=summary.participants
    )
    checked = "valid ODM 1.3.2" if validate else "not validated"
    typer.echo(
        f"wrote {out}: {summary.participants} participants, {summary.transactions} "
        f"transactions, {summary.signatures} signatures, {summary.annotations} annotations "
        f"({checked}; SHA-256 {summary.sha256})"
    )


def casebook(
    out: Path = typer.Option(
        ..., "--out", help="A folder (one PDF per participant) or, for one participant, FILE.pdf."
    ),
    participant: str | None = typer.Option(
        None, "--participant", help="Subject id (or screening number) of one participant."
    ),
    site: str | None = typer.Option(None, "--site", help="Every participant of this site."),
    lang: str = typer.Option("en", "--lang", help="Casebook language: en or ja."),
    user: str | None = typer.Option(
        None, "--user", help="Export only the sites where this user may export."
    ),
) -> None:
    """Casebooks: a PDF per participant with every form's data, its audit history and signatures."""
    if lang not in ("en", "ja"):
        fail(f"--lang must be en or ja, not {lang!r}")
    if (participant is None) == (site is None):
        fail("give --participant ID or --site SITE")
    single_file = out.suffix.lower() == ".pdf"
    if single_file and participant is None:
        fail("--out FILE.pdf holds one participant's casebook: give a folder for --site")
    folder = out.parent if single_file else out
    if single_file and not folder.is_dir():
        fail(f"--out: the folder {folder} does not exist")
    _django()
    from django.utils import timezone

    from mmtrial.cdisc.casebook import casebook_file_name, write_casebook
    from mmtrial.edc.selectors import records_export as rx
    from mmtrial.errors import MmtrialError
    from mmtrial.protocol import load_protocol

    try:
        who = _user(user)
        participants = rx.records_export_participants(user=who, participant=participant, site=site)
        if not single_file:
            out.mkdir(parents=True, exist_ok=True)
        users = {u.pk: u for u in rx.records_export_users()}
        models = {name: model for name, (model, _) in rx.record_models().items()}
        protocol = load_protocol()
        now = timezone.now()
        written: list[tuple[Path, str]] = []
        with _Progress(participants.count(), "Writing casebooks") as advance:
            for records in rx.participant_records_iter(participants):
                path = out if single_file else out / casebook_file_name(records, lang=lang)
                sha = write_casebook(
                    path,
                    records,
                    protocol=protocol,
                    users=users,
                    models=models,
                    lang=lang,
                    now=now,
                )
                written.append((path, sha))
                advance()
    except MmtrialError as exc:
        fail(exc.message)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    _record_export(who, kind="casebook", files=written, participants=len(written))
    for path, sha in written:
        typer.echo(f"wrote {path} (SHA-256 {sha})")


__all__ = ["casebook", "export_app_of", "odm", "register"]
