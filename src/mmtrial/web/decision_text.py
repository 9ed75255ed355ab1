"""A dose decision's summary and cycle-start criteria in the page's language, written from the
decision's own fields (its kind, cycle, doses given and planned, changes) and the protocol file
(`cycle_start.criteria[].text_ja`), never by parsing the engine's English text, which stays the
record of the decision (audit, CLI, API)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from mmtrial.clinical.dosing import DECISION_RULE, RENAL_LAB_WINDOW
from mmtrial.clinical.renal_dosing import RENAL_START_RULE, STARTING_DOSE_RULE
from mmtrial.protocol.models import Protocol
from mmtrial.web.labels import label

__all__ = ["change_text", "criterion_text", "reason_text"]


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


def _starting(drug: str, dose) -> str:
    return _("%(drug)s starts at %(dose)s.") % {"drug": label(drug, "drug"), "dose": _mg(dose)}


def _renal_start(values: dict, protocol: Protocol) -> str:
    start = protocol.renal.start
    params = {
        "crcl": values.get("crcl_ml_min"),
        "below": values.get("crcl_below_ml_min"),
        "drug": label(start.drug, "drug"),
        "dose": _mg(values.get("dose_mg")),
        "usual": _mg(protocol.regimen[start.drug].dose),
    }
    crcl, below = params["crcl"], params["below"]
    if crcl is not None and below is not None and float(crcl) < float(below):
        return (
            _(
                "CrCl %(crcl)s mL/min is below %(below)s mL/min: %(drug)s starts at the renal "
                "dose %(dose)s (instead of %(usual)s)."
            )
            % params
        )
    return _("CrCl %(crcl)s mL/min is not below %(below)s mL/min: %(drug)s starts at %(dose)s.") % (
        params
    )


def reason_text(reason, decision, protocol: Protocol | None = None) -> str:
    """The reason's text in the page's language where it can be written from its values or
    the decision; the engine's English text otherwise."""
    if (get_language() or "").startswith("en"):
        return _get(reason, "text")
    rule, values = _get(reason, "rule"), _get(reason, "values") or {}
    if rule == DECISION_RULE:
        return _summary(decision)
    if rule == STARTING_DOSE_RULE and "drug" in values and "dose_mg" in values:
        return _starting(values["drug"], values["dose_mg"])
    if rule == RENAL_START_RULE and protocol is not None and "dose_mg" in values:
        return _renal_start(values, protocol)
    if protocol is not None and isinstance(reason, dict):
        from mmtrial.web.dose_reason_text import dose_modification_text

        written = dose_modification_text(reason, protocol)
        if written is not None:
            return written
    return _get(reason, "text")


def change_text(change) -> str:
    """A starting-dose change in the page's language; the engine's text for the others."""
    if not (get_language() or "").startswith("en"):
        kind, drug, dose = _get(change, "kind"), _get(change, "drug"), _get(change, "to_mg")
        if kind == "start" and dose is not None:
            return _starting(drug, dose)
        if kind == "renal_start" and dose is not None:
            return _("%(drug)s starts at the renal dose %(dose)s.") % {
                "drug": label(drug, "drug"),
                "dose": _mg(dose),
            }
    return _get(change, "text")


def criterion_text(check, protocol: Protocol) -> str:
    """A cycle-start criterion as the protocol file words it, in Japanese on Japanese pages."""
    if (get_language() or "").startswith("ja"):
        if _get(check, "id") == RENAL_LAB_WINDOW:
            return _("Creatinine clearance from a creatinine at most %(days)s days old") % {
                "days": protocol.renal.lab_window_days
            }
        for criterion in protocol.cycle_start.criteria:
            if criterion.id == _get(check, "id") and criterion.text_ja:
                return criterion.text_ja
    return _get(check, "text")
