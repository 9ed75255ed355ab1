"""The screening form, built from the protocol's eligibility criteria (no criterion is coded here).

Each variable a criterion reads becomes a field: numbers as decimal inputs with their unit, yes/no
facts as a choice with "not known". Free-text criteria become the investigator's answer. Age is
derived from the year of birth and CrCl from creatinine and weight by the service.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from mmtrial.clinical.eligibility import known_variables
from mmtrial.edc.models.people import Ethnicity, Race
from mmtrial.protocol.models import Protocol
from mmtrial.web.forms import DATE_WIDGET, ReasonField, VersionedForm

# Derived by the screening service from the year of birth, and from creatinine and weight.
DERIVED_VARIABLES = frozenset({"age_years"})
CRCL_INPUTS = ("creatinine_mg_dl", "weight_kg")

VARIABLE_LABELS = {
    "age_years": _("Age (years)"),
    "confirmed_mm_diagnosis": _("Multiple myeloma confirmed by IMWG diagnostic criteria"),
    "prior_lines": _("Prior lines of therapy"),
    "relapsed_or_refractory": _("Relapsed and/or refractory disease"),
    "serum_m_protein_g_dl": _("Serum M-protein (g/dL)"),
    "urine_m_protein_mg_24h": _("Urine M-protein (mg/24h)"),
    "involved_flc_mg_l_with_abnormal_ratio": _(
        "Involved free light chain with abnormal kappa/lambda ratio (mg/L)"
    ),
    "ecog": _("ECOG performance status"),
    "anc_per_mm3": _("Absolute neutrophil count (/mm3)"),
    "platelets_per_mm3": _("Platelet count (/mm3)"),
    "total_bilirubin_mg_dl": _("Total bilirubin (mg/dL)"),
    "total_bilirubin_uln_mg_dl": _("Total bilirubin upper limit of normal (mg/dL)"),
    "alt_u_l": _("ALT (U/L)"),
    "alt_uln_u_l": _("ALT upper limit of normal (U/L)"),
    "ast_u_l": _("AST (U/L)"),
    "ast_uln_u_l": _("AST upper limit of normal (U/L)"),
    "crcl_ml_min": _("Creatinine clearance (mL/min)"),
    "creatinine_mg_dl": _("Serum creatinine (mg/dL)"),
    "weight_kg": _("Body weight (kg)"),
    "lenalidomide_refractory": _("Refractory to lenalidomide"),
    "pi_refractory": _("Refractory to a proteasome inhibitor"),
    "peripheral_neuropathy_grade": _("Peripheral neuropathy grade (CTCAE)"),
    "peripheral_neuropathy_grade_1_with_pain": _("Grade 1 peripheral neuropathy with pain"),
}

YES_NO_UNKNOWN = [("", _("Not known yet")), ("yes", _("Yes")), ("no", _("No"))]
INCLUSION_ANSWERS = [
    ("", _("Not answered yet")),
    ("yes", _("Fulfilled")),
    ("no", _("Not fulfilled")),
]
EXCLUSION_ANSWERS = [
    ("", _("Not answered yet")),
    ("no", _("Does not apply")),
    ("yes", _("Applies: the participant is excluded")),
]


def variable_label(name: str, protocol: Protocol | None = None):
    """The field's label: ours for the variables every myeloma protocol reads, else the protocol
    file's own (`screening_fields`, `value_ranges`), in the page's language."""
    if name in VARIABLE_LABELS or protocol is None:
        return VARIABLE_LABELS.get(name, name.replace("_", " "))
    japanese = (get_language() or "").startswith("ja")
    spec = protocol.screening_fields.get(name) or protocol.value_ranges.variables.get(name)
    if spec is not None:
        return spec.label_ja if japanese and spec.label_ja else spec.label
    return name.replace("_", " ")


def criterion_text(criterion) -> str:
    """The criterion as the protocol words it, in Japanese when the page is Japanese."""
    if (get_language() or "").startswith("ja") and criterion.text_ja:
        return criterion.text_ja
    return criterion.text


class ScreeningForm(VersionedForm):
    screened_on = forms.DateField(label=_("Screening date"), widget=DATE_WIDGET)

    def __init__(self, *args, protocol: Protocol, answers_editable: bool = True, **kwargs):
        """`answers_editable`: False for anyone but an investigator, who sees the investigator's
        answers read-only (a disabled field keeps its stored value whatever is posted)."""
        super().__init__(*args, **kwargs)
        self.protocol = protocol
        self.answers_editable = answers_editable
        self.value_fields: list[str] = []
        self.answer_fields: list[str] = []
        kinds = known_variables(protocol)
        for name, kind in kinds.items():
            if name in DERIVED_VARIABLES:
                continue
            if name == "crcl_ml_min":
                for crcl_input in CRCL_INPUTS:
                    self._number_field(crcl_input)
                continue
            if kind == "bool":
                self.fields[f"v_{name}"] = forms.ChoiceField(
                    label=variable_label(name, protocol), choices=YES_NO_UNKNOWN, required=False
                )
            else:
                self._number_field(name)
            self.value_fields.append(name)
        for criterion in protocol.eligibility:
            if criterion.free_text:
                name = f"a_{criterion.id}"
                answers = EXCLUSION_ANSWERS if criterion.kind == "exclusion" else INCLUSION_ANSWERS
                self.fields[name] = forms.ChoiceField(
                    label=criterion_text(criterion),
                    choices=answers,
                    required=False,
                    disabled=not answers_editable,
                )
                self.answer_fields.append(criterion.id)
        self.fields["reason"] = ReasonField()

    def _number_field(self, name: str) -> None:
        self.fields[f"v_{name}"] = forms.DecimalField(
            label=variable_label(name, self.protocol),
            required=False,
            min_value=Decimal(0),
            max_digits=12,
            decimal_places=4,
            widget=forms.NumberInput(attrs={"step": "any", "inputmode": "decimal"}),
        )
        if name not in self.value_fields:
            self.value_fields.append(name)

    def value_bound_fields(self):
        return [self[f"v_{name}"] for name in dict.fromkeys(self.value_fields)]

    def answer_bound_fields(self):
        return [self[f"a_{cid}"] for cid in self.answer_fields]

    def service_values(self) -> dict:
        data = self.cleaned_data
        values = {}
        for name in dict.fromkeys(self.value_fields):
            raw = data.get(f"v_{name}")
            if raw in (None, ""):
                continue
            values[name] = {"yes": True, "no": False}.get(raw, raw) if isinstance(raw, str) else raw
        return values

    def service_answers(self) -> dict:
        data = self.cleaned_data
        return {
            cid: data[f"a_{cid}"] == "yes"
            for cid in self.answer_fields
            if data.get(f"a_{cid}") in ("yes", "no")
        }

    @staticmethod
    def initial_from(screening) -> dict:
        """The form filled with a stored screening (for a re-screen)."""
        if screening is None:
            return {}
        initial = {"screened_on": screening.screened_on, "version": screening.version}
        for name, value in (screening.values or {}).items():
            if isinstance(value, bool):
                initial[f"v_{name}"] = "yes" if value else "no"
            elif value is not None:
                initial[f"v_{name}"] = value
        for cid, answer in (screening.answers or {}).items():
            initial[f"a_{cid}"] = "yes" if answer else "no"
        return initial


class RegisterForm(forms.Form):
    site = forms.ChoiceField(label=_("Site"))
    screening_number = forms.CharField(label=_("Screening number"), max_length=32)
    sex = forms.ChoiceField(label=_("Sex"), choices=[("female", _("Female")), ("male", _("Male"))])
    year_of_birth = forms.IntegerField(label=_("Year of birth"), min_value=1900, max_value=2100)
    race = forms.ChoiceField(
        label=_("Race (as the participant reports it)"),
        choices=[("", "—"), *Race.choices],
    )
    ethnicity = forms.ChoiceField(
        label=_("Ethnicity"),
        choices=[("", "—"), *Ethnicity.choices],
        required=False,
    )
    consent_date = forms.DateField(label=_("Date of informed consent"), widget=DATE_WIDGET)

    def __init__(self, *args, sites=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [(str(site.pk), _site_name(site)) for site in sites]


def _site_name(site) -> str:
    """The site's code and name, its Japanese name on a Japanese page when it has one."""
    japanese = (get_language() or "").startswith("ja") and getattr(site, "name_ja", "")
    return f"{site.code} {japanese or site.name}"


class EnrollForm(VersionedForm):
    enrolled_on = forms.DateField(label=_("Enrollment date"), widget=DATE_WIDGET)
