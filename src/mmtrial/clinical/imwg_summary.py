"""Confirmation, progression, best overall response and dates (contracts/imwg.md, Fixed choices).

Rule:
- *Consecutive* is the next assessment in date order that is not NE.
- A response (sCR..MR) is confirmed when the next consecutive assessment is the same or better.
- PD from new lesions or plasmacytoma growth needs no confirmation; any other PD is confirmed
  when the next consecutive assessment is PD too. `progression_date` is the first confirmed PD.
- Best overall response: over each consecutive pair before progression, the worse of the two
  categories; the best such value at MR or better. Otherwise SD if any assessment before
  progression is SD or better, PD if progression is confirmed, else NE.
- `response_date`: first assessment of the earliest pair at PR or better before progression.

Source: Kumar S, et al. Lancet Oncol 2016;17:e328 (two consecutive assessments; no repeat for
imaging); contracts/imwg.md for the pair rule and the dates.
"""

from __future__ import annotations

from itertools import pairwise

from mmtrial.clinical.imwg_criteria import CRITERIA, ImwgCriteria
from mmtrial.clinical.imwg_engine import (
    CATEGORY_NAMES,
    MR,
    NE,
    PD,
    PR,
    SD,
    assessment_judge,
    measurable_disease,
)
from mmtrial.clinical.imwg_input import ImwgInput
from mmtrial.clinical.imwg_result import AssessmentResult, ImwgResult

ENGINE_VERSION = "imwg-2016/1.0.0"


def derive_response(data: ImwgInput, *, criteria: ImwgCriteria = CRITERIA) -> ImwgResult:
    """One participant's IMWG derivation: categories, confirmations, best response and dates.

    `data` must already be valid (see `imwg_input.parse_input`). Pure: no I/O, no clock.
    """
    disease = measurable_disease(baseline=data.baseline, criteria=criteria)
    judge = assessment_judge(baseline=data.baseline, disease=disease, criteria=criteria)
    judged = list(map(judge, data.assessments))
    categories = [j[0] for j in judged]
    dates = [a.date for a in data.assessments]
    names = list(map(CATEGORY_NAMES.__getitem__, categories))
    count = len(categories)

    # Walk back from the end so each evaluable assessment knows the next evaluable one.
    confirmed = [False] * count
    confirmation: list[tuple | None] = [None] * count
    nxt_category = nxt = None
    for i in range(count - 1, -1, -1):
        category = categories[i]
        if category == NE:
            continue
        if category == PD:
            if judged[i][2]:
                confirmed[i] = True
                confirmation[i] = ("pd_no_repeat", nxt)
            else:
                confirmed[i] = nxt_category == PD
                confirmation[i] = ("pd", nxt)
        elif category != SD:
            confirmed[i] = nxt_category is not None and nxt_category >= category
            confirmation[i] = ("response", nxt)
        nxt_category, nxt = category, (dates[i], names[i])

    progression = next((i for i in range(count) if categories[i] == PD and confirmed[i]), None)
    end = count if progression is None else progression
    before = [i for i in range(end) if categories[i] != NE]

    best = best_at = response_at = None
    for first, second in pairwise(before):
        worse = min(categories[first], categories[second])
        if worse >= MR and (best is None or worse > best):
            best, best_at = worse, first
        if worse >= PR and response_at is None:
            response_at = first
    if best is not None:
        bor, bor_at = CATEGORY_NAMES[best], best_at
    else:
        stable = next((i for i in before if categories[i] >= SD), None)
        if stable is not None:
            bor, bor_at = "SD", stable
        elif progression is not None:
            bor, bor_at = "PD", progression
        else:
            bor, bor_at = "NE", None

    return ImwgResult(
        criteria=criteria.criteria,
        followed=disease.followed,
        assessments=tuple(
            map(
                AssessmentResult._make,
                zip(dates, names, confirmed, [j[1] for j in judged], confirmation, strict=True),
            )
        ),
        best_overall_response=bor,
        best_overall_response_date=None if bor_at is None else dates[bor_at],
        response_date=None if response_at is None else dates[response_at],
        progression_date=None if progression is None else dates[progression],
        engine_version=ENGINE_VERSION,
    )
