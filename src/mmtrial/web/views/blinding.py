"""A randomized, blinded study at the participant page: the kit code for everyone, the arm only
for those who may see it, and the investigator's emergency unblinding (ICH E9 2.3; the protocol
file's `blinding`)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from mmtrial.edc.permissions import Action, can
from mmtrial.edc.selectors.participants import participant_get
from mmtrial.edc.services.participants import protocol_of
from mmtrial.edc.services.randomization import emergency_unblind
from mmtrial.web.errors import run_service
from mmtrial.web.views.entry import form_page


class EmergencyUnblindForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why the allocation must be revealed"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Kept in the audit trail; the sponsor is told that this participant was unblinded."
        ),
    )
    confirm = forms.BooleanField(
        label=gettext_lazy("I need the allocation to treat this participant")
    )


def emergency_unblind_view(request, pk: int):
    participant = participant_get(user=request.user, pk=pk)
    protocol = protocol_of(participant)
    if not protocol.double_blind:
        raise PermissionDenied(_("This study is not blinded: there is nothing to unblind."))
    if not can(request.user, Action.EMERGENCY_UNBLIND, participant.site_id):
        raise PermissionDenied(_("Only the participant's investigator may unblind."))
    form = EmergencyUnblindForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        arm_id = run_service(
            form,
            lambda: emergency_unblind(
                user=request.user,
                participant_id=participant.pk,
                reason=form.cleaned_data["reason"],
            ),
        )
        if arm_id is not None:
            arm = protocol.arm(arm_id)
            context = {"participant": participant, "arm": arm, "protocol": protocol}
            return render(request, "web/participants/unblinded.html", context)
    return form_page(request, "web/participants/unblind.html", participant, form)
