"""Properties of the IMWG derivation over generated participant histories (hypothesis).

- A worse lab value at one assessment (higher M-protein, involved FLC, marrow plasma cells or
  plasmacytoma SPD) never gives that assessment a better category.
- The best overall response is never better than the best category confirmed by a consecutive
  pair, and never worse than any response flagged confirmed before progression.
- The progression date is never before a response date of the same participant.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mmtrial.clinical import imwg

RANK = imwg.CATEGORY_RANKS
RESPONSES = {"MR", "PR", "VGPR", "CR", "sCR"}
KINDS = ("serum", "urine", "both", "flc", "marrow", "none")


def _hundredths(low: int, high: int):
    return st.integers(low, high).map(lambda n: n / 100)


def _maybe(strategy, none_weight: float = 0.2):
    return st.one_of(st.none(), strategy) if none_weight else strategy


@st.composite
def histories(draw) -> dict:
    kind = draw(st.sampled_from(KINDS))
    baseline: dict = {"date": "2027-01-04"}
    if kind in ("serum", "both"):
        baseline["serum_m_protein_g_dl"] = draw(_hundredths(100, 700))
    else:
        baseline["serum_m_protein_g_dl"] = draw(_maybe(_hundredths(0, 99)))
    if kind in ("urine", "both"):
        baseline["urine_m_protein_mg_24h"] = draw(st.integers(200, 6000))
    else:
        baseline["urine_m_protein_mg_24h"] = draw(_maybe(st.integers(0, 199)))
    lam = draw(st.integers(1, 20))
    if kind == "flc":
        baseline["kappa_flc_mg_l"] = draw(st.integers(100, 3000))
        baseline["lambda_flc_mg_l"] = lam
    if kind == "marrow":
        baseline["bone_marrow_plasma_cells_pct"] = draw(st.integers(30, 90))
    elif kind != "flc":
        baseline["bone_marrow_plasma_cells_pct"] = draw(_maybe(st.integers(0, 29)))
    baseline["plasmacytoma_spd_cm2"] = draw(
        st.one_of(st.none(), st.just(0), _hundredths(100, 2000))
    )

    visits = []
    for i in range(draw(st.integers(0, 9))):
        visit: dict = {"date": (date(2027, 1, 4) + timedelta(days=28 * (i + 1))).isoformat()}
        visit["serum_m_protein_g_dl"] = draw(_maybe(_hundredths(0, 800)))
        visit["urine_m_protein_mg_24h"] = draw(_maybe(st.integers(0, 7000)))
        if kind == "flc":
            # kappa involved and kappa >= lambda, so a higher kappa only moves the ratio away
            # from normal.
            if draw(st.booleans()):
                visit["kappa_flc_mg_l"] = lam + draw(st.integers(0, 3500))
                visit["lambda_flc_mg_l"] = lam
        else:
            visit["kappa_flc_mg_l"] = draw(_maybe(st.integers(1, 40)))
            visit["lambda_flc_mg_l"] = draw(_maybe(st.integers(1, 40)))
        visit["serum_ife"] = draw(st.sampled_from([None, "positive", "negative"]))
        visit["urine_ife"] = draw(st.sampled_from([None, "positive", "negative"]))
        visit["bone_marrow_plasma_cells_pct"] = draw(
            st.one_of(st.none(), st.none(), st.integers(0, 90))
        )
        visit["bone_marrow_clonal_cells"] = draw(st.sampled_from([None, "present", "absent"]))
        visit["plasmacytoma_spd_cm2"] = draw(
            st.one_of(st.none(), st.none(), st.just(0), _hundredths(0, 3000))
        )
        visit["new_lesion"] = draw(st.sampled_from([False] * 12 + [True]))
        visits.append(visit)
    return {"baseline": baseline, "assessments": visits}


WORSENED_FIELDS = (
    "serum_m_protein_g_dl",
    "urine_m_protein_mg_24h",
    "kappa_flc_mg_l",
    "bone_marrow_plasma_cells_pct",
    "plasmacytoma_spd_cm2",
)


# For "never improves", NE (nothing evaluable) sits above PD and below every other category:
# a worse plasmacytoma can turn a CR (which ignores M-protein) into NE when M-protein is missing.
ORDER = ("PD", "NE", "SD", "MR", "PR", "VGPR", "CR", "sCR")


def _not_better(old: str, new: str) -> bool:
    return ORDER.index(new) <= ORDER.index(old)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=histories(), data=st.data())
def test_a_worse_lab_value_never_improves_that_assessments_category(history, data):
    visits = history["assessments"]
    candidates = [
        (i, field)
        for i, visit in enumerate(visits)
        for field in WORSENED_FIELDS
        if visit.get(field) is not None
        and (field != "kappa_flc_mg_l" or history["baseline"].get("kappa_flc_mg_l") is not None)
    ]
    if not candidates:
        return
    index, field = data.draw(st.sampled_from(candidates))
    increase = data.draw(st.sampled_from([0.01, 0.1, 0.5, 1, 5, 10, 100, 250]))
    before = imwg.assess(history).assessments[index].response
    worse = {**visits[index], field: visits[index][field] + increase}
    changed = {**history, "assessments": [*visits[:index], worse, *visits[index + 1 :]]}
    after = imwg.assess(changed).assessments[index].response
    assert _not_better(before, after), (field, before, after)


def _before_progression(result: imwg.ImwgResult) -> list:
    return [
        a
        for a in result.assessments
        if a.response != "NE"
        and (result.progression_date is None or a.date < result.progression_date)
    ]


@settings(max_examples=150, deadline=None)
@given(history=histories())
def test_best_overall_response_is_never_better_than_the_best_confirmed_category(history):
    result = imwg.assess(history)
    evaluable = _before_progression(result)
    pairs = list(pairwise(evaluable))
    # The category a consecutive pair confirms is the worse of its two categories.
    held = [min(RANK[a.response], RANK[b.response]) for a, b in pairs]
    flagged = [RANK[a.response] for a in evaluable if a.response in RESPONSES and a.confirmed]
    bor = result.best_overall_response
    if bor in RESPONSES:
        assert all(rank <= RANK[bor] for rank in held)
        assert RANK[bor] in held
        assert all(rank <= RANK[bor] for rank in flagged)
    else:
        assert not flagged
        assert all(rank < RANK["MR"] for rank in held)
    if bor == "NE":
        assert result.best_overall_response_date is None


@settings(max_examples=150, deadline=None)
@given(history=histories())
def test_progression_is_never_before_a_response_date(history):
    result = imwg.assess(history)
    if result.progression_date is not None:
        if result.response_date is not None:
            assert result.response_date < result.progression_date
        if result.best_overall_response_date is not None:
            assert result.best_overall_response_date <= result.progression_date
        assert result.best_overall_response != "NE"
    dates = {a.date for a in result.assessments}
    for day in (result.best_overall_response_date, result.response_date, result.progression_date):
        assert day is None or day in dates


@settings(max_examples=150, deadline=None)
@given(history=histories())
def test_the_batch_form_gives_what_assess_gives(history):
    one = imwg.assess(history).to_dict()
    many = imwg.assess_many([("p1", history)])
    assert many["p1"].to_dict() == one
