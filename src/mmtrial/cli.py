"""The `mmtrial` command line. Each command group lives in `mmtrial.commands.<name>`."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import typer

import mmtrial
import mmtrial.commands
from mmtrial.commands._io import EXIT_BAD_INPUT
from mmtrial.errors import MmtrialError
from mmtrial.protocol import ProtocolError

app = typer.Typer(
    name="mmtrial",
    help="mmtrial: run the IRd-J multiple-myeloma trial (protocol, clinical rules, EDC, analysis).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mmtrial {mmtrial.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """mmtrial command line."""


def _register_commands() -> None:
    for info in sorted(pkgutil.iter_modules(mmtrial.commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"mmtrial.commands.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_commands()


def main() -> None:
    """Entry point: user errors become one line on standard error and exit status 2."""
    try:
        app()
    except (ProtocolError, MmtrialError) as exc:
        sys.stderr.write(f"error: {' '.join(str(exc).split())}\n")
        sys.exit(EXIT_BAD_INPUT)
