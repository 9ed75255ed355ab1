"""Input and output helpers shared by the command modules: JSON in, JSON out, exit 2 on bad input."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

import typer

EXIT_BAD_INPUT = 2


def fail(message: str) -> NoReturn:
    """Print one line on standard error and exit with status 2."""
    one_line = " ".join(str(message).split())
    typer.echo(f"error: {one_line}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def read_text(source: str) -> str:
    """Read a file's text, or standard input when the source is '-'."""
    if source == "-":
        return sys.stdin.read()
    try:
        return Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{source}: no such file")
    except IsADirectoryError:
        fail(f"{source}: is a directory, not a file")
    except UnicodeDecodeError:
        fail(f"{source}: not UTF-8 text")
    except OSError as exc:
        fail(f"{source}: cannot read ({exc.strerror})")


def read_json(source: str, *, decimals: bool = False) -> Any:
    """Parse JSON from a file or '-', failing with the line and column of a syntax error."""
    text = read_text(source)
    try:
        return json.loads(text, parse_float=Decimal if decimals else float)
    except json.JSONDecodeError as exc:
        fail(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=_default)


def print_json(data: Any) -> None:
    typer.echo(dumps(data))
