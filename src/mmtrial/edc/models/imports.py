"""A central laboratory file's import, from staging to visible (docs/lab-import.md).

The rows of a file are written in short transactions as *staged* results (`is_deleted` set, so
no reader sees them) and become visible together in one short final commit: a file is imported
whole or not at all, also when the process dies half-way, and the sites' saves never wait
behind a long import. The record says how far an import got, so the next one can clean up an
interrupted one.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class LabImportStatus(models.TextChoices):
    STAGING = "staging", "staging"  # rows being written, none visible
    COMMITTED = "committed", "committed"  # every row visible
    ABANDONED = "abandoned", "abandoned"  # interrupted or refused; its staged rows removed


class LabImport(models.Model):
    file_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    status = models.CharField(
        max_length=12, choices=LabImportStatus.choices, default=LabImportStatus.STAGING
    )
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows = models.PositiveIntegerField(default=0)
    staged_rows = models.PositiveIntegerField(default=0)
    # Responses are a cache of the labs (design rule 4): re-derived after the commit, in short
    # transactions; an import interrupted there is finished by the next one.
    responses_derived = models.BooleanField(default=False)

    class Meta:
        constraints = [
            # One import stages at a time (the import lock is the first guard; this the last).
            models.UniqueConstraint(
                fields=["status"],
                condition=models.Q(status="staging"),
                name="edc_one_lab_import_staging",
            ),
        ]


def without_staged(queryset):
    """`queryset` without the rows of an import that has not committed (staged, or abandoned
    and being removed): nobody's data yet. Readers that skip deleted rows skip them already;
    this is for those that show deleted rows too (signed content, the records export)."""
    if not any(f.name == "lab_import" for f in queryset.model._meta.concrete_fields):
        return queryset
    return queryset.exclude(
        lab_import__status__in=[LabImportStatus.STAGING, LabImportStatus.ABANDONED]
    )
