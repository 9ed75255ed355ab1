"""Drug accountability of one cycle: a form per drug (dispensed, returned, lost) and, once the
return is counted, the adherence and whether the count agrees with the dose diary."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from mmtrial.edc.selectors.accountability import cycle_accountability, participant_adherence
from mmtrial.edc.services.accountability import accountability_record
from mmtrial.web.accountability_forms import AccountabilityForm
from mmtrial.web.errors import run_service
from mmtrial.web.labels import label

_FIELDS = (
    "dispensed_count",
    "dispensed_on",
    "returned_count",
    "returned_on",
    "lost_count",
    "bottle_count",
    "bottle_id",
    "comment",
)


def _initial(row) -> dict:
    if row is None:
        return {"lost_count": 0}
    return {**{name: getattr(row, name) for name in _FIELDS}, "version": row.version}


def accountability_edit(request, pk: int, number: int):
    """The cycle's accountability; a POST saves the drug named in `drug` (one form per drug)."""
    page = cycle_accountability(user=request.user, participant_id=pk, cycle_number=number)
    posted = request.POST.get("drug") if request.method == "POST" else None
    forms_by_drug = {}
    for line in page.lines:
        data = request.POST if posted == line.drug else None
        forms_by_drug[line.drug] = AccountabilityForm(
            data, initial=_initial(line.row), prefix=line.drug
        )
    form = forms_by_drug.get(posted)
    if form is not None and form.is_valid():
        values = {name: form.cleaned_data.get(name) for name in _FIELDS}
        values["lost_count"] = values["lost_count"] or 0
        values["bottle_id"] = values["bottle_id"] or ""
        values["comment"] = values["comment"] or ""
        saved = run_service(
            form,
            lambda: accountability_record(
                user=request.user,
                participant_id=page.participant.pk,
                cycle_number=number,
                drug=posted,
                expected_version=form.cleaned_data.get("version"),
                reason=form.cleaned_data.get("reason") or "",
                **values,
            ),
        )
        if saved is not None:
            messages.success(
                request,
                _("Accountability of %(drug)s for cycle %(number)d saved.")
                % {"drug": label(posted, "drug"), "number": number},
            )
            return redirect("accountability_edit", pk=pk, number=number)
    rows = [(line, forms_by_drug[line.drug]) for line in page.lines]
    return render(
        request,
        "web/entry/accountability.html",
        {
            "participant": page.participant,
            "cycle": page.cycle,
            "rows": rows,
            "history": participant_adherence(participant=page.participant),
        },
        status=400 if form is not None else 200,
    )
