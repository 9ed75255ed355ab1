"""Protocol deviations: found by rule (`clinical.deviations`) or entered by hand, each pointing
to the record that shows it, with its class, status and resolution (ICH E3 section 10.2;
ICH E6(R3) 3.10)."""

from django.conf import settings
from django.db import models

from mmtrial.edc.models.people import Participant


class DeviationStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    WITHDRAWN = "withdrawn", "Withdrawn: the data no longer show it"


class DetectedBy(models.TextChoices):
    RULE = "rule", "Rule"
    MANUAL = "manual", "Entered by hand"
    SYSTEM = "system", "System"


class Deviation(models.Model):
    """One protocol deviation of one participant.

    A deviation found by rule is identified by (participant, rule, record_key): the re-check
    never raises the same fact twice, withdraws it when the data no longer show it and opens
    it again when they do. Manual entries have a blank rule and a key of their own."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="deviations"
    )
    rule = models.CharField(max_length=64, blank=True, help_text="blank: entered by hand")
    record_key = models.CharField(max_length=120)
    category = models.CharField(max_length=64)
    important = models.BooleanField(default=False)
    detected_by = models.CharField(max_length=8, choices=DetectedBy.choices)
    source_model = models.CharField(max_length=64, blank=True)
    source_pk = models.CharField(max_length=64, blank=True)
    description = models.TextField()
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=DeviationStatus.choices, default=DeviationStatus.OPEN
    )
    resolution = models.TextField(blank=True)
    detected_on = models.DateField()
    occurred_on = models.DateField(
        null=True, blank=True, help_text="when it happened (SDTM DVSTDTC); null: unknown"
    )
    resolved_on = models.DateField(null=True, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "rule", "record_key"], name="edc_deviation_fact_unique"
            ),
        ]
        indexes = [models.Index(fields=["status", "important"])]
        ordering = ["-detected_on", "-id"]
