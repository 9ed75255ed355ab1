"""`mmtrial safety ...`: safety and trial operations (issue 15). The commands themselves live
in `safety_<topic>.py` modules beside this one, each adding to `app`."""

from __future__ import annotations

import typer

app = typer.Typer(
    help="Safety and trial operations: deviations by rule, SAE reporting clocks.",
    no_args_is_help=True,
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="safety")
