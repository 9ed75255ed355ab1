"""Words for the IMWG engine's findings: the values, the reference and the threshold compared.

The engine (imwg_engine.py) decides and records each comparison as a finding tuple; this module
only puts those findings into sentences a study coordinator reads. It decides nothing.

Each sentence is a `Phrase`: an English template with named parameters (values with their
units, the reference, the threshold, the category, dates), whose parameters may be phrases
themselves (a parameter's name, "not done"). `render_reasons` gives the English the engine
records; a caller with a message catalogue renders the same phrases through its own gettext
(`phrase_text(phrase, translate=...)`), so the words are translated and the numbers are not.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

from mmtrial.clinical.imwg_criteria import CRITERIA, format_number


def gettext_noop(message: str) -> str:
    """Mark a template for the message catalogue (Django's makemessages collects the literals
    in calls of this name); the clinical core imports no Django, so it returns the English."""
    return message


_NO_PARAMETERS: Mapping[str, Any] = MappingProxyType({})


class Phrase(NamedTuple):
    """An English template with `%(name)s` parameters, and their values (text or phrases)."""

    template: str
    parameters: Mapping[str, Any] = _NO_PARAMETERS


def phrase_text(phrase: Phrase | str, translate: Callable[[str], str] | None = None) -> str:
    """The phrase in words: each template through `translate` (none: the English as written)."""
    if not isinstance(phrase, Phrase):
        return phrase
    template = phrase.template if translate is None else translate(phrase.template)
    if not phrase.parameters:
        return template
    return template % {
        name: value if value.__class__ is str else phrase_text(value, translate)
        for name, value in phrase.parameters.items()
    }


def _p(template: str, **parameters: Any) -> Phrase:
    return Phrase(template, parameters)


_C = CRITERIA
_NAMES = {2: "MR", 3: "PR", 4: "VGPR"}
_NOT_DONE = Phrase(gettext_noop("not done"))
_CHAINS = {"kappa": Phrase(gettext_noop("kappa")), "lambda": Phrase(gettext_noop("lambda"))}
_CLONAL = {"absent": Phrase(gettext_noop("absent")), "present": Phrase(gettext_noop("present"))}
_PARAMETER_WORDS = {
    "serum": Phrase(gettext_noop("serum M-protein")),
    "urine": Phrase(gettext_noop("urine M-protein")),
    "flc": Phrase(gettext_noop("the involved-minus-uninvolved free light chain difference (dFLC)")),
    "bone_marrow": Phrase(gettext_noop("bone marrow plasma cells")),
}
_LABELS = {
    "serum": _PARAMETER_WORDS["serum"],
    "urine": _PARAMETER_WORDS["urine"],
    "bone_marrow": _PARAMETER_WORDS["bone_marrow"],
    "plasmacytoma": Phrase(gettext_noop("plasmacytoma SPD")),
}
_UNITS = {
    "serum": "g/dL",
    "urine": "mg/24h",
    "dflc": "mg/L",
    "bone_marrow": "%",
    "plasmacytoma": "cm2",
}


def _threshold(name: str) -> str | Phrase:
    """A threshold as written in imwg_criteria.yaml (`25%`, `0.5 g/dL`); a unit in words is
    a phrase, so that it is translated too."""
    threshold = _C.thresholds[name]
    if threshold.unit == "percentage points":
        return _p(
            gettext_noop("%(number)s percentage points"), number=format_number(threshold.value)
        )
    return threshold.text


_T = {name: _threshold(name) for name in _C.thresholds}

# The threshold each parameter's reason quotes for a category.
_AT_LEAST = gettext_noop(" (%(category)s needs >= %(threshold)s)")
_QUOTED = {
    ("serum", 4): _p(_AT_LEAST, category="VGPR", threshold=_T["vgpr_serum_reduction_pct"]),
    ("serum", 3): _p(_AT_LEAST, category="PR", threshold=_T["pr_serum_reduction_pct"]),
    ("serum", 2): _p(_AT_LEAST, category="MR", threshold=_T["mr_serum_reduction_pct"]),
    ("urine", 4): _p(
        gettext_noop(" (%(category)s needs < %(limit)s)"),
        category="VGPR",
        limit=_T["vgpr_urine_below_mg_24h"],
    ),
    ("urine", 3): _p(
        gettext_noop(" (%(category)s needs >= %(percent)s below or < %(limit)s)"),
        category="PR",
        percent=_T["pr_urine_reduction_pct"],
        limit=_T["pr_urine_below_mg_24h"],
    ),
    ("urine", 2): _p(
        gettext_noop(" (%(category)s needs >= %(percent)s below or < %(limit)s)"),
        category="MR",
        percent=_T["mr_urine_reduction_pct"],
        limit=_T["mr_urine_below_mg_24h"],
    ),
    ("dflc", 4): _p(_AT_LEAST, category="VGPR", threshold=_T["vgpr_dflc_reduction_pct"]),
    ("dflc", 3): _p(_AT_LEAST, category="PR", threshold=_T["pr_dflc_reduction_pct"]),
    ("bone_marrow", 3): _p(_AT_LEAST, category="PR", threshold=_T["pr_bone_marrow_reduction_pct"]),
    ("plasmacytoma", 3): _p(
        _AT_LEAST, category="PR", threshold=_T["pr_plasmacytoma_reduction_pct"]
    ),
    ("plasmacytoma", 2): _p(
        _AT_LEAST, category="MR", threshold=_T["mr_plasmacytoma_reduction_pct"]
    ),
}


def _n(value: float | None, unit: str = "") -> str | Phrase:
    if value is None:
        return _NOT_DONE
    text = format_number(value)
    if unit == "%":
        return f"{text}%"
    return f"{text} {unit}".rstrip()


def _versus_baseline(value: float, reference: float, unit: str) -> Phrase:
    """`54% below baseline 2.4 g/dL` / `20% above ...` / `unchanged from ...`, in whole percent
    truncated toward zero (after absorbing binary noise) so that 49.96% never reads as the 50%
    it does not reach."""
    baseline = _n(reference, unit)
    if reference == 0:
        return _p(gettext_noop("compared with baseline %(reference)s"), reference=baseline)
    percent = (reference - value) / reference * 100
    shown = int(abs(percent) + 1e-6)
    if shown == 0 and percent != 0:
        shown = format_number(round(abs(percent), 2))
    if percent > 0:
        return _p(
            gettext_noop("%(percent)s below baseline %(reference)s"),
            percent=f"{shown}%",
            reference=baseline,
        )
    if percent < 0:
        return _p(
            gettext_noop("%(percent)s above baseline %(reference)s"),
            percent=f"{shown}%",
            reference=baseline,
        )
    return _p(gettext_noop("unchanged from baseline %(reference)s"), reference=baseline)


def _carried(since: object) -> str | Phrase:
    if since is None:
        return ""
    return _p(gettext_noop(" (carried forward from %(date)s)"), date=str(since))


def _chain(chain: object) -> str | Phrase:
    return _CHAINS.get(chain, str(chain))


def _level(name: str, value: float, reference: float, quoted: int, *extra) -> Phrase:
    unit = _UNITS[name]
    comparison = _versus_baseline(value, reference, unit)
    if name == "serum" and extra and extra[0]:
        return _p(
            gettext_noop(
                "serum M-protein %(value)s is %(comparison)s, detectable by immunofixation only "
                "(serum IFE positive: VGPR)"
            ),
            value=_n(value, unit),
            comparison=comparison,
        )
    if name == "dflc":
        label = _p(gettext_noop("dFLC (%(chain)s involved)"), chain=_chain(extra[0]))
    else:
        label = _LABELS[name]
    since = extra[-1] if name in ("bone_marrow", "plasmacytoma") else None
    return _p(
        gettext_noop("%(parameter)s %(value)s%(carried)s is %(comparison)s%(needs)s"),
        parameter=label,
        value=_n(value, unit),
        carried=_carried(since),
        comparison=comparison,
        needs=_QUOTED.get((name, quoted), ""),
    )


def _pd_serum(value, nadir, need) -> Phrase:
    parameters = {
        "value": _n(value, "g/dL"),
        "increase": _n(value - nadir, "g/dL"),
        "nadir": _n(nadir, "g/dL"),
        "percent": _T["pd_serum_increase_pct"],
        "absolute": _T[need],
    }
    if need == "pd_serum_increase_high_nadir_g_dl":
        return Phrase(
            gettext_noop(
                "serum M-protein %(value)s is %(increase)s above nadir %(nadir)s (PD needs >= "
                "%(percent)s and >= %(absolute)s because the nadir is >= %(high_nadir)s)"
            ),
            {**parameters, "high_nadir": _T["pd_serum_high_nadir_g_dl"]},
        )
    return Phrase(
        gettext_noop(
            "serum M-protein %(value)s is %(increase)s above nadir %(nadir)s (PD needs >= "
            "%(percent)s and >= %(absolute)s)"
        ),
        parameters,
    )


def _pd_urine(value, nadir) -> Phrase:
    return _p(
        gettext_noop(
            "urine M-protein %(value)s is %(increase)s above nadir %(nadir)s (PD needs >= "
            "%(percent)s and >= %(absolute)s)"
        ),
        value=_n(value, "mg/24h"),
        increase=_n(value - nadir, "mg/24h"),
        nadir=_n(nadir, "mg/24h"),
        percent=_T["pd_urine_increase_pct"],
        absolute=_T["pd_urine_increase_mg_24h"],
    )


def _pd_dflc(value, nadir, chain) -> Phrase:
    return _p(
        gettext_noop(
            "dFLC (%(chain)s involved) %(value)s is %(increase)s above nadir %(nadir)s (PD "
            "needs >= %(percent)s and > %(absolute)s)"
        ),
        chain=_chain(chain),
        value=_n(value, "mg/L"),
        increase=_n(value - nadir, "mg/L"),
        nadir=_n(nadir, "mg/L"),
        percent=_T["pd_dflc_increase_pct"],
        absolute=_T["pd_dflc_increase_mg_l"],
    )


def _pd_marrow(value, nadir, since) -> Phrase:
    return _p(
        gettext_noop(
            "bone marrow plasma cells %(value)s%(carried)s are %(increase)s percentage points "
            "above nadir %(nadir)s (PD needs >= %(threshold)s)"
        ),
        value=_n(value, "%"),
        carried=_carried(since),
        increase=format_number(value - nadir),
        nadir=_n(nadir, "%"),
        threshold=_T["pd_bone_marrow_increase_points"],
    )


def _pd_plasmacytoma(value, nadir, since) -> Phrase:
    return _p(
        gettext_noop(
            "plasmacytoma SPD %(value)s%(carried)s is %(increase)s above nadir %(nadir)s (PD "
            "needs >= %(percent)s growth; no confirmation needed)"
        ),
        value=_n(value, "cm2"),
        carried=_carried(since),
        increase=_n(value - nadir, "cm2"),
        nadir=_n(nadir, "cm2"),
        percent=_T["pd_plasmacytoma_increase_pct"],
    )


def _flc_ratio(kappa, lam, normal) -> Phrase:
    if kappa is None or lam is None:
        return _p(
            gettext_noop("FLC ratio not measurable (kappa %(kappa)s, lambda %(lambda)s)"),
            kappa=_n(kappa, "mg/L"),
            **{"lambda": _n(lam, "mg/L")},
        )
    parameters = {
        "ratio": Phrase(gettext_noop("undefined"))
        if lam == 0
        else format_number(round(kappa / lam, 3)),
        "kappa": _n(kappa, "mg/L"),
        "lambda": _n(lam, "mg/L"),
        "low": _T["flc_ratio_normal_low"],
        "high": _T["flc_ratio_normal_high"],
    }
    if normal:
        template = gettext_noop(
            "FLC ratio %(ratio)s (kappa %(kappa)s / lambda %(lambda)s) is normal (%(low)s-%(high)s)"
        )
    else:
        template = gettext_noop(
            "FLC ratio %(ratio)s (kappa %(kappa)s / lambda %(lambda)s) is not normal "
            "(%(low)s-%(high)s)"
        )
    return Phrase(template, parameters)


def _clonal(value, since) -> Phrase:
    if value is None:
        return Phrase(gettext_noop("bone marrow clonal cells not assessed (sCR needs absent)"))
    return _p(
        gettext_noop("bone marrow clonal cells %(result)s%(carried)s (sCR needs absent)"),
        result=_CLONAL.get(value, str(value)),
        carried=_carried(since),
    )


def _cr_bone_marrow(value, since) -> Phrase:
    return _p(
        gettext_noop("bone marrow plasma cells %(value)s%(carried)s (CR needs < %(threshold)s)"),
        value=_n(value, "%"),
        carried=_carried(since),
        threshold=_T["cr_bone_marrow_plasma_cells_below_pct"],
    )


def _cr_plasmacytoma(value, reference, since) -> Phrase:
    return _p(
        gettext_noop(
            "plasmacytoma SPD %(value)s%(carried)s, %(reference)s at baseline (CR needs 0)"
        ),
        value=_n(value, "cm2"),
        carried=_carried(since),
        reference=_n(reference, "cm2"),
    )


def _vgpr_marrow_not_cr(value, since) -> Phrase:
    return _p(
        gettext_noop(
            "bone marrow plasma cells %(value)s%(carried)s: every CR condition but the marrow "
            "(< %(threshold)s) is met (VGPR)"
        ),
        value=_n(value, "%"),
        carried=_carried(since),
        threshold=_T["cr_bone_marrow_plasma_cells_below_pct"],
    )


_NE_NOTHING_FOLLOWED = _p(
    gettext_noop(
        "no measurable disease at baseline (serum < %(serum)s, urine < %(urine)s, no FLC >= "
        "%(flc)s with abnormal ratio, marrow < %(marrow)s): not evaluable"
    ),
    serum=_T["measurable_serum_m_protein_g_dl"],
    urine=_T["measurable_urine_m_protein_mg_24h"],
    flc=_T["measurable_involved_flc_mg_l"],
    marrow=_T["measurable_bone_marrow_plasma_cells_pct"],
)


def _ne_missing(name) -> Phrase:
    return _p(
        gettext_noop("%(parameter)s (followed) not measured: not evaluable"),
        parameter=_PARAMETER_WORDS[name],
    )


def _urine_any(value, met) -> Phrase:
    if met:
        template = gettext_noop(
            "urine M-protein %(value)s is below %(limit)s (VGPR asks it of every patient)"
        )
    else:
        template = gettext_noop(
            "urine M-protein %(value)s is not below %(limit)s (VGPR asks it of every patient)"
        )
    return _p(template, value=_n(value, "mg/24h"), limit=_T["vgpr_urine_below_mg_24h"])


_FINDINGS: dict[str, Callable[..., Phrase]] = {
    "pd_serum": _pd_serum,
    "pd_urine": _pd_urine,
    "pd_dflc": _pd_dflc,
    "pd_bone_marrow": _pd_marrow,
    "pd_plasmacytoma": _pd_plasmacytoma,
    "pd_new_lesion": lambda: Phrase(
        gettext_noop("new bone lesion or plasmacytoma (PD; no confirmation needed)")
    ),
    "ife_negative": lambda: Phrase(gettext_noop("serum IFE negative and urine IFE negative (CR)")),
    "cr_bone_marrow": _cr_bone_marrow,
    "cr_plasmacytoma": _cr_plasmacytoma,
    "flc_ratio": _flc_ratio,
    "clonal": _clonal,
    "vgpr_no_marrow": lambda: Phrase(
        gettext_noop("no bone marrow result: every CR condition but the marrow is met (VGPR)")
    ),
    "vgpr_marrow_not_cr": _vgpr_marrow_not_cr,
    "ne_nothing_followed": lambda: _NE_NOTHING_FOLLOWED,
    "ne_missing": _ne_missing,
    "urine_any": _urine_any,
}


def finding_phrase(finding: tuple | list) -> Phrase:
    """One finding `(code, values...)` as a phrase (dates may be dates or ISO strings)."""
    code, *values = finding
    render = _FINDINGS.get(code)
    return render(*values) if render else _level(code, *values)


def confirmation_phrase(confirmed: bool, confirmation: tuple | list | None) -> Phrase | None:
    """How the confirmation was decided, or None (no confirmation applies)."""
    if confirmation is None:
        return None
    kind, following = confirmation
    if kind == "pd_no_repeat":
        return Phrase(gettext_noop("PD by new lesion or plasmacytoma growth needs no confirmation"))
    if following is None:
        return Phrase(gettext_noop("not confirmed: no later evaluable assessment"))
    day, category = following
    if confirmed:
        template = gettext_noop(
            "confirmed: the next evaluable assessment (%(date)s) is %(category)s"
        )
    else:
        template = gettext_noop(
            "not confirmed: the next evaluable assessment (%(date)s) is %(category)s"
        )
    return _p(template, date=str(day), category=category)


def reason_phrases(
    *, confirmed: bool, findings: tuple | list, confirmation: tuple | list | None
) -> tuple[Phrase, ...]:
    """The phrases of one assessment, in the order the engine compared the values."""
    phrases = [finding_phrase(finding) for finding in findings]
    note = confirmation_phrase(confirmed, confirmation)
    if note is not None:
        phrases.append(note)
    return tuple(phrases)


def render_reasons(
    *, confirmed: bool, findings: tuple[tuple, ...], confirmation: tuple | None
) -> tuple[str, ...]:
    """Sentences for one assessment (English), in the order the engine compared the values."""
    return tuple(
        phrase_text(phrase)
        for phrase in reason_phrases(
            confirmed=confirmed, findings=findings, confirmation=confirmation
        )
    )
