"""The input of the IMWG response engine: one participant's baseline and disease assessments.

Shape: contracts/imwg.md, "Input". `parse_input` turns the contract's JSON (a dict, as from
`json.loads`, with floats or Decimals) into immutable records, or raises `InputError` with one
line naming the field. The records are NamedTuples (immutable, and cheap enough to build for the
batch form). Numbers are held as floats (integers as written); the engine compares them with a
tolerance far below any lab's precision (contracts/imwg.md, "Arithmetic").
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from mmtrial.errors import InputError

IFE_VALUES = ("positive", "negative")
CLONAL_VALUES = ("present", "absent")

BASELINE_FIELDS = (
    "date",
    "serum_m_protein_g_dl",
    "urine_m_protein_mg_24h",
    "kappa_flc_mg_l",
    "lambda_flc_mg_l",
    "bone_marrow_plasma_cells_pct",
    "plasmacytoma_spd_cm2",
)
ASSESSMENT_FIELDS = (
    "date",
    "serum_m_protein_g_dl",
    "urine_m_protein_mg_24h",
    "kappa_flc_mg_l",
    "lambda_flc_mg_l",
    "serum_ife",
    "urine_ife",
    "bone_marrow_plasma_cells_pct",
    "bone_marrow_clonal_cells",
    "plasmacytoma_spd_cm2",
    "new_lesion",
)
TOP_LEVEL_FIELDS = ("baseline", "assessments")

_BASELINE_KEYS = frozenset(BASELINE_FIELDS)
_ASSESSMENT_KEYS = frozenset(ASSESSMENT_FIELDS)
_TOP_KEYS = frozenset(TOP_LEVEL_FIELDS)
_INF = math.inf


class Baseline(NamedTuple):
    """Values before treatment; `None` = not done. Units are in the names."""

    date: date
    serum_m_protein_g_dl: float | None = None
    urine_m_protein_mg_24h: float | None = None
    kappa_flc_mg_l: float | None = None
    lambda_flc_mg_l: float | None = None
    bone_marrow_plasma_cells_pct: float | None = None
    plasmacytoma_spd_cm2: float | None = None


class Assessment(NamedTuple):
    """One disease assessment; `None` = not done, `0` = done and not detectable."""

    date: date
    serum_m_protein_g_dl: float | None = None
    urine_m_protein_mg_24h: float | None = None
    kappa_flc_mg_l: float | None = None
    lambda_flc_mg_l: float | None = None
    serum_ife: str | None = None
    urine_ife: str | None = None
    bone_marrow_plasma_cells_pct: float | None = None
    bone_marrow_clonal_cells: str | None = None
    plasmacytoma_spd_cm2: float | None = None
    new_lesion: bool = False


class ImwgInput(NamedTuple):
    """One participant: the baseline and the assessments in strictly increasing date order."""

    baseline: Baseline
    assessments: tuple[Assessment, ...] = ()


def _where(index: int | None, field: str) -> str:
    return f"baseline.{field}" if index is None else f"assessments[{index}].{field}"


def _number(value: Any, index: int | None, field: str) -> float | None:
    kind = type(value)
    if value is None:
        return None
    if isinstance(value, int | float | Decimal) and kind is not bool:
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise InputError(f"{_where(index, field)}: {value} is not a finite number")
        if number < 0:
            raise InputError(f"{_where(index, field)}: {value} is negative")
        return int(value) if isinstance(value, int) else number
    raise InputError(f"{_where(index, field)}: must be a number or null, not {value!r}")


def _choice(value: Any, choices: tuple[str, ...], index: int, field: str) -> str | None:
    if value is None or value in choices:
        return value
    allowed = " or ".join(f'"{c}"' for c in choices)
    raise InputError(f"{_where(index, field)}: must be {allowed} or null, not {value!r}")


def _date(value: Any, index: int | None) -> date:
    """A `YYYY-MM-DD` string (ISO 8601 calendar date) or a `date` as a `date`."""
    if value.__class__ is str and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    where = _where(index, "date")
    if value.__class__ is date:
        return value
    if value is None:
        raise InputError(f"{where}: required")
    if not isinstance(value, str):
        raise InputError(f"{where}: must be an ISO 8601 date (YYYY-MM-DD), not {value!r}")
    if len(value) == 10 and value[4] == "-" and value[7] == "-" and value.isascii():
        raise InputError(f"{where}: {value!r} is not a valid date")
    raise InputError(f"{where}: {value!r} is not an ISO 8601 date (YYYY-MM-DD)")


def _check_keys(record: Any, allowed: frozenset[str], where: str) -> None:
    if not isinstance(record, dict):
        raise InputError(f"{where}: must be an object, not {type(record).__name__}")
    unknown = record.keys() - allowed
    if unknown:
        raise InputError(f"{where}: unknown field {sorted(unknown)[0]!r}")


def parse_baseline(record: Any) -> Baseline:
    _check_keys(record, _BASELINE_KEYS, "baseline")
    get = record.get
    return Baseline(
        date=_date(get("date"), None),
        serum_m_protein_g_dl=_number(get("serum_m_protein_g_dl"), None, "serum_m_protein_g_dl"),
        urine_m_protein_mg_24h=_number(
            get("urine_m_protein_mg_24h"), None, "urine_m_protein_mg_24h"
        ),
        kappa_flc_mg_l=_number(get("kappa_flc_mg_l"), None, "kappa_flc_mg_l"),
        lambda_flc_mg_l=_number(get("lambda_flc_mg_l"), None, "lambda_flc_mg_l"),
        bone_marrow_plasma_cells_pct=_number(
            get("bone_marrow_plasma_cells_pct"), None, "bone_marrow_plasma_cells_pct"
        ),
        plasmacytoma_spd_cm2=_number(get("plasmacytoma_spd_cm2"), None, "plasmacytoma_spd_cm2"),
    )


def parse_assessment(record: Any, index: int) -> Assessment:
    """One assessment record; the common case (floats, known strings) is checked inline."""
    if record.__class__ is not dict or not record.keys() <= _ASSESSMENT_KEYS:
        _check_keys(record, _ASSESSMENT_KEYS, f"assessments[{index}]")
    get = record.get
    day = _date(get("date"), index)
    serum = get("serum_m_protein_g_dl")
    if serum is not None and not (serum.__class__ is float and 0.0 <= serum < _INF):
        serum = _number(serum, index, "serum_m_protein_g_dl")
    urine = get("urine_m_protein_mg_24h")
    if urine is not None and not (urine.__class__ is float and 0.0 <= urine < _INF):
        urine = _number(urine, index, "urine_m_protein_mg_24h")
    kappa = get("kappa_flc_mg_l")
    if kappa is not None and not (kappa.__class__ is float and 0.0 <= kappa < _INF):
        kappa = _number(kappa, index, "kappa_flc_mg_l")
    lam = get("lambda_flc_mg_l")
    if lam is not None and not (lam.__class__ is float and 0.0 <= lam < _INF):
        lam = _number(lam, index, "lambda_flc_mg_l")
    marrow = get("bone_marrow_plasma_cells_pct")
    if marrow is not None and not (marrow.__class__ is float and 0.0 <= marrow < _INF):
        marrow = _number(marrow, index, "bone_marrow_plasma_cells_pct")
    pcy = get("plasmacytoma_spd_cm2")
    if pcy is not None and not (pcy.__class__ is float and 0.0 <= pcy < _INF):
        pcy = _number(pcy, index, "plasmacytoma_spd_cm2")
    serum_ife = get("serum_ife")
    if serum_ife is not None and serum_ife not in IFE_VALUES:
        _choice(serum_ife, IFE_VALUES, index, "serum_ife")
    urine_ife = get("urine_ife")
    if urine_ife is not None and urine_ife not in IFE_VALUES:
        _choice(urine_ife, IFE_VALUES, index, "urine_ife")
    clonal = get("bone_marrow_clonal_cells")
    if clonal is not None and clonal not in CLONAL_VALUES:
        _choice(clonal, CLONAL_VALUES, index, "bone_marrow_clonal_cells")
    new_lesion = get("new_lesion")
    if new_lesion is None:
        new_lesion = False
    elif new_lesion.__class__ is not bool:
        raise InputError(
            f"assessments[{index}].new_lesion: must be true, false or null, not {new_lesion!r}"
        )
    return Assessment(
        day, serum, urine, kappa, lam, serum_ife, urine_ife, marrow, clonal, pcy, new_lesion
    )


def check_dates(baseline: Baseline, assessments: tuple[Assessment, ...]) -> None:
    """Assessments come after the baseline, in strictly increasing date order."""
    previous = baseline.date
    for index, assessment in enumerate(assessments):
        if assessment.date <= previous:
            if index == 0:
                raise InputError(
                    f"assessments[0].date: {assessment.date} is not after the baseline date "
                    f"{baseline.date}"
                )
            problem = "repeats" if assessment.date == previous else "is before"
            raise InputError(
                f"assessments[{index}].date: {assessment.date} {problem} the previous "
                f"assessment's date {previous} (dates must be strictly increasing)"
            )
        previous = assessment.date


def parse_input(data: Any) -> ImwgInput:
    """Validate the contract's input JSON; raise `InputError` with one line naming the field.

    Missing keys read as null (`new_lesion` as false); unknown keys, wrong types, negative
    values, dates that are not ISO 8601 and unsorted or duplicate dates are errors.
    """
    if isinstance(data, ImwgInput):
        check_dates(data.baseline, data.assessments)
        return data
    if not isinstance(data, dict):
        raise InputError(f"input: must be a JSON object, not {type(data).__name__}")
    unknown = data.keys() - _TOP_KEYS
    if unknown:
        raise InputError(f"input: unknown field {sorted(unknown)[0]!r}")
    if data.get("baseline") is None:
        raise InputError("baseline: required")
    baseline = parse_baseline(data["baseline"])
    records = data.get("assessments")
    if records is None:
        records = []
    if not isinstance(records, list):
        raise InputError(f"assessments: must be a list, not {type(records).__name__}")
    assessments = tuple(parse_assessment(record, i) for i, record in enumerate(records))
    check_dates(baseline, assessments)
    return ImwgInput(baseline=baseline, assessments=assessments)
