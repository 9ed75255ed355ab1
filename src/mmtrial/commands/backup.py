"""`mmtrial backup OUT` and `mmtrial restore IN`: the study database, copied and checked.

`backup` is done by a sponsor administrator or a data manager who authenticates (a token file
for cron, see docs/operations.md); it writes OUT and OUT.manifest.json. `restore` needs no
study user: it runs where the empty database is (the server's shell) and writes nothing of its
own into the copy. Exit 0 done; 1 the file or the restored copy does not match its manifest
(the target is left empty); 2 refused before anything was written (bad input, target not
empty, wrong database), one line each.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from mmtrial.commands._auth import acting_as, by_option, password_stdin_option
from mmtrial.commands._io import fail

EXIT_FINDING = 1


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmtrial.settings")
    import django

    django.setup()


def _database_failed(exc) -> None:
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    fail(f"database: {first_line}")


def register(root: typer.Typer) -> None:
    @root.command("backup")
    def backup(
        out: str = typer.Argument(..., help="The backup file to write (never overwritten)."),
        by: str = by_option(),
        password_stdin: bool = password_stdin_option(),
    ) -> None:
        """Copy the study database into OUT, with OUT.manifest.json beside it (audited)."""
        _django()
        from django.db import DatabaseError

        from mmtrial.edc.backup import backup_create
        from mmtrial.errors import MmtrialError

        try:
            with acting_as(by, password_stdin=password_stdin) as user:
                result = backup_create(actor=user, out=Path(out))
        except MmtrialError as exc:
            fail(exc.message)
        except DatabaseError as exc:
            _database_failed(exc)
        manifest = result.manifest
        typer.echo(
            f"backup written: {result.path} ({manifest['bytes']} bytes, SHA-256 "
            f"{manifest['sha256']}); {manifest['audit']['events']} audit events, "
            f"{manifest['signatures']['valid']} valid signatures, {len(manifest['tables'])} "
            f"tables; manifest {result.manifest_path}"
        )

    @root.command("restore")
    def restore(
        source: str = typer.Argument(..., metavar="IN", help="The backup file."),
        manifest: str = typer.Option(
            None, "--manifest", help="Its manifest (default: IN.manifest.json beside it)."
        ),
    ) -> None:
        """Restore a backup into an empty data directory or database, and verify it."""
        _django()
        from django.db import DatabaseError

        from mmtrial.edc.backup import RestoreVerificationError, backup_restore
        from mmtrial.errors import MmtrialError

        try:
            result = backup_restore(
                source=Path(source), manifest_path=Path(manifest) if manifest else None
            )
        except RestoreVerificationError as exc:
            typer.echo(f"error: {' '.join(exc.message.split())}", err=True)
            raise typer.Exit(EXIT_FINDING) from None
        except MmtrialError as exc:
            fail(exc.message)
        except DatabaseError as exc:
            _database_failed(exc)
        typer.echo(
            f"restored {source} into {result.target}: {result.events} events, chain intact; "
            f"{result.signatures} valid signatures, 0 mismatches; {result.tables} tables as "
            "in the manifest"
        )
