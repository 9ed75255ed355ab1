"""`mmtrial export sdtm|adam --out DIR`: the submission packages (docs/cdisc.md).

`app` is the `export` command group. Other modules add their exports to it (e.g.
`mmtrial.commands.export_records` adds `odm` and `casebook`) with `@app.command(...)`; the
group is registered on the root once, here.

Each package is one folder: lower-case XPT v5 files, define.xml and the conformance report.
Progress bars go to standard error; the summary line to standard output. Bad input (a date that
is not a date, a folder that cannot be written, a study with nothing to export, data the export
cannot read) is one line on standard error and exit status 2, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import typer

from mmtrial.commands._io import fail

__all__ = ["STRICT_RULES", "app", "register"]

app = typer.Typer(
    help="Export the study: SDTM and ADaM packages (XPT v5 + define.xml).", no_args_is_help=True
)

#: under --strict, any finding of these rules makes the export exit with status 2
STRICT_RULES = ("MMT-TXT-001", "MMT-XPT-", "MMT-DEF-")
OUT_OPTION = typer.Option(..., "--out", help="Folder of the package (created if needed).")
CUT_OPTION = typer.Option(
    None, "--data-cut", help="Data cut-off date (YYYY-MM-DD): later data are left out."
)
STRICT_OPTION = typer.Option(
    False,
    "--strict",
    help="Exit 2 when text is not ASCII (left out of the datasets) or a file fails its checks.",
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="export")


def _data_cut(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        fail(f"--data-cut: {text!r} is not a date (YYYY-MM-DD)")


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmtrial.settings")
    import django

    django.setup()


class _Bars:
    """rich progress bars on standard error, one per step the exporter reports."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description:<20}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self.tasks: dict[str, Any] = {}

    def __call__(self, step: str, done: int, total: int) -> None:
        if step not in self.tasks:
            self.tasks[step] = self.progress.add_task(step, total=max(total, 1))
        self.progress.update(self.tasks[step], completed=done, total=max(total, 1))

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.stop()


UNBLINDED_BY_HELP = (
    "A randomized study: the unblinded statistician (authenticated) for whom DM carries each "
    "participant's allocated arm; without it, until the study is unblinded, DM carries no arm."
)


def _run(
    kind: str,
    out: Path,
    data_cut: str | None,
    strict: bool,
    progress: bool,
    by: str | None = None,
    password_stdin: bool = False,
) -> None:
    cut = _data_cut(data_cut)
    _django()
    unblinded_by = None
    if by is not None:
        from mmtrial.commands._auth import authenticated_user

        unblinded_by, _method = authenticated_user(by, password_stdin=password_stdin)
    from django.db import DatabaseError

    from mmtrial.errors import MmtrialError
    from mmtrial.protocol import ProtocolError

    if kind == "sdtm":
        from mmtrial.cdisc.sdtm.export import export_sdtm as export
    else:
        from mmtrial.cdisc.adam.export import export_adam as export
    bars = _Bars() if progress else None
    try:
        if bars is None:
            result = export(out, data_cut=cut, unblinded_by=unblinded_by)
        else:
            with bars:
                result = export(out, data_cut=cut, progress=bars, unblinded_by=unblinded_by)
    except (MmtrialError, ProtocolError) as exc:
        fail(str(exc))
    except DatabaseError as exc:
        fail(f"the study database cannot be read ({' '.join(str(exc).split())})")
    except OSError as exc:
        fail(f"cannot write the package to {out}: {exc.strerror or exc}")
    except (ValueError, KeyError, TypeError) as exc:  # data the exporter cannot read
        fail(f"the study data cannot be exported ({type(exc).__name__}: {exc})")
    findings = result.findings
    counts = {s: findings.total(severity=s) for s in ("error", "warning", "note")}
    typer.echo(
        f"wrote the {kind.upper()} package to {result.directory}: {len(result.datasets)} datasets, "
        f"define.xml, conformance-report.md ({counts['error']} errors, {counts['warning']} "
        f"warnings, {counts['note']} notes)"
    )
    if strict:
        blocking = {
            rule: n
            for rule, n in findings.by_rule().items()
            if rule.startswith(STRICT_RULES) and findings.severity(rule) == "error"
        }
        if blocking:
            listed = ", ".join(f"{rule} x{n}" for rule, n in blocking.items())
            fail(f"--strict: the package has findings to fix first ({listed}); see "
                 f"{result.directory / 'conformance-report.md'}")  # fmt: skip


@app.command("sdtm")
def sdtm(
    out: Path = OUT_OPTION,
    data_cut: str | None = CUT_OPTION,
    strict: bool = STRICT_OPTION,
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
    by: str | None = typer.Option(None, "--by", help=UNBLINDED_BY_HELP),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read --by's password."),
) -> None:
    """SDTMIG 3.4 datasets (DM DS IE MH EX AE LB RS SV TS TA TE TV TI SUPPQUAL) + define.xml."""
    _run("sdtm", out, data_cut, strict, progress, by, password_stdin)


@app.command("adam")
def adam(
    out: Path = OUT_OPTION,
    data_cut: str | None = CUT_OPTION,
    strict: bool = STRICT_OPTION,
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress bars."),
    by: str | None = typer.Option(None, "--by", help=UNBLINDED_BY_HELP),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read --by's password."),
) -> None:
    """ADaMIG 1.3 datasets (ADSL ADRS ADTTE ADAE ADEX ADLB) + define.xml with ARM."""
    _run("adam", out, data_cut, strict, progress, by, password_stdin)
