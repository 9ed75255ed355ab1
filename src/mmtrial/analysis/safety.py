"""Adverse-event tables of the safety population (CTCAE v5 grades), from an ADAE-like frame.

Required columns: USUBJID, AEDECOD (preferred term), AETOXGR (CTCAE grade 1-5).
Optional: AESER (Y/N, serious), AEACN (action taken; "DRUG WITHDRAWN" = led to
discontinuation), TRTEMFL (Y = treatment-emergent; when present only Y rows count).
Subjects are counted once per row of a table, at their worst grade.
"""

from __future__ import annotations

import pandas as pd

from mmtrial.analysis.adam_io import require_variables

REQUIRED = ("USUBJID", "AEDECOD", "AETOXGR")
GRADES = (1, 2, 3, 4, 5)
ACTION_DISCONTINUED = "DRUG WITHDRAWN"


def _emergent(adae: pd.DataFrame) -> pd.DataFrame:
    require_variables(adae, file="adae", variables=REQUIRED)
    frame = adae.copy()
    if "TRTEMFL" in frame.columns:
        frame = frame[frame["TRTEMFL"].fillna("Y") == "Y"]
    frame["AETOXGR"] = pd.to_numeric(frame["AETOXGR"], errors="coerce")
    return frame


def ae_overview(adae: pd.DataFrame, *, n_safety: int) -> pd.DataFrame:
    """Subjects with any AE, grade >= 3, grade 5, serious, and AE leading to discontinuation.

    Returns columns category, n, percent (of `n_safety`).
    """
    frame = _emergent(adae)
    rows = {
        "any": frame,
        "grade_3_or_higher": frame[frame["AETOXGR"] >= 3],
        "grade_5": frame[frame["AETOXGR"] == 5],
        "serious": frame[frame["AESER"] == "Y"] if "AESER" in frame else frame.iloc[0:0],
        "led_to_discontinuation": frame[frame["AEACN"] == ACTION_DISCONTINUED]
        if "AEACN" in frame
        else frame.iloc[0:0],
    }
    out = pd.DataFrame(
        [
            {"category": key, "n": int(rows_[["USUBJID"]].nunique().iloc[0])}
            for key, rows_ in rows.items()
        ]
    )
    out["percent"] = out["n"] / n_safety * 100 if n_safety else float("nan")
    return out


def ae_by_grade_and_term(adae: pd.DataFrame, *, n_safety: int) -> pd.DataFrame:
    """Per preferred term: subjects at each worst CTCAE grade, any grade and grade >= 3.

    Returns one row per AEDECOD, sorted by subjects with any grade (descending), with columns
    AEDECOD, any_n, any_percent, grade_1 ... grade_5, grade_3_plus_n, grade_3_plus_percent.
    """
    frame = _emergent(adae)
    worst = frame.groupby(["AEDECOD", "USUBJID"], as_index=False)["AETOXGR"].max()
    table = worst.pivot_table(
        index="AEDECOD", columns="AETOXGR", values="USUBJID", aggfunc="count", fill_value=0
    )
    table = table.reindex(columns=list(GRADES), fill_value=0)
    table.columns = [f"grade_{int(g)}" for g in table.columns]
    table["any_n"] = table.sum(axis=1)
    table["grade_3_plus_n"] = table[["grade_3", "grade_4", "grade_5"]].sum(axis=1)
    scale = 100 / n_safety if n_safety else float("nan")
    table["any_percent"] = table["any_n"] * scale
    table["grade_3_plus_percent"] = table["grade_3_plus_n"] * scale
    table = table.reset_index().sort_values(["any_n", "AEDECOD"], ascending=[False, True])
    columns = ["AEDECOD", "any_n", "any_percent", *[f"grade_{g}" for g in GRADES]]
    return table[[*columns, "grade_3_plus_n", "grade_3_plus_percent"]].reset_index(drop=True)
