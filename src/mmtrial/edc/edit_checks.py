"""Edit checks: what a clinical record may hold, checked once for every way data comes in.

The unit of work (`edc.unit_of_work`) runs `check` on every record it creates or changes, so
the web forms, the lab import, the API and the services share these checks (design rule 8).

Rules (protocol file ``value_ranges``, [ours]; Annex 11 section 6, ICH E6(R3) 4.2.1):
- a lab value, a weight or a bone-marrow result outside its variable's hard limits is refused
  with a message naming what the user sees (the analyte, the value, the limits, the unit);
  outside the soft limits it is saved, and an automatic query asks the site to confirm it;
- a date in the future, in the site's time zone, is refused for every dated record (labs,
  visits, doses taken, adverse events, assessments, follow-up, death); a date before the
  participant's consent is refused;
- a dose recorded as taken must be one of the drug's dose levels; another dose needs a reason
  and opens a query.
A check that refuses raises InputError; `check` returns the soft findings as (field, text).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_noop as _

from mmtrial.clinical.value_ranges import fmt_number, range_text, soft_flag
from mmtrial.errors import InputError, Phrase, Term
from mmtrial.protocol.loader import load_protocol

__all__ = [
    "ANALYTE_VARIABLES",
    "DATE_BEFORE_CONSENT",
    "DATE_IN_FUTURE",
    "DOSE_OFF_LADDER",
    "VALUE_IMPOSSIBLE",
    "check",
    "site_today",
]

DATE_IN_FUTURE = "{label}: {date} is in the future (today is {today} at the site)."
DATE_BEFORE_CONSENT = (
    "{label}: {date} is before the participant's consent ({consent}); no study data may be "
    "collected before consent."
)
VALUE_IMPOSSIBLE = "{label}: {value} is impossible; it must be {limits}."
VALUE_NOT_WHOLE = "{label}: {value} is not a whole number."
# A variable's hard limits as a phrase of VALUE_IMPOSSIBLE, by (minimum inclusive, maximum
# inclusive); `{unit}` is empty or the unit with a space before it.
RANGE_GE_LE = ">= {minimum}{unit} and <= {maximum}{unit}"
RANGE_GE_LT = ">= {minimum}{unit} and < {maximum}{unit}"
RANGE_GT_LE = "> {minimum}{unit} and <= {maximum}{unit}"
RANGE_GT_LT = "> {minimum}{unit} and < {maximum}{unit}"
_RANGES = {
    (True, True): RANGE_GE_LE,
    (True, False): RANGE_GE_LT,
    (False, True): RANGE_GT_LE,
    (False, False): RANGE_GT_LT,
}
VALUE_UNUSUAL = "{label} {value} is unusual (expected {limits}): please confirm or correct it."
DOSE_OFF_LADDER = (
    "{drug} dose taken: {dose} mg is not a dose level of the protocol ({levels}); say why in "
    "the reason."
)
DOSE_OFF_LADDER_QUERY = (
    "{drug} {dose} mg taken is not a dose level of the protocol: please confirm."
)

# The lab analytes (edc.lab_analytes) as the protocol's value_ranges variables: the stored value
# is in the variable's unit.
ANALYTE_VARIABLES = {
    "serum_m_protein": "serum_m_protein_g_dl",
    "urine_m_protein": "urine_m_protein_mg_24h",
    "kappa_flc": "kappa_flc_mg_l",
    "lambda_flc": "lambda_flc_mg_l",
    "creatinine": "creatinine_mg_dl",
    "anc": "anc_per_mm3",
    "platelets": "platelets_per_mm3",
    "hemoglobin": "hemoglobin_g_dl",
}

# Each model's dated fields with the label a user sees (translated where the message is shown),
# and whether the date must not be before consent. A dose's date is checked only once the dose is recorded as given.
_DATES = {
    "labresult": (("collected_on", _("Collection date"), True),),
    "visit": (("actual_date", _("Visit date"), True),),
    "adverseevent": (("start_date", _("Start date"), True), ("end_date", _("End date"), True)),
    "diseaseassessment": (("assessed_on", _("Assessment date"), True),),
    "followupcontact": (
        ("contact_date", _("Contact date"), True),
        ("new_therapy_start_date", _("New therapy start date"), False),
    ),
    "death": (("death_date", _("Date of death"), True),),
    "endoftreatment": (("last_dose_date", _("Last dose date"), True),),
    "doseadministration": (("date", _("Dose date"), True),),
}
_GIVEN = frozenset({"taken", "reduced"})
# Numbers with a value range, by model: (field, protocol variable).
_NUMBERS = {
    "visit": (("weight_kg", "weight_kg"),),
    "diseaseassessment": (
        ("bone_marrow_plasma_cells_pct", "bone_marrow_plasma_cells_pct"),
        ("plasmacytoma_spd_cm2", "plasmacytoma_spd_cm2"),
    ),
}


def site_today(participant) -> dt.date:
    """Today at the participant's site (its time zone; Asia/Tokyo by default)."""
    try:
        zone = ZoneInfo(participant.site.timezone or "Asia/Tokyo")
    except (KeyError, ValueError):
        zone = ZoneInfo("Asia/Tokyo")
    return timezone.now().astimezone(zone).date()


def _participant(instance: models.Model):
    if hasattr(instance, "participant"):
        return instance.participant
    if hasattr(instance, "cycle"):
        return instance.cycle.participant
    return None


def _check_dates(instance, label: str, participant, changed) -> None:
    today = None
    dose = label == "doseadministration"
    for name, shown, after_consent in _DATES.get(label, ()):
        if dose and instance.status not in _GIVEN:
            continue  # a planned dose is dated ahead: only a dose given is checked
        if changed is not None and name not in changed and not (dose and "status" in changed):
            continue
        value = getattr(instance, name)
        if not isinstance(value, dt.date):
            continue
        today = today or site_today(participant)
        if value > today:
            raise InputError.coded(
                DATE_IN_FUTURE, {"field": name}, label=shown, date=value, today=today
            )
        if after_consent and participant.consent_date and value < participant.consent_date:
            raise InputError.coded(
                DATE_BEFORE_CONSENT,
                {"field": name},
                label=shown,
                date=value,
                consent=participant.consent_date,
            )


def _limits(rng, unit: str) -> Phrase:
    """The limits as the message shows them, in the user's language where it is rendered."""
    return Phrase(
        _RANGES[(rng.minimum_inclusive, rng.maximum_inclusive)],
        {
            "minimum": fmt_number(rng.minimum),
            "maximum": fmt_number(rng.maximum),
            "unit": f" {unit}" if unit else "",
        },
    )


def _check_number(variable: str, value, *, field: str, protocol, label: str | None = None):
    """InputError outside the hard limits; (field, text) outside the soft ones; else None."""
    if value is None:
        return None
    spec = protocol.value_ranges.variables[variable]
    number = Decimal(str(value))
    shown_label = label or Term(spec.label, spec.label_ja)
    shown = f"{fmt_number(number)} {spec.unit}".strip()
    hard = spec.hard
    low_ok = number >= hard.minimum if hard.minimum_inclusive else number > hard.minimum
    high_ok = number <= hard.maximum if hard.maximum_inclusive else number < hard.maximum
    if not (low_ok and high_ok):
        raise InputError.coded(
            VALUE_IMPOSSIBLE,
            {"field": field, "code": "value_out_of_range", "variable": variable},
            label=shown_label,
            value=shown,
            limits=_limits(hard, spec.unit),
        )
    if spec.integer and number != number.to_integral_value():
        raise InputError.coded(
            VALUE_NOT_WHOLE, {"field": field, "variable": variable}, label=shown_label, value=shown
        )
    flag = soft_flag(variable, number, protocol=protocol)
    if flag is None:
        return None
    return field, VALUE_UNUSUAL.format(
        label=shown_label, value=shown, limits=range_text(flag.soft, spec.unit)
    )


def check(instance: models.Model, *, changed: set[str] | None = None) -> list[tuple[str, str]]:
    """Run the checks of `instance`'s kind (module docstring). `changed`: on an update, the
    fields that change (only they are checked); None for a new record. Returns soft findings;
    raises InputError for a value or date that cannot be right."""
    label = instance._meta.model_name
    participant = _participant(instance)
    if participant is None:
        return []
    _check_dates(instance, label, participant, changed)
    protocol = load_protocol(participant.protocol_version)
    findings = []
    if label == "labresult":
        variable = ANALYTE_VARIABLES.get(instance.analyte)
        if variable is not None and (changed is None or "value" in changed):
            found = _check_number(variable, instance.value, field="value", protocol=protocol)
            if found:
                findings.append(found)
    for name, variable in _NUMBERS.get(label, ()):
        if changed is None or name in changed:
            found = _check_number(variable, getattr(instance, name), field=name, protocol=protocol)
            if found:
                findings.append(found)
    if label == "doseadministration" and instance.status in _GIVEN:
        dose = instance.taken_dose_mg
        if dose is not None and Decimal(dose) not in protocol.levels(instance.drug):
            drug = protocol.drugs[instance.drug].name
            levels = ", ".join(
                f"{fmt_number(level)} mg" for level in protocol.levels(instance.drug)
            )
            if not (instance.reason or "").strip():
                raise InputError.coded(
                    DOSE_OFF_LADDER,
                    {"field": "reason"},
                    drug=drug,
                    dose=fmt_number(Decimal(dose)),
                    levels=levels,
                )
            findings.append(
                (
                    "taken_dose_mg",
                    DOSE_OFF_LADDER_QUERY.format(drug=drug, dose=fmt_number(Decimal(dose))),
                )
            )
    return findings
