"""Labs, disease and response assessments, adverse events, end of treatment, follow-up, death."""

from django.conf import settings
from django.db import models

from mmtrial.edc.models.base import ClinicalRecord
from mmtrial.edc.models.people import Participant
from mmtrial.edc.models.treatment import Visit


class LabSource(models.TextChoices):
    CENTRAL = "central", "Central laboratory"
    LOCAL = "local", "Local laboratory"


class LabResult(ClinicalRecord):
    """One analyte's result, stored in its canonical unit (conversions happen at the boundary)."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="labs")
    visit = models.ForeignKey(
        Visit, null=True, blank=True, on_delete=models.PROTECT, related_name="labs"
    )
    analyte = models.CharField(max_length=40)
    value = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    value_text = models.CharField(
        max_length=40, blank=True, help_text="qualitative results, e.g. IFE"
    )
    unit = models.CharField(max_length=20, blank=True)
    reported_value = models.CharField(max_length=40, blank=True)
    reported_unit = models.CharField(max_length=20, blank=True)
    collected_on = models.DateField()
    source = models.CharField(max_length=8, choices=LabSource.choices)
    accession = models.CharField(max_length=64, blank=True)
    # The central laboratory file this result came from (None: entered at the site). While
    # that import stages, its results are kept invisible (`is_deleted`) until its final commit.
    lab_import = models.ForeignKey(
        "edc.LabImport", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["accession", "analyte"],
                condition=models.Q(source="central"),
                name="edc_lab_central_accession_unique",
            ),
        ]
        indexes = [models.Index(fields=["participant", "analyte", "collected_on"])]


class DiseaseAssessment(ClinicalRecord):
    """Results that are not central-lab numbers: bone marrow, imaging, IFE entered at site."""

    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="disease_assessments"
    )
    visit = models.ForeignKey(
        Visit, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    assessed_on = models.DateField()
    serum_ife = models.CharField(max_length=8, blank=True)
    urine_ife = models.CharField(max_length=8, blank=True)
    bone_marrow_plasma_cells_pct = models.DecimalField(
        max_digits=5, decimal_places=2, null=True, blank=True
    )
    bone_marrow_clonal_cells = models.CharField(max_length=8, blank=True)
    plasmacytoma_spd_cm2 = models.DecimalField(
        max_digits=8, decimal_places=2, null=True, blank=True
    )
    new_lesion = models.BooleanField(default=False)


class ResponseAssessment(ClinicalRecord):
    """The derived IMWG category with its reasons, and the investigator's category beside it."""

    participant = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="responses")
    assessment_date = models.DateField()
    derived_response = models.CharField(max_length=4)
    derived_confirmed = models.BooleanField(default=False)
    reasons = models.JSONField(default=list, blank=True)
    # The engine's findings and confirmation as codes with values (clinical.imwg_reasons), so
    # pages render them in the reader's language; `reasons` keeps the engine's English. Rows
    # derived before this field existed hold {} until the next re-derivation fills it in.
    findings = models.JSONField(default=dict, blank=True)
    engine_version = models.CharField(max_length=32)
    investigator_response = models.CharField(max_length=4, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "assessment_date"], name="edc_response_unique"
            ),
        ]
        ordering = ["participant", "assessment_date"]


class ResponseSummary(ClinicalRecord):
    """A participant's confirmed best overall response and its dates (clinical.imwg)."""

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="response_summary"
    )
    followed = models.JSONField(default=list, blank=True)
    best_overall_response = models.CharField(max_length=4, default="NE")
    best_overall_response_date = models.DateField(null=True, blank=True)
    response_date = models.DateField(null=True, blank=True)
    progression_date = models.DateField(null=True, blank=True)
    engine_version = models.CharField(max_length=32)


class AeOutcome(models.TextChoices):
    """CDISC controlled terminology OUT (outcome of event)."""

    RECOVERED = "RECOVERED/RESOLVED", "Recovered/resolved"
    RECOVERING = "RECOVERING/RESOLVING", "Recovering/resolving"
    NOT_RECOVERED = "NOT RECOVERED/NOT RESOLVED", "Not recovered/not resolved"
    SEQUELAE = "RECOVERED/RESOLVED WITH SEQUELAE", "Recovered/resolved with sequelae"
    FATAL = "FATAL", "Fatal"
    UNKNOWN = "UNKNOWN", "Unknown"


class AdverseEvent(ClinicalRecord):
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="adverse_events"
    )
    term = models.CharField(max_length=200)
    ctcae_term = models.CharField(max_length=200, blank=True)
    grade = models.PositiveSmallIntegerField()
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    serious = models.BooleanField(default=False)
    nonhematologic = models.BooleanField(default=True)
    with_pain = models.BooleanField(default=False)
    attribution = models.JSONField(default=dict, blank=True, help_text="{drug: related true/false}")
    action_taken = models.CharField(max_length=40, blank=True)
    led_to_discontinuation = models.BooleanField(default=False)
    # Coded term (CTCAE v5.0, its MedDRA LLT code); `term` keeps the verbatim text.
    meddra_code = models.CharField(max_length=12, blank=True)
    # ICH E2A seriousness criteria; `serious` is true iff one of them is (older records: as entered).
    sae_death = models.BooleanField(default=False)
    sae_life_threatening = models.BooleanField(default=False)
    sae_hospitalization = models.BooleanField(default=False)
    sae_disability = models.BooleanField(default=False)
    sae_congenital_anomaly = models.BooleanField(default=False)
    sae_other_important = models.BooleanField(default=False)
    outcome = models.CharField(max_length=40, blank=True, choices=AeOutcome.choices)
    actions = models.JSONField(default=dict, blank=True, help_text="{drug: CDISC ACN term}")
    dose_links = models.JSONField(
        default=dict, blank=True, help_text="{drug: [dose administration ids the action caused]}"
    )
    aware_at = models.DateTimeField(
        null=True, blank=True, help_text="when the site became aware of the serious event"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(grade__gte=1, grade__lte=5), name="edc_ae_grade_1_5"
            ),
            models.CheckConstraint(
                condition=models.Q(serious=True)
                | models.Q(
                    sae_death=False,
                    sae_life_threatening=False,
                    sae_hospitalization=False,
                    sae_disability=False,
                    sae_congenital_anomaly=False,
                    sae_other_important=False,
                ),
                name="edc_ae_criterion_means_serious",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="edc_ae_end_after_start",
            ),
        ]


class EndOfTreatment(ClinicalRecord):
    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="end_of_treatment"
    )
    last_dose_date = models.DateField()
    reason = models.CharField(max_length=40)
    details = models.TextField(blank=True)


class FollowUpContact(ClinicalRecord):
    participant = models.ForeignKey(
        Participant, on_delete=models.PROTECT, related_name="follow_up_contacts"
    )
    contact_date = models.DateField()
    alive = models.BooleanField()
    new_anticancer_therapy = models.BooleanField(default=False)
    new_therapy_start_date = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)


class Death(ClinicalRecord):
    participant = models.OneToOneField(Participant, on_delete=models.PROTECT, related_name="death")
    death_date = models.DateField()
    cause = models.CharField(max_length=40)
    details = models.TextField(blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
