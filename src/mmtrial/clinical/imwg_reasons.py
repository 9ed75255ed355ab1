"""Words for the IMWG engine's findings: the values, the reference and the threshold compared.

The engine (imwg_engine.py) decides and records each comparison as a finding tuple; this module
only puts those findings into sentences a study coordinator reads. It decides nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from mmtrial.clinical.imwg_criteria import CRITERIA, format_number

_C = CRITERIA
_NAMES = {2: "MR", 3: "PR", 4: "VGPR"}
_PARAMETER_WORDS = {
    "serum": "serum M-protein",
    "urine": "urine M-protein",
    "flc": "the involved-minus-uninvolved free light chain difference (dFLC)",
    "bone_marrow": "bone marrow plasma cells",
}
# The threshold each parameter's reason quotes for a category.
_QUOTED = {
    ("serum", 4): "VGPR needs >= {vgpr_serum_reduction_pct}",
    ("serum", 3): "PR needs >= {pr_serum_reduction_pct}",
    ("serum", 2): "MR needs >= {mr_serum_reduction_pct}",
    ("urine", 4): "VGPR needs < {vgpr_urine_below_mg_24h}",
    ("urine", 3): "PR needs >= {pr_urine_reduction_pct} below or < {pr_urine_below_mg_24h}",
    ("urine", 2): "MR needs >= {mr_urine_reduction_pct} below or < {mr_urine_below_mg_24h}",
    ("dflc", 4): "VGPR needs >= {vgpr_dflc_reduction_pct}",
    ("dflc", 3): "PR needs >= {pr_dflc_reduction_pct}",
    ("bone_marrow", 3): "PR needs >= {pr_bone_marrow_reduction_pct}",
    ("plasmacytoma", 3): "PR needs >= {pr_plasmacytoma_reduction_pct}",
    ("plasmacytoma", 2): "MR needs >= {mr_plasmacytoma_reduction_pct}",
}
_TEXTS = {name: t.text for name, t in _C.thresholds.items()}
_QUOTED_TEXT = {key: rule.format(**_TEXTS) for key, rule in _QUOTED.items()}
_LABELS = {
    "serum": "serum M-protein",
    "urine": "urine M-protein",
    "bone_marrow": "bone marrow plasma cells",
    "plasmacytoma": "plasmacytoma SPD",
}
_UNITS = {
    "serum": "g/dL",
    "urine": "mg/24h",
    "dflc": "mg/L",
    "bone_marrow": "%",
    "plasmacytoma": "cm2",
}


def _n(value: float | None, unit: str = "") -> str:
    if value is None:
        return "not done"
    text = format_number(value)
    if unit == "%":
        return f"{text}%"
    return f"{text} {unit}".rstrip()


def _change(value: float, reference: float) -> str:
    """`54% below` / `20% above` / `unchanged from`, in whole percent truncated toward zero
    (after absorbing binary noise) so that 49.96% never reads as the 50% it does not reach."""
    if reference == 0:
        return "compared with"
    percent = (reference - value) / reference * 100
    shown = int(abs(percent) + 1e-6)
    if shown == 0 and percent != 0:
        shown = format_number(round(abs(percent), 2))
    if percent > 0:
        return f"{shown}% below"
    if percent < 0:
        return f"{shown}% above"
    return "unchanged from"


def _carried(since: object) -> str:
    return "" if since is None else f" (carried forward from {since})"


def _level(name: str, value: float, reference: float, quoted: int, *extra) -> str:
    unit = _UNITS[name]
    if name == "serum" and extra and extra[0]:
        return (
            f"serum M-protein {_n(value, unit)} is {_change(value, reference)} baseline "
            f"{_n(reference, unit)}, detectable by immunofixation only (serum IFE positive: VGPR)"
        )
    rule = _QUOTED_TEXT.get((name, quoted))
    needs = f" ({rule})" if rule else ""
    label = f"dFLC ({extra[0]} involved)" if name == "dflc" else _LABELS[name]
    since = extra[-1] if name in ("bone_marrow", "plasmacytoma") else None
    return (
        f"{label} {_n(value, unit)}{_carried(since)} is {_change(value, reference)} baseline "
        f"{_n(reference, unit)}{needs}"
    )


def _pd_serum(value, nadir, need) -> str:
    return (
        f"serum M-protein {_n(value, 'g/dL')} is {_n(value - nadir, 'g/dL')} above nadir "
        f"{_n(nadir, 'g/dL')} (PD needs >= {_TEXTS['pd_serum_increase_pct']} and "
        f">= {_TEXTS[need]}"
        + (
            f" because the nadir is >= {_TEXTS['pd_serum_high_nadir_g_dl']})"
            if need == "pd_serum_increase_high_nadir_g_dl"
            else ")"
        )
    )


def _pd_urine(value, nadir) -> str:
    return (
        f"urine M-protein {_n(value, 'mg/24h')} is {_n(value - nadir, 'mg/24h')} above nadir "
        f"{_n(nadir, 'mg/24h')} (PD needs >= {_TEXTS['pd_urine_increase_pct']} and "
        f">= {_TEXTS['pd_urine_increase_mg_24h']})"
    )


def _pd_dflc(value, nadir, chain) -> str:
    return (
        f"dFLC ({chain} involved) {_n(value, 'mg/L')} is {_n(value - nadir, 'mg/L')} above "
        f"nadir {_n(nadir, 'mg/L')} (PD needs >= {_TEXTS['pd_dflc_increase_pct']} and "
        f"> {_TEXTS['pd_dflc_increase_mg_l']})"
    )


def _pd_marrow(value, nadir, since) -> str:
    return (
        f"bone marrow plasma cells {_n(value, '%')}{_carried(since)} are "
        f"{format_number(value - nadir)} percentage points above nadir {_n(nadir, '%')} "
        f"(PD needs >= {_TEXTS['pd_bone_marrow_increase_points']})"
    )


def _pd_plasmacytoma(value, nadir, since) -> str:
    return (
        f"plasmacytoma SPD {_n(value, 'cm2')}{_carried(since)} is {_n(value - nadir, 'cm2')} "
        f"above nadir {_n(nadir, 'cm2')} (PD needs >= {_TEXTS['pd_plasmacytoma_increase_pct']}"
        " growth; no confirmation needed)"
    )


def _flc_ratio(kappa, lam, normal) -> str:
    band = f"{_TEXTS['flc_ratio_normal_low']}-{_TEXTS['flc_ratio_normal_high']}"
    if kappa is None or lam is None:
        return f"FLC ratio not measurable (kappa {_n(kappa, 'mg/L')}, lambda {_n(lam, 'mg/L')})"
    ratio = "undefined" if lam == 0 else format_number(round(kappa / lam, 3))
    verdict = "normal" if normal else "not normal"
    return (
        f"FLC ratio {ratio} (kappa {_n(kappa, 'mg/L')} / lambda {_n(lam, 'mg/L')}) is {verdict} "
        f"({band})"
    )


def _clonal(value, since) -> str:
    if value is None:
        return "bone marrow clonal cells not assessed (sCR needs absent)"
    return f"bone marrow clonal cells {value}{_carried(since)} (sCR needs absent)"


_FINDINGS: dict[str, Callable[..., str]] = {
    "pd_serum": _pd_serum,
    "pd_urine": _pd_urine,
    "pd_dflc": _pd_dflc,
    "pd_bone_marrow": _pd_marrow,
    "pd_plasmacytoma": _pd_plasmacytoma,
    "pd_new_lesion": lambda: "new bone lesion or plasmacytoma (PD; no confirmation needed)",
    "ife_negative": lambda: "serum IFE negative and urine IFE negative (CR)",
    "cr_bone_marrow": lambda value, since: (
        f"bone marrow plasma cells {_n(value, '%')}{_carried(since)} "
        f"(CR needs < {_TEXTS['cr_bone_marrow_plasma_cells_below_pct']})"
    ),
    "cr_plasmacytoma": lambda value, reference, since: (
        f"plasmacytoma SPD {_n(value, 'cm2')}{_carried(since)}, {_n(reference, 'cm2')} at "
        "baseline (CR needs 0)"
    ),
    "flc_ratio": _flc_ratio,
    "clonal": _clonal,
    "vgpr_no_marrow": lambda: (
        "no bone marrow result: every CR condition but the marrow is met (VGPR)"
    ),
    "vgpr_marrow_not_cr": lambda value, since: (
        f"bone marrow plasma cells {_n(value, '%')}{_carried(since)}: every CR condition but "
        f"the marrow (< {_TEXTS['cr_bone_marrow_plasma_cells_below_pct']}) is met (VGPR)"
    ),
    "ne_nothing_followed": lambda: (
        "no measurable disease at baseline (serum < "
        f"{_TEXTS['measurable_serum_m_protein_g_dl']}, urine < "
        f"{_TEXTS['measurable_urine_m_protein_mg_24h']}, no FLC >= "
        f"{_TEXTS['measurable_involved_flc_mg_l']} with abnormal ratio, marrow < "
        f"{_TEXTS['measurable_bone_marrow_plasma_cells_pct']}): not evaluable"
    ),
    "ne_missing": lambda name: f"{_PARAMETER_WORDS[name]} (followed) not measured: not evaluable",
    "urine_any": lambda value, met: (
        f"urine M-protein {_n(value, 'mg/24h')} is {'below' if met else 'not below'} "
        f"{_TEXTS['vgpr_urine_below_mg_24h']} (VGPR asks it of every patient)"
    ),
}


def _confirmation(confirmed: bool, confirmation: tuple | None) -> str | None:
    if confirmation is None:
        return None
    kind, following = confirmation
    if kind == "pd_no_repeat":
        return "PD by new lesion or plasmacytoma growth needs no confirmation"
    if following is None:
        return "not confirmed: no later evaluable assessment"
    day, category = following
    verdict = "confirmed" if confirmed else "not confirmed"
    return f"{verdict}: the next evaluable assessment ({day}) is {category}"


def render_reasons(
    *, confirmed: bool, findings: tuple[tuple, ...], confirmation: tuple | None
) -> tuple[str, ...]:
    """Sentences for one assessment, in the order the engine compared the values."""
    lines = []
    for code, *values in findings:
        render = _FINDINGS.get(code)
        lines.append(render(*values) if render else _level(code, *values))
    note = _confirmation(confirmed, confirmation)
    if note:
        lines.append(note)
    return tuple(lines)
