"""A dose decision's summary and cycle-start criteria in the page's language, written from the
decision's own fields (its kind, cycle, doses given and planned, changes) and the protocol file
(`cycle_start.criteria[].text_ja`), never by parsing the engine's English text, which stays the
record of the decision (audit, CLI, API)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from mmtrial.clinical.dosing import DECISION_RULE
from mmtrial.protocol.models import Protocol
from mmtrial.web.labels import label

__all__ = ["criterion_text", "reason_text"]


def _get(obj: Any, name: str, default=None):
    return obj.get(name, default) if isinstance(obj, dict) else getattr(obj, name, default)


def _mg(value) -> str:
    text = format(value, "f") if not isinstance(value, str) else value
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} mg"


def _doses(decision) -> str:
    given = _get(decision, "doses_mg") or {}
    planned = _get(decision, "planned_doses_mg") or {}
    parts = []
    for drug, mg in given.items():
        if mg is not None:
            parts.append(f"{label(drug, 'drug')} {_mg(mg)}")
        elif planned.get(drug) is not None:
            parts.append(_("%(drug)s held") % {"drug": label(drug, "drug")})
    return _(", ").join(parts)


def _summary(decision) -> str:
    cycle = _get(decision, "cycle")
    kind = _get(decision, "decision")
    if kind == "start":
        return _("Cycle %(cycle)s starts: %(doses)s.") % {"cycle": cycle, "doses": _doses(decision)}
    if kind == "discontinue_drug":
        stopped = [
            label(_get(c, "drug"), "drug")
            for c in _get(decision, "changes") or []
            if _get(c, "kind") == "discontinue"
        ]
        return _("Cycle %(cycle)s starts without %(stopped)s (discontinued): %(doses)s.") % {
            "cycle": cycle,
            "stopped": _(", ").join(stopped),
            "doses": _doses(decision),
        }
    if kind == "delay":
        return _(
            "Cycle %(cycle)s is delayed: the cycle start criteria are not met; check again in "
            "%(days)s days."
        ) % {"cycle": cycle, "days": _get(decision, "recheck_in_days")}
    if kind == "discontinue_treatment":
        return _("Treatment is discontinued at cycle %(cycle)s.") % {"cycle": cycle}
    return _(
        "Cycle %(cycle)s: the investigator confirms or overrides the proposed doses (with a "
        "reason) before the cycle starts."
    ) % {"cycle": cycle}


def reason_text(reason, decision) -> str:
    """The reason's text in the page's language where it can be written from the decision;
    the engine's English text otherwise."""
    if _get(reason, "rule") == DECISION_RULE and not (get_language() or "").startswith("en"):
        return _summary(decision)
    return _get(reason, "text")


def criterion_text(check, protocol: Protocol) -> str:
    """A cycle-start criterion as the protocol file words it, in Japanese on Japanese pages."""
    if (get_language() or "").startswith("ja"):
        for criterion in protocol.cycle_start.criteria:
            if criterion.id == _get(check, "id") and criterion.text_ja:
                return criterion.text_ja
    return _get(check, "text")
