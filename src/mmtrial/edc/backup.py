"""Backup and restore of the study database, checked end to end (Annex 11 section 7; A11-7.2).

`backup_create` copies the whole database into one file: on SQLite with the online backup API
(a consistent snapshot while the sites keep working), on PostgreSQL with `pg_dump` in custom
format, taken in the snapshot of a REPEATABLE READ transaction that also counts and hashes
every table. Before the copy it appends a "backup" audit event, so the copy contains the record
of its own making. Beside the file it writes `OUT.manifest.json`: the SHA-256 and size of the
file, every table's row count and content hash (rows in primary-key order), the audit chain's
head (event count, last id and hash) and the number of valid signatures.

`backup_restore` restores into an empty database only (the SQLite file absent or without
tables, or a PostgreSQL database without tables). It checks the file against the manifest, then
restores and verifies: every table's count and hash as in the manifest, the audit chain intact
with the same head, the append-only triggers present, every valid signature still matching.
If anything fails, the target is put back as it was (empty). Nothing is written into the
restored copy: it is the backup, exactly.

`dumpdata`/`loaddata` are not a backup: timestamps lose their microseconds and the restored
audit chain fails at its first event.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import connection, connections
from django.utils import timezone

import mmtrial
from mmtrial.edc.audit import EventSpec, audit_record
from mmtrial.edc.backup_content import database_state, pg_digests, sqlite_digests
from mmtrial.edc.backup_pg import pg_clear, pg_session, run_tool, tool
from mmtrial.edc.models import Membership
from mmtrial.edc.models.people import Role
from mmtrial.edc.services._acting import actor_for
from mmtrial.errors import MmtrialError, PermissionDenied

FORMAT = "mmtrial-backup/1"
MANIFEST_SUFFIX = ".manifest.json"
BACKUP_ROLES = (Role.SPONSOR_ADMIN, Role.DATA_MANAGER)
_CHUNK = 1 << 20
_SQLITE_HEADER = b"SQLite format 3\x00"

BACKUP_DENIED = (
    "Only a sponsor administrator or a data manager for every site can back up the study."
)
OUT_EXISTS = "{path} exists already: backups are never overwritten, choose a new file name."
OUT_DIR_MISSING = "The folder {path} does not exist."
IN_MISSING = "{path}: no such backup file."
MANIFEST_MISSING = "{path}: no such manifest (the backup command writes it beside the file)."
MANIFEST_INVALID = "{path} is not an mmtrial backup manifest ({problem})."
VENDOR_MISMATCH = (
    "{path} is a {backup} backup but this installation uses {current}; restore it where "
    "DATABASE_URL names {backup}."
)
TARGET_NOT_EMPTY = (
    "The target database {target} is not empty ({what}): restore only into an empty data "
    "directory or an empty database."
)
TARGET_LEFTOVER = "The data directory holds {path} without its database: remove it first."
NOT_SQLITE = "{path} is not a SQLite database file."

CHECKSUM_DIFFERS = (
    "{path} is not the file its manifest describes (SHA-256 {actual}, manifest {expected}): it "
    "was damaged or changed; nothing was restored."
)
TABLE_DIFFERS = (
    "the restored table {table} differs from the manifest ({actual_rows} rows, manifest "
    "{rows}){what}"
)
TABLE_MISSING = "the manifest's table {table} is not in the restored copy"
TABLE_EXTRA = "the restored copy has a table {table} that the manifest does not list"
CHAIN_DIFFERS = (
    "the restored audit chain has {events} events up to event {last_id}, the manifest "
    "{m_events} up to event {m_last_id}"
)
CHAIN_BROKEN = "the restored audit chain is broken: {problem}"
TRIGGERS_MISSING = "the restored database lacks the audit trail's append-only triggers"
SIGNATURES_DIFFER = (
    "the restored copy has {checked} valid signatures ({mismatches} mismatches), the "
    "manifest {expected}"
)
CLEANUP_FAILED = (
    "Restore refused ({problem}), and the restored tables could not be removed from {target} "
    "({cleanup}): drop and create that database again before the next restore."
)
RESTORE_REFUSED = "Restore refused, the target is left as it was (empty): {problem}."


class BackupError(MmtrialError):
    """A backup or restore that cannot start (bad input, wrong target): nothing was written."""


class RestoreVerificationError(MmtrialError):
    """The backup file or the restored copy does not match the manifest: nothing was kept."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest_path: Path
    manifest: dict[str, Any]


@dataclass(frozen=True)
class RestoreResult:
    target: str
    manifest: dict[str, Any]
    events: int
    signatures: int
    tables: int


def manifest_path_for(path: Path) -> Path:
    return path.with_name(path.name + MANIFEST_SUFFIX)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


# --- backup --------------------------------------------------------------------------


def _authorize_backup(actor) -> None:
    allowed = Membership.objects.filter(
        user_id=getattr(actor, "pk", None),
        user__is_active=True,
        active=True,
        site__isnull=True,
        role__in=BACKUP_ROLES,
    ).exists()
    if not allowed:
        raise PermissionDenied(BACKUP_DENIED)


def backup_create(*, actor, out: Path) -> BackupResult:
    """Copy the study database into `out` and write its manifest beside it.

    Refused when `out` or its manifest exists. The file appears only when complete (written
    under a temporary name, then renamed); on failure nothing is left behind.
    """
    _authorize_backup(actor)
    out = Path(out).absolute()
    manifest_path = manifest_path_for(out)
    for path in (out, manifest_path):
        if path.exists():
            raise BackupError.coded(OUT_EXISTS, {"field": "out"}, path=path)
    if not out.parent.is_dir():
        raise BackupError.coded(OUT_DIR_MISSING, {"field": "out"}, path=out.parent)
    if connection.vendor == "postgresql":
        tool("pg_dump")
    event = audit_record(
        EventSpec(
            action="backup",
            model="database",
            context={"file": out.name, "vendor": connection.vendor},
        ),
        actor=actor_for(actor),
    )
    partial = out.with_name(f".{out.name}.partial-{os.getpid()}")
    try:
        copy = _sqlite_backup if connection.vendor == "sqlite" else _pg_backup
        state = copy(partial)
        _fsync(partial)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    actor_ = actor_for(actor)
    manifest = {
        "format": FORMAT,
        "vendor": connection.vendor,
        "file": out.name,
        "bytes": out.stat().st_size,
        "sha256": file_sha256(out),
        "created_at": timezone.now().astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
        "created_by": actor_.username if actor_ else "",
        "os_account": actor_.os_account if actor_ else "",
        "mmtrial_version": mmtrial.__version__,
        "backup_event_id": event.id,
        **state,
    }
    _write_atomically(manifest_path, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return BackupResult(path=out, manifest_path=manifest_path, manifest=manifest)


def _sqlite_backup(partial: Path) -> dict[str, Any]:
    connection.ensure_connection()
    source = connection.connection  # the application's own sqlite3 connection
    copy = sqlite3.connect(partial)
    try:
        source.backup(copy)  # one step: a consistent snapshot, writers carry on (WAL)
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        state = database_state(copy.cursor())
        state["tables"] = sqlite_digests(copy)
        return state
    finally:
        copy.close()


def _pg_backup(partial: Path) -> dict[str, Any]:
    with pg_session(snapshot=True) as cursor:
        cursor.execute("SELECT pg_export_snapshot()")
        (snapshot,) = cursor.fetchone()
        # pg_dump reads the same snapshot as the counts below, while this transaction stays open.
        run_tool(
            [tool("pg_dump"), "--format=custom", f"--snapshot={snapshot}", f"--file={partial}"]
        )
        state = database_state(cursor)
        state["tables"] = pg_digests(cursor)
        return state


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


# --- restore -------------------------------------------------------------------------


def manifest_read(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError.coded(MANIFEST_MISSING, {"field": "manifest"}, path=path) from None
    except ValueError as exc:
        raise BackupError.coded(MANIFEST_INVALID, path=path, problem=exc) from None
    required = {"format", "vendor", "sha256", "audit", "signatures", "tables"}
    if not isinstance(manifest, dict) or not required <= set(manifest):
        raise BackupError.coded(MANIFEST_INVALID, path=path, problem="keys are missing")
    if manifest["format"] != FORMAT:
        raise BackupError.coded(
            MANIFEST_INVALID, path=path, problem=f"format {manifest['format']!r}"
        )
    return manifest


def backup_restore(*, source: Path, manifest_path: Path | None = None) -> RestoreResult:
    """Restore `source` into the configured database, which must be empty; verify it all."""
    source = Path(source).absolute()
    if not source.is_file():
        raise BackupError.coded(IN_MISSING, {"field": "in"}, path=source)
    manifest = manifest_read(manifest_path or manifest_path_for(source))
    if manifest["vendor"] != connection.vendor:
        raise BackupError.coded(
            VENDOR_MISMATCH, path=source.name, backup=_vendor(manifest["vendor"]), current=_vendor()
        )
    if connection.vendor == "sqlite":
        target = Path(connection.settings_dict["NAME"])
        _sqlite_target_empty(target)
    else:
        tool("pg_restore")
        target = None
        _pg_target_empty()
    actual = file_sha256(source)
    if actual != manifest["sha256"]:
        raise RestoreVerificationError.coded(
            CHECKSUM_DIFFERS, path=source.name, actual=actual, expected=manifest["sha256"]
        )
    if target is not None:
        return _sqlite_restore(source, target, manifest)
    return _pg_restore(source, manifest)


def _vendor(vendor: str | None = None) -> str:
    return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(vendor or connection.vendor, "?")


def _sqlite_target_empty(target: Path) -> None:
    if not target.exists():
        for suffix in ("-wal", "-shm", "-journal"):
            leftover = target.with_name(target.name + suffix)
            if leftover.exists():
                raise BackupError.coded(TARGET_LEFTOVER, path=leftover)
        return
    with contextlib.closing(sqlite3.connect(f"file:{target}?mode=ro", uri=True)) as db:
        (tables,) = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()
    if tables:
        raise BackupError.coded(TARGET_NOT_EMPTY, target=target, what=f"{tables} tables")


_PG_OBJECTS = (
    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%'"
)


def _pg_target_empty() -> None:
    with connection.cursor() as cursor:
        cursor.execute(_PG_OBJECTS)
        (objects,) = cursor.fetchone()
    if objects:
        raise BackupError.coded(
            TARGET_NOT_EMPTY,
            target=connection.settings_dict["NAME"],
            what=f"{objects} tables or sequences",
        )


def _compare_tables(actual: dict[str, dict], manifest: dict[str, Any]) -> None:
    expected = manifest["tables"]
    for table, entry in expected.items():
        got = actual.get(table)
        if got is None:
            raise RestoreVerificationError.coded(TABLE_MISSING, table=table)
        if got != entry:
            what = "" if got["rows"] != entry["rows"] else ", same rows but other content"
            raise RestoreVerificationError.coded(
                TABLE_DIFFERS, table=table, actual_rows=got["rows"], rows=entry["rows"], what=what
            )
    for table in actual.keys() - expected.keys():
        raise RestoreVerificationError.coded(TABLE_EXTRA, table=table)


def _verify_restored(manifest: dict[str, Any]) -> tuple[int, int]:
    """Through the application, as `mmtrial audit verify` and `signature verify` would."""
    from mmtrial.edc import audit_triggers
    from mmtrial.edc.audit import audit_verify
    from mmtrial.edc.services.signatures import signature_verify

    report = audit_verify()
    if not report.ok:
        raise RestoreVerificationError.coded(CHAIN_BROKEN, problem=report.problem)
    audit = manifest["audit"]
    if (report.events_checked, report.last_id) != (audit["events"], audit["last_id"]) or (
        report.events_checked and report.last_hash != audit["last_hash"]
    ):
        raise RestoreVerificationError.coded(
            CHAIN_DIFFERS,
            events=report.events_checked,
            last_id=report.last_id,
            m_events=audit["events"],
            m_last_id=audit["last_id"],
        )
    if not audit_triggers.triggers_installed(connection):
        raise RestoreVerificationError(TRIGGERS_MISSING)
    signatures = signature_verify()
    expected = manifest["signatures"]["valid"]
    if not signatures.ok or signatures.checked != expected:
        raise RestoreVerificationError.coded(
            SIGNATURES_DIFFER,
            checked=signatures.checked,
            mismatches=len(signatures.mismatches),
            expected=expected,
        )
    return report.events_checked, signatures.checked


def _refused_unless(check):
    try:
        return check()
    except RestoreVerificationError as exc:
        raise RestoreVerificationError.coded(RESTORE_REFUSED, problem=exc.message) from None


def _sqlite_restore(source: Path, target: Path, manifest: dict[str, Any]) -> RestoreResult:
    with open(source, "rb") as handle:
        if handle.read(len(_SQLITE_HEADER)) != _SQLITE_HEADER:
            raise BackupError.coded(NOT_SQLITE, path=source.name)
    partial = target.with_name(f".{target.name}.restoring-{os.getpid()}")
    aside = target.with_name(f".{target.name}.empty-{os.getpid()}")
    try:
        backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        copy = sqlite3.connect(partial)
        try:
            backup.backup(copy)
            _refused_unless(lambda: _compare_tables(sqlite_digests(copy), manifest))
        finally:
            copy.close()
            backup.close()
        _fsync(partial)
        connections.close_all()  # no connection may hold the old (empty) file
        if target.exists():
            os.replace(target, aside)
        os.replace(partial, target)
        try:
            events, signatures = _refused_unless(lambda: _verify_restored(manifest))
        except BaseException:
            connections.close_all()
            for suffix in ("", "-wal", "-shm"):
                target.with_name(target.name + suffix).unlink(missing_ok=True)
            if aside.exists():
                os.replace(aside, target)
            raise
    finally:
        partial.unlink(missing_ok=True)
        aside.unlink(missing_ok=True)
    return RestoreResult(str(target), manifest, events, signatures, len(manifest["tables"]))


def _pg_restore(source: Path, manifest: dict[str, Any]) -> RestoreResult:
    name = connection.settings_dict["NAME"]
    connections.close_all()
    # One transaction: a pg_restore that fails half-way leaves the database empty.
    run_tool(
        [
            tool("pg_restore"),
            "--single-transaction",
            "--exit-on-error",
            "--no-owner",
            "--no-privileges",
            f"--dbname={name}",
            str(source),
        ]
    )
    try:
        with pg_session() as cursor:
            _refused_unless(lambda: _compare_tables(pg_digests(cursor), manifest))
        events, signatures = _refused_unless(lambda: _verify_restored(manifest))
    except BaseException as exc:
        connections.close_all()
        try:
            pg_clear()
        except Exception as cleanup:  # say both: the operator must empty the target by hand
            problem = getattr(exc, "message", "") or type(exc).__name__
            raise RestoreVerificationError.coded(
                CLEANUP_FAILED, target=name, problem=problem, cleanup=cleanup
            ) from None
        raise
    return RestoreResult(name, manifest, events, signatures, len(manifest["tables"]))
