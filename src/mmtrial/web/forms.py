"""Forms: they parse and check what a person typed; the services decide what may be saved.

Labels and messages are translated. Every editing form carries the record's `version`
(optimistic concurrency) and a `reason` for change that the service demands on edits.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from mmtrial.web.labels import choices

# Dates are typed and shown as YYYY-MM-DD in every language: a browser's own date picker would
# show the format of its locale (e.g. mm/dd/yyyy) instead.
DATE_WIDGET = forms.DateInput(
    attrs={
        "placeholder": "YYYY-MM-DD",
        "pattern": r"\d{4}-\d{2}-\d{2}",
        "inputmode": "numeric",
        "size": 12,
        "autocomplete": "off",
    },
    format="%Y-%m-%d",
)


def with_blank(options, blank_label=_("Any")):
    return [("", blank_label), *options]


class ParticipantFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search subject id or screening number"),
        required=False,
        max_length=32,
        widget=forms.TextInput(attrs={"type": "search"}),
    )
    site = forms.ChoiceField(label=_("Site"), required=False)
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=with_blank(choices("participant_status"))
    )
    response = forms.ChoiceField(
        label=_("Best response"), required=False, choices=with_blank(choices("response"))
    )

    def __init__(self, *args, site_codes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = with_blank([(code, code) for code in site_codes])


class ReasonField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Reason for change"))
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", _("Needed when you change data that was already saved."))
        kwargs.setdefault("max_length", 500)
        super().__init__(**kwargs)


class VersionedForm(forms.Form):
    """A form editing one record: its version is sent back so a stale edit is refused."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=1)


class QueryFilterForm(forms.Form):
    site = forms.ChoiceField(label=_("Site"), required=False)
    participant = forms.CharField(
        label=_("Participant"),
        required=False,
        max_length=32,
        help_text=_("Subject id or screening number, or part of it"),
    )
    age = forms.ChoiceField(
        label=_("Age"),
        required=False,
        choices=[
            ("", _("Any age")),
            ("7", _("Open more than 7 days")),
            ("30", _("Open more than 30 days")),
        ],
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("", _("Open and answered")),
            ("open", _("Open")),
            ("answered", _("Answered")),
            ("closed", _("Closed")),
        ],
    )

    def __init__(self, *args, site_codes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", _("All sites"))] + [(c, c) for c in site_codes]


class QueryOpenForm(forms.Form):
    model = forms.CharField(widget=forms.HiddenInput)
    object_pk = forms.CharField(widget=forms.HiddenInput)
    field = forms.CharField(widget=forms.HiddenInput, required=False)
    text = forms.CharField(
        label=_("Question to the site"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )


class QueryReplyForm(forms.Form):
    ACTIONS = ("answer", "close", "reopen")

    action = forms.ChoiceField(choices=[(a, a) for a in ACTIONS], widget=forms.HiddenInput)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    text = forms.CharField(
        label=_("Your answer or comment"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=4000,
    )


class SignForm(forms.Form):
    username = forms.CharField(
        label=_("Your user name"),
        required=False,
        help_text=_("Needed for the first signature after you log in."),
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Your password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    meaning = forms.ChoiceField(label=_("Meaning of the signature"))
    confirm = forms.BooleanField(
        label=_(
            "I confirm that my electronic signature is the legally binding equivalent of my "
            "handwritten signature (21 CFR 11.100(c))."
        ),
        required=False,
    )

    def __init__(self, *args, meanings=(), ask_username=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["meaning"].choices = [(m, MEANING_LABELS.get(m, m)) for m in meanings]
        if not ask_username:
            del self.fields["username"]


MEANING_LABELS = {
    "Approval": _("Approval: I approve these data"),
    "Review": _("Review: I have reviewed these data"),
    "Authorship": _("Authorship: I entered these data"),
    "Responsibility": _("Responsibility: I am responsible for these data"),
}


class LockForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("lock", "lock"), ("unlock", "unlock")], widget=forms.HiddenInput
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=2000,
        help_text=_("Required to lock and to unlock; kept in the audit trail."),
    )


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label=_("Current password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label=_("New password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_(
            "At least 10 characters, not a common password, not like your user name, not only "
            "digits."
        ),
    )
    new_password_again = forms.CharField(
        label=_("New password again"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("new_password") != cleaned.get("new_password_again"):
            self.add_error("new_password_again", _("The two new passwords differ."))
        return cleaned
