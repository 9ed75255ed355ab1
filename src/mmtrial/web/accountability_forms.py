"""The drug accountability form of one drug in one cycle: counts dispensed, returned, lost."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from mmtrial.web.forms import DATE_WIDGET, ReasonField, VersionedForm


class AccountabilityForm(VersionedForm):
    dispensed_count = forms.IntegerField(label=_("Dispensed"), min_value=0)
    dispensed_on = forms.DateField(label=_("Date dispensed"), widget=DATE_WIDGET)
    returned_count = forms.IntegerField(label=_("Returned"), min_value=0, required=False)
    returned_on = forms.DateField(label=_("Date returned"), widget=DATE_WIDGET, required=False)
    lost_count = forms.IntegerField(label=_("Lost"), min_value=0, required=False, initial=0)
    bottle_count = forms.IntegerField(label=_("Bottles"), min_value=0, required=False)
    bottle_id = forms.CharField(label=_("Bottle or kit number"), required=False, max_length=40)
    comment = forms.CharField(label=_("Comment"), required=False, max_length=2000)
    reason = ReasonField()
