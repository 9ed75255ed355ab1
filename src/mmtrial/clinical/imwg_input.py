"""The input of the IMWG response engine: one participant's baseline and disease assessments.

Shape: contracts/imwg.md, "Input". `parse_input` turns the contract's JSON (a dict, as from
`json.loads`, with floats or Decimals) into frozen dataclasses, or raises `InputError` with one
line naming the field. Numbers are held as floats; the engine compares them with a tolerance far
below any lab's precision (contracts/imwg.md, "Arithmetic").
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

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
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True, slots=True)
class Baseline:
    """Values before treatment; `None` = not done. Units are in the names."""

    date: date
    serum_m_protein_g_dl: float | None = None
    urine_m_protein_mg_24h: float | None = None
    kappa_flc_mg_l: float | None = None
    lambda_flc_mg_l: float | None = None
    bone_marrow_plasma_cells_pct: float | None = None
    plasmacytoma_spd_cm2: float | None = None


@dataclass(frozen=True, slots=True)
class Assessment:
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


@dataclass(frozen=True, slots=True)
class ImwgInput:
    """One participant: the baseline and the assessments in strictly increasing date order."""

    baseline: Baseline
    assessments: tuple[Assessment, ...] = ()


def _where(index: int | None, field: str) -> str:
    return f"baseline.{field}" if index is None else f"assessments[{index}].{field}"


def _number(value: Any, index: int | None, field: str) -> float | None:
    kind = type(value)
    if value is None:
        return None
    if kind is float or kind is int or kind is Decimal:
        number = float(value)
        if not math.isfinite(number):
            raise InputError(f"{_where(index, field)}: {value} is not a finite number")
        if number < 0:
            raise InputError(f"{_where(index, field)}: {value} is negative")
        return number
    raise InputError(f"{_where(index, field)}: must be a number or null, not {value!r}")


def _choice(value: Any, choices: tuple[str, ...], index: int, field: str) -> str | None:
    if value is None or value in choices:
        return value
    allowed = " or ".join(f'"{c}"' for c in choices)
    raise InputError(f"{_where(index, field)}: must be {allowed} or null, not {value!r}")


def _date(value: Any, index: int | None) -> date:
    where = _where(index, "date")
    if type(value) is date:
        return value
    if value is None:
        raise InputError(f"{where}: required")
    if not isinstance(value, str):
        raise InputError(f"{where}: must be an ISO 8601 date (YYYY-MM-DD), not {value!r}")
    if not _ISO_DATE.fullmatch(value):
        raise InputError(f"{where}: {value!r} is not an ISO 8601 date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{where}: {value!r} is not a valid date") from None


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
    _check_keys(record, _ASSESSMENT_KEYS, f"assessments[{index}]")
    get = record.get
    new_lesion = get("new_lesion")
    if new_lesion is None:
        new_lesion = False
    elif type(new_lesion) is not bool:
        raise InputError(
            f"assessments[{index}].new_lesion: must be true, false or null, not {new_lesion!r}"
        )
    return Assessment(
        date=_date(get("date"), index),
        serum_m_protein_g_dl=_number(get("serum_m_protein_g_dl"), index, "serum_m_protein_g_dl"),
        urine_m_protein_mg_24h=_number(
            get("urine_m_protein_mg_24h"), index, "urine_m_protein_mg_24h"
        ),
        kappa_flc_mg_l=_number(get("kappa_flc_mg_l"), index, "kappa_flc_mg_l"),
        lambda_flc_mg_l=_number(get("lambda_flc_mg_l"), index, "lambda_flc_mg_l"),
        serum_ife=_choice(get("serum_ife"), IFE_VALUES, index, "serum_ife"),
        urine_ife=_choice(get("urine_ife"), IFE_VALUES, index, "urine_ife"),
        bone_marrow_plasma_cells_pct=_number(
            get("bone_marrow_plasma_cells_pct"), index, "bone_marrow_plasma_cells_pct"
        ),
        bone_marrow_clonal_cells=_choice(
            get("bone_marrow_clonal_cells"), CLONAL_VALUES, index, "bone_marrow_clonal_cells"
        ),
        plasmacytoma_spd_cm2=_number(get("plasmacytoma_spd_cm2"), index, "plasmacytoma_spd_cm2"),
        new_lesion=new_lesion,
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
