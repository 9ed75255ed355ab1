"""`mmtrial randomization ...`: the allocation lists of a randomized study and its unblinding.

- `generate`: the randomization administrator draws the study's secret seed once (audited by
  its SHA-256 commitment); every allocation list follows from it.
- `list`: the allocations made so far with their arms, for an unblinded role only.
- `unblind SUBJECT --reason`: emergency unblinding by the participant's investigator.
- `unblind-study --reason`: the audited act after which every role sees the arms.
Each authenticates its user (`--by`, token file or `--password-stdin`); refusals exit 2 in one
line (ICH E9 2.3; the protocol file's `blinding`).
"""

from __future__ import annotations

import os

import typer

from mmtrial.commands._auth import acting_as, by_option, password_stdin_option
from mmtrial.commands._io import fail, print_json

app = typer.Typer(help="Randomization lists, allocations and unblinding (randomized studies).")

REASON_HELP = "Why the allocation must be revealed (kept in the audit trail)."


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmtrial.settings")
    import django

    django.setup()
    from mmtrial.protocol import load_protocol

    protocol = load_protocol()
    if not protocol.randomized:
        fail(
            f"protocol {protocol.identification.short_title} is not randomized: there is no "
            "allocation list (set MMTRIAL_PROTOCOL_FILE to the randomized study's protocol file)"
        )
    return protocol


@app.command("generate")
def generate(by: str = by_option(), password_stdin: bool = password_stdin_option()) -> None:
    """Generate the study's allocation lists (once, before the first enrollment)."""
    _django()
    from mmtrial.edc.services.randomization import randomization_key_create
    from mmtrial.errors import MmtrialError

    try:
        with acting_as(by, password_stdin=password_stdin) as user:
            commitment = randomization_key_create(user=user)
    except MmtrialError as exc:
        fail(exc.message)
    typer.echo(f"allocation lists generated; commitment (SHA-256 of the seed): {commitment}")


@app.command("list")
def list_allocations(
    by: str = by_option(),
    password_stdin: bool = password_stdin_option(),
    as_json: bool = typer.Option(False, "--json", help="Print the allocations as JSON."),
) -> None:
    """The allocations made so far, with their arms (unblinded roles only)."""
    protocol = _django()
    from dataclasses import asdict

    from mmtrial.edc.selectors.randomization import allocation_list
    from mmtrial.errors import MmtrialError

    try:
        with acting_as(by, password_stdin=password_stdin) as user:
            rows = allocation_list(user=user)
    except MmtrialError as exc:
        fail(exc.message)
    if as_json:
        print_json([asdict(row) for row in rows])
        return
    from rich.console import Console
    from rich.table import Table

    names = {arm.id: arm.name for arm in protocol.arms}
    table = Table(title=f"Allocations ({len(rows)})")
    for column in ("Subject", "Site", "Stratum", "Slot", "Kit", "Allocated", "Arm"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.subject,
            row.site,
            row.stratum_key,
            str(row.position),
            row.kit_code,
            row.allocated_on,
            names.get(row.arm_id, row.arm_id),
        )
    Console().print(table)


@app.command("unblind")
def unblind(
    subject: str = typer.Argument(..., help="The participant's subject id (e.g. JP-01-003)."),
    reason: str = typer.Option(..., "--reason", help=REASON_HELP),
    by: str = by_option(),
    password_stdin: bool = password_stdin_option(),
) -> None:
    """Emergency unblinding of one participant by their investigator (audited, sponsor told)."""
    protocol = _django()
    from mmtrial.edc.models import Participant
    from mmtrial.edc.services.randomization import emergency_unblind
    from mmtrial.errors import MmtrialError

    participant = Participant.objects.filter(subject_id=subject).first()
    if participant is None:
        fail(f"subject: no participant {subject!r} in this study")
    try:
        with acting_as(by, password_stdin=password_stdin) as user:
            arm_id = emergency_unblind(user=user, participant_id=participant.pk, reason=reason)
    except MmtrialError as exc:
        fail(exc.message)
    names = {arm.id: arm.name for arm in protocol.arms}
    typer.echo(f"{subject}: {names.get(arm_id, arm_id)} (the unblinding is recorded)")


@app.command("unblind-study")
def unblind_study(
    reason: str = typer.Option(..., "--reason", help="Why the study is unblinded now."),
    by: str = by_option(),
    password_stdin: bool = password_stdin_option(),
) -> None:
    """Unblind the whole study (after the database lock); every role then sees the arms."""
    _django()
    from mmtrial.edc.services.randomization import study_unblind
    from mmtrial.errors import MmtrialError

    try:
        with acting_as(by, password_stdin=password_stdin) as user:
            record = study_unblind(user=user, reason=reason)
    except MmtrialError as exc:
        fail(exc.message)
    typer.echo(f"study unblinded at {record.at.isoformat(timespec='seconds')} by {record.by}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="randomization")
