"""Visit numbers and names from the EDC's visit codes, and the planned visits of the protocol.

Rule (MT.VISITNUM): SCREENING is visit 1; cycle n day d (`CnDd`) is 100 x n + d; the end of
treatment (`EOT`) is 9000; follow-up contact nn (`FUnn`) is 10000 + nn. The numbers sort in time
order and say which visit they are. Codes are those of mmtrial.clinical.schedule and
mmtrial.edc.services.visits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mmtrial.protocol.models import Protocol

__all__ = ["SCREENING_CODE", "PlannedVisit", "planned_visits", "visit_name", "visit_number"]

SCREENING_CODE = "SCREENING"
EOT_CODE = "EOT"
_CYCLE_DAY = re.compile(r"^C(\d+)D(\d+)$")
_FOLLOW_UP = re.compile(r"^FU(\d+)$")
_SCREENING_NUMBER = 1
_CYCLE_FACTOR = 100
_EOT_NUMBER = 9000
_FOLLOW_UP_BASE = 10000


def visit_number(code: str) -> float | None:
    """VISITNUM of a visit code, None for a code that is not a planned visit."""
    if code == SCREENING_CODE:
        return float(_SCREENING_NUMBER)
    if code == EOT_CODE:
        return float(_EOT_NUMBER)
    if match := _CYCLE_DAY.match(code):
        return float(int(match[1]) * _CYCLE_FACTOR + int(match[2]))
    if match := _FOLLOW_UP.match(code):
        return float(_FOLLOW_UP_BASE + int(match[1]))
    return None


def visit_name(code: str) -> str | None:
    if code == SCREENING_CODE:
        return "SCREENING"
    if code == EOT_CODE:
        return "END OF TREATMENT"
    if match := _CYCLE_DAY.match(code):
        return f"CYCLE {int(match[1])} DAY {int(match[2])}"
    if match := _FOLLOW_UP.match(code):
        return f"FOLLOW-UP {int(match[1])}"
    return None


@dataclass(frozen=True)
class PlannedVisit:
    code: str
    number: float
    name: str
    study_day: int | None
    start_rule: str
    end_rule: str | None = None


def planned_visits(protocol: Protocol, *, cycles: int, follow_ups: int) -> list[PlannedVisit]:
    """The protocol's visits: screening, each cycle's visit days (from the protocol file) up to
    cycle `cycles`, the end-of-treatment visit and `follow_ups` follow-up contacts.

    Treatment continues until progression, so the number of cycles (and of follow-up contacts)
    is open-ended in the protocol; TV lists those the package's data reach.
    """
    length = protocol.cycle_length_days
    eot = protocol.visits.end_of_treatment
    contact = protocol.follow_up.interval_days
    visits = [
        PlannedVisit(SCREENING_CODE, float(_SCREENING_NUMBER), "SCREENING", None,
                     "Informed consent; before the first dose", "Start of cycle 1"),
    ]  # fmt: skip
    for cycle in range(1, cycles + 1):
        for day in protocol.treatment_visit_days(cycle):
            code = f"C{cycle}D{day}"
            window = protocol.visit_window(cycle, day)
            end = None
            if window is not None and (window.before_days or window.after_days):
                end = f"Window -{window.before_days}/+{window.after_days} days"
            visits.append(
                PlannedVisit(
                    code,
                    visit_number(code) or 0.0,
                    visit_name(code) or code,
                    (cycle - 1) * length + day,
                    f"Day {day} of cycle {cycle} ({length}-day cycles)",
                    end,
                )
            )
    visits.append(
        PlannedVisit(
            EOT_CODE,
            float(_EOT_NUMBER),
            "END OF TREATMENT",
            None,
            f"{eot.days_after_end_of_treatment} days after the last dose",
            f"Window -{eot.before_days}/+{eot.after_days} days",
        )
    )
    for n in range(1, follow_ups + 1):
        code = f"FU{n:02d}"
        visits.append(
            PlannedVisit(
                code,
                visit_number(code) or 0.0,
                visit_name(code) or code,
                None,
                f"Follow-up contact {n}: every {contact} days after progression",
            )
        )
    return visits
