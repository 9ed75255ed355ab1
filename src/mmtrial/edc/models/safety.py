"""Expedited safety reports: the initial and follow-up reports of a serious adverse event."""

from django.conf import settings
from django.db import models

from mmtrial.edc.models.assessments import AdverseEvent
from mmtrial.edc.models.base import ClinicalRecord
from mmtrial.edc.models.people import Participant


class SaeReportKind(models.TextChoices):
    INITIAL = "initial", "Initial report"
    FOLLOW_UP = "follow_up", "Follow-up report"


class SaeReport(ClinicalRecord):
    """One report of a serious adverse event sent by the site to the sponsor (ICH E2A)."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="+")
    adverse_event = models.ForeignKey(
        AdverseEvent, on_delete=models.PROTECT, related_name="sae_reports"
    )
    kind = models.CharField(max_length=10, choices=SaeReportKind.choices)
    sent_at = models.DateTimeField()
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    summary = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["adverse_event"],
                condition=models.Q(kind="initial", is_deleted=False),
                name="edc_sae_one_initial_report",
            ),
        ]
        indexes = [models.Index(fields=["adverse_event", "sent_at"])]
