"""The user's own API tokens: create one (its text shown once), see them, revoke one."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from mmtrial.edc.api_tokens import (
    API_TOKEN_DAYS_DEFAULT,
    API_TOKEN_DAYS_MAX,
    api_token_create,
    api_token_list,
    api_token_revoke,
)
from mmtrial.edc.models.security import ApiTokenScope
from mmtrial.web.errors import run_action, run_service


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("What it is for"), max_length=100, help_text=_("For example: nightly sync.")
    )
    scope = forms.ChoiceField(
        label=_("Access"),
        choices=[
            (ApiTokenScope.READ, _("Read only")),
            (ApiTokenScope.READ_WRITE, _("Read and write")),
        ],
        initial=ApiTokenScope.READ,
    )
    days = forms.IntegerField(
        label=_("Valid for (days)"),
        min_value=1,
        max_value=API_TOKEN_DAYS_MAX,
        initial=API_TOKEN_DAYS_DEFAULT,
    )


def token_page(request):
    form = ApiTokenForm(request.POST or None)
    created_text = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        created = run_service(
            form,
            lambda: api_token_create(
                user=request.user, name=data["name"], scope=data["scope"], days=data["days"]
            ),
        )
        if created is not None:
            created_text = created[1]
            form = ApiTokenForm()
    context = {"form": form, "tokens": api_token_list(user=request.user), "created": created_text}
    status = 400 if request.method == "POST" and created_text is None else 200
    return render(request, "web/api_tokens.html", context, status=status)


@require_POST
def token_revoke(request, token_id: int):
    if run_action(request, lambda: api_token_revoke(user=request.user, token_id=token_id)):
        messages.success(request, gettext("The API token is revoked."))
    return redirect("api_tokens")
