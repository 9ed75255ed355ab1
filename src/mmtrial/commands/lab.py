"""`mmtrial lab import FILE.csv|FILE.json [--user USERNAME] [--password-stdin]`: the central
lab's results, as CSV or as a FHIR R4 Bundle of Observations (a `.json` file).

The importer authenticates (commands._auth: token file, `--password-stdin` or a prompt); the
audit events name them and the operating-system account.

All rows or none. A refused file prints every problem (one line each, with row and column) on
standard output, one summary line on standard error, and exits with status 2. An import started
while another runs is refused at once the same way (one line, exit 2). The sites keep saving
while an import runs: it writes in short transactions and makes the file visible at the end. The format is in
docs/lab-import.md.
"""

from __future__ import annotations

import os
import sys
import time

import typer

from mmtrial.commands._auth import authenticated_user, password_stdin_option
from mmtrial.commands._io import dumps, fail

# Test hook for the crash and overlap tests: pause this many seconds after each staged batch (its
# short transaction committed, its rows still invisible), and say so on standard error, so a test
# can kill the process, or start a second import, in the middle of an import.
PAUSE_ENV = "MMTRIAL_LAB_IMPORT_PAUSE_S"
BATCH_ENV = "MMTRIAL_LAB_IMPORT_BATCH_ROWS"


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmtrial.settings")
    import django

    django.setup()


def register(root: typer.Typer) -> None:
    lab = typer.Typer(help="Laboratory data: the central laboratory's result files.")
    root.add_typer(lab, name="lab")

    @lab.command("import")
    def import_(
        file: str = typer.Argument(
            ..., help="The central laboratory's CSV file, or a FHIR R4 Bundle (.json)."
        ),
        user: str = typer.Option(
            None,
            "--user",
            help="Who imports; they authenticate (default: $MMTRIAL_USER, else your token's user).",
        ),
        password_stdin: bool = password_stdin_option(),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Import M-protein, FLC and IFE results: every row checked first, then all or none."""
        _django()
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        from mmtrial.edc.audit import audit_actor
        from mmtrial.edc.cli_auth import os_account
        from mmtrial.edc.lab_import import LabImportError, lab_import_file
        from mmtrial.edc.lab_import_fhir import lab_import_fhir_file
        from mmtrial.errors import MmtrialError

        importer, method = authenticated_user(user, password_stdin=password_stdin, option="--user")
        pause = float(os.environ.get(PAUSE_ENV, "0") or 0)
        batch_rows = int(os.environ.get(BATCH_ENV, "0") or 0) or None
        console = Console(stderr=True)
        progress = Progress(
            TextColumn("[bold]importing[/bold]"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} rows"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        task = progress.add_task("import", total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)
            if pause:
                sys.stderr.write(f"lab import: {done} of {total} rows written\n")
                sys.stderr.flush()
                time.sleep(pause)

        kwargs = {"on_progress": on_progress}
        if batch_rows:
            kwargs["batch_rows"] = batch_rows
        try:
            acting = audit_actor(importer, via="cli", os_account=os_account(), auth=method)
            with acting, progress:
                read = lab_import_fhir_file if file.lower().endswith(".json") else lab_import_file
                report = read(user=importer, path=file, **kwargs)
        except LabImportError as exc:
            for problem in exc.problems:
                typer.echo(str(problem))
            fail(exc.message)
        except MmtrialError as exc:
            fail(exc.message)
        summary = {
            "file": report.file_name,
            "sha256": report.sha256,
            "rows": report.rows,
            "created": report.created,
            "corrected": report.corrected,
            "unchanged": report.unchanged,
            "participants_rederived": report.participants_rederived,
        }
        if as_json:
            typer.echo(dumps(summary))
        else:
            typer.echo(
                f"{report.file_name}: {report.rows} rows; {report.created} new, "
                f"{report.corrected} corrected, {report.unchanged} unchanged; responses "
                f"re-derived for {report.participants_rederived} participants "
                f"(SHA-256 {report.sha256})"
            )
