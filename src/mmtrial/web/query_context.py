"""A query's record in words, for the query page, the inbox and the dashboard: the participant,
the visit or date, the analyte or the field's label as its entry form shows it, the current
value with its unit, who entered it, and the link to the form that corrects it.

The records and their writers are read by `edc.selectors.query_records` (bounded queries);
this module only words them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.urls import reverse
from django.utils.translation import gettext as _

from mmtrial.edc.selectors.query_records import query_records
from mmtrial.web import entry_forms
from mmtrial.web.accountability_forms import AccountabilityForm
from mmtrial.web.entry_forms import analyte_label
from mmtrial.web.labels import label

__all__ = ["QueryContext", "query_contexts"]

# The form a record is corrected in: its fields' labels are the words the user knows.
FORMS = {
    "labresult": entry_forms.LabEditForm,
    "visit": entry_forms.VisitForm,
    "adverseevent": entry_forms.AdverseEventForm,
    "diseaseassessment": entry_forms.DiseaseForm,
    "doseadministration": entry_forms.DoseForm,
    "responseassessment": entry_forms.InvestigatorResponseForm,
    "endoftreatment": entry_forms.EndOfTreatmentForm,
    "followupcontact": entry_forms.FollowUpForm,
    "death": entry_forms.DeathForm,
    "drugaccountability": AccountabilityForm,
}
# A stored field that its form names otherwise (the service queries the stored name).
FORM_FIELDS = {
    ("responseassessment", "investigator_response"): "response",
}
# Stored codes shown with their label (the kind in web.labels).
CODED = {
    ("doseadministration", "status"): "dose_status",
    ("visit", "status"): "visit_status",
    ("diseaseassessment", "serum_ife"): "ife",
    ("diseaseassessment", "urine_ife"): "ife",
    ("diseaseassessment", "bone_marrow_clonal_cells"): "clonal_cells",
    ("endoftreatment", "reason"): "eot_reason",
}


@dataclass(frozen=True)
class QueryContext:
    record: str  # "Lab result", "Visit C1D8", ...
    what: str  # the analyte or the field's label; "" for a query on the whole record
    when: str  # the record's date (and visit), as shown
    value: str  # the current value with its unit; "" when the query is on the whole record
    entered_by: str
    entered_at: dt.datetime | None
    url: str | None  # the form that corrects the record
    missing: bool  # the record no longer exists


def _field_label(model: str, field: str) -> str:
    field = FORM_FIELDS.get((model, field), field)
    form = FORMS.get(model)
    if form is not None and field in form.base_fields and form.base_fields[field].label:
        return str(form.base_fields[field].label)
    return field.replace("_", " ")


def _shown(model: str, field: str, value) -> str:
    if value is None or value == "":
        return "—"
    if (model, field) in CODED:
        return label(value, CODED[(model, field)])
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal | float | int):
        return format(Decimal(str(value)).normalize(), "f")
    return str(value)


def _lab(lab, field: str) -> tuple[str, str, str]:
    when = lab.collected_on.isoformat()
    if lab.visit_id:
        when = f"{lab.visit.code} · {when}"
    if field in ("", "value"):
        if lab.value is not None:
            value = f"{_shown('labresult', 'value', lab.value)} {lab.unit}".strip()
        else:
            value = label(lab.value_text, "ife") if lab.value_text else "—"
    else:
        value = _shown("labresult", field, getattr(lab, field, None))
    what = str(analyte_label(lab.analyte))
    if field not in ("", "value"):
        what = f"{what} · {_field_label('labresult', field)}"
    return what, when, value


def _dated(record, *names) -> str:
    for name in names:
        value = getattr(record, name, None)
        if value:
            return value.isoformat()
    return ""


def _url(model: str, record, participant_id: int, query_pk: int | None) -> str:
    pk = participant_id
    urls = {
        "labresult": lambda: reverse("lab_edit", args=[pk, record.pk]),
        "visit": lambda: reverse("visit_edit", args=[pk, record.pk]),
        "adverseevent": lambda: reverse("ae_edit", args=[pk, record.pk]),
        "diseaseassessment": lambda: reverse("disease_edit", args=[pk, record.pk]),
        "doseadministration": lambda: reverse("doses_edit", args=[pk, record.cycle.number]),
        "screening": lambda: reverse("screening", args=[pk]),
        "responseassessment": lambda: (
            reverse("investigator_response", args=[pk])
            + f"?assessment_date={record.assessment_date.isoformat()}&version={record.version}"
        ),
        "endoftreatment": lambda: reverse("end_of_treatment", args=[pk]),
        "death": lambda: reverse("death", args=[pk]),
    }
    build = urls.get(model)
    if build is None:
        return reverse("participant_detail", args=[pk])
    url = build()
    if query_pk is None:  # a query not raised yet
        return url
    # the form returns to the query once saved (web.views.entry.saved_redirect)
    return f"{url}{'&' if '?' in url else '?'}query={query_pk}"


def _context(query, found) -> QueryContext:
    model, field, record = query.model, query.field, found.record
    record_word = label(model, "record")
    if record is None:
        return QueryContext(
            record=record_word,
            what=_field_label(model, field) if field else "",
            when="",
            value="",
            entered_by=found.entered_by,
            entered_at=found.entered_at,
            url=None,
            missing=True,
        )
    if model == "labresult":
        what, when, value = _lab(record, field)
    else:
        what = _field_label(model, field) if field else ""
        value = _shown(model, field, getattr(record, field, None)) if field else ""
        when = _dated(
            record, "actual_date", "planned_date", "date", "start_date", "assessed_on",
            "assessment_date", "screened_on", "contact_date", "death_date", "last_dose_date",
        )  # fmt: skip
        if model == "visit":
            record_word = f"{record_word} {record.code}"
        elif model == "doseadministration":
            record_word = f"{record_word} · {label(record.drug, 'drug')}"
            when = f"C{record.cycle.number}D{record.day} · {when}"
        elif model == "adverseevent":
            record_word = f"{record_word} · {record.term}"
        elif model == "drugaccountability":
            record_word = f"{record_word} · {label(record.drug, 'drug')}"
            dated = _dated(record, "returned_on", "dispensed_on")
            when = f"C{record.cycle_number} · {dated}" if dated else f"C{record.cycle_number}"
    return QueryContext(
        record=record_word,
        what=what,
        when=when,
        value=value,
        entered_by=found.entered_by,
        entered_at=found.entered_at,
        url=_url(model, record, query.participant_id, query.pk),
        missing=False,
    )


def query_contexts(queries) -> dict[int | None, QueryContext]:
    """Each query's record in words, by query pk (bounded queries, see query_records). A query
    not saved yet (the raise page's target) is under None."""
    queries = list(queries)
    found = query_records(queries)
    return {query.pk: _context(query, found[query.pk]) for query in queries}
