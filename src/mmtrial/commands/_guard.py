"""What `mmtrial manage` refuses, and what `mmtrial serve` checks before it serves.

Django's own commands include some that write around the audited services: `createsuperuser`
and `changepassword` (accounts and passwords with no audit event), `loaddata` (records around
the services; with `dumpdata`, timestamps lose their microseconds and the copy's audit chain
fails), `flush` (erases the study). Migrating backwards undoes migrations, and undoing
`edc.0002_audit_append_only` drops the audit trail's append-only triggers. All are refused here
with one line naming the audited way (exit 2). The test suite calls Django's commands directly.

`serve` and `demo` refuse to start (exit 1) when the audit trail is unprotected or its head is
damaged (`mmtrial.edc.audit.audit_head_check`): a quick check, not the full walk of `audit verify`.
"""

from __future__ import annotations

import typer

from mmtrial.commands._io import fail

EXIT_FINDING = 1

REFUSED_COMMANDS = {
    "createsuperuser": (
        "it writes an account without an audit event; use `mmtrial user add USERNAME "
        "--sponsor-admin --full-name NAME` (the first account), else add `--by ADMIN`"
    ),
    "changepassword": (
        "it sets a password without an audit event; use `mmtrial user set-password USERNAME "
        "--by ADMIN`"
    ),
    "loaddata": (
        "it writes records around the audited services (and loses the audit chain's "
        "timestamps); restore a backup with `mmtrial restore IN`"
    ),
    "flush": "it erases the study database; trial data is never deleted",
}
MIGRATE_BACKWARDS = (
    "manage migrate {target}: refused: it would unapply {migrations}{triggers}; the study "
    "database only migrates forward (restore a backup with `mmtrial restore` instead)"
)
TRIGGERS_NOTE = ", which drops the audit trail's append-only triggers"
TRIGGER_MIGRATION = ("edc", "0002_audit_append_only")


def check_manage(args: list[str]) -> None:
    """Refuse (exit 2) a management command that would write around the audit trail."""
    command = next((a for a in args if not a.startswith("-")), None)
    if command in REFUSED_COMMANDS:
        fail(f"manage {command}: refused: {REFUSED_COMMANDS[command]}")
    if command == "migrate":
        _check_migrate(args[args.index(command) + 1 :])


def _check_migrate(rest: list[str]) -> None:
    from django.core.management.commands.migrate import Command
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    try:
        options = Command().create_parser("mmtrial manage", "migrate").parse_args(rest)
    except (SystemExit, Exception):  # Django reports bad arguments itself
        return
    if options.migration_name is None or options.plan:
        return  # forward to the newest migrations, or only showing the plan
    try:
        executor = MigrationExecutor(connections[options.database])
        if options.migration_name == "zero":
            targets = [(options.app_label, None)]
        else:
            migration = executor.loader.get_migration_by_prefix(
                options.app_label, options.migration_name
            )
            targets = [(options.app_label, migration.name)]
        plan = executor.migration_plan(targets)
    except Exception:  # unknown app or migration, no database: Django says so itself
        return
    undone = [migration for migration, backwards in plan if backwards]
    if not undone:
        return
    keys = [(m.app_label, m.name) for m in undone]
    fail(
        MIGRATE_BACKWARDS.format(
            target=f"{options.app_label} {options.migration_name}",
            migrations=", ".join(f"{app}.{name}" for app, name in keys),
            triggers=TRIGGERS_NOTE if TRIGGER_MIGRATION in keys else "",
        )
    )


def check_before_serving() -> None:
    """Refuse to serve (exit 1, one line) when the audit trail is not protected and intact."""
    from mmtrial.edc.audit import audit_head_check
    from mmtrial.errors import MmtrialError

    try:
        problem = audit_head_check()
    except MmtrialError as exc:
        problem = exc.message
    if problem:
        typer.echo(f"error: not serving: {problem}; run `mmtrial audit verify`", err=True)
        raise typer.Exit(EXIT_FINDING)
