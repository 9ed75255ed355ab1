"""PostgreSQL for backup and restore: the client tools (pg_dump, pg_restore) and connections of
their own, with the same connection settings as the application. Used by `mmtrial.edc.backup`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from django.db import connection

from mmtrial.errors import MmtrialError

TOOL_MISSING = "{tool} is not installed (PostgreSQL client tools {version} or newer are needed)."
TOOL_FAILED = "{tool} failed: {problem}"


# Session settings that fix the text of every value, so PostgreSQL rows hash the same way when
# the backup is taken and when it is restored.
_PG_SESSION = (
    "SET TIME ZONE 'UTC'",
    "SET DateStyle = 'ISO, YMD'",
    "SET IntervalStyle = 'postgres'",
    "SET extra_float_digits = 1",
    "SET bytea_output = 'hex'",
)


class ToolError(MmtrialError):
    """A PostgreSQL client tool is missing or failed: nothing was written."""


def pg_settings() -> dict[str, str]:
    db = connection.settings_dict
    values = {
        "dbname": db.get("NAME") or "",
        "user": db.get("USER") or "",
        "password": db.get("PASSWORD") or "",
        "host": db.get("HOST") or "",
        "port": str(db.get("PORT") or ""),
    }
    if sslmode := (db.get("OPTIONS") or {}).get("sslmode"):
        values["sslmode"] = sslmode
    return {key: value for key, value in values.items() if value}


def pg_env() -> dict[str, str]:
    names = {
        "dbname": "PGDATABASE",
        "user": "PGUSER",
        "password": "PGPASSWORD",
        "host": "PGHOST",
        "port": "PGPORT",
        "sslmode": "PGSSLMODE",
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({names[key]: value for key, value in pg_settings().items()})
    return env


@contextlib.contextmanager
def pg_session(*, snapshot: bool = False) -> Iterator:
    """A connection of its own with the session settings that fix the text of values."""
    import psycopg

    with psycopg.connect(**pg_settings()) as conn:
        if snapshot:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
        with conn.cursor() as cursor:
            for statement in _PG_SESSION:
                cursor.execute(statement)
            yield cursor
        conn.rollback()


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolError.coded(TOOL_MISSING, tool=name, version=_server_major())
    return path


def _server_major() -> str:
    try:
        return str(connection.pg_version // 10000)
    except Exception:  # not connected: say nothing more precise
        return ""


def run_tool(args: list[str]) -> None:
    done = subprocess.run(args, env=pg_env(), capture_output=True, text=True)
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        problem = lines[0] if lines else f"exit status {done.returncode}"
        raise ToolError.coded(TOOL_FAILED, tool=Path(args[0]).name, problem=problem)


_PG_DROP_RELATIONS = (
    "SELECT format('DROP %s IF EXISTS %I.%I CASCADE', "
    "CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' "
    "WHEN 'm' THEN 'MATERIALIZED VIEW' WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END, "
    "n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = 'public' AND c.relkind IN ({kinds})"
)


def pg_clear() -> None:
    """Drop what the restore created (the database was empty before it), as one transaction:
    other schemas, then tables (with their own sequences), then what is left, then functions."""
    with pg_session() as cursor:
        cursor.execute(
            "SELECT format('DROP SCHEMA %I CASCADE', nspname) FROM pg_namespace "
            "WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'public') "
            "AND nspname NOT LIKE 'pg_toast%' AND nspname NOT LIKE 'pg_temp%'"
        )
        for (statement,) in cursor.fetchall():
            cursor.execute(statement)
        for kinds in ("'r', 'p', 'f'", "'v', 'm', 'S'"):
            cursor.execute(_PG_DROP_RELATIONS.format(kinds=kinds))
            for (statement,) in cursor.fetchall():
                cursor.execute(statement)
        cursor.execute(
            "SELECT format('DROP FUNCTION IF EXISTS %I.%I(%s) CASCADE', n.nspname, p.proname, "
            "pg_get_function_identity_arguments(p.oid)) FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'"
        )
        for (statement,) in cursor.fetchall():
            cursor.execute(statement)
        cursor.connection.commit()
