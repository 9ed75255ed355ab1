"""The investigator's e-signature (password re-entry, meaning, confirmation) and the data
manager's lock and unlock of a participant or a visit."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mmtrial.edc.permissions import Action, can
from mmtrial.edc.selectors.participants import participant_get
from mmtrial.edc.selectors.signatures import signature_list
from mmtrial.edc.selectors.timeline import participant_timeline
from mmtrial.edc.services.locking import (
    participant_lock,
    participant_unlock,
    visit_lock,
    visit_unlock,
)
from mmtrial.edc.services.signatures import (
    SESSION_SIGNER_KEY,
    SIGNATURE_MEANINGS,
    participant_sign,
    participant_sign_blockers,
)
from mmtrial.web.errors import run_action, run_service, translate_message
from mmtrial.web.forms import LockForm, SignForm


def _sign_form(request, data=None):
    return SignForm(
        data,
        meanings=SIGNATURE_MEANINGS,
        ask_username=request.session.get(SESSION_SIGNER_KEY) != request.user.pk,
    )


def sign_lock(request, pk: int):
    participant = participant_get(user=request.user, pk=pk)
    return _render(request, participant, sign_form=_sign_form(request), lock_form=LockForm())


def _render(request, participant, *, sign_form, lock_form, status=200):
    site_id = participant.site_id
    can_sign = can(request.user, Action.SIGN, site_id)
    blockers = (
        participant_sign_blockers(
            user=request.user, participant=participant, session_state=request.session
        )
        if can_sign
        else []
    )
    context = {
        "participant": participant,
        "signatures": signature_list(user=request.user, participant_id=participant.pk),
        "sign_form": sign_form,
        "lock_form": lock_form,
        "can_sign": can_sign,
        # said before any password is asked: the form is offered only when signable
        "sign_blockers": [translate_message(text) for text in blockers],
        "can_lock": can(request.user, Action.LOCK, site_id),
        "can_unlock": can(request.user, Action.UNLOCK, site_id),
    }
    return render(request, "web/sign_lock.html", context, status=status)


@require_POST
def sign(request, pk: int):
    participant = participant_get(user=request.user, pk=pk)
    form = _sign_form(request, request.POST)
    if form.is_valid():
        data = form.cleaned_data
        signature = run_service(
            form,
            lambda: participant_sign(
                user=request.user,
                participant=participant,
                password=data["password"],
                meaning=data["meaning"],
                confirm=data.get("confirm", False),
                session_state=request.session,
                username=data.get("username", ""),
                request=request,
            ),
            refusals_on_form=True,
            atomic=False,
        )
        if signature is not None:
            messages.success(request, _("Signed."))
            return redirect("sign_lock", pk=participant.pk)
    return _render(request, participant, sign_form=form, lock_form=LockForm(), status=400)


@require_POST
def lock(request, pk: int):
    participant = participant_get(user=request.user, pk=pk)
    form = LockForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        service = participant_lock if data["action"] == "lock" else participant_unlock
        done = run_service(
            form,
            lambda: service(user=request.user, participant=participant, reason=data["reason"]),
        )
        if done is not None:
            text = _("Locked.") if data["action"] == "lock" else _("Unlocked.")
            messages.success(request, text)
            return redirect("sign_lock", pk=participant.pk)
    return _render(request, participant, sign_form=_sign_form(request), lock_form=form, status=400)


@require_POST
def visit_lock_view(request, pk: int, visit_pk: int):
    timeline = participant_timeline(user=request.user, participant_id=pk)
    visit = next((v for v in timeline.visits if v.pk == visit_pk), None)
    if visit is None:
        raise Http404
    visit.participant = timeline.participant
    form = LockForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        service = visit_lock if data["action"] == "lock" else visit_unlock
        done = run_action(
            request, lambda: service(user=request.user, visit=visit, reason=data["reason"])
        )
        if done is not None:
            text = (
                _("Visit %(code)s locked.")
                if data["action"] == "lock"
                else _("Visit %(code)s unlocked.")
            )
            messages.success(request, text % {"code": visit.code})
    return redirect(f"{reverse('participant_detail', args=[pk])}#visits")
