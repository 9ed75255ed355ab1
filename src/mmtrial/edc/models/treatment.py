"""Cycles with their dose decisions, dose administrations and visits."""

from django.db import models

from mmtrial.edc.models.base import ClinicalRecord
from mmtrial.edc.models.people import Participant


class CycleStatus(models.TextChoices):
    STARTED = "started", "Started"
    DELAYED = "delayed", "Delayed"
    COMPLETED = "completed", "Completed"
    NOT_STARTED = "not_started", "Not started: treatment discontinued at the decision"
    AWAITING_INVESTIGATOR = "awaiting_investigator", "Needs investigator decision"


class Cycle(ClinicalRecord):
    """A treatment cycle: its start, planned doses and the protocol's dose decision with reasons."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="cycles")
    number = models.PositiveSmallIntegerField()
    start_date = models.DateField()
    status = models.CharField(
        max_length=24, choices=CycleStatus.choices, default=CycleStatus.STARTED
    )
    planned_doses_mg = models.JSONField(default=dict, blank=True, help_text="{drug: mg or null}")
    decision = models.JSONField(
        default=dict, blank=True, help_text="clinical.dosing decision with reasons"
    )
    alternation_state = models.JSONField(default=dict, blank=True)
    engine_version = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant", "number"], name="edc_cycle_unique"),
        ]
        ordering = ["participant", "number"]


class RenalDoseDecision(ClinicalRecord):
    """The investigator's answer to a renal proposal for one cycle (protocol.md section 4):
    confirm the label's doses, or override them with doses of their own and a reason."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="renal_decisions"
    )
    cycle_number = models.PositiveSmallIntegerField()
    band = models.CharField(max_length=40, help_text="the protocol's renal band answered")
    action = models.CharField(
        max_length=8, choices=[("confirm", "Confirm"), ("override", "Override")]
    )
    doses_mg = models.JSONField(default=dict, blank=True, help_text="override: {drug: mg or null}")
    every_days = models.JSONField(default=dict, blank=True, help_text="override: {drug: n}")
    reason = models.TextField(blank=True)
    decided_by = models.CharField(max_length=150, help_text="the investigator, as signed in")
    decided_on = models.DateField()


class DoseStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    TAKEN = "taken", "Taken as planned"
    REDUCED = "reduced", "Taken at a reduced dose"
    HELD = "held", "Held"
    MISSED = "missed", "Missed"


class DoseAdministration(ClinicalRecord):
    cycle = models.ForeignKey(Cycle, on_delete=models.PROTECT, related_name="doses")
    drug = models.CharField(max_length=32)
    day = models.PositiveSmallIntegerField()
    date = models.DateField()
    planned_dose_mg = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    taken_dose_mg = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    status = models.CharField(max_length=8, choices=DoseStatus.choices)
    reason = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cycle", "drug", "day"], name="edc_dose_unique"),
            models.CheckConstraint(
                condition=models.Q(taken_dose_mg__isnull=True) | models.Q(taken_dose_mg__gte=0),
                name="edc_dose_taken_not_negative",
            ),
        ]


class VisitKind(models.TextChoices):
    TREATMENT = "treatment", "Treatment visit"
    END_OF_TREATMENT = "end_of_treatment", "End-of-treatment visit"
    FOLLOW_UP = "follow_up", "Follow-up contact"


class VisitStatus(models.TextChoices):
    DUE = "due", "Due"
    DONE = "done", "Done"
    OUT_OF_WINDOW = "out_of_window", "Done out of window"
    MISSED = "missed", "Missed"


class Visit(ClinicalRecord):
    """A planned visit (from `clinical.schedule`) and what happened."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="visits")
    code = models.CharField(max_length=16)
    kind = models.CharField(max_length=20, choices=VisitKind.choices)
    cycle_number = models.PositiveSmallIntegerField(null=True, blank=True)
    day = models.PositiveSmallIntegerField(null=True, blank=True)
    planned_date = models.DateField()
    window_start = models.DateField()
    window_end = models.DateField()
    actual_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=VisitStatus.choices, default=VisitStatus.DUE)
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    notes = models.TextField(blank=True)
    locked = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["participant", "code"], name="edc_visit_unique"),
            models.CheckConstraint(
                condition=models.Q(window_start__lte=models.F("window_end")),
                name="edc_visit_window_ordered",
            ),
        ]
        indexes = [models.Index(fields=["planned_date", "status"])]
        ordering = ["participant", "planned_date"]
