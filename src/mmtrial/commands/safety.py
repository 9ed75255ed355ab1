"""`mmtrial safety ...`: the safety commands (each in its own module, `safety_*.py`)."""

from __future__ import annotations

import typer

safety_app = typer.Typer(
    help="Safety: serious adverse events and their reporting.", no_args_is_help=True
)


def register(root: typer.Typer) -> None:
    root.add_typer(safety_app, name="safety")
