"""Drug accountability: the capsules or tablets of one drug dispensed to a participant for a
cycle, returned and lost (ICH E6(R3) investigational product accountability)."""

from django.db import models

from mmtrial.edc.models.base import ClinicalRecord
from mmtrial.edc.models.people import Participant


class DispensingUnit(models.TextChoices):
    CAPSULE = "capsule", "Capsule"
    TABLET = "tablet", "Tablet"


class DrugAccountability(ClinicalRecord):
    """One drug of one cycle: counts dispensed, returned and lost (one row per
    participant, cycle and drug). The unit comes from the protocol's accountability section."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="accountability"
    )
    cycle_number = models.PositiveSmallIntegerField()
    drug = models.CharField(max_length=32)
    unit = models.CharField(max_length=8, choices=DispensingUnit.choices)
    dispensed_count = models.PositiveIntegerField(verbose_name="dispensed")
    dispensed_on = models.DateField(verbose_name="date dispensed")
    returned_count = models.PositiveIntegerField(null=True, blank=True, verbose_name="returned")
    returned_on = models.DateField(null=True, blank=True, verbose_name="date returned")
    lost_count = models.PositiveIntegerField(default=0, verbose_name="lost")
    bottle_count = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name="bottles")
    bottle_id = models.CharField(max_length=40, blank=True, verbose_name="bottle or kit number")
    comment = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "cycle_number", "drug"], name="edc_accountability_unique"
            ),
        ]
        ordering = ["participant", "cycle_number", "drug"]
