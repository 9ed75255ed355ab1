"""Queries and electronic signatures."""

from django.conf import settings
from django.db import models

from mmtrial.edc.models.people import Participant


class QueryStatus(models.TextChoices):
    OPEN = "open", "Open"
    ANSWERED = "answered", "Answered"
    CLOSED = "closed", "Closed"


class QueryOrigin(models.TextChoices):
    MANUAL = "manual", "Raised by a person"
    EDIT_CHECK = "edit_check", "Edit check"
    RESPONSE_DISAGREEMENT = "response_disagreement", "Derived and investigator response differ"
    SAE_OVERDUE = "sae_overdue", "SAE report overdue"


class Query(models.Model):
    """A question on a record or one of its fields, answered at the site and closed by a monitor."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="queries")
    model = models.CharField(max_length=64)
    object_pk = models.CharField(max_length=64)
    field = models.CharField(max_length=64, blank=True)
    text = models.TextField()
    status = models.CharField(max_length=10, choices=QueryStatus.choices, default=QueryStatus.OPEN)
    origin = models.CharField(
        max_length=24, choices=QueryOrigin.choices, default=QueryOrigin.MANUAL
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField()
    version = models.PositiveIntegerField(default=1)

    class Meta:
        indexes = [models.Index(fields=["participant", "status"])]


class QueryMessage(models.Model):
    query = models.ForeignKey(Query, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=10)  # open, answer, reopen, close
    text = models.TextField()
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]


class SignatureStatus(models.TextChoices):
    VALID = "valid", "Valid"
    INVALIDATED = "invalidated", "Invalidated by a later change"


class Signature(models.Model):
    """An investigator's e-signature over a participant's data (21 CFR 11.50, 11.70, 11.200).

    `content_sha256` binds it to the exact data signed; a later change marks it invalidated.
    """

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="signatures"
    )
    signer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signatures"
    )
    printed_name = models.CharField(max_length=200)
    meaning = models.CharField(max_length=40)
    signed_at = models.DateTimeField()
    content_sha256 = models.CharField(max_length=64)
    confirmation_text_version = models.CharField(max_length=16)
    status = models.CharField(
        max_length=12, choices=SignatureStatus.choices, default=SignatureStatus.VALID
    )
    invalidated_at = models.DateTimeField(null=True, blank=True)
    invalidated_reason = models.TextField(blank=True)
