"""IFE-negative assessments without electrophoresis (issue 10 item 4).

contracts/imwg.md, per-assessment category: the categories are checked in order and the first
that holds wins; NE (item 7) only applies when no earlier category holds. Negative serum and
urine immunofixation with every other CR condition met but the marrow is VGPR (item 4, last
sentence; IMWG 2016 Table 2: VGPR is "M-protein detectable by immunofixation but not on
electrophoresis", so a negative immunofixation is at least as deep). Expected values by hand.
"""

from __future__ import annotations

from tests.clinical.test_imwg_rules import first

SERUM_DISEASE = {"serum_m_protein_g_dl": 2.4}
WITH_MARROW = {**SERUM_DISEASE, "bone_marrow_plasma_cells_pct": 40}
IFE_NEGATIVE = {"serum_ife": "negative", "urine_ife": "negative", "serum_m_protein_g_dl": None}


def test_ife_negative_without_electrophoresis_or_marrow_is_vgpr():
    assert first(SERUM_DISEASE, IFE_NEGATIVE) == "VGPR"


def test_a_baseline_marrow_carried_forward_still_gives_vgpr_not_cr():
    # The baseline 40% is carried (contract: carry-forward): CR fails on it, the IFE clause holds.
    assert first(WITH_MARROW, IFE_NEGATIVE) == "VGPR"


def test_marrow_at_5_percent_keeps_it_vgpr_not_cr():
    # CR needs plasma cells < 5%: 5% fails CR, the IFE clause still holds.
    assert first(SERUM_DISEASE, {**IFE_NEGATIVE, "bone_marrow_plasma_cells_pct": 5}) == "VGPR"


def test_marrow_below_5_percent_is_cr():
    assert first(SERUM_DISEASE, {**IFE_NEGATIVE, "bone_marrow_plasma_cells_pct": 4.9}) == "CR"


def test_urine_ife_positive_is_not_the_ife_clause_and_serum_missing_is_ne():
    visit = {**IFE_NEGATIVE, "urine_ife": "positive"}
    assert first(SERUM_DISEASE, visit) == "NE"


def test_with_a_marrow_result_a_measured_spike_short_of_vgpr_contradicts_the_clause():
    # 1.0 g/dL is 58% below 2.4: PR by electrophoresis, whatever the IFE says.
    # (With no marrow result at all the contract does not look at M-protein: VGPR.)
    assert first(WITH_MARROW, {**IFE_NEGATIVE, "serum_m_protein_g_dl": 1.0}) == "PR"
    assert first(SERUM_DISEASE, {**IFE_NEGATIVE, "serum_m_protein_g_dl": 1.0}) == "VGPR"


def test_with_a_marrow_result_a_urine_spike_of_150_mg_contradicts_it():
    # Urine M-protein must be < 100 mg/24h for VGPR of every patient; 150 mg/24h is below 200
    # (PR by urine) and the serum is not measured: NE, not VGPR.
    assert first(WITH_MARROW, {**IFE_NEGATIVE, "urine_m_protein_mg_24h": 150}) == "NE"


def test_bone_marrow_only_disease_has_no_vgpr():
    marrow_only = {"serum_m_protein_g_dl": 0.2, "bone_marrow_plasma_cells_pct": 60}
    visit = {"serum_ife": "negative", "urine_ife": "negative", "bone_marrow_plasma_cells_pct": 40}
    assert first(marrow_only, visit) == "SD"
