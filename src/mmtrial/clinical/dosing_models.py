"""The facts a dose decision reads and the decisions it returns (pydantic, ``extra="forbid"``).

The EDC stores ``model_dump(mode="json")`` of both; ``mmtrial dose next`` reads and prints the
same JSON. Doses are Decimals (written as plain JSON numbers) in mg; ``null`` means the drug is
discontinued (in ``current_doses_mg``) or not given (in a decision's ``doses_mg``).
Every field is documented in docs/cli.md (section ``mmtrial dose next``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    field_validator,
    model_validator,
)

from mmtrial.protocol.models import Number

__all__ = [
    "RESPONSES",
    "AlternationState",
    "CarryForward",
    "CountResult",
    "CriterionCheck",
    "CycleFacts",
    "DayDecision",
    "DayDrug",
    "DayFacts",
    "DoseChange",
    "DoseDecision",
    "LabValue",
    "Proposal",
    "Reason",
    "RenalDecision",
    "ToxicityEvent",
]

# IMWG categories, best first. Their order is the standard's (imwg.md), not a protocol number.
RESPONSES = ("sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE")
Response = Literal["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE"]
Grade = Annotated[int, Field(ge=0, le=5)]
Count = Annotated[int, Field(ge=0)]
Dose = Annotated[Number, Field(gt=0)]


def _json_value(value: object) -> object:
    """Decimals become plain JSON numbers; booleans, strings and null stay as they are."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _json_values(value: object) -> object:
    if isinstance(value, list):
        return [_json_value(item) for item in value]
    return _json_value(value)


# A value compared in a reason: bool before the numbers so true/false stay booleans; a list
# holds codes (the drugs a rule holds), so the reason can be written in any language.
Value = Annotated[
    bool | int | Decimal | str | list[str] | None,
    PlainSerializer(_json_values, when_used="json"),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


LabSource = Literal["central", "local"]


class LabValue(_Model):
    """A laboratory value behind a hematologic event, e.g. the platelet nadir of an episode."""

    variable: str = Field(min_length=1, description="e.g. platelets_per_mm3, anc_per_mm3")
    value: Annotated[Number, Field(ge=0)]
    date: dt.date | None = Field(default=None, description="when the sample was collected")
    source: LabSource | None = Field(default=None, description="central or local laboratory")


class CountResult(_Model):
    """One recorded count (platelets, ANC) since the last cycle-start decision."""

    variable: str = Field(min_length=1, description="platelets_per_mm3 or anc_per_mm3")
    value: Count
    date: dt.date = Field(description="collection date")
    source: LabSource | None = None

    @field_validator("value", mode="before")
    @classmethod
    def _whole_count(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("must be a whole number, not true/false")
        return value


class RenalDecision(_Model):
    """The investigator's answer to a renal proposal (CrCl fallen into a band during treatment).

    `confirm` applies the proposed doses; `override` gives the doses (and, optionally, every
    how many regimen days) the investigator chose instead, with a reason.
    """

    band: str = Field(min_length=1, description="the id of the renal band answered")
    action: Literal["confirm", "override"]
    doses_mg: dict[str, Annotated[Number, Field(gt=0)] | None] = Field(
        default_factory=dict, description="override: the dose of each proposed drug (null = stop)"
    )
    every_days: dict[str, Annotated[int, Field(ge=1)]] = Field(default_factory=dict)
    reason: str = ""
    decided_by: str | None = None
    decided_on: dt.date | None = None

    @model_validator(mode="after")
    def _override_has_doses_and_reason(self) -> RenalDecision:
        if self.action == "override":
            if not self.doses_mg:
                raise ValueError("an override gives doses_mg for the proposed drugs")
            if not self.reason.strip():
                raise ValueError("an override needs a reason")
        return self


class ToxicityEvent(_Model):
    """One toxicity episode (an adverse event) as the investigator recorded it."""

    term: str = Field(min_length=1, description="e.g. rash, peripheral_neuropathy, hyperglycemia")
    grade: Annotated[int, Field(ge=1, le=5)] = Field(description="CTCAE grade at its worst")
    with_pain: bool = False
    nonhematologic: bool = Field(
        default=True, description="default: false when `lab` is given (a cytopenia), else true"
    )
    attributed_to: list[str] = Field(default_factory=list, description="drugs judged causal")
    lab: LabValue | None = None
    current_grade: Grade | None = Field(
        default=None, description="grade now; null = unchanged since onset (still `grade`)"
    )
    current_with_pain: bool | None = Field(
        default=None, description="pain now; null = unchanged since onset (still `with_pain`)"
    )
    counted_before: bool = Field(
        default=False,
        description="an ongoing episode an earlier decision already acted on: checked for "
        "recovery, never counted again",
    )
    cycle: Annotated[int, Field(ge=1)] | None = None
    day: Annotated[int, Field(ge=1)] | None = None
    start_date: dt.date | None = Field(
        default=None, description="onset; with end_date, matches the event to recorded counts"
    )
    end_date: dt.date | None = Field(default=None, description="resolution; null = ongoing")
    # The CTCAE v5.0 term key the investigator recorded, kept when placing the event turns
    # `term` into the toxicity a rule names (peripheral_sensory_neuropathy ->
    # peripheral_neuropathy): the reasons name the term as recorded. Not part of the input.
    _ctcae_term: str | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _cytopenia_is_hematologic(self) -> ToxicityEvent:
        if self.lab is not None and "nonhematologic" not in self.model_fields_set:
            self.nonhematologic = False
        return self

    @property
    def ctcae_term(self) -> str | None:
        """The CTCAE v5.0 term key as recorded (set when the event is placed), else None."""
        return self._ctcae_term

    def placed_as(self, *, toxicity: str, ctcae_term: str | None, **update) -> ToxicityEvent:
        """A copy whose `term` is the toxicity the rules compare, remembering the CTCAE term."""
        placed = self.model_copy(update={"term": toxicity, **update})
        placed._ctcae_term = ctcae_term
        return placed

    @property
    def grade_now(self) -> int:
        return self.grade if self.current_grade is None else self.current_grade

    @property
    def pain_now(self) -> bool:
        return self.with_pain if self.current_with_pain is None else self.current_with_pain


class AlternationState(_Model):
    """How many overlapping-toxicity events have been counted, per alternation scope.

    The key is ``shared`` when the protocol's alternation scope is shared, else the toxicity
    group (``thrombocytopenia``, ``neutropenia``, ``rash``). The drug reduced for the n-th event
    (1-based) is ``sequence[(n - 1) % len(sequence)]``.
    """

    counts: dict[str, Count] = Field(default_factory=dict)


class CycleFacts(_Model):
    """What is known about a participant when the next cycle is about to start."""

    cycle: Annotated[int, Field(ge=1)] = Field(description="the cycle about to start")
    current_doses_mg: dict[str, Dose | None] | None = Field(
        default=None,
        description="each drug's current dose level (null = discontinued); omit for cycle 1",
    )
    crcl_ml_min: Annotated[Number, Field(gt=0)]
    crcl_date: dt.date | None = Field(
        default=None, description="date of the creatinine behind crcl_ml_min"
    )
    decision_date: dt.date | None = Field(
        default=None, description="the planned day 1; with crcl_date, checks the lab window"
    )
    anc_per_mm3: Count
    platelets_per_mm3: Count
    toxicities: list[ToxicityEvent] = Field(default_factory=list)
    best_confirmed_response: Response | None = None
    cycles_at_current_dose: dict[str, Count] = Field(
        default_factory=dict, description="cycles completed at each drug's current dose"
    )
    last_cycle_hold_or_reduction: bool = False
    renal_dose_adjusted: bool = Field(
        default=False,
        description="the renal drug's dose is set by the renal rules (start or escalation), "
        "not by a toxicity reduction; carried forward from the previous decision",
    )
    alternation: AlternationState = Field(default_factory=AlternationState)
    baseline_grades: dict[str, Grade] = Field(
        default_factory=dict, description="non-hematologic grade at baseline, per term"
    )
    counts_since_last_decision: list[CountResult] = Field(
        default_factory=list,
        description="every platelet and ANC count (central and local) collected after the "
        "last cycle-start decision, day-1 counts of delayed checks included",
    )
    current_every_days: dict[str, Annotated[int, Field(ge=1)]] = Field(
        default_factory=dict,
        description="a drug given on every n-th regimen day (2 = every 48 hours); default 1",
    )
    renal_band: str | None = Field(
        default=None, description="the renal band at the last cycle-start decision (null: none)"
    )
    renal_decision: RenalDecision | None = None

    @field_validator("anc_per_mm3", "platelets_per_mm3", mode="before")
    @classmethod
    def _whole_count(cls, value: object) -> object:
        if isinstance(value, bool):
            raise ValueError("must be a whole number, not true/false")
        return value

    def lab_value(self, variable: str) -> int | None:
        return getattr(self, variable, None) if variable in _LAB_FIELDS else None


_LAB_FIELDS = ("anc_per_mm3", "platelets_per_mm3")


class Reason(_Model):
    """Why: the rule applied, its source, the values compared, in words."""

    rule: str
    source: str
    text: str
    values: dict[str, Value] = Field(default_factory=dict)


class DoseChange(_Model):
    drug: str
    from_mg: Number | None
    to_mg: Number | None
    kind: Literal["start", "renal_start", "renal_adjust", "reduce", "escalate", "discontinue"]
    rule: str
    source: str
    text: str


class CriterionCheck(_Model):
    id: str
    text: str
    met: bool
    value: Value
    threshold: Value
    source: str


class Proposal(_Model):
    """A dose mmtrial proposes but only the investigator may decide (renal function fallen)."""

    drug: str
    from_mg: Number | None = None
    dose_mg: Number
    every_days: int = 1
    text: str
    rule: str
    source: str


class CarryForward(_Model):
    """State to store and pass into the next CycleFacts."""

    current_doses_mg: dict[str, Number | None] | None = Field(
        description="null only after a delayed cycle 1 (the starting doses are not set yet)"
    )
    alternation: AlternationState
    renal_dose_adjusted: bool
    cycles_at_current_dose: dict[str, int] = Field(
        description="once this cycle completes: +1 for a drug given at an unchanged dose, 1 for "
        "a changed dose, unchanged for a drug held all cycle"
    )
    last_cycle_hold_or_reduction: bool = Field(
        description="a drug reduced or held at this decision; the EDC also sets it when a "
        "within-cycle hold (dose day) happens"
    )
    current_every_days: dict[str, int] = Field(default_factory=dict)
    renal_band: str | None = None
    counts_since_last_decision: list[CountResult] = Field(
        default_factory=list,
        description="after a delay or a pending investigator decision: the counts to pass again "
        "(the delayed day-1 counts included); empty once a decision consumes them",
    )


class DoseDecision(_Model):
    cycle: int
    decision: Literal[
        "start",
        "delay",
        "discontinue_drug",
        "discontinue_treatment",
        "investigator_decision_required",
    ]
    doses_mg: dict[str, Number | None] = Field(
        description="dose given in this cycle; null = not given (discontinued, held or delayed)"
    )
    planned_doses_mg: dict[str, Number | None] = Field(
        description="the doses the cycle starts with once the start criteria are met"
    )
    changes: list[DoseChange]
    reasons: list[Reason]
    dosing_days: dict[str, list[int]] = Field(
        default_factory=dict, description="days of the cycle each given drug is taken"
    )
    cycle_start_criteria: list[CriterionCheck]
    recheck_in_days: int | None = None
    investigator_review_required: bool = False
    proposals: list[Proposal] = Field(default_factory=list)
    next_alternating_reduction: dict[str, str] = Field(default_factory=dict)
    carry_forward: CarryForward
    protocol_version: str


class DayFacts(_Model):
    """A day within a cycle (day 8, day 15, ...): that day's counts and ongoing toxicities."""

    cycle: Annotated[int, Field(ge=1)]
    day: Annotated[int, Field(ge=2)]
    doses_mg: dict[str, Dose | None] = Field(
        description="the doses of this cycle (null = not given this cycle)"
    )
    anc_per_mm3: Count | None = None
    platelets_per_mm3: Count | None = None
    toxicities: list[ToxicityEvent] = Field(default_factory=list)
    baseline_grades: dict[str, Grade] = Field(default_factory=dict)
    alternation: AlternationState = Field(
        default_factory=AlternationState,
        description="the counts carried from the cycle start (decides first vs recurrence rows)",
    )
    every_days: dict[str, Annotated[int, Field(ge=1)]] = Field(
        default_factory=dict, description="the cycle decision's every-n-th-day dosing (default 1)"
    )

    def lab_value(self, variable: str) -> int | None:
        return getattr(self, variable, None) if variable in _LAB_FIELDS else None


class DayDrug(_Model):
    action: Literal["give", "hold", "not_scheduled", "not_given_this_cycle"]
    dose_mg: Number | None


class DayDecision(_Model):
    cycle: int
    day: int
    drugs: dict[str, DayDrug]
    doses_mg: dict[str, Number | None] = Field(description="dose to give today; null = none")
    triggered_rules: list[str]
    reasons: list[Reason]
    held_doses_made_up: bool
    protocol_version: str
