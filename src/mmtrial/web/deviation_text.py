"""A deviation found by rule in the page's language: the rule's message template
(`clinical.deviations`), translated, filled with the parameters the rule stored. A deviation
entered by hand, or one whose parameters do not fill its template, shows as recorded."""

from __future__ import annotations

from django.utils.translation import get_language, gettext, gettext_noop

from mmtrial.web.labels import label

__all__ = ["category_text", "deviation_text"]

# Each rule's template written out as a msgid (makemessages reads literals), so that the
# Japanese catalogue has it; tests/web/test_deviation_text.py checks each is still the clinical
# module's constant, so a reworded rule is noticed.
TEMPLATES = {
    "visit_out_of_window": gettext_noop(
        "Visit {code} was done on {actual}, outside its window {window_start} to {window_end} ({days} day(s) {side})."
    ),
    "response_assessment_missed": gettext_noop(
        "Response assessment {number} planned on {planned} was not done in its window {window_start} to {window_end}."
    ),
    "dose_not_as_decided": gettext_noop(
        "{drug} on cycle {cycle} day {day} was given at {taken} mg while the dose decision planned {planned}, and no reason was recorded."
    ),
    "cycle_start_criteria_not_met": gettext_noop(
        "Cycle {cycle} started on {start} although a start criterion was not met: {criteria}."
    ),
    "ineligible_enrolled": gettext_noop("Enrolled although not eligible at screening: {criteria}."),
    "required_lab_missing": gettext_noop(
        "Cycle {cycle} started on {start} without {analyte} collected in the {days} day(s) before."
    ),
    "unblinding": gettext_noop("Emergency unblinding on {at} by {by}: {reason}"),
}
SIDES = {"early": gettext_noop("early"), "late": gettext_noop("late")}
CATEGORIES = {
    "Visit schedule": gettext_noop("Visit schedule"),
    "Efficacy assessment": gettext_noop("Efficacy assessment"),
    "Study treatment": gettext_noop("Study treatment"),
    "Eligibility": gettext_noop("Eligibility"),
    "Safety assessment": gettext_noop("Safety assessment"),
    "Unblinding": gettext_noop("Unblinding"),
    # not a rule's category: the one monitors most often enter by hand (the demo's, too)
    "Informed consent": gettext_noop("Informed consent"),
}


def deviation_text(deviation) -> str:
    if (get_language() or "").startswith("en"):
        return deviation.description
    template = TEMPLATES.get(deviation.rule or "")
    if template is None:
        return deviation.description
    params = dict(deviation.params or {})
    if "side" in params:
        params["side"] = gettext(SIDES.get(params["side"], params["side"]))
    if "drug" in params:
        params["drug"] = label(params["drug"], "drug")
    try:
        return gettext(template).format(**params)
    except (KeyError, IndexError, ValueError):
        return deviation.description


def category_text(category: str) -> str:
    """A category the bundled protocol files use (or informed consent), translated; any other
    as written."""
    msgid = CATEGORIES.get(category)
    return gettext(msgid) if msgid else category
