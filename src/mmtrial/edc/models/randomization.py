"""Randomization and blinding: the secret seed of the allocation lists, each participant's
allocation (stratum, slot, kit code: never the arm), and unblinding acts.

The arm of a slot is computed from the seed (`clinical.randomization`) only for the roles that
may see it; nothing a blinded role reads (pages, API, exports, the audit trail) holds it.
"""

from django.conf import settings
from django.db import models

from mmtrial.edc.models.base import ClinicalRecord
from mmtrial.edc.models.people import Participant


class RandomizationKey(models.Model):
    """The study's one secret seed; the audit trail keeps only its SHA-256 (the commitment)."""

    seed = models.CharField(max_length=64)
    commitment = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )


class Allocation(ClinicalRecord):
    """A participant's place in their stratum's list, frozen at enrollment."""

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="allocation"
    )
    stratum_key = models.CharField(max_length=200)
    strata_values = models.JSONField(default=dict, blank=True, help_text="values at allocation")
    position = models.PositiveIntegerField()
    kit_code = models.CharField(max_length=16)
    allocated_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["stratum_key", "position"], name="edc_allocation_slot_unique"
            )
        ]


class Unblinding(models.Model):
    """An act, not clinical data: the arm of one participant shown to their investigator in an
    emergency (or the whole study unblinded: participant null), with the reason; audited, and
    the sponsor told. Never changed or deleted."""

    participant = models.ForeignKey(
        Participant, null=True, blank=True, on_delete=models.PROTECT, related_name="unblindings"
    )
    kind = models.CharField(
        max_length=12, choices=[("emergency", "Emergency unblinding"), ("study", "Study unblinded")]
    )
    reason = models.TextField()
    by = models.CharField(max_length=150)
    at = models.DateTimeField()
    notified = models.JSONField(default=list, blank=True)
