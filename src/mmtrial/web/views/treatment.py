"""Treatment entry: starting a cycle (the dose decision), recording a cycle's doses (one form,
one save) and recording visits."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from mmtrial.edc.models.treatment import CycleStatus, DoseStatus
from mmtrial.edc.permissions import Action, can
from mmtrial.edc.selectors.participants import participant_get
from mmtrial.edc.selectors.timeline import participant_timeline
from mmtrial.edc.services.doses import DoseEntry, cycle_doses_record
from mmtrial.edc.services.participants import protocol_of
from mmtrial.edc.services.treatment import cycle_start, renal_decision_record
from mmtrial.edc.services.visits import visit_missed, visit_record
from mmtrial.errors import MmtrialError
from mmtrial.web.entry_forms import (
    CycleStartForm,
    DoseForm,
    RenalDecisionForm,
    VisitForm,
    VisitMissedForm,
)
from mmtrial.web.errors import add_service_error, run_service
from mmtrial.web.labels import label
from mmtrial.web.views.entry import form_page, from_timeline, saved_redirect


def cycle_new(request, pk: int):
    participant = participant_get(user=request.user, pk=pk)
    # The timeline's preview links here with its planned start date filled in.
    form = CycleStartForm(
        request.POST or None, initial={"start_date": request.GET.get("start_date")}
    )
    if request.method == "POST" and form.is_valid():
        cycle = run_service(
            form,
            lambda: cycle_start(
                user=request.user,
                participant_id=participant.pk,
                start_date=form.cleaned_data["start_date"],
            ),
        )
        if cycle is not None:
            decision = (cycle.decision or {}).get("decision", "")
            text = _("Cycle %(number)d: %(decision)s. See the dose decision and its reasons.") % {
                "number": cycle.number,
                "decision": label(decision, "dose_decision"),
            }
            messages.success(request, text)
            return redirect(f"{reverse('participant_detail', args=[participant.pk])}#decision")
    return form_page(
        request, "web/entry/form.html", participant, form, title=_("Start the next cycle")
    )


def renal_decision(request, pk: int):
    """The investigator confirms or overrides the renal proposal of the cycle waiting for it."""
    timeline = participant_timeline(user=request.user, participant_id=pk)
    participant = timeline.participant
    if not can(request.user, Action.INVESTIGATOR_DECISION, participant.site_id):
        raise PermissionDenied(_("Only an investigator of the site decides the renal doses."))
    pending = next(
        (c for c in reversed(timeline.cycles) if c.status == CycleStatus.AWAITING_INVESTIGATOR),
        None,
    )
    if pending is None:
        raise Http404
    proposals = (pending.decision or {}).get("proposals") or []
    form = RenalDecisionForm(
        request.POST or None, proposals=proposals, protocol=protocol_of(participant)
    )
    if request.method == "POST" and form.is_valid():
        doses, every = form.override_doses()
        cycle = run_service(
            form,
            lambda: renal_decision_record(
                user=request.user,
                participant_id=participant.pk,
                action=form.cleaned_data["action"],
                reason=form.cleaned_data.get("reason", ""),
                doses_mg=doses,
                every_days=every,
            ),
        )
        if cycle is not None:
            text = _("Cycle %(number)d: %(decision)s. See the dose decision and its reasons.") % {
                "number": cycle.number,
                "decision": label((cycle.decision or {}).get("decision", ""), "dose_decision"),
            }
            messages.success(request, text)
            return redirect(f"{reverse('participant_detail', args=[participant.pk])}#decision")
    return form_page(
        request,
        "web/entry/renal_decision.html",
        participant,
        form,
        cycle=pending,
        proposals=proposals,
        title=_("Investigator's renal decision"),
    )


def _proposed_visit_date(visit, today):
    """The date a visit not yet recorded is proposed on: its planned date while that is still
    ahead, else today (the site's date: the request runs in its zone). A late visit recorded
    now did not happen on a past planned day."""
    return visit.planned_date if visit.planned_date > today else today


def visit_edit(request, pk: int, visit_pk: int):
    timeline = participant_timeline(user=request.user, participant_id=pk)
    participant = timeline.participant
    visit = from_timeline(timeline, "visits", visit_pk)
    initial = {
        "actual_date": visit.actual_date or _proposed_visit_date(visit, timezone.localdate()),
        "weight_kg": visit.weight_kg,
        "notes": visit.notes,
        "version": visit.version,
    }
    missed = request.POST.get("missed") == "1"
    form = VisitForm(None if missed else (request.POST or None), initial=initial)
    missed_form = VisitMissedForm(
        request.POST if missed else None, initial={"version": visit.version}
    )
    if request.method == "POST":
        if missed and missed_form.is_valid():
            done = run_service(
                missed_form,
                lambda: visit_missed(
                    user=request.user,
                    visit_id=visit.pk,
                    expected_version=missed_form.cleaned_data.get("version"),
                    reason=missed_form.cleaned_data["reason"],
                ),
            )
            if done is not None:
                return saved_redirect(
                    request,
                    participant,
                    _("Visit %(code)s recorded as missed.") % {"code": visit.code},
                )
        elif not missed and form.is_valid():
            data = form.cleaned_data
            done = run_service(
                form,
                lambda: visit_record(
                    user=request.user,
                    visit_id=visit.pk,
                    actual_date=data["actual_date"],
                    expected_version=data.get("version"),
                    weight_kg=data.get("weight_kg"),
                    notes=data.get("notes", ""),
                    reason=data.get("reason", ""),
                    today=timezone.localdate(),
                ),
            )
            if done is not None:
                return saved_redirect(
                    request, participant, _("Visit %(code)s saved.") % {"code": visit.code}
                )
    return form_page(
        request,
        "web/entry/visit.html",
        participant,
        form,
        visit=visit,
        missed_form=missed_form,
    )


def doses_edit(request, pk: int, number: int):
    """Every planned dose of one cycle in one form with one Save: the rows filled in are
    recorded together (one audited batch, `services.doses.cycle_doses_record`), rows left
    "Not recorded" stay planned; a refusal names its row and nothing is saved."""
    timeline = participant_timeline(user=request.user, participant_id=pk)
    cycle = next((c for c in timeline.cycles if c.number == number), None)
    if cycle is None:
        raise Http404
    doses = [dose for dose in timeline.doses if dose.cycle_id == cycle.pk]
    data = request.POST if request.method == "POST" else None
    rows = [
        (
            dose,
            DoseForm(
                data,
                initial=_dose_initial(dose),
                prefix=f"dose{dose.pk}",
                recorded=dose.status != DoseStatus.PLANNED,
            ),
        )
        for dose in doses
    ]
    page_form = forms.Form(data)  # carries refusals that belong to no row
    if data is not None and all(form.is_valid() for _, form in rows):
        entries = [
            DoseEntry(
                dose_id=dose.pk,
                status=form.cleaned_data["status"],
                expected_version=form.cleaned_data.get("version"),
                taken_dose_mg=form.cleaned_data.get("taken_dose_mg"),
                reason=form.cleaned_data.get("reason", ""),
            )
            for dose, form in rows
            if form.cleaned_data.get("status")
        ]
        by_pk = {dose.pk: form for dose, form in rows}
        written = _run_rows(
            page_form,
            by_pk,
            lambda: cycle_doses_record(
                user=request.user,
                participant_id=timeline.participant.pk,
                cycle_number=number,
                entries=entries,
            ),
        )
        if written is not None:
            messages.success(
                request,
                ngettext(
                    "%(count)d dose of cycle %(number)d saved.",
                    "%(count)d doses of cycle %(number)d saved.",
                    len(written),
                )
                % {"count": len(written), "number": number},
            )
            return redirect("doses_edit", pk=pk, number=number)
    unrecorded = sum(1 for dose in doses if dose.status == DoseStatus.PLANNED)
    return render(
        request,
        "web/entry/doses.html",
        {
            "participant": timeline.participant,
            "cycle": cycle,
            "rows": rows,
            "page_form": page_form,
            "unrecorded": unrecorded,
        },
        status=400 if data is not None else 200,
    )


def _run_rows(page_form, forms_by_pk, call):
    """Run the batch; a refusal naming a row (`extra["row"]`) lands on that row's form."""
    refused = {}

    def tracked():
        try:
            return call()
        except MmtrialError as exc:
            refused["error"] = exc
            raise

    result = run_service(page_form, tracked)
    error = refused.get("error")
    if result is None and error is not None and error.extra.get("row") in forms_by_pk:
        page_form._errors = {}
        add_service_error(forms_by_pk[error.extra["row"]], error)
    return result


def _dose_initial(dose) -> dict:
    return {
        "status": "" if dose.status == DoseStatus.PLANNED else dose.status,
        "taken_dose_mg": dose.taken_dose_mg if dose.status == DoseStatus.REDUCED else None,
        "reason": dose.reason,
        "version": dose.version,
    }
