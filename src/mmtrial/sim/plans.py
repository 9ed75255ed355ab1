"""What the simulated cohort plans for each participant (plain data; mmtrial.sim.demo enters it).

The cohort was designed on a reference calendar: its first consent on `FIRST_CONSENT` and its
data stopping at `DATA_CUTOFF`. The demo seeds the same cohort shifted to the day it is seeded
(`data_cutoff_for`): by whole weeks, so every weekday (the central laboratory's Monday files)
stays as designed, to the latest such day on or before the seeding day. A newcomer therefore
sees a study in progress today, and can enter the next visits with today's date (the EDC
refuses dates in the future). The same seed and seeding day give the same study.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from mmtrial.sim.archetypes import Archetype, SiteSpec

__all__ = [
    "DATA_CUTOFF",
    "FIRST_CONSENT",
    "SAMPLE_DAYS_BEFORE_CYCLE",
    "AdverseEventPlan",
    "CyclePlan",
    "EndOfTreatmentPlan",
    "ParticipantPlan",
    "Phase",
    "SamplePlan",
    "StudyCalendar",
    "data_cutoff_for",
    "first_consent_for",
]

# The reference calendar (DATA_CUTOFF is a Monday); a seeded demo is shifted from it.
FIRST_CONSENT = dt.date(2025, 1, 6)
DATA_CUTOFF = dt.date(2026, 11, 2)
_WEEK = 7


def data_cutoff_for(seeding_day: dt.date) -> dt.date:
    """The data cut-off of a demo seeded on `seeding_day`: the latest day on or before it a
    whole number of weeks from the reference cut-off (the same weekday)."""
    return seeding_day - dt.timedelta(days=(seeding_day - DATA_CUTOFF).days % _WEEK)


def first_consent_for(cutoff: dt.date) -> dt.date:
    """The first consent of the cohort whose data stop at `cutoff` (the reference spacing)."""
    return cutoff - (DATA_CUTOFF - FIRST_CONSENT)


# The central M-protein sample is drawn a week before each cycle starts (the day-22 visit in
# cycles 1-2), so that its result is back for the cycle decision.
SAMPLE_DAYS_BEFORE_CYCLE = 7


@dataclass(frozen=True)
class StudyCalendar:
    """The protocol's rhythm, read from the protocol file, on which the simulation places events
    (the EDC derives every visit and dose date from the same file)."""

    cycle_days: int
    follow_up_days: int
    recheck_days: int  # a delayed cycle is decided again after this many days
    dosing_days: dict[str, tuple[int, ...]]  # drug -> days of the cycle it is given

    @property
    def last_dosing_day(self) -> int:
        return max(max(days) for days in self.dosing_days.values())

    @property
    def mid_cycle_day(self) -> int:
        """The day of the last ixazomib dose, when the simulated counts drop."""
        return max(self.dosing_days["ixazomib"])

    @classmethod
    def from_protocol(cls, protocol) -> StudyCalendar:
        return cls(
            cycle_days=int(protocol.cycle_length_days),
            follow_up_days=int(protocol.follow_up.interval_days),
            recheck_days=int(protocol.cycle_start.recheck_interval_days),
            dosing_days={drug: tuple(entry.days) for drug, entry in protocol.regimen.items()},
        )


@dataclass(frozen=True)
class CyclePlan:
    number: int
    start: dt.date  # the day the cycle starts (after any delay)
    creatinine_mg_dl: float
    anc_per_mm3: int
    platelets_per_mm3: int
    weight_kg: float
    delayed_from: dt.date | None = None  # the planned start, when low counts delayed it
    delay_platelets_per_mm3: int | None = None
    holds: dict[tuple[str, int], str] = field(default_factory=dict)  # (drug, day) -> reason
    stop_day: int | None = None  # treatment stopped: doses from this day on are held


@dataclass(frozen=True)
class AdverseEventPlan:
    term: str
    grade: int
    start: dt.date
    end: dt.date | None
    attribution: dict[str, bool]
    nonhematologic: bool = True
    serious: bool = False
    action_taken: str = "none"
    lab: tuple[str, int] | None = None  # (analyte, value) collected on the start date


@dataclass(frozen=True)
class SamplePlan:
    """One central-laboratory sample: analyte -> (value text, unit)."""

    collected_on: dt.date
    values: dict[str, tuple[str, str]]
    bone_marrow_plasma_cells_pct: float | None = None  # a marrow biopsy on the same day


@dataclass(frozen=True)
class EndOfTreatmentPlan:
    recorded_on: dt.date
    last_dose: dt.date
    reason: str
    details: str


@dataclass
class ParticipantPlan:
    index: int
    archetype: Archetype
    site: SiteSpec
    screening_number: str
    calendar: StudyCalendar
    sex: str
    year_of_birth: int
    weight_kg: float
    crcl_target_ml_min: float
    consent: dt.date = FIRST_CONSENT
    # Japanese adults at Japanese sites (seed): every simulated participant reports Asian.
    race: str = "asian"
    ethnicity: str = "not_hispanic_or_latino"
    screened: dt.date | None = None
    screening_values: dict[str, object] = field(default_factory=dict)
    enrolled: dt.date | None = None
    c1d1_planned: dt.date | None = None
    cycles: list[CyclePlan] = field(default_factory=list)
    adverse_events: list[AdverseEventPlan] = field(default_factory=list)
    samples: list[SamplePlan] = field(default_factory=list)
    end_of_treatment: EndOfTreatmentPlan | None = None
    contacts: list[dt.date] = field(default_factory=list)
    death: dt.date | None = None
    data_cutoff: dt.date = DATA_CUTOFF  # the last day with data (the demo's seeding calendar)

    @property
    def c1d1(self) -> dt.date | None:
        return self.cycles[0].start if self.cycles else None

    @property
    def roles(self) -> tuple[str, ...]:
        return self.archetype.roles


class Phase:
    """The order of a day's steps when the demo enters the plan."""

    IMPORT = 0
    REGISTER = 1
    LABS = 2
    ADVERSE_EVENT = 3
    CYCLE = 4
    VISIT = 5
    DOSES = 6
    REVIEW = 7
    OUTCOME = 8
    TRUST = 9


DOSES_SITE = "JP-01"
