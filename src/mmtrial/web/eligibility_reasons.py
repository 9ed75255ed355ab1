"""The eligibility engine's reasons in the page's language, written from the result's fields
(variable, value, operator, threshold, ULN, the investigator's answer), never from its English
text: the engine's `reason` stays the English record of the decision (audit, CLI, API)."""

from __future__ import annotations

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from mmtrial.clinical.eligibility import ULN_UNIT, CheckResult, CriterionResult
from mmtrial.protocol.models import Protocol
from mmtrial.web.labels import label
from mmtrial.web.screening_form import variable_label

__all__ = ["criterion_reason"]


def _needs(operator: str, limit: str) -> str:
    words = {
        "<": _("below %(limit)s"),
        "<=": _("at most %(limit)s"),
        ">": _("above %(limit)s"),
        ">=": _("at least %(limit)s"),
        "==": _("%(limit)s"),
        "!=": _("not %(limit)s"),
    }
    return words[operator] % {"limit": limit}


def _value(value, unit: str | None = None) -> str:
    if value is True:
        return _("Yes")
    if value is False:
        return _("No")
    if isinstance(value, int | float):
        value = number_format(value)
    shown = str(value)
    return f"{shown} {label(unit, 'unit')}" if unit and unit != ULN_UNIT else shown


def check_reason(check: CheckResult, protocol: Protocol | None) -> str:
    name = variable_label(check.variable, protocol)
    if check.not_applicable and check.condition:
        cond = check.condition
        return _(
            "%(variable)s: not asked (%(condition)s is %(value)s; asked only when %(needs)s)"
        ) % {
            "variable": name,
            "condition": variable_label(cond["variable"], protocol),
            "value": _value(cond["value"]),
            "needs": _needs(cond["operator"], _value(cond["threshold"])),
        }
    if check.value is None:
        return _("%(variable)s: not entered") % {"variable": name}
    if check.uln_variable and check.limit is None:
        return _("%(variable)s: not entered") % {
            "variable": variable_label(check.uln_variable, protocol)
        }
    if check.uln_variable:
        limit = _("%(times)s x ULN (%(times)s x %(uln)s = %(limit)s)") % {
            "times": _value(check.threshold),
            "uln": _value(check.uln),
            "limit": _value(check.limit),
        }
    else:
        limit = _value(check.threshold, check.unit)
    return _("%(variable)s is %(value)s; needs %(needs)s") % {
        "variable": name,
        "value": _value(check.value, check.unit),
        "needs": _needs(check.operator, limit),
    }


def _answer_reason(criterion: CriterionResult) -> str:
    if criterion.answer is None:
        return _("Needs the investigator's answer.")
    if criterion.kind == "exclusion":
        if criterion.answer:
            return _("The investigator answered that this exclusion applies.")
        return _("The investigator answered that this exclusion does not apply.")
    if criterion.answer:
        return _("The investigator answered that the participant fulfils this criterion.")
    return _("The investigator answered that the participant does not fulfil it.")


def criterion_reason(criterion: CriterionResult, protocol: Protocol | None) -> str:
    """Why the criterion has its status, in the active language (the status itself and the
    criterion's id are shown beside it)."""
    if criterion.decided_by == "answer":
        return _answer_reason(criterion)
    reasons = [check_reason(c, protocol) for c in criterion.checks]
    if criterion.decided_by == "any_of":
        text = _("one of: %(reasons)s") % {"reasons": _(" or ").join(reasons)}
    else:
        text = _("; ").join(reasons)
    if criterion.kind == "exclusion" and criterion.status != "missing":
        if criterion.status == "met":
            return _("The exclusion does not apply: %(reasons)s") % {"reasons": text}
        return _("The exclusion applies: %(reasons)s") % {"reasons": text}
    return text
