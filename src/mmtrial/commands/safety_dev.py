"""`mmtrial safety recheck`: every protocol deviation rule over the whole study.

Runs `clinical.deviations` over every participant (as the re-check after data entry does for
one), creates the deviations found, withdraws the ones the data no longer show, and prints the
counts. It writes the deviations as the server's operator (audited); it needs no study user.
"""

from __future__ import annotations

import datetime as dt

import typer

from mmtrial.commands.admin import _run_unattended
from mmtrial.commands.safety import app


@app.command("recheck")
def recheck_cmd(
    today: str = typer.Option(
        None, "--today", help="The study date to check on (YYYY-MM-DD; default: today)."
    ),
) -> None:
    """Re-run every deviation rule over the study; print what changed and the totals."""
    from mmtrial.commands._io import fail

    day = None
    if today:
        try:
            day = dt.date.fromisoformat(today)
        except ValueError:
            fail(f"--today: {today!r} is not a date (YYYY-MM-DD)")

    def action(_operator):
        from mmtrial.edc.services.deviations import deviations_recheck_study

        return deviations_recheck_study(today=day)

    totals = _run_unattended(action)
    typer.echo(
        f"{totals['participants']} participants checked: {totals['created']} new, "
        f"{totals['withdrawn']} withdrawn, {totals['reopened']} reopened"
    )
    typer.echo(
        f"deviations: {totals['open_total']} open ({totals['important_open']} important), "
        f"{totals['resolved_total']} resolved, {totals['withdrawn_total']} withdrawn"
    )
