"""Data-entry forms: labs, disease assessment, investigator response, and (with the treatment
services) visits, doses, adverse events, end of treatment, follow-up and death.

Each editing form carries the record's version and a reason for change; the services decide
whether the reason is needed and whether the version is current.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from mmtrial.clinical.toxicity_terms import ctcae_term, grade_choices, normalize
from mmtrial.edc.lab_analytes import ANALYTES, IFE_VALUES
from mmtrial.edc.services.adverse_events import SERIOUSNESS
from mmtrial.web.forms import DATE_WIDGET, ReasonField, VersionedForm
from mmtrial.web.labels import choices, label

ANALYTE_LABELS = {
    "serum_m_protein": _("Serum M-protein"),
    "urine_m_protein": _("Urine M-protein (24 h)"),
    "kappa_flc": _("Serum kappa free light chain"),
    "lambda_flc": _("Serum lambda free light chain"),
    "serum_ife": _("Serum immunofixation"),
    "urine_ife": _("Urine immunofixation"),
    "creatinine": _("Serum creatinine"),
    "anc": _("Absolute neutrophil count"),
    "platelets": _("Platelet count"),
    "hemoglobin": _("Hemoglobin"),
}
IFE_CHOICES = [("", "—"), ("positive", _("Positive")), ("negative", _("Negative"))]
LAB_SOURCES = [("local", _("Local laboratory")), ("central", _("Central laboratory"))]


def analyte_label(code: str):
    return ANALYTE_LABELS.get(code, ANALYTES[code].name if code in ANALYTES else code)


class LabPanelForm(forms.Form):
    """Several analytes collected on one date: one row per analyte, empty rows are skipped."""

    collected_on = forms.DateField(label=_("Collection date"), widget=DATE_WIDGET)
    source = forms.ChoiceField(label=_("Laboratory"), choices=LAB_SOURCES)
    accession = forms.CharField(label=_("Accession number"), required=False, max_length=64)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.analytes = list(ANALYTES.values())
        for analyte in self.analytes:
            label = analyte_label(analyte.code)
            if analyte.qualitative:
                self.fields[f"value_{analyte.code}"] = forms.ChoiceField(
                    label=label, choices=IFE_CHOICES, required=False
                )
                continue
            self.fields[f"value_{analyte.code}"] = forms.CharField(
                label=label,
                required=False,
                max_length=40,
                widget=forms.TextInput(attrs={"inputmode": "decimal"}),
            )
            self.fields[f"unit_{analyte.code}"] = forms.ChoiceField(
                label=_("Unit of %(analyte)s") % {"analyte": label},
                choices=[(u, u) for u in analyte.accepted_units],
                required=False,
            )

    def rows(self):
        for analyte in self.analytes:
            unit = None if analyte.qualitative else self[f"unit_{analyte.code}"]
            yield analyte.code, self[f"value_{analyte.code}"], unit

    def entered(self) -> list[tuple[str, str, str]]:
        """(analyte, value, unit) of every row the person filled in."""
        out = []
        for analyte in self.analytes:
            value = (self.cleaned_data.get(f"value_{analyte.code}") or "").strip()
            if not value:
                continue
            unit = "" if analyte.qualitative else self.cleaned_data.get(f"unit_{analyte.code}", "")
            out.append((analyte.code, value, unit or analyte.unit))
        return out

    def clean(self):
        cleaned = super().clean()
        if not any((cleaned.get(f"value_{a.code}") or "").strip() for a in self.analytes):
            raise forms.ValidationError(_("Enter at least one result."))
        return cleaned


class LabEditForm(VersionedForm):
    value = forms.CharField(label=_("Value"), max_length=40)
    unit = forms.ChoiceField(label=_("Unit"), required=False)
    collected_on = forms.DateField(label=_("Collection date"), widget=DATE_WIDGET)
    reason = ReasonField(required=True)
    delete = forms.BooleanField(
        label=_("Delete this result (it stays in the audit trail)"), required=False
    )

    def __init__(self, *args, analyte: str, **kwargs):
        super().__init__(*args, **kwargs)
        entry = ANALYTES.get(analyte)
        if entry is not None and entry.qualitative:
            self.fields["value"] = forms.ChoiceField(label=_("Value"), choices=IFE_CHOICES[1:])
            del self.fields["unit"]
        else:
            units = entry.accepted_units if entry else []
            self.fields["unit"].choices = [(u, u) for u in units]


class DiseaseForm(forms.Form):
    assessed_on = forms.DateField(label=_("Assessment date"), widget=DATE_WIDGET)
    serum_ife = forms.ChoiceField(
        label=_("Serum immunofixation"), choices=IFE_CHOICES, required=False
    )
    urine_ife = forms.ChoiceField(
        label=_("Urine immunofixation"), choices=IFE_CHOICES, required=False
    )
    bone_marrow_plasma_cells_pct = forms.DecimalField(
        label=_("Bone marrow plasma cells (%)"), required=False, min_value=0, max_value=100
    )
    bone_marrow_clonal_cells = forms.ChoiceField(
        label=_("Clonal plasma cells in bone marrow"),
        choices=[("", "—"), ("present", _("Present")), ("absent", _("Absent"))],
        required=False,
    )
    plasmacytoma_spd_cm2 = forms.DecimalField(
        label=_("Plasmacytoma size, sum of products (cm²)"), required=False, min_value=0
    )
    new_lesion = forms.BooleanField(label=_("New bone lesion or plasmacytoma"), required=False)

    SERVICE_FIELDS = (
        "serum_ife",
        "urine_ife",
        "bone_marrow_plasma_cells_pct",
        "bone_marrow_clonal_cells",
        "plasmacytoma_spd_cm2",
        "new_lesion",
    )

    def service_values(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.SERVICE_FIELDS}


class DiseaseEditForm(VersionedForm, DiseaseForm):
    """Correcting a disease assessment: the same values, a reason for change (its date stays)."""

    reason = ReasonField(required=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["assessed_on"]

    @staticmethod
    def initial_from(assessment) -> dict:
        initial = {name: getattr(assessment, name) for name in DiseaseForm.SERVICE_FIELDS}
        initial["version"] = assessment.version
        return initial


class InvestigatorResponseForm(VersionedForm):
    assessment_date = forms.DateField(widget=forms.HiddenInput)
    response = forms.ChoiceField(label=_("Investigator's assessment"), choices=choices("response"))
    reason = ReasonField()


class CycleStartForm(forms.Form):
    start_date = forms.DateField(
        label=_("Planned start date of the next cycle"),
        widget=DATE_WIDGET,
        help_text=_(
            "The dose decision uses the latest labs, weight, creatinine clearance and adverse "
            "events recorded before this date."
        ),
    )


DOSE_STATUS_CHOICES = [
    ("taken", _("Taken as planned")),
    ("reduced", _("Taken at a reduced dose")),
    ("held", _("Held")),
    ("missed", _("Missed")),
]


class DoseForm(VersionedForm):
    """One dose of the cycle's form. A dose not yet recorded offers "Not recorded" (the row is
    left as planned, never pre-read as taken); a recorded one shows what was recorded."""

    status = forms.ChoiceField(label=_("What happened"), choices=DOSE_STATUS_CHOICES)
    taken_dose_mg = forms.DecimalField(
        label=_("Dose taken (mg)"),
        required=False,
        min_value=0,
        widget=forms.NumberInput(attrs={"step": "any", "placeholder": _("mg if reduced")}),
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": _("why reduced, held, missed or changed")}),
    )

    def __init__(self, *args, recorded: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.recorded = recorded
        if not recorded:
            self.fields["status"].required = False
            self.fields["status"].choices = [("", _("Not recorded")), *DOSE_STATUS_CHOICES]


class VisitForm(VersionedForm):
    actual_date = forms.DateField(label=_("Visit date"), widget=DATE_WIDGET)
    weight_kg = forms.DecimalField(
        label=_("Body weight (kg)"), required=False, min_value=0, max_digits=5, decimal_places=1
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    reason = ReasonField()


class VisitMissedForm(VersionedForm):
    reason = forms.CharField(label=_("Why the visit did not take place"), max_length=500)


AE_ACTIONS = [
    ("none", _("None")),
    ("dose_held", _("Dose held")),
    ("dose_reduced", _("Dose reduced")),
    ("drug_discontinued", _("Drug discontinued")),
    ("treatment_discontinued", _("Treatment discontinued")),
    ("other", _("Other")),
]


AE_SERIOUSNESS = [
    ("death", _("Results in death")),
    ("life_threatening", _("Is life-threatening")),
    ("hospitalization", _("Requires or prolongs hospitalisation")),
    ("disability", _("Persistent or significant disability/incapacity")),
    ("congenital_anomaly", _("Congenital anomaly/birth defect")),
    ("other_important", _("Other important medical event")),
]
AE_OUTCOMES = [
    ("", "---------"),
    ("RECOVERED/RESOLVED", _("Recovered/resolved")),
    ("RECOVERING/RESOLVING", _("Recovering/resolving")),
    ("NOT RECOVERED/NOT RESOLVED", _("Not recovered/not resolved")),
    ("RECOVERED/RESOLVED WITH SEQUELAE", _("Recovered/resolved with sequelae")),
    ("FATAL", _("Fatal")),
    ("UNKNOWN", _("Unknown")),
]
AE_ACN = [
    ("", "---------"),
    ("DOSE NOT CHANGED", _("Dose not changed")),
    ("DOSE REDUCED", _("Dose reduced")),
    ("DRUG INTERRUPTED", _("Drug interrupted")),
    ("DRUG WITHDRAWN", _("Drug withdrawn")),
    ("NOT APPLICABLE", _("Not applicable")),
    ("UNKNOWN", _("Unknown")),
]
CTCAE_TERM_UNKNOWN = _("“%(term)s” is not a CTCAE v5.0 term: choose one from the list.")
AWARE_AT_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def ctcae_grade_choices(term: str) -> list[tuple[int, str]]:
    """The grades CTCAE v5.0 defines for `term` with their text; 1-5 for an uncoded term."""
    choices = grade_choices(normalize(term or ""))
    if not choices:
        return [(g, str(g)) for g in range(1, 6)]
    return [(g, f"{g}: {text}") for g, text in choices]


class AdverseEventForm(VersionedForm):
    term = forms.CharField(label=_("Adverse event (verbatim term)"), max_length=200)
    ctcae_term = forms.CharField(
        label=_("CTCAE v5 term"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"list": "ctcae-terms", "autocomplete": "off"}),
        help_text=_("Type to search the CTCAE v5.0 terms; the MedDRA code is kept with it."),
    )
    grade = forms.TypedChoiceField(label=_("CTCAE grade"), coerce=int, choices=[])
    start_date = forms.DateField(label=_("Start date"), widget=DATE_WIDGET)
    end_date = forms.DateField(label=_("End date"), widget=DATE_WIDGET, required=False)
    seriousness = forms.MultipleChoiceField(
        label=_("Seriousness criteria (ICH E2A)"),
        choices=AE_SERIOUSNESS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Serious if any criterion is met."),
    )
    aware_at = forms.DateTimeField(
        label=_("Site became aware of the serious event"),
        required=False,
        widget=AWARE_AT_WIDGET,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        help_text=_("Local time at the site; the SAE report is due within the protocol's hours."),
    )
    outcome = forms.ChoiceField(label=_("Outcome"), choices=AE_OUTCOMES, required=False)
    nonhematologic = forms.BooleanField(label=_("Non-hematologic"), required=False, initial=True)
    with_pain = forms.BooleanField(label=_("With pain"), required=False)
    action_taken = forms.ChoiceField(label=_("Action taken"), choices=AE_ACTIONS)
    led_to_discontinuation = forms.BooleanField(label=_("Led to discontinuation"), required=False)
    reason = ReasonField()

    def __init__(self, *args, drugs=(), site_tz: str = "Asia/Tokyo", **kwargs):
        super().__init__(*args, **kwargs)
        self.drugs = list(drugs)
        self.site_tz = site_tz
        term = (self.data.get("ctcae_term") if self.is_bound else None) or self.initial.get(
            "ctcae_term", ""
        )
        self.fields["grade"].choices = ctcae_grade_choices(term)
        self.fields["ctcae_term"].widget.attrs.update(
            {
                "hx-get": reverse("ae_grade_options"),
                "hx-trigger": "change",
                "hx-target": "#id_grade",
                "hx-swap": "innerHTML",
            }
        )
        for drug in self.drugs:
            name = label(drug, "drug")
            self.fields[f"related_{drug}"] = forms.BooleanField(
                label=_("Related to %(drug)s") % {"drug": name}, required=False
            )
            self.fields[f"action_{drug}"] = forms.ChoiceField(
                label=_("Action taken with %(drug)s") % {"drug": name},
                choices=AE_ACN,
                required=False,
            )
        # The reason for change stays last on the page.
        self.fields["reason"] = self.fields.pop("reason")

    def clean_ctcae_term(self):
        text = (self.cleaned_data.get("ctcae_term") or "").strip()
        if text:
            coded = ctcae_term(normalize(text))
            if coded is None:
                raise forms.ValidationError(CTCAE_TERM_UNKNOWN, params={"term": text})
            return coded.term
        return text

    def clean_aware_at(self):
        value = self.cleaned_data.get("aware_at")
        if value is None:
            return None
        # The browser sends the site's wall-clock time; it is stored with the site's zone.
        return value.replace(tzinfo=None).replace(tzinfo=ZoneInfo(self.site_tz))

    def service_values(self) -> dict:
        data = self.cleaned_data
        values = {
            name: data.get(name)
            for name in (
                "term",
                "ctcae_term",
                "grade",
                "start_date",
                "end_date",
                "nonhematologic",
                "with_pain",
                "action_taken",
                "led_to_discontinuation",
                "aware_at",
            )
        }
        values["seriousness"] = list(data.get("seriousness") or [])
        values["outcome"] = data.get("outcome") or ""
        values["attribution"] = {drug: bool(data.get(f"related_{drug}")) for drug in self.drugs}
        values["actions"] = {
            drug: data[f"action_{drug}"] for drug in self.drugs if data.get(f"action_{drug}")
        }
        return values

    @staticmethod
    def initial_from(ae, *, site_tz: str = "Asia/Tokyo") -> dict:
        initial = {
            name: getattr(ae, name)
            for name in (
                "term",
                "ctcae_term",
                "grade",
                "start_date",
                "end_date",
                "outcome",
                "nonhematologic",
                "with_pain",
                "action_taken",
                "led_to_discontinuation",
                "version",
            )
        }
        initial["seriousness"] = [c for c, flag in SERIOUSNESS.items() if getattr(ae, flag)]
        if ae.aware_at is not None:
            initial["aware_at"] = ae.aware_at.astimezone(ZoneInfo(site_tz)).replace(tzinfo=None)
        for drug, related in (ae.attribution or {}).items():
            initial[f"related_{drug}"] = related
        for drug, action in (ae.actions or {}).items():
            initial[f"action_{drug}"] = action
        return initial


EOT_REASONS = [
    ("progressive_disease", _("Progressive disease")),
    ("adverse_event", _("Adverse event")),
    ("withdrawal", _("Withdrawal of consent")),
    ("investigator_decision", _("Investigator's decision")),
    ("death", _("Death")),
    ("other", _("Other")),
]


class EndOfTreatmentForm(forms.Form):
    last_dose_date = forms.DateField(label=_("Date of the last dose"), widget=DATE_WIDGET)
    reason = forms.ChoiceField(label=_("Reason for ending treatment"), choices=EOT_REASONS)
    details = forms.CharField(
        label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class FollowUpForm(forms.Form):
    contact_date = forms.DateField(label=_("Contact date"), widget=DATE_WIDGET)
    alive = forms.TypedChoiceField(
        label=_("Status at contact"),
        coerce=lambda v: v == "yes",
        choices=[("yes", _("Alive")), ("no", _("Died"))],
    )
    new_anticancer_therapy = forms.BooleanField(
        label=_("Started a new anticancer therapy"), required=False
    )
    new_therapy_start_date = forms.DateField(
        label=_("Start date of the new therapy"), widget=DATE_WIDGET, required=False
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


DEATH_CAUSES = [
    ("progressive_disease", _("Progressive disease")),
    ("adverse_event", _("Adverse event")),
    ("other", _("Other")),
    ("unknown", _("Unknown")),
]


class DeathForm(forms.Form):
    death_date = forms.DateField(label=_("Date of death"), widget=DATE_WIDGET)
    cause = forms.ChoiceField(label=_("Cause of death"), choices=DEATH_CAUSES)
    details = forms.CharField(
        label=_("Details"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


__all__ = [
    "IFE_VALUES",
    "AdverseEventForm",
    "CycleStartForm",
    "DeathForm",
    "DiseaseForm",
    "DoseForm",
    "EndOfTreatmentForm",
    "FollowUpForm",
    "InvestigatorResponseForm",
    "LabEditForm",
    "LabPanelForm",
    "VisitForm",
    "VisitMissedForm",
]


RENAL_ACTIONS = [
    ("confirm", _("Confirm the proposed doses")),
    ("override", _("Decide other doses (give a reason)")),
]
STOP = "stop"


class RenalDecisionForm(forms.Form):
    """The investigator's answer to a renal proposal: confirm it, or give each proposed drug's
    dose (or stop it) with a reason. One dose field per proposed drug, built from the proposal."""

    action = forms.ChoiceField(
        label=_("Investigator's decision"), choices=RENAL_ACTIONS, widget=forms.RadioSelect
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when you decide other doses; kept in the audit trail."),
    )

    def __init__(self, *args, proposals: list[dict], protocol, **kwargs):
        super().__init__(*args, **kwargs)
        self.proposals = proposals
        for p in proposals:
            drug = p["drug"]
            levels = [
                (format(level.normalize(), "f"), f"{level.normalize():f} mg")
                for level in protocol.levels(drug)
            ]
            self.fields[f"dose_{drug}"] = forms.ChoiceField(
                label=_("%(drug)s dose if you decide other doses") % {"drug": label(drug, "drug")},
                choices=[("", "—"), *levels, (STOP, _("Stop this drug"))],
                required=False,
            )
            self.fields[f"every_{drug}"] = forms.ChoiceField(
                label=_("%(drug)s taken") % {"drug": label(drug, "drug")},
                choices=[
                    ("1", _("on each of its regimen days")),
                    ("2", _("every other regimen day (every 48 hours)")),
                ],
                initial="1",
                required=False,
            )

    def override_doses(self) -> tuple[dict, dict]:
        """(doses_mg, every_days) of an override, as the service takes them."""
        doses, every = {}, {}
        for p in self.proposals:
            drug = p["drug"]
            chosen = self.cleaned_data.get(f"dose_{drug}") or ""
            if chosen:
                doses[drug] = None if chosen == STOP else chosen
            step = int(self.cleaned_data.get(f"every_{drug}") or 1)
            if step != 1:
                every[drug] = step
        return doses, every
