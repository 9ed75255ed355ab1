"""Treatment entry: starting a cycle (the dose decision), recording each dose of a cycle (one
row at a time, swapped in place by htmx) and recording visits."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from mmtrial.edc.models.treatment import CycleStatus
from mmtrial.edc.permissions import Action, can
from mmtrial.edc.selectors.participants import participant_get
from mmtrial.edc.selectors.timeline import participant_timeline
from mmtrial.edc.services.participants import protocol_of
from mmtrial.edc.services.treatment import cycle_start, dose_record, renal_decision_record
from mmtrial.edc.services.visits import visit_missed, visit_record
from mmtrial.web.entry_forms import (
    CycleStartForm,
    DoseForm,
    RenalDecisionForm,
    VisitForm,
    VisitMissedForm,
)
from mmtrial.web.errors import run_service
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
    timeline = participant_timeline(user=request.user, participant_id=pk)
    cycle = next((c for c in timeline.cycles if c.number == number), None)
    if cycle is None:
        raise Http404
    rows = [
        (dose, DoseForm(initial=_dose_initial(dose), prefix=f"dose{dose.pk}"))
        for dose in timeline.doses
        if dose.cycle_id == cycle.pk
    ]
    return render(
        request,
        "web/entry/doses.html",
        {"participant": timeline.participant, "cycle": cycle, "rows": rows},
    )


def _dose_initial(dose) -> dict:
    return {
        "status": dose.status if dose.status != "planned" else "taken",
        "taken_dose_mg": dose.taken_dose_mg if dose.status == "reduced" else None,
        "reason": dose.reason,
        "version": dose.version,
    }


def dose_edit(request, pk: int, dose_pk: int):
    """One dose's row: saved on its own (htmx swaps just the row), refusals shown in the row."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    timeline = participant_timeline(user=request.user, participant_id=pk)
    dose = from_timeline(timeline, "doses", dose_pk)
    form = DoseForm(request.POST, prefix=f"dose{dose.pk}")
    saved = None
    if form.is_valid():
        data = form.cleaned_data
        saved = run_service(
            form,
            lambda: dose_record(
                user=request.user,
                dose_id=dose.pk,
                status=data["status"],
                expected_version=data.get("version"),
                taken_dose_mg=data.get("taken_dose_mg"),
                reason=data.get("reason", ""),
            ),
        )
    cycle_number = next(c.number for c in timeline.cycles if c.pk == dose.cycle_id)
    if not request.headers.get("HX-Request"):
        if saved is not None:
            messages.success(request, _("Dose saved."))
        else:
            messages.error(request, " ".join(str(e) for e in form.errors.values()))
        return redirect("doses_edit", pk=pk, number=cycle_number)
    if saved is not None:
        dose = saved
        form = DoseForm(initial=_dose_initial(dose), prefix=f"dose{dose.pk}")
    return render(
        request,
        "web/entry/_dose_row.html",
        {"participant": timeline.participant, "dose": dose, "form": form, "saved": saved},
        status=200 if saved is not None or not form.errors else 422,
    )
