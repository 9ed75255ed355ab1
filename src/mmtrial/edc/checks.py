"""System checks: fail fast when the audit trail is not protected (like pghistory.E001).

mmtrial.E001: migration 0002 says the append-only triggers were installed, yet the database
has none (someone dropped them). Before that migration is applied there is nothing to check.
"""

from __future__ import annotations

from django.core.checks import Error, register
from django.db import DatabaseError, connections
from django.db.migrations.recorder import MigrationRecorder

from mmtrial.edc import audit_triggers

TRIGGER_MIGRATION = ("edc", "0002_audit_append_only")
E001_MESSAGE = "The audit trail's append-only triggers are missing from database '{alias}'."
E001_HINT = (
    "Check the chain (`mmtrial audit verify`), find out who dropped them, and reinstall them: "
    "`mmtrial audit install-triggers --by ADMIN --reason R`."
)


@register()
def audit_triggers_check(app_configs=None, databases=None, **kwargs) -> list[Error]:
    errors = []
    for alias in databases or ["default"]:
        connection = connections[alias]
        try:
            applied = MigrationRecorder(connection).applied_migrations()
            if TRIGGER_MIGRATION not in applied:
                continue
            installed = audit_triggers.triggers_installed(connection)
        except DatabaseError:  # no database yet, or not reachable: nothing to check here
            continue
        if not installed:
            errors.append(
                Error(E001_MESSAGE.format(alias=alias), hint=E001_HINT, id="mmtrial.E001")
            )
    return errors
