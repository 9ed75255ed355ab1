"""One central laboratory import at a time: a lock that dies with its process.

PostgreSQL: a session advisory lock (`pg_try_advisory_lock`), released when the importing
connection ends, however it ends. SQLite: an exclusive `flock` on a file beside the database file,
released by the kernel when the process exits. Either way a second import is refused at once
(never queued behind the first, never a deadlock), and an import whose process died leaves no
lock behind: the next one finds the lock free and cleans up what the dead one staged
(`edc.lab_import_recovery`).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import zlib
from collections.abc import Iterator

from django.conf import settings
from django.db import connection

from mmtrial.errors import InputError

# The advisory lock's key: any fixed 32-bit number that no other part of mmtrial uses.
_ADVISORY_KEY = zlib.crc32(b"mmtrial.lab_import")
_LOCK_FILE = "lab-import.lock"

IMPORT_RUNNING = (
    "Another central laboratory import is running{what}; nothing was imported. Import this "
    "file again when it has finished."
)


class ImportRunningError(InputError):
    """Another import holds the lock (one line at the command line, exit 2)."""


def _running_description() -> str:
    from mmtrial.edc.models import LabImport, LabImportStatus

    running = (
        LabImport.objects.filter(status=LabImportStatus.STAGING)
        .select_related("imported_by")
        .order_by("-pk")
        .first()
    )
    if running is None:
        return " (it is still checking its file)"
    who = getattr(running.imported_by, "username", "") or "unknown"
    at = running.started_at.strftime("%Y-%m-%d %H:%M UTC")
    return f" ({running.file_name}, started {at} by {who})"


def _sqlite_lock_path() -> str:
    """The lock file beside the database file, so that two databases in one data directory
    never share it. An in-memory database lives in one process only: its lock is that
    process's own (DATA_DIR/lab-import.<pid>.lock)."""
    name = str(connection.settings_dict["NAME"])
    if os.path.isabs(name) and "mode=memory" not in name:
        return f"{name}.{_LOCK_FILE}"
    os.makedirs(settings.DATA_DIR, exist_ok=True)
    stem, ext = os.path.splitext(_LOCK_FILE)
    return os.path.join(settings.DATA_DIR, f"{stem}.{os.getpid()}{ext}")


@contextlib.contextmanager
def import_lock() -> Iterator[None]:
    """Hold the import lock for the block, or raise ImportRunningError at once."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [_ADVISORY_KEY])
            (acquired,) = cursor.fetchone()
        if not acquired:
            raise ImportRunningError.coded(IMPORT_RUNNING, what=_running_description())
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [_ADVISORY_KEY])
        return
    path = _sqlite_lock_path()
    handle = open(path, "a+b")  # noqa: SIM115 - held open for the block: the lock lives with it
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ImportRunningError.coded(IMPORT_RUNNING, what=_running_description()) from None
        yield
    finally:
        handle.close()  # closing releases the flock
