"""`mmtrial audit verify|anchor|install-triggers` and `mmtrial signature verify`.

`audit verify` walks the hash chain, checks the head (a missing head is never "intact"), the
anchors given with `--anchor`, the head's seal when an audit key is configured, and the
append-only triggers. `audit anchor` prints the verified head and can append it to a file kept
outside the database. Both verify commands exit 0 when everything holds, 1 naming the first
problem, 2 on bad input. They change nothing and need no study user; `install-triggers` writes
(an authenticated sponsor administrator). docs/operations.md: what each protection covers.
"""

from __future__ import annotations

import typer

from mmtrial.commands._auth import by_option, password_stdin_option
from mmtrial.commands._io import fail
from mmtrial.commands.admin import _django, _run, _run_unattended

EXIT_FINDING = 1

audit_app = typer.Typer(help="The audit trail.", no_args_is_help=True)
signature_app = typer.Typer(help="Electronic signatures.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(audit_app, name="audit")
    root.add_typer(signature_app, name="signature")


BY = by_option()
PASSWORD_STDIN = password_stdin_option()


@audit_app.command("verify")
def audit_verify_cmd(
    anchor: list[str] = typer.Option(
        None, "--anchor", help="A file of anchors (mmtrial audit anchor --append); repeatable."
    ),
) -> None:
    """Walk the hash chain and check the append-only triggers; name the first broken event.

    With --anchor, the chain must still hold every anchor; with an audit key configured
    ($MMTRIAL_AUDIT_KEY or $MMTRIAL_AUDIT_KEY_FILE), the head's seal must match it.
    """
    _django()
    from django.db import connection

    from mmtrial.edc import audit_triggers
    from mmtrial.edc.audit import audit_verify
    from mmtrial.edc.audit_seal import anchors_read

    def action(op):
        anchors = [a for path in anchor or [] for a in anchors_read(path)]
        return audit_verify(anchors=anchors)

    report = _run_unattended(action)
    if not report.ok:
        typer.echo(f"error: {chain_problem(report)}", err=True)
        raise typer.Exit(EXIT_FINDING)
    if not audit_triggers.triggers_installed(connection):
        typer.echo(
            f"error: {report.events_checked} events, chain intact, but the append-only "
            "triggers are missing (see system check mmtrial.E001)",
            err=True,
        )
        raise typer.Exit(EXIT_FINDING)
    line = f"{report.events_checked} events, chain intact"
    if anchor:
        line += f"; {report.anchors_checked} anchors hold"
    if report.sealed:
        line += "; head sealed with the audit key"
    typer.echo(line)


def chain_problem(report) -> str:
    """The one line naming what `audit_verify` found broken."""
    if report.first_broken_id is not None:
        return (
            f"audit chain broken at event {report.first_broken_id}: {report.problem} "
            f"({report.events_checked} events verified before it)"
        )
    return f"audit chain broken: {report.problem} ({report.events_checked} events verified)"


@audit_app.command("anchor")
def audit_anchor_cmd(
    append: str = typer.Option(
        None, "--append", help="Also append the anchor to this file (keep it off this server)."
    ),
) -> None:
    """Verify the chain, then print its head (events, last id, last hash, time) as one line."""
    _django()
    from mmtrial.edc.audit import audit_verify
    from mmtrial.edc.audit_seal import anchor_append

    report = _run_unattended(lambda op: audit_verify())
    if not report.ok:
        typer.echo(f"error: {chain_problem(report)}; no anchor taken", err=True)
        raise typer.Exit(EXIT_FINDING)
    anchor = report.anchor()
    if append:
        try:
            anchor_append(append, anchor)
        except OSError as exc:
            fail(f"--append: cannot write {append} ({exc.strerror})")
    typer.echo(anchor.line())


@audit_app.command("install-triggers")
def audit_install_triggers_cmd(
    reason: str = typer.Option(..., "--reason", help="Why they were missing (kept)."),
    by: str = BY,
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Put back the append-only triggers (after `audit verify` says they are missing)."""
    _django()
    from mmtrial.edc.audit_triggers import triggers_reinstall

    _run(
        lambda op: triggers_reinstall(actor=op, reason=reason),
        by=by,
        password_stdin=password_stdin,
    )
    typer.echo("append-only triggers installed; run `mmtrial audit verify`")


@signature_app.command("verify")
def signature_verify_cmd() -> None:
    """Recompute the data hash behind every valid signature; list those that differ."""
    _django()
    from mmtrial.edc.services.signatures import signature_verify

    report = _run_unattended(lambda op: signature_verify())
    for mismatch in report.mismatches:
        typer.echo(
            f"error: signature {mismatch.signature_id} (participant {mismatch.subject}): "
            "the signed data changed outside the audited services",
            err=True,
        )
    if not report.ok:
        raise typer.Exit(EXIT_FINDING)
    typer.echo(f"{report.checked} valid signatures, 0 mismatches")
