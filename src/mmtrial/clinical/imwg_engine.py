"""The IMWG 2016 response derivation for one participant (contracts/imwg.md, every fixed choice).

Rule: the parameters measurable at baseline are followed; each assessment gets the first
category that holds in the order PD, sCR, CR, VGPR, PR, MR, NE, SD, judged against the baseline
(responses) or the nadir (progression: the lowest measured value among the baseline and earlier
assessments); bone marrow and plasmacytoma values are carried forward; a category is confirmed
by the next evaluable (non-NE) assessment; the best overall response is the best category held
by both assessments of a consecutive pair before progression.

Source: Kumar S, et al. Lancet Oncol 2016;17:e328, Table 2 (thresholds in imwg_criteria.yaml);
the choices the paper leaves open are fixed by contracts/imwg.md, "Fixed choices".

Arithmetic: values are floats and every comparison allows `EPS`, far below any lab's precision,
so thresholds hold on the decimals as written (0.7 is 0.5 above 0.2; 0.14 is 90% below 1.4).
"""

from __future__ import annotations

from dataclasses import dataclass

from mmtrial.clinical.imwg_criteria import CRITERIA, ImwgCriteria
from mmtrial.clinical.imwg_input import Assessment, Baseline, ImwgInput
from mmtrial.clinical.imwg_result import AssessmentResult, ImwgResult

ENGINE_VERSION = "imwg-2016/1.0.0"

# A tolerance far below lab precision: equal within EPS counts as equal.
EPS = 1e-9

# Categories as ranks: a higher rank is a better response. NE is outside the order.
NE, PD, SD, MR, PR, VGPR, CR, SCR = -1, 0, 1, 2, 3, 4, 5, 6
CATEGORY_NAMES = {NE: "NE", PD: "PD", SD: "SD", MR: "MR", PR: "PR", VGPR: "VGPR", CR: "CR"}
CATEGORY_NAMES[SCR] = "sCR"
CATEGORY_RANKS = {name: rank for rank, name in CATEGORY_NAMES.items()}

SERUM, URINE, FLC, BONE_MARROW = "serum", "urine", "flc", "bone_marrow"


@dataclass(frozen=True, slots=True)
class Disease:
    """What is followed: parameters measurable at baseline, and the involved light chain."""

    followed: tuple[str, ...]
    involved_chain: str | None = None
    baseline_dflc_mg_l: float | None = None


def flc_ratio_is_normal(
    *, kappa_mg_l: float | None, lambda_mg_l: float | None, criteria: ImwgCriteria = CRITERIA
) -> bool:
    """Kappa/lambda within 0.26-1.65 (Kumar 2016, Table 2, sCR); False when not measurable."""
    if kappa_mg_l is None or lambda_mg_l is None or lambda_mg_l <= EPS:
        return False
    return (
        kappa_mg_l >= criteria.flc_ratio_normal_low * lambda_mg_l - EPS
        and kappa_mg_l <= criteria.flc_ratio_normal_high * lambda_mg_l + EPS
    )


def _involved_chain(kappa: float | None, lam: float | None, criteria: ImwgCriteria) -> str | None:
    """`kappa` if kappa/lambda > 1.65, `lambda` if < 0.26, else None (ratio compared by products)."""
    if kappa is None or lam is None:
        return None
    if kappa > criteria.flc_ratio_normal_high * lam + EPS:
        return "kappa"
    if kappa < criteria.flc_ratio_normal_low * lam - EPS:
        return "lambda"
    return None


def measurable_disease(*, baseline: Baseline, criteria: ImwgCriteria = CRITERIA) -> Disease:
    """The parameters followed (contracts/imwg.md, "Measurable disease"; Kumar 2016, Table 2).

    Serum M-protein >= 1.0 g/dL and/or urine M-protein >= 200 mg/24h; only when neither, FLC
    (involved FLC >= 100 mg/L with an abnormal ratio); only when none of those, bone marrow
    plasma cells >= 30%.
    """
    followed: list[str] = []
    serum, urine = baseline.serum_m_protein_g_dl, baseline.urine_m_protein_mg_24h
    if serum is not None and serum >= criteria.measurable_serum_m_protein_g_dl - EPS:
        followed.append(SERUM)
    if urine is not None and urine >= criteria.measurable_urine_m_protein_mg_24h - EPS:
        followed.append(URINE)
    if followed:
        return Disease(followed=tuple(followed))
    kappa, lam = baseline.kappa_flc_mg_l, baseline.lambda_flc_mg_l
    chain = _involved_chain(kappa, lam, criteria)
    if chain is not None:
        involved, uninvolved = (kappa, lam) if chain == "kappa" else (lam, kappa)
        if involved >= criteria.measurable_involved_flc_mg_l - EPS:
            return Disease((FLC,), chain, involved - uninvolved)
    marrow = baseline.bone_marrow_plasma_cells_pct
    if marrow is not None and marrow >= criteria.measurable_bone_marrow_plasma_cells_pct - EPS:
        return Disease(followed=(BONE_MARROW,))
    return Disease(followed=())


def _dflc(assessment: Assessment, chain: str) -> float | None:
    kappa, lam = assessment.kappa_flc_mg_l, assessment.lambda_flc_mg_l
    if kappa is None or lam is None:
        return None
    return kappa - lam if chain == "kappa" else lam - kappa


def _rises(value: float, nadir: float, fraction: float) -> bool:
    """`value` is at least `fraction` above `nadir` and above it (contract: "X% above nadir")."""
    return value > nadir + EPS and value - nadir >= fraction * abs(nadir) - EPS


def _falls(value: float, reference: float, fraction: float) -> bool:
    """`value` is at least `fraction` below `reference` (contract: "X% below baseline")."""
    return reference - value >= fraction * reference - EPS


def _serum_progression(value: float, nadir: float, c: ImwgCriteria) -> str | None:
    """PD by serum: >= 25% and >= 0.5 g/dL above nadir (>= 1.0 g/dL when nadir >= 5 g/dL).

    Returns the name of the absolute threshold that was met, or None.
    """
    if not _rises(value, nadir, c.pd_serum_increase_pct):
        return None
    if nadir >= c.pd_serum_high_nadir_g_dl - EPS:
        need = "pd_serum_increase_high_nadir_g_dl"
        met = value - nadir >= c.pd_serum_increase_high_nadir_g_dl - EPS
    else:
        need = "pd_serum_increase_g_dl"
        met = value - nadir >= c.pd_serum_increase_g_dl - EPS
    return need if met else None


def _urine_progression(value: float, nadir: float, c: ImwgCriteria) -> bool:
    """PD by urine: >= 25% and >= 200 mg/24h above nadir."""
    return (
        _rises(value, nadir, c.pd_urine_increase_pct)
        and value - nadir >= c.pd_urine_increase_mg_24h - EPS
    )


def _dflc_progression(value: float, nadir: float, c: ImwgCriteria) -> bool:
    """PD by FLC (followed only): dFLC >= 25% and > 100 mg/L above nadir."""
    return (
        _rises(value, nadir, c.pd_dflc_increase_pct)
        and value - nadir > c.pd_dflc_increase_mg_l + EPS
    )


def _lower(nadir: float | None, value: float | None) -> float | None:
    if value is None:
        return nadir
    return value if nadir is None or value < nadir else nadir


def derive_response(data: ImwgInput, *, criteria: ImwgCriteria = CRITERIA) -> ImwgResult:
    """Derive every assessment's category, the confirmations, best overall response and dates.

    See the module docstring for the rule and its source. Pure: no I/O, no clock.
    """
    c = criteria
    base = data.baseline
    disease = measurable_disease(baseline=base, criteria=c)
    followed = disease.followed
    chain = disease.involved_chain
    flc_f, marrow_f = FLC in followed, BONE_MARROW in followed
    mr_allowed = bool(followed) and not flc_f and not marrow_f
    b_serum, b_urine = base.serum_m_protein_g_dl, base.urine_m_protein_mg_24h
    b_dflc, b_marrow = disease.baseline_dflc_mg_l, base.bone_marrow_plasma_cells_pct
    b_pcy = base.plasmacytoma_spd_cm2
    pcy_at_baseline = b_pcy is not None and b_pcy > EPS

    # Nadirs over measured values only (baseline and earlier assessments, never the current).
    n_serum, n_urine, n_dflc, n_marrow, n_pcy = b_serum, b_urine, b_dflc, b_marrow, b_pcy
    # Carried values and the date each was measured.
    marrow, marrow_on = b_marrow, base.date
    clonal, clonal_on = None, None
    pcy, pcy_on = b_pcy, base.date

    categories: list[int] = []
    free_of_confirmation: list[bool] = []
    all_findings: list[tuple[tuple, ...]] = []

    for a in data.assessments:
        day = a.date
        if a.bone_marrow_plasma_cells_pct is not None:
            marrow, marrow_on = a.bone_marrow_plasma_cells_pct, day
        if a.bone_marrow_clonal_cells is not None:
            clonal, clonal_on = a.bone_marrow_clonal_cells, day
        if a.plasmacytoma_spd_cm2 is not None:
            pcy, pcy_on = a.plasmacytoma_spd_cm2, day
        marrow_from = None if marrow_on == day else marrow_on
        pcy_from = None if pcy_on == day else pcy_on
        serum, urine = a.serum_m_protein_g_dl, a.urine_m_protein_mg_24h
        dflc = _dflc(a, chain) if flc_f else None

        # 1. PD: every criterion that holds is named; growth and new lesions need no repeat.
        pd: list[tuple] = []
        if serum is not None and n_serum is not None:
            need = _serum_progression(serum, n_serum, c)
            if need is not None:
                pd.append(("pd_serum", serum, n_serum, need))
        if urine is not None and n_urine is not None and _urine_progression(urine, n_urine, c):
            pd.append(("pd_urine", urine, n_urine))
        if dflc is not None and n_dflc is not None and _dflc_progression(dflc, n_dflc, c):
            pd.append(("pd_dflc", dflc, n_dflc, chain))
        if (
            marrow_f
            and n_marrow is not None
            and marrow - n_marrow >= c.pd_bone_marrow_increase_points - EPS
        ):
            pd.append(("pd_bone_marrow", marrow, n_marrow, marrow_from))
        no_repeat = False
        if (
            pcy is not None
            and n_pcy is not None
            and _rises(pcy, n_pcy, c.pd_plasmacytoma_increase_pct)
        ):
            pd.append(("pd_plasmacytoma", pcy, n_pcy, pcy_from))
            no_repeat = True
        if a.new_lesion:
            pd.append(("pd_new_lesion",))
            no_repeat = True

        if pd:
            category, findings = PD, tuple(pd)
        else:
            category, findings = _response(
                a, c, followed, chain, mr_allowed, pcy_at_baseline,
                serum, urine, dflc, b_serum, b_urine, b_dflc, b_marrow, b_pcy,
                marrow, marrow_from, clonal, None if clonal_on == day else clonal_on,
                pcy, pcy_from,
            )  # fmt: skip
        categories.append(category)
        free_of_confirmation.append(no_repeat)
        all_findings.append(findings)

        n_serum = _lower(n_serum, serum)
        n_urine = _lower(n_urine, urine)
        n_dflc = _lower(n_dflc, dflc)
        n_marrow = _lower(n_marrow, a.bone_marrow_plasma_cells_pct)
        n_pcy = _lower(n_pcy, a.plasmacytoma_spd_cm2)

    return _summarise(data, c, followed, categories, free_of_confirmation, all_findings)


def _response(
    a, c, followed, chain, mr_allowed, pcy_at_baseline,
    serum, urine, dflc, b_serum, b_urine, b_dflc, b_marrow, b_pcy,
    marrow, marrow_from, clonal, clonal_from, pcy, pcy_from,
):  # fmt: skip
    """Steps 2-8 of the contract's order for an assessment that is not PD."""
    if not followed:
        return NE, (("ne_nothing_followed",),)
    flc_f = FLC in followed
    ife_negative = a.serum_ife == "negative" and a.urine_ife == "negative"
    pcy_gone = not pcy_at_baseline or (pcy is not None and pcy <= EPS)
    ratio_normal = False
    flc_ok = True
    if ife_negative:
        ratio_normal = flc_ratio_is_normal(
            kappa_mg_l=a.kappa_flc_mg_l, lambda_mg_l=a.lambda_flc_mg_l, criteria=c
        )
        flc_ok = ratio_normal or not flc_f
        marrow_ok = marrow is not None and marrow < c.cr_bone_marrow_plasma_cells_below_pct - EPS
        if pcy_gone and flc_ok and marrow_ok:
            cr = [("ife_negative",), ("cr_bone_marrow", marrow, marrow_from)]
            if pcy_at_baseline:
                cr.append(("cr_plasmacytoma", pcy, b_pcy, pcy_from))
            cr.append(("flc_ratio", a.kappa_flc_mg_l, a.lambda_flc_mg_l, ratio_normal))
            cr.append(("clonal", clonal, clonal_from))
            stringent = ratio_normal and clonal == "absent"
            return (SCR if stringent else CR), tuple(cr)

    values = {SERUM: serum, URINE: urine, FLC: dflc, BONE_MARROW: marrow}
    missing = tuple(("ne_missing", p) for p in followed if values[p] is None)
    if missing:
        return NE, missing

    # Each followed parameter's own level: the best of VGPR, PR, MR it meets (SD if none).
    levels: list[tuple] = []
    if SERUM in followed:
        zero_ife = serum <= EPS and a.serum_ife == "positive"
        if zero_ife or _falls(serum, b_serum, c.vgpr_serum_reduction_pct):
            level = VGPR
        elif _falls(serum, b_serum, c.pr_serum_reduction_pct):
            level = PR
        else:
            level = MR if _falls(serum, b_serum, c.mr_serum_reduction_pct) else SD
        levels.append((level, "serum", serum, b_serum, zero_ife))
    if URINE in followed:
        if urine < c.vgpr_urine_below_mg_24h - EPS:
            level = VGPR
        elif urine < c.pr_urine_below_mg_24h - EPS or _falls(
            urine, b_urine, c.pr_urine_reduction_pct
        ):
            level = PR
        elif urine < c.mr_urine_below_mg_24h - EPS or _falls(
            urine, b_urine, c.mr_urine_reduction_pct
        ):
            level = MR
        else:
            level = SD
        levels.append((level, "urine", urine, b_urine))
    if flc_f:
        if _falls(dflc, b_dflc, c.vgpr_dflc_reduction_pct):
            level = VGPR
        else:
            level = PR if _falls(dflc, b_dflc, c.pr_dflc_reduction_pct) else SD
        levels.append((level, "dflc", dflc, b_dflc, chain))
    if BONE_MARROW in followed:
        level = PR if _falls(marrow, b_marrow, c.pr_bone_marrow_reduction_pct) else SD
        levels.append((level, "bone_marrow", marrow, b_marrow, marrow_from))
    lowest = min(entry[0] for entry in levels)

    urine_any_ok = urine is None or urine < c.vgpr_urine_below_mg_24h - EPS
    no_marrow_vgpr = ife_negative and pcy_gone and flc_ok and marrow is None
    if (lowest >= VGPR and urine_any_ok) or no_marrow_vgpr:
        if no_marrow_vgpr and not (lowest >= VGPR and urine_any_ok):
            findings = [("ife_negative",), ("vgpr_no_marrow",)]
            if pcy_at_baseline:
                findings.append(("cr_plasmacytoma", pcy, b_pcy, pcy_from))
            return VGPR, tuple(findings)
        findings = [_level_finding(entry, VGPR) for entry in levels]
        if URINE not in followed and urine is not None:
            findings.append(("urine_any", urine, True))
        return VGPR, tuple(findings)

    # Plasmacytomas present at baseline must shrink for PR and MR (not named for VGPR).
    pcy_level = VGPR
    if pcy_at_baseline:
        if _falls(pcy, b_pcy, c.pr_plasmacytoma_reduction_pct):
            pcy_level = PR
        else:
            pcy_level = MR if _falls(pcy, b_pcy, c.mr_plasmacytoma_reduction_pct) else SD
    reached = min(lowest, pcy_level, PR)
    if reached == MR and not mr_allowed:
        reached = SD
    quoted = reached if reached >= MR else (MR if mr_allowed else PR)
    findings = [_level_finding(entry, quoted) for entry in levels]
    if pcy_at_baseline:
        findings.append(("plasmacytoma", pcy, b_pcy, quoted, pcy_from))
    if lowest >= VGPR and not urine_any_ok:
        findings.append(("urine_any", urine, False))
    return reached, tuple(findings)


def _level_finding(entry: tuple, quoted: int) -> tuple:
    """(parameter, value, baseline, category whose threshold the reason quotes, extra...)."""
    _, name, value, reference, *extra = entry
    return (name, value, reference, quoted, *extra)


def _summarise(data, c, followed, categories, free_of_confirmation, all_findings) -> ImwgResult:
    """Confirmation, progression, best overall response and dates (contract "Fixed choices")."""
    dates = [a.date for a in data.assessments]
    count = len(categories)
    evaluable = [i for i in range(count) if categories[i] != NE]
    next_of = [None] * count
    for k in range(len(evaluable) - 1):
        next_of[evaluable[k]] = evaluable[k + 1]

    confirmed = [False] * count
    confirmation: list[tuple | None] = [None] * count
    progression = None
    for i in evaluable:
        category, nxt = categories[i], next_of[i]
        if category == SD:
            continue
        nxt_category = None if nxt is None else categories[nxt]
        nxt_info = None if nxt is None else (dates[nxt], CATEGORY_NAMES[nxt_category])
        if category == PD:
            if free_of_confirmation[i]:
                confirmed[i] = True
                confirmation[i] = ("pd_no_repeat", nxt_info)
            else:
                confirmed[i] = nxt_category == PD
                confirmation[i] = ("pd", nxt_info)
            if confirmed[i] and progression is None:
                progression = i
        else:
            confirmed[i] = nxt_category is not None and nxt_category >= category
            confirmation[i] = ("response", nxt_info)

    before = [i for i in evaluable if progression is None or i < progression]
    best, best_at, response_at = None, None, None
    for k in range(len(before) - 1):
        worse = min(categories[before[k]], categories[before[k + 1]])
        if worse >= MR and (best is None or worse > best):
            best, best_at = worse, before[k]
        if worse >= PR and response_at is None:
            response_at = before[k]
    if best is not None:
        bor, bor_at = CATEGORY_NAMES[best], best_at
    else:
        stable = [i for i in before if categories[i] >= SD]
        if stable:
            bor, bor_at = "SD", stable[0]
        elif progression is not None:
            bor, bor_at = "PD", progression
        else:
            bor, bor_at = "NE", None

    results = tuple(
        AssessmentResult(
            date=dates[i],
            response=CATEGORY_NAMES[categories[i]],
            confirmed=confirmed[i],
            findings=all_findings[i],
            confirmation=confirmation[i],
        )
        for i in range(count)
    )
    return ImwgResult(
        criteria=c.criteria,
        followed=followed,
        assessments=results,
        best_overall_response=bor,
        best_overall_response_date=None if bor_at is None else dates[bor_at],
        response_date=None if response_at is None else dates[response_at],
        progression_date=None if progression is None else dates[progression],
        engine_version=ENGINE_VERSION,
    )
