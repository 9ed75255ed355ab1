"""Data entry: each view parses one form and calls one service (a lab panel calls the lab
service once per value, all in one transaction: a refusal saves none of them)."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from mmtrial.edc.selectors.participants import participant_get
from mmtrial.edc.services.disease import disease_assessment_record, disease_assessment_update
from mmtrial.edc.services.labs import (
    lab_result_delete,
    lab_result_for,
    lab_result_record,
    lab_result_update,
)
from mmtrial.edc.services.responses import investigator_response_record
from mmtrial.web.entry_forms import (
    DiseaseForm,
    InvestigatorResponseForm,
    LabEditForm,
    LabPanelForm,
    analyte_label,
)
from mmtrial.web.errors import run_service


def _saved(request, participant, text):
    messages.success(request, text)
    return redirect("participant_detail", pk=participant.pk)


def _page(request, template, participant, form, **extra):
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
                )
                for analyte, value, unit in form.entered()
            ]

        saved = run_service(form, record_all)
        if saved is not None:
            return _saved(
                request, participant, _("%(count)d lab results saved.") % {"count": len(saved)}
            )
    return _page(request, "web/entry/labs.html", participant, form)


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
        version = data.get("version") or lab.version
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
                ),
            )
        if done is not None:
            return _saved(request, participant, _("Lab result saved."))
    return _page(
        request,
        "web/entry/lab_edit.html",
        participant,
        form,
        lab=lab,
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
            return _saved(request, participant, _("Disease assessment saved."))
    return _page(request, "web/entry/form.html", participant, form, title=_("Disease assessment"))


def disease_edit(request, pk: int, assessment_pk: int):
    participant = participant_get(user=request.user, pk=pk)
    form = DiseaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        saved = run_service(
            form,
            lambda: disease_assessment_update(
                user=request.user,
                assessment_id=assessment_pk,
                expected_version=form.cleaned_data.get("version") or 0,
                reason=form.cleaned_data.get("reason", ""),
                **form.service_values(),
            ),
        )
        if saved is not None:
            return _saved(request, participant, _("Disease assessment saved."))
    return _page(request, "web/entry/form.html", participant, form, title=_("Disease assessment"))


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
                expected_version=data.get("version") or 0,
                reason=data.get("reason", ""),
            ),
        )
        if saved is not None:
            return _saved(request, participant, _("Investigator's assessment saved."))
    return _page(
        request,
        "web/entry/form.html",
        participant,
        form,
        title=_("Investigator's response assessment"),
    )
