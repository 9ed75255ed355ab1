"""Data-entry forms: labs, disease assessment, investigator response, and (with the treatment
services) visits, doses, adverse events, end of treatment, follow-up and death.

Each editing form carries the record's version and a reason for change; the services decide
whether the reason is needed and whether the version is current.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from mmtrial.edc.lab_analytes import ANALYTES, IFE_VALUES
from mmtrial.web.forms import DATE_WIDGET, ReasonField, VersionedForm
from mmtrial.web.labels import choices

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


class DiseaseForm(VersionedForm):
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
    reason = ReasonField()

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


class InvestigatorResponseForm(VersionedForm):
    assessment_date = forms.DateField(widget=forms.HiddenInput)
    response = forms.ChoiceField(label=_("Investigator's assessment"), choices=choices("response"))
    reason = ReasonField()


__all__ = [
    "IFE_VALUES",
    "DiseaseForm",
    "InvestigatorResponseForm",
    "LabEditForm",
    "LabPanelForm",
]
