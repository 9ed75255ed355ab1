"""Data entry: each view parses one form and calls one service (a lab panel calls the lab
service once per value, all in one transaction: a refusal saves none of them)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mmtrial.edc.selectors.participants import participant_get
from mmtrial.edc.selectors.sae import ae_lab_suggestions, ctcae_term_names
from mmtrial.edc.selectors.timeline import participant_timeline
from mmtrial.edc.services.adverse_events import ae_record, ae_update
from mmtrial.edc.services.disease import disease_assessment_record, disease_assessment_update
from mmtrial.edc.services.follow_up import (
    death_record,
    end_of_treatment_record,
    follow_up_contact_record,
)
from mmtrial.edc.services.labs import (
    lab_result_delete,
    lab_result_for,
    lab_result_record,
    lab_result_update,
)
from mmtrial.edc.services.participants import protocol_of
from mmtrial.edc.services.responses import investigator_response_record
from mmtrial.web.entry_forms import (
    AdverseEventForm,
    DeathForm,
    DiseaseEditForm,
    DiseaseForm,
    EndOfTreatmentForm,
    FollowUpForm,
    InvestigatorResponseForm,
    LabEditForm,
    LabPanelForm,
    analyte_label,
)
from mmtrial.web.errors import run_service


def saved_redirect(request, participant, text):
    """Back to the participant, or to the query the form was opened from (`?query=<pk>`, the
    link on a query's record) so that the correction can be answered there."""
    messages.success(request, text)
    query_pk = request.GET.get("query", "")
    if query_pk.isdigit():
        return redirect("query_detail", pk=int(query_pk))
    return redirect("participant_detail", pk=participant.pk)


def form_page(request, template, participant, form, **extra):
    status = 400 if request.method == "POST" else 200
    return render(
        request, template, {"participant": participant, "form": form, **extra}, status=status
    )


def lab_new(request, pk: int):
    participant = participant_get(user=request.user, pk=pk)
    form = LabPanelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data

        def record_all():
            return [
                lab_result_record(
                    user=request.user,
                    participant_id=participant.pk,
                    analyte=analyte,
                    value=value,
                    unit=unit,
                    collected_on=data["collected_on"],
                    source=data["source"],
                    accession=data.get("accession", ""),
                    today=timezone.localdate(),
                )
                for analyte, value, unit in form.entered()
            ]

        saved = run_service(form, record_all)
        if saved is not None:
            text = ngettext(
                "%(count)d lab result saved.", "%(count)d lab results saved.", len(saved)
            )
            return saved_redirect(request, participant, text % {"count": len(saved)})
    return form_page(request, "web/entry/labs.html", participant, form)


def lab_edit(request, pk: int, lab_pk: int):
    participant = participant_get(user=request.user, pk=pk)
    lab = lab_result_for(user=request.user, lab_result_id=lab_pk)
    if lab.participant_id != participant.pk:
        raise Http404
    initial = {
        "value": lab.reported_value or lab.value_text,
        "unit": lab.reported_unit or lab.unit,
        "collected_on": lab.collected_on,
        "version": lab.version,
    }
    form = LabEditForm(request.POST or None, initial=initial, analyte=lab.analyte)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        version = data.get("version")
        if data.get("delete"):
            done = run_service(
                form,
                lambda: lab_result_delete(
                    user=request.user,
                    lab_result_id=lab.pk,
                    expected_version=version,
                    reason=data.get("reason", ""),
                ),
            )
        else:
            done = run_service(
                form,
                lambda: lab_result_update(
                    user=request.user,
                    lab_result_id=lab.pk,
                    expected_version=version,
                    reason=data.get("reason", ""),
                    value=data["value"],
                    unit=data.get("unit"),
                    collected_on=data["collected_on"],
                    today=timezone.localdate(),
                ),
            )
        if done is not None:
            return saved_redirect(request, participant, _("Lab result saved."))
    return form_page(
        request,
        "web/entry/lab_edit.html",
        participant,
        form,
        lab=lab,
        visit=lab.visit,  # a lab attached to a locked visit is read-only too
        analyte=analyte_label(lab.analyte),
    )


def disease_new(request, pk: int):
    participant = participant_get(user=request.user, pk=pk)
    form = DiseaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        saved = run_service(
            form,
            lambda: disease_assessment_record(
                user=request.user,
                participant_id=participant.pk,
                assessed_on=form.cleaned_data["assessed_on"],
                **form.service_values(),
            ),
        )
        if saved is not None:
            return saved_redirect(request, participant, _("Disease assessment saved."))
    return form_page(
        request, "web/entry/form.html", participant, form, title=_("Disease assessment")
    )


def investigator_response(request, pk: int):
    participant = participant_get(user=request.user, pk=pk)
    form = InvestigatorResponseForm(request.POST or None, initial=request.GET.dict())
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        saved = run_service(
            form,
            lambda: investigator_response_record(
                user=request.user,
                participant_id=participant.pk,
                assessment_date=data["assessment_date"],
                response=data["response"],
                expected_version=data.get("version"),
                reason=data.get("reason", ""),
            ),
        )
        if saved is not None:
            return saved_redirect(request, participant, _("Investigator's assessment saved."))
    return form_page(
        request,
        "web/entry/form.html",
        participant,
        form,
        title=_("Investigator's response assessment"),
    )


def _ae_page(request, participant, form, title):
    """The AE form with the CTCAE term list and the lab-based suggestions."""
    return form_page(
        request,
        "web/entry/ae_form.html",
        participant,
        form,
        title=title,
        ctcae_terms=ctcae_term_names(),
        suggestions=ae_lab_suggestions(participant=participant),
    )


def ae_new(request, pk: int):
    participant = participant_get(user=request.user, pk=pk)
    drugs = list(protocol_of(participant).drugs)
    form = AdverseEventForm(request.POST or None, drugs=drugs, site_tz=participant.site.timezone)
    if request.method == "POST" and form.is_valid():
        saved = run_service(
            form,
            lambda: ae_record(
                user=request.user, participant_id=participant.pk, **form.service_values()
            ),
        )
        if saved is not None:
            return saved_redirect(request, participant, _("Adverse event saved."))
    return _ae_page(request, participant, form, _("Adverse event"))


def _record_page(request, pk: int, *, form_class, service, saved: str, title: str):
    """A form whose cleaned data are exactly the service's arguments: one record, one service."""
    participant = participant_get(user=request.user, pk=pk)
    form = form_class(request.POST or None)
    if request.method == "POST" and form.is_valid():
        done = run_service(
            form,
            lambda: service(user=request.user, participant_id=participant.pk, **form.cleaned_data),
        )
        if done is not None:
            return saved_redirect(request, participant, saved)
    return form_page(request, "web/entry/form.html", participant, form, title=title)


def end_of_treatment(request, pk: int):
    return _record_page(
        request, pk, form_class=EndOfTreatmentForm, service=end_of_treatment_record,
        saved=_("End of treatment saved."), title=_("End of treatment"),
    )  # fmt: skip


def follow_up_new(request, pk: int):
    return _record_page(
        request, pk, form_class=FollowUpForm, service=follow_up_contact_record,
        saved=_("Follow-up contact saved."), title=_("Follow-up contact"),
    )  # fmt: skip


def death(request, pk: int):
    return _record_page(
        request, pk, form_class=DeathForm, service=death_record,
        saved=_("Death saved."), title=_("Death"),
    )  # fmt: skip


def from_timeline(timeline, attribute: str, pk: int):
    """One record of the participant's timeline, or 404 (never another participant's)."""
    for record in getattr(timeline, attribute):
        if record.pk == pk:
            return record
    raise Http404


def ae_edit(request, pk: int, ae_pk: int):
    timeline = participant_timeline(user=request.user, participant_id=pk)
    participant = timeline.participant
    ae = from_timeline(timeline, "adverse_events", ae_pk)
    drugs = list(protocol_of(participant).drugs)
    site_tz = participant.site.timezone
    form = AdverseEventForm(
        request.POST or None,
        drugs=drugs,
        site_tz=site_tz,
        initial=AdverseEventForm.initial_from(ae, site_tz=site_tz),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        saved = run_service(
            form,
            lambda: ae_update(
                user=request.user,
                ae_id=ae.pk,
                expected_version=data.get("version"),
                reason=data.get("reason", ""),
                **form.service_values(),
            ),
        )
        if saved is not None:
            return saved_redirect(request, participant, _("Adverse event saved."))
    return _ae_page(request, participant, form, _("Correct an adverse event"))


def disease_edit(request, pk: int, assessment_pk: int):
    timeline = participant_timeline(user=request.user, participant_id=pk)
    participant = timeline.participant
    assessment = from_timeline(timeline, "disease_assessments", assessment_pk)
    form = DiseaseEditForm(request.POST or None, initial=DiseaseEditForm.initial_from(assessment))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        saved = run_service(
            form,
            lambda: disease_assessment_update(
                user=request.user,
                assessment_id=assessment.pk,
                expected_version=data.get("version"),
                reason=data.get("reason", ""),
                **form.service_values(),
            ),
        )
        if saved is not None:
            return saved_redirect(request, participant, _("Disease assessment saved."))
    return form_page(
        request,
        "web/entry/form.html",
        participant,
        form,
        title=_("Correct a disease assessment"),
        intro=_(
            "Assessment of %(date)s. The responses are derived again from the corrected values."
        )
        % {"date": assessment.assessed_on.isoformat()},
    )
