"""Registering a consented person, screening them against the criteria, and enrolling."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from mmtrial.clinical.eligibility import EligibilityResult
from mmtrial.edc.permissions import Action, can
from mmtrial.edc.selectors.participants import participant_get
from mmtrial.edc.selectors.sites import site_list
from mmtrial.edc.services.participants import (
    participant_enroll,
    participant_register,
    protocol_of,
    screening_answers_authorize,
    screening_record,
)
from mmtrial.web.eligibility_reasons import criterion_reason
from mmtrial.web.errors import run_service
from mmtrial.web.screening_form import EnrollForm, RegisterForm, ScreeningForm, criterion_text


def participant_new(request):
    form = RegisterForm(
        request.POST or None, sites=site_list(user=request.user, action=Action.SCREEN)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        participant = run_service(
            form,
            lambda: participant_register(
                user=request.user,
                site_id=int(data["site"]),
                screening_number=data["screening_number"],
                sex=data["sex"],
                year_of_birth=data["year_of_birth"],
                race=data["race"],
                ethnicity=data["ethnicity"],
                consent_date=data["consent_date"],
                today=timezone.localdate(),
            ),
        )
        if participant is not None:
            messages.success(
                request,
                _("Participant %(number)s registered. Enter the screening data.")
                % {"number": participant.screening_number},
            )
            return redirect("screening", pk=participant.pk)
    return render(request, "web/participants/new.html", {"form": form}, status=_status(request))


def _stored_screening(participant):
    try:
        return participant.screening
    except ObjectDoesNotExist:
        return None


def criteria_rows(result: dict | None, protocol) -> list[dict]:
    """Per-criterion rows for the result table, with the protocol's wording in the page language."""
    if not result:
        return []
    parsed = EligibilityResult.model_validate(result)
    by_id = {c.id: c for c in protocol.eligibility}
    rows = []
    for criterion in parsed.criteria:
        source = by_id.get(criterion.id)
        rows.append(
            {
                "id": criterion.id,
                "kind": criterion.kind,
                "text": criterion_text(source) if source else criterion.text,
                "status": criterion.status,
                "checks": criterion.checks,
                "answer": criterion.answer,
                "reason": criterion_reason(criterion, protocol),
                "source": criterion.source,
            }
        )
    return rows


def screening(request, pk: int):
    participant = participant_get(user=request.user, pk=pk)
    protocol = protocol_of(participant)
    stored = _stored_screening(participant)
    form = ScreeningForm(
        request.POST or None,
        protocol=protocol,
        initial=ScreeningForm.initial_from(stored),
        answers_editable=can(request.user, Action.INVESTIGATOR_DECISION, participant.site_id),
    )
    if request.method == "POST" and form.is_valid():

        def record():
            answers = form.service_answers()
            screening_answers_authorize(
                user=request.user, participant_id=participant.pk, answers=answers
            )
            return screening_record(
                user=request.user,
                participant_id=participant.pk,
                screened_on=form.cleaned_data["screened_on"],
                values=form.service_values(),
                answers=answers,
                expected_version=form.cleaned_data.get("version") if stored else None,
                reason=form.cleaned_data.get("reason", ""),
            )

        saved = run_service(form, record)
        if saved is not None:
            messages.success(request, _("Screening saved."))
            return redirect("screening", pk=participant.pk)
    context = {
        "participant": participant,
        "form": form,
        "screening": stored,
        "rows": criteria_rows(stored.result if stored else None, protocol),
        "enroll_form": EnrollForm(initial={"version": participant.version}),
        "can_enroll": can(request.user, Action.ENROLL, participant.site_id),
    }
    return render(request, "web/participants/screening.html", context, status=_status(request))


def enroll(request, pk: int):
    participant = participant_get(user=request.user, pk=pk)
    form = EnrollForm(request.POST or None, initial={"version": participant.version})
    if request.method == "POST" and form.is_valid():
        enrolled = run_service(
            form,
            lambda: participant_enroll(
                user=request.user,
                participant_id=participant.pk,
                enrolled_on=form.cleaned_data["enrolled_on"],
                expected_version=form.cleaned_data.get("version"),
            ),
        )
        if enrolled is not None:
            messages.success(
                request,
                _("Enrolled: subject id %(subject)s.") % {"subject": enrolled.subject_id},
            )
            return redirect("participant_detail", pk=participant.pk)
    return render(
        request,
        "web/participants/enroll.html",
        {"participant": participant, "form": form},
        status=_status(request),
    )


def _status(request) -> int:
    """A POST that comes back to its page was refused: 400, so that tools and tests see it."""
    return 400 if request.method == "POST" else 200
