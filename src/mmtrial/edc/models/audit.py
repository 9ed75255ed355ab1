"""The audit trail: append-only (database triggers) and hash-chained."""

from django.conf import settings
from django.db import models


class AuditEvent(models.Model):
    """One attributable event: who, when (UTC), what record, which fields old -> new, and why.

    Rows are never updated or deleted: triggers installed by migration 0002 reject UPDATE and
    DELETE on SQLite and PostgreSQL. `hash` = SHA-256 over the previous event's hash and this
    event's canonical content, so a changed or removed row breaks the chain
    (`mmtrial audit verify`).
    """

    occurred_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_username = models.CharField(max_length=150)
    action = models.CharField(max_length=32)
    model = models.CharField(max_length=64, blank=True)
    object_pk = models.CharField(max_length=64, blank=True)
    site_code = models.CharField(max_length=16, blank=True)
    subject = models.CharField(
        max_length=32, blank=True, help_text="subject id or screening number"
    )
    changes = models.JSONField(default=dict, help_text="{field: {old, new}}")
    reason = models.TextField(blank=True)
    context = models.JSONField(default=dict, help_text="source IP, file name and checksum, ...")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["model", "object_pk"]),
            models.Index(fields=["site_code", "subject"]),
        ]


class AuditChainHead(models.Model):
    """The last event's hash: appending locks this one row, so the chain never forks.

    `mac`: with an audit key configured (outside the database), HMAC-SHA256 over the last id and
    hash, so that a chain re-hashed by someone without the key fails `mmtrial audit verify`.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_event_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)
    mac = models.CharField(max_length=64, blank=True, default="")
