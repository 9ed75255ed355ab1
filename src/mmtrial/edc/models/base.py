"""Fields every clinical record shares."""

from django.db import models


class ClinicalRecord(models.Model):
    """A record of trial data: versioned for optimistic concurrency, never hard-deleted.

    `version` starts at 1 and goes up by one with every audited change; a service given a stale
    version refuses the change (ConflictError) instead of overwriting someone else's edit.
    `is_deleted` marks a soft delete (21 CFR 11.10(c): trial data is never removed).
    """

    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    is_deleted = models.BooleanField(default=False)

    class Meta:
        abstract = True
