"""`mmtrial safety sae-check`: open the overdue-report queries and list every SAE's clock.

An SAE whose initial report has not reached the sponsor within the protocol's hours of the
site's awareness (`safety.sae_report_hours`, ICH E6(R3)) gets one system query (never a second
one); the list shows each serious adverse event with its state (due, overdue, reported on time,
reported late). Exits 1 when an SAE is overdue, 0 otherwise, 2 on bad input.
"""

from __future__ import annotations

import typer

from mmtrial.commands.admin import _run_unattended
from mmtrial.commands.safety import app

EXIT_OVERDUE = 1


@app.command("sae-check")
def sae_check_cmd() -> None:
    """Raise a query on each overdue SAE (once) and print every SAE's reporting clock."""

    def action(operator):
        from django.utils import timezone

        from mmtrial.edc.selectors.sae import sae_list
        from mmtrial.edc.services.sae_reports import sae_overdue_queries

        now = timezone.now()
        opened = sae_overdue_queries(now=now)
        return opened, sae_list(user=None, now=now)

    opened, rows = _run_unattended(action)
    for row in rows:
        p = row.ae.participant
        who = f"{p.site.code} {p.subject_id or p.screening_number}"
        term = row.ae.ctcae_term or row.ae.term
        if row.clock is None:
            typer.echo(f"{who}  {term} (grade {row.ae.grade}): awareness not recorded")
            continue
        typer.echo(f"{who}  {term} (grade {row.ae.grade}): {row.clock.state}: {row.clock.reason}")
    overdue = sum(1 for r in rows if r.clock is not None and r.clock.state == "overdue")
    typer.echo(
        f"{len(rows)} serious adverse events, {overdue} overdue; {len(opened)} queries opened now"
    )
    if overdue:
        raise typer.Exit(EXIT_OVERDUE)
