"""The schedule's input and output models (contracts/schedule.md), and input parsing.

The input is one participant's treatment facts; the output is the calendar. Both are pydantic
models whose JSON form is exactly the contract's: dates as ISO strings, doses as JSON numbers
(4, not 4.0; 2.3 stays 2.3).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model

from mmtrial.errors import InputError

__all__ = [
    "CycleFacts",
    "DosingDay",
    "Schedule",
    "ScheduleInput",
    "ScheduleInputError",
    "Visit",
    "models_for",
    "parse_schedule_input",
]

# Guards against a typo such as 2000000 freezing the calendar; about 30 years of cycles.
MAX_PROJECTED_CYCLES = 400

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# A date outside these years is a typo in a trial calendar, and keeps date arithmetic far from
# the end of Python's calendar (year 9999).
EARLIEST_YEAR, LATEST_YEAR = 1900, 2199


class ScheduleInputError(InputError):
    """Schedule input that is malformed or inconsistent; the message names the field."""


def _iso_date(value: Any) -> Any:
    """Dates are written YYYY-MM-DD; a number or a date-time is a wrong type, not a date."""
    if isinstance(value, dt.datetime):
        raise ValueError("must be a date (YYYY-MM-DD), not a date and time")
    if value is None:
        return value
    if isinstance(value, dt.date):
        parsed = value
    elif not isinstance(value, str) or not _ISO_DATE.match(value):
        shown = repr(value) if not isinstance(value, str) else f"'{value}'"
        raise ValueError(f"{shown} must be a date written YYYY-MM-DD")
    else:
        try:
            parsed = dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"'{value}' is not a valid date") from None
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        raise ValueError(f"{parsed} is outside the years {EARLIEST_YEAR}-{LATEST_YEAR}")
    return parsed


def _dose_mg(value: Any) -> Any:
    """A dose is a positive number of mg, or null when the drug is held or discontinued."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"{value!r} must be a number of mg, or null when the drug is not given")
    dose = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not dose.is_finite() or (isinstance(value, float) and not math.isfinite(value)):
        raise ValueError(f"{value!r} must be a finite number of mg")
    if dose <= 0:
        raise ValueError(f"{value} must be above 0 mg (write null for a drug not given)")
    return dose


def _count(value: Any) -> Any:
    if value is None:
        return 0  # "may be null or absent" (contract): no projection
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{value!r} must be a whole number")
    if not 0 <= value <= MAX_PROJECTED_CYCLES:
        raise ValueError(f"{value} must be between 0 and {MAX_PROJECTED_CYCLES}")
    return value


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
DoseMg = Annotated[Decimal | None, BeforeValidator(_dose_mg)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CycleFacts(_Input):
    """One cycle as started: its day 1 and the dose of each drug (null: held or discontinued).

    A dose left out is the same as null: the drug is not given in that cycle.
    """

    start_date: IsoDate
    ixazomib_mg: DoseMg = None
    lenalidomide_mg: DoseMg = None
    dexamethasone_mg: DoseMg = None


class ScheduleInput(_Input):
    """One participant's treatment facts (contracts/schedule.md, Input)."""

    cycles: list[CycleFacts] = Field(min_length=1)
    project_cycles: Annotated[int, BeforeValidator(_count)] = 0
    end_of_treatment_date: IsoDate | None = None
    progression_date: IsoDate | None = None
    death_date: IsoDate | None = None
    last_enrollment_date: IsoDate | None = None


class DosingDay(BaseModel):
    """A calendar day with at least one drug given; a drug not given that day is null."""

    date: dt.date
    cycle: int
    day: int
    ixazomib_mg: int | float | None
    lenalidomide_mg: int | float | None
    dexamethasone_mg: int | float | None


class Visit(BaseModel):
    """A visit with its window; `cycle` and `day` are null for the end-of-treatment visit."""

    code: str
    kind: Literal["treatment", "end_of_treatment"]
    cycle: int | None
    day: int | None
    date: dt.date
    window_start: dt.date
    window_end: dt.date


class Schedule(BaseModel):
    """The participant's calendar (contracts/schedule.md, Output)."""

    dosing: list[DosingDay]
    visits: list[Visit]
    response_assessments: list[dt.date]
    follow_up_contacts: list[dt.date]
    study_closure_date: dt.date | None


def _location(loc: tuple) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "input"


def describe_validation_error(error: ValidationError) -> str:
    """The first problem of a pydantic error as one line: `field.path: what is wrong`."""
    item = error.errors(include_url=False)[0]
    where = _location(item["loc"])
    kind = item["type"]
    if kind == "extra_forbidden":
        return f"{where}: unknown field"
    if kind == "missing":
        return f"{where}: missing required field"
    message = item["msg"].removeprefix("Value error, ")
    if kind == "too_short" and where == "cycles":
        return "cycles: at least one cycle is needed (the first is C1D1)"
    if kind == "value_error":
        return f"{where}: {message}"
    given = item.get("input")
    shown = "" if isinstance(given, dict | list) else f"{given!r}: "
    return f"{where}: {shown}{message}"


CONTRACT_DRUGS = ("ixazomib", "lenalidomide", "dexamethasone")


@functools.cache
def models_for(drugs: tuple[str, ...]) -> tuple[type, type, type]:
    """(CycleFacts, ScheduleInput, Schedule) with a `<drug>_mg` field per regimen drug, in the
    protocol's order: the contract's own classes for the IRd-J drugs, the same shape built for
    another protocol's drugs (e.g. a blinded `study_drug`)."""
    if drugs == CONTRACT_DRUGS:
        return CycleFacts, ScheduleInput, Schedule
    cycle = create_model(
        "CycleFacts",
        __base__=_Input,
        start_date=(IsoDate, ...),
        **{f"{d}_mg": (DoseMg, None) for d in drugs},
    )
    facts = create_model(
        "ScheduleInput", __base__=ScheduleInput, cycles=(list[cycle], Field(min_length=1))
    )
    day = create_model(
        "DosingDay",
        date=(dt.date, ...),
        cycle=(int, ...),
        day=(int, ...),
        **{f"{d}_mg": (int | float | None, ...) for d in drugs},
    )
    calendar = create_model("Schedule", __base__=Schedule, dosing=(list[day], ...))
    return cycle, facts, calendar


def parse_schedule_input(data: Any, *, drugs: tuple[str, ...] = CONTRACT_DRUGS) -> ScheduleInput:
    """Validate JSON-like data into a ScheduleInput, or raise ScheduleInputError naming the field."""
    if not isinstance(data, dict):
        raise ScheduleInputError("input: expected a JSON object with a 'cycles' list")
    try:
        return models_for(drugs)[1].model_validate(data)
    except ValidationError as exc:
        raise ScheduleInputError(describe_validation_error(exc)) from None
