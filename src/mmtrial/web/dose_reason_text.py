"""A dose-modification reason in the page's language, written from the reason's typed values
(`kind`, drug, doses, the toxicity event, the hold list, the alternation turn) and the
protocol file's own Japanese for the rule (`dose_modification.rules[].text_ja`,
`resume_when_ja`), never by parsing the engine's English `text` (the record of the decision)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from mmtrial.analysis.i18n import ae_term
from mmtrial.edc.edit_checks import ANALYTE_VARIABLES
from mmtrial.protocol.models import Protocol
from mmtrial.web.labels import label

__all__ = ["dose_modification_text"]

_ANALYTE_OF = {variable: code for code, variable in ANALYTE_VARIABLES.items()}
_KINDS = {
    "reduce",
    "lowest_level",
    "already_reduced",
    "already_discontinued",
    "discontinue_regimen",
    "hold_same",
    "hold_not_attributed",
}


def _mg(value) -> str:
    text = format(value, "f") if not isinstance(value, str) else value
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text} mg"


def _drug(drug: str) -> str:
    return str(label(drug, "drug"))


def _event(values: dict[str, Any]) -> str:
    from mmtrial.web.entry_forms import analyte_label

    text = _("%(term)s grade %(grade)s") % {
        "term": ae_term(str(values.get("term", "")), "ja"),
        "grade": values.get("grade"),
    }
    variable = values.get("count_variable")
    if variable and variable in values:
        count = {
            "analyte": analyte_label(_ANALYTE_OF.get(variable, variable)),
            "value": values[variable],
            "unit": values.get("count_unit") or "",
        }
        count_text = (_("%(analyte)s %(value)s %(unit)s") % count).strip()
        if values.get("count_date"):
            count_text = _("%(count)s on %(date)s") % {
                "count": count_text,
                "date": values["count_date"],
            }
        text = _("%(event)s (%(count)s)") % {"event": text, "count": count_text}
    return text


def _why(rule, values: dict[str, Any]) -> str:
    why = _("%(rule)s [%(event)s]") % {"rule": rule.text_ja, "event": _event(values)}
    if values.get("attributed_to"):
        why = _("%(why)s, attributed to %(drug)s") % {
            "why": why,
            "drug": _drug(values["attributed_to"]),
        }
    if "alternation_count" in values and values.get("turn_drug"):
        turn = _("%(why)s: overlapping toxicity no. %(count)s, %(drug)s's turn") % {
            "why": why,
            "count": values["alternation_count"],
            "drug": _drug(values["turn_drug"]),
        }
        if values.get("drug") and values["drug"] != values["turn_drug"]:
            turn = _("%(turn)s (%(turn_drug)s is discontinued, so %(drug)s)") % {
                "turn": turn,
                "turn_drug": _drug(values["turn_drug"]),
                "drug": _drug(values["drug"]),
            }
        return turn
    return why


def dose_modification_text(reason: dict[str, Any], protocol: Protocol) -> str | None:
    """The reason in the active language, or None when it is not a dose-modification reason
    this module can write (the caller shows the engine's text)."""
    values = reason.get("values") or {}
    kind = values.get("kind")
    rules = {r.id: r for r in protocol.dose_modification.rules}
    rule = rules.get(reason.get("rule"))
    if kind not in _KINDS or rule is None or not rule.text_ja:
        return None
    why = _why(rule, values)
    drug = _drug(values["drug"]) if values.get("drug") else ""
    hold = _(", ").join(_drug(d) for d in values.get("hold") or [])
    resume = rule.resume_when_ja or rule.resume_when or ""
    if kind == "reduce":
        return _("%(why)s: %(drug)s one level down, %(from)s -> %(to)s.") % {
            "why": why,
            "drug": drug,
            "from": _mg(values["from_mg"]),
            "to": _mg(values["to_mg"]),
        }
    if kind == "lowest_level":
        return _(
            "%(why)s: %(drug)s is at its lowest level (%(from)s); below it the drug is "
            "discontinued."
        ) % {"why": why, "drug": drug, "from": _mg(values["from_mg"])}
    if kind == "already_reduced":
        return _(
            "%(why)s: %(drug)s was already reduced at this decision; at most %(limit)s level(s) "
            "down per drug per decision."
        ) % {"why": why, "drug": drug, "limit": values.get("levels_down_per_drug_per_decision")}
    if kind == "already_discontinued":
        return _("%(why)s: %(drug)s is already discontinued.") % {"why": why, "drug": drug}
    if kind == "discontinue_regimen":
        return _("%(why)s: discontinue the regimen.") % {"why": why}
    if kind == "hold_same":
        return _("%(why)s: hold %(drugs)s until %(resume)s; resume at the most recent dose.") % {
            "why": why,
            "drugs": hold,
            "resume": resume,
        }
    return _(
        "%(why)s: hold %(drugs)s until %(resume)s; not attributed to a study drug, so no dose "
        "is reduced."
    ) % {"why": why, "drugs": hold, "resume": resume}
