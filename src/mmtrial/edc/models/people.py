"""Sites, users and their roles, participants and their screening."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from mmtrial.edc.models.base import ClinicalRecord


class Role(models.TextChoices):
    COORDINATOR = "coordinator", "Study coordinator"
    INVESTIGATOR = "investigator", "Investigator"
    MONITOR = "monitor", "Monitor"
    DATA_MANAGER = "data_manager", "Data manager"
    STATISTICIAN = "statistician", "Statistician"
    SPONSOR_ADMIN = "sponsor_admin", "Sponsor administrator"
    UNBLINDED_STATISTICIAN = "unblinded_statistician", "Unblinded statistician"
    RANDOMIZATION_ADMIN = "randomization_admin", "Randomization administrator"


# Roles that only a randomized, blinded study has people in.
BLINDING_ROLES = frozenset({Role.UNBLINDED_STATISTICIAN, Role.RANDOMIZATION_ADMIN})


class User(AbstractUser):
    """A person who uses mmtrial. User names are never reused (21 CFR 11.100(a))."""

    full_name = models.CharField(max_length=200, blank=True, help_text="Printed name on signatures")
    identity_verified_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    password_changed_at = models.DateTimeField(null=True, blank=True)
    preferred_language = models.CharField(max_length=8, default="en")

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="edc_user_username_ci_unique"),
        ]

    @property
    def printed_name(self) -> str:
        return self.full_name or self.get_full_name() or self.username


class Site(models.Model):
    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=200)
    name_ja = models.CharField(max_length=200, blank=True)
    timezone = models.CharField(max_length=64, default="Asia/Tokyo")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Membership(models.Model):
    """A user's role at one site; `site` null means every site (monitor, data manager, ...)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="memberships"
    )
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField(max_length=32, choices=Role.choices)
    active = models.BooleanField(default=True)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "site", "role"], name="edc_membership_unique"),
        ]


class ParticipantStatus(models.TextChoices):
    SCREENING = "screening", "Screening"
    SCREEN_FAILED = "screen_failed", "Screen failure"
    ENROLLED = "enrolled", "Enrolled, not yet dosed"
    ON_TREATMENT = "on_treatment", "On treatment"
    OFF_TREATMENT = "off_treatment", "Off treatment, followed for progression"
    FOLLOW_UP = "follow_up", "Survival follow-up after progression"
    DIED = "died", "Died"
    WITHDRAWN = "withdrawn", "Withdrawn"


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"


class Race(models.TextChoices):
    """CDISC RACE codelist (C74457), as the participant reports it (ICH E5; FDA race and
    ethnicity guidance): the stored key, its submission value in SDTM DM."""

    AMERICAN_INDIAN = "american_indian_or_alaska_native", _("American Indian or Alaska Native")
    ASIAN = "asian", _("Asian")
    BLACK = "black_or_african_american", _("Black or African American")
    PACIFIC_ISLANDER = (
        "native_hawaiian_or_other_pacific_islander",
        _("Native Hawaiian or Other Pacific Islander"),
    )
    WHITE = "white", _("White")
    OTHER = "other", _("Other")
    NOT_REPORTED = "not_reported", _("Not reported")
    UNKNOWN = "unknown", _("Unknown")


class Ethnicity(models.TextChoices):
    """CDISC ETHNIC codelist (C66790)."""

    HISPANIC = "hispanic_or_latino", _("Hispanic or Latino")
    NOT_HISPANIC = "not_hispanic_or_latino", _("Not Hispanic or Latino")
    NOT_REPORTED = "not_reported", _("Not reported")
    UNKNOWN = "unknown", _("Unknown")


class Participant(ClinicalRecord):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="participants")
    screening_number = models.CharField(max_length=32)
    subject_id = models.CharField(max_length=32, null=True, blank=True, unique=True)
    sex = models.CharField(max_length=8, choices=Sex.choices)
    year_of_birth = models.PositiveSmallIntegerField()
    # Blank only for participants registered before race and ethnicity were collected.
    race = models.CharField(max_length=48, choices=Race.choices, blank=True)
    ethnicity = models.CharField(max_length=32, choices=Ethnicity.choices, blank=True)
    protocol_version = models.CharField(max_length=32)
    status = models.CharField(
        max_length=20, choices=ParticipantStatus.choices, default=ParticipantStatus.SCREENING
    )
    consent_date = models.DateField()
    enrolled_on = models.DateField(null=True, blank=True)
    c1d1_date = models.DateField(null=True, blank=True)
    locked = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site", "screening_number"], name="edc_participant_screening_unique"
            ),
        ]
        indexes = [models.Index(fields=["site", "status"])]

    def __str__(self) -> str:
        return self.subject_id or self.screening_number


class Screening(ClinicalRecord):
    """Eligibility data and the per-criterion result from `clinical.eligibility`."""

    participant = models.OneToOneField(
        Participant, on_delete=models.PROTECT, related_name="screening"
    )
    screened_on = models.DateField()
    values = models.JSONField(default=dict, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    eligible = models.BooleanField(default=False)
    protocol_version = models.CharField(max_length=32)
