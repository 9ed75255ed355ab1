"""The IMWG 2016 category of each assessment (contracts/imwg.md, every fixed choice).

Rule: the parameters measurable at baseline are followed; each assessment gets the first
category that holds in the order PD, sCR, CR, VGPR, PR, MR, NE, SD, judged against the baseline
(responses) or the nadir (progression: the lowest measured value among the baseline and earlier
assessments, never the current one); bone marrow values and plasmacytoma SPD are carried forward
from the last assessment (or the baseline) that measured them. Confirmation, best overall
response and dates are derived from these categories in `imwg_summary`.

Source: Kumar S, et al. Lancet Oncol 2016;17:e328, Table 2 (thresholds in imwg_criteria.yaml);
the choices the paper leaves open are fixed by contracts/imwg.md, "Fixed choices".

Arithmetic: values are floats and every comparison allows `EPS`, far below any lab's precision,
so thresholds hold on the decimals as written (0.7 is 0.5 above 0.2; 0.14 is 90% below 1.4).
"X% below baseline B" is `value <= B - X*B (+EPS)`; "X% above nadir N" is `value > N` and
`value >= N + X*|N| (-EPS)`. Cut-offs are worked out once per participant (and again only when
a nadir falls), which keeps the batch form fast.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mmtrial.clinical.imwg_criteria import CRITERIA, ImwgCriteria
from mmtrial.clinical.imwg_input import Assessment, Baseline

# A tolerance far below lab precision: values within EPS of a threshold meet it.
EPS = 1e-9
INF = float("inf")

# Categories as ranks: a higher rank is a better response. NE is outside the order.
NE, PD, SD, MR, PR, VGPR, CR, SCR = -1, 0, 1, 2, 3, 4, 5, 6
CATEGORY_NAMES = {NE: "NE", PD: "PD", SD: "SD", MR: "MR", PR: "PR", VGPR: "VGPR", CR: "CR"}
CATEGORY_NAMES[SCR] = "sCR"
CATEGORY_RANKS = {name: rank for rank, name in CATEGORY_NAMES.items()}

SERUM, URINE, FLC, BONE_MARROW = "serum", "urine", "flc", "bone_marrow"

# judge(assessment) -> (category rank, findings, PD that needs no confirmation)
Judge = Callable[[Assessment], tuple[int, tuple[tuple, ...], bool]]


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


def _below(reference: float | None, fraction: float) -> float:
    """The highest value that is still `fraction` below `reference` ("X% below baseline")."""
    return -INF if reference is None else reference - fraction * reference + EPS


def serum_pd_floor(nadir: float, c: ImwgCriteria = CRITERIA) -> tuple[float, str]:
    """Lowest serum M-protein that is PD from `nadir`, and the absolute threshold that applies.

    PD: >= 25% and >= 0.5 g/dL above the nadir (>= 1.0 g/dL when the nadir is >= 5 g/dL).
    """
    high = nadir >= c.pd_serum_high_nadir_g_dl - EPS
    need = "pd_serum_increase_high_nadir_g_dl" if high else "pd_serum_increase_g_dl"
    rise = max(c.pd_serum_increase_pct * abs(nadir), getattr(c, need))
    return nadir + rise - EPS, need


def urine_pd_floor(nadir: float, c: ImwgCriteria = CRITERIA) -> float:
    """Lowest urine M-protein that is PD from `nadir`: >= 25% and >= 200 mg/24h above it."""
    return nadir + max(c.pd_urine_increase_pct * abs(nadir), c.pd_urine_increase_mg_24h) - EPS


def dflc_is_pd(value: float, nadir: float, c: ImwgCriteria = CRITERIA) -> bool:
    """PD by FLC (when followed): dFLC >= 25% and > 100 mg/L above its nadir."""
    return (
        value > nadir + c.pd_dflc_increase_mg_l + EPS
        and value >= nadir + c.pd_dflc_increase_pct * abs(nadir) - EPS
    )


def plasmacytoma_is_pd(value: float, nadir: float, c: ImwgCriteria = CRITERIA) -> bool:
    """PD by plasmacytoma: SPD >= 50% above its nadir (any regrowth from 0)."""
    return (
        value > nadir + EPS and value >= nadir + c.pd_plasmacytoma_increase_pct * abs(nadir) - EPS
    )


def assessment_judge(
    *, baseline: Baseline, disease: Disease, criteria: ImwgCriteria = CRITERIA
) -> Judge:
    """A function that categorises one participant's assessments, called in date order.

    It keeps the nadirs and carried values between calls, so each call sees the nadir over the
    baseline and the earlier assessments only.
    """
    c = criteria
    followed, chain = disease.followed, disease.involved_chain
    serum_f, urine_f = SERUM in followed, URINE in followed
    flc_f, marrow_f = FLC in followed, BONE_MARROW in followed
    flc_only = followed == (FLC,)
    mr_allowed = bool(followed) and not flc_f and not marrow_f
    b_serum, b_urine = baseline.serum_m_protein_g_dl, baseline.urine_m_protein_mg_24h
    b_dflc, b_marrow = disease.baseline_dflc_mg_l, baseline.bone_marrow_plasma_cells_pct
    b_pcy = baseline.plasmacytoma_spd_cm2
    pcy_at_baseline = b_pcy is not None and b_pcy > EPS

    # Response cut-offs against the baseline (only the followed ones are ever used).
    s_vgpr = _below(b_serum, c.vgpr_serum_reduction_pct)
    s_pr = _below(b_serum, c.pr_serum_reduction_pct)
    s_mr = _below(b_serum, c.mr_serum_reduction_pct)
    u_pr, u_mr = (
        _below(b_urine, c.pr_urine_reduction_pct),
        _below(b_urine, c.mr_urine_reduction_pct),
    )
    u_vgpr_lt = c.vgpr_urine_below_mg_24h - EPS
    u_pr_lt, u_mr_lt = c.pr_urine_below_mg_24h - EPS, c.mr_urine_below_mg_24h - EPS
    d_vgpr, d_pr = (
        _below(b_dflc, c.vgpr_dflc_reduction_pct),
        _below(b_dflc, c.pr_dflc_reduction_pct),
    )
    m_pr = _below(b_marrow, c.pr_bone_marrow_reduction_pct)
    p_pr = _below(b_pcy, c.pr_plasmacytoma_reduction_pct)
    p_mr = _below(b_pcy, c.mr_plasmacytoma_reduction_pct)
    m_cr_lt = c.cr_bone_marrow_plasma_cells_below_pct - EPS
    m_pd_rise = c.pd_bone_marrow_increase_points - EPS
    quoted_sd = MR if mr_allowed else PR

    # Nadirs over measured values (INF = none yet) and the PD floors they imply.
    n_serum = INF if b_serum is None else b_serum
    n_urine = INF if b_urine is None else b_urine
    n_dflc = INF if b_dflc is None else b_dflc
    n_marrow = INF if b_marrow is None else b_marrow
    n_pcy = INF if b_pcy is None else b_pcy
    s_floor, s_need = serum_pd_floor(n_serum, c) if b_serum is not None else (INF, "")
    u_floor = urine_pd_floor(n_urine, c) if b_urine is not None else INF
    # Carried values, and the date each was measured.
    marrow, marrow_on = b_marrow, baseline.date
    clonal, clonal_on = None, None
    pcy, pcy_on = b_pcy, baseline.date

    def judge(a: Assessment) -> tuple[int, tuple[tuple, ...], bool]:
        nonlocal n_serum, n_urine, n_dflc, n_marrow, n_pcy, s_floor, s_need, u_floor
        nonlocal marrow, marrow_on, clonal, clonal_on, pcy, pcy_on
        day = a.date
        if a.bone_marrow_plasma_cells_pct is not None:
            marrow, marrow_on = a.bone_marrow_plasma_cells_pct, day
        if a.bone_marrow_clonal_cells is not None:
            clonal, clonal_on = a.bone_marrow_clonal_cells, day
        if a.plasmacytoma_spd_cm2 is not None:
            pcy, pcy_on = a.plasmacytoma_spd_cm2, day
        serum, urine = a.serum_m_protein_g_dl, a.urine_m_protein_mg_24h
        dflc = None
        if flc_f and a.kappa_flc_mg_l is not None and a.lambda_flc_mg_l is not None:
            dflc = a.kappa_flc_mg_l - a.lambda_flc_mg_l
            if chain == "lambda":
                dflc = -dflc

        # 1. PD, every criterion that holds; serum and urine whether followed or not.
        pd: list[tuple] = []
        no_repeat = False
        if serum is not None and serum >= s_floor:
            pd.append(("pd_serum", serum, n_serum, s_need))
        if urine is not None and urine >= u_floor:
            pd.append(("pd_urine", urine, n_urine))
        if dflc is not None and n_dflc < INF and dflc_is_pd(dflc, n_dflc, c):
            pd.append(("pd_dflc", dflc, n_dflc, chain))
        if marrow_f and marrow - n_marrow >= m_pd_rise:
            pd.append(("pd_bone_marrow", marrow, n_marrow, _since(marrow_on, day)))
        if pcy is not None and n_pcy < INF and plasmacytoma_is_pd(pcy, n_pcy, c):
            pd.append(("pd_plasmacytoma", pcy, n_pcy, _since(pcy_on, day)))
            no_repeat = True
        if a.new_lesion:
            pd.append(("pd_new_lesion",))
            no_repeat = True

        # Nadirs for the next assessment: this one's measured values join them.
        if serum is not None and serum < n_serum:
            n_serum = serum
            s_floor, s_need = serum_pd_floor(serum, c)
        if urine is not None and urine < n_urine:
            n_urine = urine
            u_floor = urine_pd_floor(urine, c)
        if dflc is not None and dflc < n_dflc:
            n_dflc = dflc
        measured = a.bone_marrow_plasma_cells_pct
        if measured is not None and measured < n_marrow:
            n_marrow = measured
        measured = a.plasmacytoma_spd_cm2
        if measured is not None and measured < n_pcy:
            n_pcy = measured

        if pd:
            return PD, tuple(pd), no_repeat
        if not followed:
            return NE, (("ne_nothing_followed",),), False

        # 2-3. sCR and CR look at immunofixation, marrow, plasmacytoma (and FLC), not M-protein.
        ife_negative = a.serum_ife == "negative" and a.urine_ife == "negative"
        pcy_gone = not pcy_at_baseline or (pcy is not None and pcy <= EPS)
        flc_ok = True
        if ife_negative and pcy_gone:
            ratio_normal = flc_ratio_is_normal(
                kappa_mg_l=a.kappa_flc_mg_l, lambda_mg_l=a.lambda_flc_mg_l, criteria=c
            )
            flc_ok = ratio_normal or not flc_only
            if flc_ok and marrow is not None and marrow < m_cr_lt:
                cr = [("ife_negative",), ("cr_bone_marrow", marrow, _since(marrow_on, day))]
                if pcy_at_baseline:
                    cr.append(("cr_plasmacytoma", pcy, b_pcy, _since(pcy_on, day)))
                cr.append(("flc_ratio", a.kappa_flc_mg_l, a.lambda_flc_mg_l, ratio_normal))
                cr.append(("clonal", clonal, _since(clonal_on, day)))
                return (SCR if ratio_normal and clonal == "absent" else CR), tuple(cr), False

        # 4, last sentence, checked before NE (a category that holds wins over NE): negative
        # serum and urine immunofixation with every CR condition met but the marrow is VGPR.
        # With no marrow result (after carry-forward) the M-protein values are not looked at, as
        # for CR. With a marrow result of >= 5% the IFE stands in for an electrophoresis not done,
        # but a measured value short of VGPR level contradicts it (issue 10; IMWG 2016 Table 2:
        # VGPR is M-protein seen by immunofixation only). Bone-marrow-only disease has no VGPR.
        if ife_negative and pcy_gone and flc_ok and not marrow_f:
            contradicted = marrow is not None and (
                (serum_f and serum is not None and not (serum <= EPS or serum <= s_vgpr))
                or (urine is not None and not urine < u_vgpr_lt)
                or (flc_f and dflc is not None and not dflc <= d_vgpr)
            )
            if not contradicted:
                findings = [("ife_negative",)]
                if marrow is None:
                    findings.append(("vgpr_no_marrow",))
                else:
                    findings.append(("vgpr_marrow_not_cr", marrow, _since(marrow_on, day)))
                if pcy_at_baseline:
                    findings.append(("cr_plasmacytoma", pcy, b_pcy, _since(pcy_on, day)))
                return VGPR, tuple(findings), False

        # 7 (before 4-6). Every other category needs every followed parameter measured.
        if (
            (serum_f and serum is None)
            or (urine_f and urine is None)
            or (flc_f and dflc is None)
            or (marrow_f and marrow is None)
        ):
            values = {SERUM: serum, URINE: urine, FLC: dflc, BONE_MARROW: marrow}
            return NE, tuple(("ne_missing", p) for p in followed if values[p] is None), False

        # 4-6. Each followed parameter's own level: the best of VGPR, PR, MR it meets.
        lowest = VGPR
        if serum_f:
            zero_ife = serum <= EPS and a.serum_ife == "positive"
            if zero_ife or serum <= s_vgpr:
                s_level = VGPR
            else:
                s_level = PR if serum <= s_pr else MR if serum <= s_mr else SD
                lowest = s_level
        if urine_f:
            if urine < u_vgpr_lt:
                u_level = VGPR
            elif urine < u_pr_lt or urine <= u_pr:
                u_level = PR
            else:
                u_level = MR if urine < u_mr_lt or urine <= u_mr else SD
            lowest = min(lowest, u_level)
        if flc_f:
            d_level = VGPR if dflc <= d_vgpr else PR if dflc <= d_pr else SD
            lowest = min(lowest, d_level)
        if marrow_f:
            lowest = min(lowest, PR if marrow <= m_pr else SD)
        urine_any_ok = urine is None or urine < u_vgpr_lt

        if lowest == VGPR and urine_any_ok:
            reached = quoted = VGPR
        else:
            # Plasmacytomas present at baseline must shrink for PR and MR.
            reached = min(lowest, PR)
            if pcy_at_baseline:
                reached = min(reached, PR if pcy <= p_pr else MR if pcy <= p_mr else SD)
            if reached == MR and not mr_allowed:
                reached = SD
            quoted = reached if reached >= MR else quoted_sd

        findings = []
        if serum_f:
            findings.append(("serum", serum, b_serum, quoted, zero_ife))
        if urine_f:
            findings.append(("urine", urine, b_urine, quoted))
        if flc_f:
            findings.append(("dflc", dflc, b_dflc, quoted, chain))
        if marrow_f:
            findings.append(("bone_marrow", marrow, b_marrow, quoted, _since(marrow_on, day)))
        if pcy_at_baseline and reached != VGPR:
            findings.append(("plasmacytoma", pcy, b_pcy, quoted, _since(pcy_on, day)))
        if not urine_f and urine is not None and (reached == VGPR or lowest == VGPR):
            findings.append(("urine_any", urine, urine_any_ok))
        return reached, tuple(findings), False

    return judge


def _since(measured_on: object, day: object) -> object:
    """The date a carried value was measured, or None when it was measured at `day`."""
    return None if measured_on == day else measured_on
