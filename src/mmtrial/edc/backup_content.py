"""What a backup manifest records of a database, computed the same way on the live copy and
on the restored one: every table's row count and content hash, the audit head, the valid
signatures, the migrations. Used by `mmtrial.edc.backup`.
"""

from __future__ import annotations

import hashlib
import sqlite3
from typing import Any


def sqlite_digests(db: sqlite3.Connection) -> dict[str, dict[str, Any]]:
    names = [
        row[0]
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_stat%' "
            "ORDER BY name"
        )
    ]
    tables = {}
    for name in names:
        digest, rows = hashlib.sha256(), 0
        cursor = db.execute(f'SELECT * FROM "{name}" ORDER BY rowid')
        while batch := cursor.fetchmany(1000):
            for row in batch:
                digest.update(repr(row).encode())
                digest.update(b"\n")
            rows += len(batch)
        tables[name] = {"rows": rows, "sha256": digest.hexdigest()}
    return tables


_PG_TABLES = (
    "SELECT c.oid, n.nspname, c.relname FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
    "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' "
    "ORDER BY n.nspname, c.relname"
)
_PG_PRIMARY_KEY = (
    "SELECT a.attname FROM pg_index i "
    "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
    "WHERE i.indrelid = %s AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)"
)


def quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def pg_digests(cursor) -> dict[str, dict[str, Any]]:
    cursor.execute(_PG_TABLES)
    tables = {}
    for oid, schema, name in cursor.fetchall():
        cursor.execute(_PG_PRIMARY_KEY, [oid])
        key = [row[0] for row in cursor.fetchall()]
        order = ", ".join(quote_name(column) for column in key) if key else "t::text"
        label = name if schema == "public" else f"{schema}.{name}"
        digest, rows = hashlib.sha256(), 0
        cursor.execute(
            f"SELECT t::text FROM {quote_name(schema)}.{quote_name(name)} t ORDER BY {order}"
        )
        while batch := cursor.fetchmany(1000):
            for (text,) in batch:
                digest.update(text.encode())
                digest.update(b"\n")
            rows += len(batch)
        tables[label] = {"rows": rows, "sha256": digest.hexdigest()}
    return tables


def database_state(cursor) -> dict[str, Any]:
    """The audit head, the valid signatures and the migrations, from any DB-API cursor."""
    cursor.execute("SELECT count(*), coalesce(max(id), 0) FROM edc_auditevent")
    events, last_id = cursor.fetchone()
    cursor.execute("SELECT hash FROM edc_auditevent ORDER BY id DESC LIMIT 1")
    row = cursor.fetchone()
    cursor.execute("SELECT count(*) FROM edc_signature WHERE status = 'valid'")
    (valid,) = cursor.fetchone()
    cursor.execute("SELECT app, name FROM django_migrations ORDER BY id")
    migrations: dict[str, str] = {}
    for app, name in cursor.fetchall():
        migrations[app] = name
    return {
        "audit": {"events": events, "last_id": last_id, "last_hash": row[0] if row else ""},
        "signatures": {"valid": valid},
        "migrations": migrations,
    }
