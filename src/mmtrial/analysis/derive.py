"""ADSL, ADRS and ADTTE from plain per-participant data and IMWG derivation results.

The database path (`mmtrial analyze` without --adam) and the CDISC export call these functions;
the EDC supplies the plain frames (a `StudySource`). Each `derive_*` takes the participants frame
first, checks its required columns, and returns a new frame (the input is never changed).

Participants frame, one row per participant (dates are `datetime.date` or ISO strings; None or
NaN = unknown):

- `usubjid` (required)
- `first_dose_date`: C1D1, the first dose of any study drug (None = never dosed)
- `last_dose_date`
- `death_date`, `death_due_to_pd` (bool; for duration of response)
- `last_known_alive_date`
- `new_therapy_date`: start of a new anticancer therapy
- `measurable_disease` (bool; optional, else taken from the IMWG result's `followed`)
- `data_cut_date`, `on_treatment` (bool: still on study treatment at the data cut) (optional)

`responses` maps `usubjid` to the result of `mmtrial.clinical.imwg.assess(...)` (an `ImwgResult`
or its contract dict: `assessments[*].date/response`, `best_overall_response(_date)`,
`response_date`, `progression_date`, `followed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from mmtrial.analysis.adam_io import require_variables
from mmtrial.analysis.codelists import PARAMCD_BEST_RESPONSE, PARAMCD_VISIT_RESPONSE

REQUIRED_PARTICIPANT_COLUMNS = ("usubjid", "first_dose_date")
NOT_EVALUABLE = "NE"


@dataclass(frozen=True)
class StudySource:
    """What the EDC hands to the analysis.

    `participants` and `responses` as described in the module docstring; `imwg_inputs` maps
    `usubjid` to the IMWG engine's input (contracts/imwg.md: baseline and assessments with the
    M-protein values) for the M-protein plots; `adverse_events` and `exposure` are ADAE-like and
    EX-like frames (columns in `mmtrial.analysis.safety` / `exposure`), or None.
    """

    participants: pd.DataFrame
    responses: Mapping[str, Any] = field(default_factory=dict)
    imwg_inputs: Mapping[str, Any] = field(default_factory=dict)
    adverse_events: pd.DataFrame | None = None
    exposure: pd.DataFrame | None = None


def _date(value: Any) -> date | None:
    if value is None or (not isinstance(value, str | date) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _flag(value: Any) -> bool:
    return bool(value) if value is not None and not pd.isna(value) else False


def _result(responses: Mapping[str, Any], usubjid: str) -> dict[str, Any]:
    """The IMWG result as the contract dict, or an empty result for a participant without one."""
    result = responses.get(usubjid)
    if result is None:
        return {"followed": [], "assessments": [], "best_overall_response": NOT_EVALUABLE}
    return result.to_dict() if hasattr(result, "to_dict") else dict(result)


def study_day(event: date | None, *, start: date | None) -> int | None:
    """Study day: day 1 is the first dose, the day before is -1 (there is no day 0)."""
    if event is None or start is None:
        return None
    delta = (event - start).days
    return delta + 1 if delta >= 0 else delta


def _rows(participants: pd.DataFrame) -> list[dict[str, Any]]:
    require_variables(participants, file="participants", variables=REQUIRED_PARTICIPANT_COLUMNS)
    return participants.to_dict("records")


def derive_adsl(participants: pd.DataFrame, *, responses: Mapping[str, Any]) -> pd.DataFrame:
    """One record per participant with the analysis-set flags.

    Rule (SAP, protocol section 11): SAFFL = Y when a first dose date exists; EFFFL = Y when the
    participant had measurable disease at baseline, received a dose, and has at least one
    response assessment after baseline. TRTDURD = last dose - first dose + 1 (days).
    """
    records = []
    for row in _rows(participants):
        usubjid = str(row["usubjid"])
        result = _result(responses, usubjid)
        first, last = _date(row.get("first_dose_date")), _date(row.get("last_dose_date"))
        stated = row.get("measurable_disease")
        measurable = (
            bool(result.get("followed"))
            if stated is None or (not isinstance(stated, bool) and pd.isna(stated))
            else bool(stated)
        )
        dosed = first is not None
        assessed = any(_date(a["date"]) for a in result.get("assessments", []))
        death = _date(row.get("death_date"))
        records.append(
            {
                "USUBJID": usubjid,
                "SAFFL": "Y" if dosed else "N",
                "EFFFL": "Y" if dosed and measurable and assessed else "N",
                "TRTSDT": first,
                "TRTEDT": last,
                "TRTDURD": (last - first).days + 1 if first and last else None,
                "EOTSTT": "ONGOING" if _flag(row.get("on_treatment")) else "DISCONTINUED",
                "DTHFL": "Y" if death else "N",
                "DTHDT": death,
                "LSTALVDT": _date(row.get("last_known_alive_date")),
                "DCUTDT": _date(row.get("data_cut_date")),
            }
        )
    return pd.DataFrame(records, columns=_ADSL_COLUMNS)


_ADSL_COLUMNS = [
    "USUBJID",
    "SAFFL",
    "EFFFL",
    "TRTSDT",
    "TRTEDT",
    "TRTDURD",
    "EOTSTT",
    "DTHFL",
    "DTHDT",
    "LSTALVDT",
    "DCUTDT",
]


def derive_adrs(participants: pd.DataFrame, *, responses: Mapping[str, Any]) -> pd.DataFrame:
    """Response records: CBOR (confirmed best overall response) and OVR (each assessment).

    Rule: values are the IMWG engine's (contracts/imwg.md) unchanged; a participant without a
    result gets CBOR = NE. ADY is the study day of ADT. SRCVAR names the engine output used.
    CONFFL (OVR only) is Y when the engine marked that assessment confirmed: the first of a
    confirmed response pair, or a confirmed progression.
    """
    records = []
    for row in _rows(participants):
        usubjid = str(row["usubjid"])
        start = _date(row.get("first_dose_date"))
        result = _result(responses, usubjid)
        best_date = _date(result.get("best_overall_response_date"))
        records.append(
            {
                "USUBJID": usubjid,
                "PARAMCD": PARAMCD_BEST_RESPONSE,
                "PARAM": "Confirmed best overall response (IMWG)",
                "AVALC": result.get("best_overall_response") or NOT_EVALUABLE,
                "ADT": best_date,
                "ADY": study_day(best_date, start=start),
                "CONFFL": None,
                "SRCVAR": "best_overall_response",
            }
        )
        for assessment in result.get("assessments", []):
            when = _date(assessment["date"])
            records.append(
                {
                    "USUBJID": usubjid,
                    "PARAMCD": PARAMCD_VISIT_RESPONSE,
                    "PARAM": "Overall response at the assessment (IMWG)",
                    "AVALC": assessment["response"],
                    "ADT": when,
                    "ADY": study_day(when, start=start),
                    "CONFFL": "Y" if assessment.get("confirmed") else "N",
                    "SRCVAR": "assessments.response",
                }
            )
    return pd.DataFrame(
        records,
        columns=["USUBJID", "PARAMCD", "PARAM", "AVALC", "ADT", "ADY", "CONFFL", "SRCVAR"],
    )


def _last_adequate(result: dict[str, Any], *, on_or_before: date | None) -> date | None:
    """The last assessment with an evaluable response (not NE), up to a date if given."""
    dates = [
        _date(a["date"])
        for a in result.get("assessments", [])
        if a.get("response") != NOT_EVALUABLE
        and (on_or_before is None or _date(a["date"]) <= on_or_before)
    ]
    return max(dates) if dates else None


def _tte(usubjid, paramcd, start, adt, cnsr, description) -> dict[str, Any]:
    return {
        "USUBJID": usubjid,
        "PARAMCD": paramcd,
        "STARTDT": start,
        "ADT": adt,
        "AVAL": (adt - start).days + 1,
        "CNSR": cnsr,
        "EVNTDESC": description,
    }


def _censored(usubjid, paramcd, start, result, *, limit: date | None, why: str) -> dict[str, Any]:
    last = _last_adequate(result, on_or_before=limit)
    if last is None or last < start:
        return _tte(usubjid, paramcd, start, start, 1, "no adequate assessment: censored at day 1")
    return _tte(usubjid, paramcd, start, last, 1, f"censored at last adequate assessment ({why})")


def _progression_endpoint(usubjid, paramcd, start, result, row, *, death_counts: bool):
    """PFS (death counts) or TTP (death censored), with the new-therapy censoring rule."""
    progression = _date(result.get("progression_date"))
    death = _date(row.get("death_date")) if death_counts else None
    events = [(d, label) for d, label in ((progression, "PD"), (death, "DEATH")) if d is not None]
    first_event = min(events) if events else None
    new_therapy = _date(row.get("new_therapy_date"))
    if new_therapy is not None and (first_event is None or new_therapy < first_event[0]):
        return _censored(usubjid, paramcd, start, result, limit=new_therapy, why="new therapy")
    if first_event is not None:
        return _tte(usubjid, paramcd, start, first_event[0], 0, first_event[1])
    limit = _date(row.get("death_date"))
    return _censored(usubjid, paramcd, start, result, limit=limit, why="no event")


def derive_adtte(participants: pd.DataFrame, *, responses: Mapping[str, Any]) -> pd.DataFrame:
    """Time-to-event records PFS, OS, TTP, DOR and TTR for dosed participants (SAP section 11).

    Rules (origin = first dose; AVAL = ADT - STARTDT + 1 days; CNSR 0 = event, 1 = censored):

    - PFS: confirmed PD (IMWG progression_date) or death, whichever first; otherwise censored at
      the last adequate (not NE) assessment; a new anticancer therapy started before the event
      censors at the last adequate assessment on or before its start.
    - TTP: as PFS, but only PD is an event (deaths censored at the last adequate assessment).
    - OS: death; otherwise censored at the last date known alive (the latest of
      last_known_alive_date, the last assessment and the last dose).
    - DOR: responders (IMWG response_date); from the response date to PD or death due to PD;
      censoring as PFS.
    - TTR: responders only; from the first dose to the response date (all events).

    Participants never dosed have no origin and get no records.
    """
    records = []
    for row in _rows(participants):
        usubjid = str(row["usubjid"])
        start = _date(row.get("first_dose_date"))
        if start is None:
            continue
        result = _result(responses, usubjid)
        records.append(_progression_endpoint(usubjid, "PFS", start, result, row, death_counts=True))
        records.append(
            _progression_endpoint(usubjid, "TTP", start, result, row, death_counts=False)
        )
        death = _date(row.get("death_date"))
        if death is not None:
            records.append(_tte(usubjid, "OS", start, death, 0, "DEATH"))
        else:
            known = [
                _date(row.get("last_known_alive_date")),
                _date(row.get("last_dose_date")),
                _last_adequate(result, on_or_before=None),
                start,
            ]
            alive = max(d for d in known if d is not None)
            records.append(
                _tte(usubjid, "OS", start, alive, 1, "censored at last date known alive")
            )
        response = _date(result.get("response_date"))
        if response is None:
            continue
        records.append(_tte(usubjid, "TTR", start, response, 0, "first confirmed PR or better"))
        dor_row = dict(row)
        if not _flag(row.get("death_due_to_pd")):
            dor_row["death_date"] = None
        dor = _progression_endpoint(usubjid, "DOR", response, result, dor_row, death_counts=True)
        records.append(dor)
    columns = ["USUBJID", "PARAMCD", "STARTDT", "ADT", "AVAL", "CNSR", "EVNTDESC"]
    return pd.DataFrame(records, columns=columns)


#: M-protein variables of the IMWG input and their ADLB parameters.
MPROTEIN_PARAMETERS = {
    "serum_m_protein_g_dl": ("SMPROT", "Serum M-protein (g/dL)"),
    "urine_m_protein_mg_24h": ("UMPROT", "Urine M-protein (mg/24 h)"),
}


def derive_adlb(participants: pd.DataFrame, *, imwg_inputs: Mapping[str, Any]) -> pd.DataFrame:
    """M-protein records (SMPROT, UMPROT) from the IMWG engine's inputs, for the report plots.

    Rule: the baseline values get ABLFL = Y; each assessment's measured value is a record with
    its study day (ADY, day 1 = first dose). Null values are not records.
    """
    records = []
    for row in _rows(participants):
        usubjid = str(row["usubjid"])
        data = imwg_inputs.get(usubjid)
        if data is None:
            continue
        data = data._asdict() if hasattr(data, "_asdict") else dict(data)
        start = _date(row.get("first_dose_date"))
        baseline = data.get("baseline") or {}
        baseline = baseline._asdict() if hasattr(baseline, "_asdict") else dict(baseline)
        visits = [(baseline, "Y")] + [
            (a._asdict() if hasattr(a, "_asdict") else dict(a), "")
            for a in data.get("assessments", [])
        ]
        for values, baseline_flag in visits:
            when = _date(values.get("date"))
            for variable, (paramcd, label) in MPROTEIN_PARAMETERS.items():
                value = values.get(variable)
                if value is None or when is None:
                    continue
                records.append(
                    {
                        "USUBJID": usubjid,
                        "PARAMCD": paramcd,
                        "PARAM": label,
                        "ADT": when,
                        "ADY": study_day(when, start=start),
                        "AVAL": float(value),
                        "ABLFL": baseline_flag,
                    }
                )
    columns = ["USUBJID", "PARAMCD", "PARAM", "ADT", "ADY", "AVAL", "ABLFL"]
    return pd.DataFrame(records, columns=columns)
