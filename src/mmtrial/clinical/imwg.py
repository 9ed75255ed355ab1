"""IMWG 2016 response derivation from central lab values: the one entry point everyone calls.

The EDC, the API, the CLI and the analysis call these functions and nothing else; the rules live
in `imwg_engine` (decisions), `imwg_criteria` (thresholds as data, with sources), `imwg_input`
(the contract's input) and `imwg_result` / `imwg_reasons` (the output and its words).

Source: Kumar S, et al. Lancet Oncol 2016;17:e328 (Table 2); contract: contracts/imwg.md.

Example:
    >>> from mmtrial.clinical import imwg
    >>> result = imwg.assess({
    ...     "baseline": {"date": "2027-01-04", "serum_m_protein_g_dl": 2.4},
    ...     "assessments": [{"date": "2027-02-01", "serum_m_protein_g_dl": 1.1},
    ...                     {"date": "2027-03-01", "serum_m_protein_g_dl": 1.0}],
    ... })
    >>> result.best_overall_response, str(result.response_date)
    ('PR', '2027-02-01')
"""

from __future__ import annotations

import gc
import math
from collections.abc import Hashable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from mmtrial.clinical.imwg_criteria import CRITERIA, ImwgCriteria
from mmtrial.clinical.imwg_engine import (
    CATEGORY_RANKS,
    Disease,
    flc_ratio_is_normal,
    measurable_disease,
)
from mmtrial.clinical.imwg_input import (
    ASSESSMENT_FIELDS,
    BASELINE_FIELDS,
    Assessment,
    Baseline,
    ImwgInput,
    parse_input,
)
from mmtrial.clinical.imwg_result import AssessmentResult, ImwgResult
from mmtrial.clinical.imwg_summary import ENGINE_VERSION, derive_response
from mmtrial.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CATEGORY_RANKS",
    "CRITERIA",
    "ENGINE_VERSION",
    "Assessment",
    "AssessmentResult",
    "Baseline",
    "Disease",
    "ImwgCriteria",
    "ImwgFrames",
    "ImwgInput",
    "ImwgResult",
    "assess",
    "assess_frame",
    "assess_many",
    "derive_response",
    "flc_ratio_is_normal",
    "frame_inputs",
    "measurable_disease",
    "parse_input",
]


def assess(data: ImwgInput | Mapping[str, Any]) -> ImwgResult:
    """Derive one participant's IMWG responses from the contract's input.

    `data` is the contract's JSON as a dict (floats or Decimals) or an `ImwgInput`. Raises
    `InputError` (one line naming the field) for input the contract rejects.
    """
    return derive_response(parse_input(data))


def assess_many(
    participants: Iterable[tuple[Hashable, ImwgInput | Mapping[str, Any]]],
) -> dict[Hashable, ImwgResult]:
    """The batch form: `{key: result}` for `(key, input)` pairs, by the same `assess`.

    A participant whose input is rejected raises `InputError` naming the participant.
    """
    results: dict[Hashable, ImwgResult] = {}
    # The results are many small tuples that cannot form reference cycles; left on, the cyclic
    # collector rescans them again and again as the batch grows (about a third of the time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        for key, data in participants:
            try:
                results[key] = derive_response(parse_input(data))
            except InputError as exc:
                raise InputError(
                    f"participant {key}: {exc.message}", {"participant": key}
                ) from None
    finally:
        if collecting:
            gc.enable()
    return results


class ImwgFrames(NamedTuple):
    """`assessments`: one row per assessment; `participants`: one row per participant."""

    assessments: pd.DataFrame
    participants: pd.DataFrame


def _plain(value: Any) -> Any:
    """A pandas/numpy cell as the contract's plain value (NaN/NaT -> None, Timestamp -> date)."""
    if value is None:
        return None
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, datetime):
        return None if value != value else value.date()  # NaT is not equal to itself
    if str(value) in ("NaT", "<NA>"):
        return None
    return value


def frame_inputs(
    df: pd.DataFrame, *, by: str = "participant_id", baseline_flag: str = "is_baseline"
) -> list[tuple[Hashable, dict[str, Any]]]:
    """Group a long frame (one row per baseline or assessment) into contract inputs."""
    for column in (by, baseline_flag, "date"):
        if column not in df.columns:
            raise InputError(f"frame: missing column {column!r}")
    base_cols = [c for c in BASELINE_FIELDS if c in df.columns]
    visit_cols = [c for c in ASSESSMENT_FIELDS if c in df.columns]
    inputs: dict[Hashable, dict[str, Any]] = {}
    ordered = df.sort_values([by, baseline_flag, "date"], ascending=[True, False, True])
    for row in ordered.to_dict("records"):
        key = _plain(row[by])
        data = inputs.setdefault(key, {"baseline": None, "assessments": []})
        if bool(row[baseline_flag]):
            if data["baseline"] is not None:
                raise InputError(f"participant {key}: more than one baseline row")
            data["baseline"] = {c: _plain(row[c]) for c in base_cols}
        else:
            data["assessments"].append({c: _plain(row[c]) for c in visit_cols})
    return list(inputs.items())


def assess_frame(
    df: pd.DataFrame, *, by: str = "participant_id", baseline_flag: str = "is_baseline"
) -> ImwgFrames:
    """The batch form for frames: long input in, two result frames out (via `assess_many`).

    `df` has one row per baseline (`baseline_flag` true) or assessment, a `date` column and the
    contract's value columns (missing columns read as null). Input rows are not modified.
    """
    import pandas as pd

    results = assess_many(frame_inputs(df, by=by, baseline_flag=baseline_flag))
    rows = [
        {
            by: key,
            "date": a.date,
            "response": a.response,
            "confirmed": a.confirmed,
        }
        for key, result in results.items()
        for a in result.assessments
    ]
    participants = [
        {
            by: key,
            "followed": ",".join(result.followed),
            "best_overall_response": result.best_overall_response,
            "best_overall_response_date": result.best_overall_response_date,
            "response_date": result.response_date,
            "progression_date": result.progression_date,
            "engine_version": result.engine_version,
        }
        for key, result in results.items()
    ]
    return ImwgFrames(
        assessments=pd.DataFrame(rows, columns=[by, "date", "response", "confirmed"]),
        participants=pd.DataFrame(participants),
    )
