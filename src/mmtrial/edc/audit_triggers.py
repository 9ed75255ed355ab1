"""Database triggers that make the audit table append-only, on SQLite and PostgreSQL.

Installed by migration 0002; `mmtrial audit verify` and the system check confirm they exist.
"""

from __future__ import annotations

TABLE = "edc_auditevent"
MESSAGE = "the audit trail is append-only"

_SQLITE_INSTALL = [
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_no_update BEFORE UPDATE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: UPDATE refused'); END",
    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_no_delete BEFORE DELETE ON {TABLE} "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}: DELETE refused'); END",
]
_SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {TABLE}_no_update",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_delete",
]

_PG_INSTALL = [
    "CREATE OR REPLACE FUNCTION edc_audit_append_only() RETURNS trigger AS $$ "
    f"BEGIN RAISE EXCEPTION '{MESSAGE}: % refused', TG_OP; END; $$ LANGUAGE plpgsql",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_change ON {TABLE}",
    f"CREATE TRIGGER {TABLE}_no_change BEFORE UPDATE OR DELETE ON {TABLE} "
    "FOR EACH ROW EXECUTE FUNCTION edc_audit_append_only()",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}",
    f"CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE} "
    "FOR EACH STATEMENT EXECUTE FUNCTION edc_audit_append_only()",
]
_PG_DROP = [
    f"DROP TRIGGER IF EXISTS {TABLE}_no_change ON {TABLE}",
    f"DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE}",
]


def install_sql(vendor: str) -> list[str]:
    return {"sqlite": _SQLITE_INSTALL, "postgresql": _PG_INSTALL}[vendor]


def drop_sql(vendor: str) -> list[str]:
    return {"sqlite": _SQLITE_DROP, "postgresql": _PG_DROP}[vendor]


def triggers_installed(connection) -> bool:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [TABLE],
            )
            return cursor.fetchone()[0] == len(_SQLITE_INSTALL)
        cursor.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
            [TABLE],
        )
        return cursor.fetchone()[0] == 2


def install(connection) -> None:
    with connection.cursor() as cursor:
        for statement in install_sql(connection.vendor):
            cursor.execute(statement)


def drop(connection) -> None:
    with connection.cursor() as cursor:
        for statement in drop_sql(connection.vendor):
            cursor.execute(statement)


TRIGGERS_PRESENT = "The append-only triggers are in place already: nothing to install."
TRIGGERS_NEED_ADMIN = "Only a sponsor administrator for every site can reinstall the triggers."
TRIGGERS_REASON_REQUIRED = "Give a reason: why were the triggers missing? The audit trail keeps it."


def triggers_reinstall(*, actor, reason: str) -> None:
    """Put the triggers back after they were found missing; audited ("audit_triggers_install").

    Needs a sponsor administrator (manage sites at every site). Migrating backwards, the
    other way to reinstall them, is refused at the command line (it drops data and triggers).
    """
    from django.db import connection, transaction

    from mmtrial.edc.audit import EventSpec, audit_record
    from mmtrial.edc.permissions import ALL_SITES, Action, sites_allowed
    from mmtrial.edc.services._acting import actor_for
    from mmtrial.errors import InputError, PermissionDenied

    if sites_allowed(actor, Action.MANAGE_SITES) is not ALL_SITES:
        raise PermissionDenied(TRIGGERS_NEED_ADMIN)
    if not (reason or "").strip():
        raise InputError(TRIGGERS_REASON_REQUIRED, {"field": "reason"})
    with transaction.atomic():
        if triggers_installed(connection):
            raise InputError(TRIGGERS_PRESENT)
        install(connection)
        audit_record(
            EventSpec(action="audit_triggers_install", model="auditevent", reason=reason.strip()),
            actor=actor_for(actor),
        )
