"""The study protocol as data: the pydantic schema of `protocols/*.yaml`.

Every number a clinical rule uses lives in a protocol file and is read through these models.
Structural problems (wrong type, missing or unknown key) are reported by pydantic; rules that
span fields (days inside the cycle, strictly decreasing dose levels, known drugs, ...) are checked
by `_check_consistency`, which reports every problem with its field path.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, model_validator


def _json_number(value: Decimal) -> int | float:
    """Decimals keep exact values in Python and appear as plain JSON numbers."""
    return int(value) if value == value.to_integral_value() else float(value)


# Numbers are Decimals so that thresholds compare exactly as written in the file.
Number = Annotated[Decimal, PlainSerializer(_json_number, when_used="json")]
Operator = Literal["<", "<=", ">", ">=", "==", "!="]
Source = Annotated[str, Field(min_length=1)]


class Strict(BaseModel):
    """Base for every protocol model: unknown keys are errors, models are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- identification -----------------------------------------------------------------------------


class Identification(Strict):
    study_id: str
    title: str
    short_title: str
    phase: str
    design: str
    population: str
    version: str
    effective_date: dt.date
    sponsor: str
    source: Source
    acronym: str | None = Field(
        None, description="The name people call the study by (report titles); study_id if absent"
    )
    subtitle: str | None = Field(
        None, description="One line under the report title; title if absent"
    )
    subtitle_ja: str | None = None
    title_ja: str | None = Field(None, description="The title in Japanese (pages in Japanese)")

    def display_title(self, lang: str) -> str:
        return self.title_ja if lang == "ja" and self.title_ja else self.title

    def display_name(self) -> str:
        return self.acronym or self.study_id

    def display_subtitle(self, lang: str) -> str:
        if lang == "ja" and self.subtitle_ja:
            return self.subtitle_ja
        return self.subtitle or self.title


# --- drugs and regimen --------------------------------------------------------------------------


class Drug(Strict):
    name: str
    name_ja: str
    route: Literal["oral", "intravenous", "subcutaneous"]
    unit: Literal["mg"]
    label: str = Field(description="Short name of the label or document the drug's rules come from")


class RegimenEntry(Strict):
    dose: Number = Field(gt=0)
    unit: Literal["mg"]
    route: Literal["oral", "intravenous", "subcutaneous"]
    days: list[int] = Field(min_length=1)
    frequency: str
    source: Source


class DoseLadder(Strict):
    """A drug's dose levels, starting dose first, each one step lower than the one before."""

    levels: list[Number] = Field(min_length=1)
    below_lowest: Literal["discontinue"]
    source: Source


# --- renal function -------------------------------------------------------------------------------


class InputRange(Strict):
    """A plausibility range for an input value; outside it the value is rejected as impossible."""

    minimum: Number
    maximum: Number
    minimum_inclusive: bool = True
    maximum_inclusive: bool = True


class CockcroftGault(Strict):
    """CrCl (mL/min) = (age_from - age) x weight_kg / (divisor x creatinine_mg_dl) [x female_factor]."""

    age_from: Number
    divisor: Number
    female_factor: Number = Field(gt=0, le=1)
    body_weight: Literal["actual"]
    creatinine_umol_l_per_mg_dl: Number = Field(gt=0)
    source: Source

    # The inputs' plausible ranges are value_ranges.variables[age_years|weight_kg|creatinine_mg_dl].
    INPUTS: ClassVar[tuple[str, ...]] = ("age_years", "weight_kg", "creatinine_mg_dl")


class RenalStart(Strict):
    drug: str
    crcl_below_ml_min: Number = Field(gt=0)
    dose: Number = Field(gt=0)
    source: Source


class Tolerance(Strict):
    """What "tolerating treatment" means for the renal escalation rule."""

    related_grade_below: int = Field(ge=1, le=5)
    no_hold_or_reduction_in_last_cycles: int = Field(ge=0)
    source: Source


class RenalEscalation(Strict):
    id: str
    drug: str
    from_doses: list[Number] = Field(min_length=1)
    to_dose: Number = Field(gt=0)
    after_cycles_at_dose: int = Field(ge=0)
    requires_not_responding: bool
    requires_tolerating: bool
    crcl_at_least_ml_min: Number | None = None
    text: str
    text_ja: str | None = Field(None, description="`text` in Japanese (pages in Japanese)")
    source: Source


class RenalBandDose(Strict):
    """The label's dose of one drug for a CrCl band: `dose` mg on every `every_days`-th of the
    drug's regimen days (2 = every 48 hours for a daily drug)."""

    dose: Number = Field(gt=0)
    every_days: int = Field(default=1, ge=1)
    text: str


class RenalBand(Strict):
    """CrCl below `crcl_below_ml_min` during treatment: the labels' doses, proposed to the
    investigator when a drug's dose (mg per day) is above them (shared/protocol.md section 4)."""

    id: str
    crcl_below_ml_min: Number = Field(gt=0)
    doses: dict[str, RenalBandDose] = Field(min_length=1)
    blocks_escalation: bool
    text: str
    text_ja: str | None = Field(None, description="`text` in Japanese (pages in Japanese)")
    source: Source


class Renal(Strict):
    formula: CockcroftGault
    start: RenalStart
    not_responding_below: Literal["sCR", "CR", "VGPR", "PR", "MR", "SD"]
    tolerating: Tolerance
    escalations: list[RenalEscalation]
    bands: list[RenalBand] = Field(default_factory=list)
    lab_window_days: int = Field(ge=0)


# --- conditions, cycle start, dose modification ------------------------------------------------------


class LabCondition(Strict):
    """A comparison of one named lab variable against a threshold in a stated unit."""

    variable: str
    operator: Operator
    threshold: Number
    unit: str


class CycleStartCriterion(Strict):
    id: str
    text: str
    text_ja: str | None = None
    lab: LabCondition | None = None
    nonhematologic_grade_at_most: int | None = Field(default=None, ge=0, le=5)
    or_baseline: bool = False
    source: Source


class CycleStart(Strict):
    criteria: list[CycleStartCriterion] = Field(min_length=1)
    recheck_interval_days: int = Field(gt=0)
    source: Source


class ToxicityTrigger(Strict):
    """One way a dose-modification rule fires: a lab comparison or a graded toxicity."""

    lab: LabCondition | None = None
    toxicity: str | None = None
    grades: list[int] | None = None
    with_pain: bool | None = None
    nonhematologic: bool | None = None
    attributed_to: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ToxicityTrigger:
        if self.lab is None and self.toxicity is None and self.grades is None:
            raise ValueError("a trigger needs a lab condition, a toxicity or grades")
        return self


class Resumption(Strict):
    """How dosing resumes once the resume condition holds.

    `same`: resume the held drugs at their most recent doses; `reduce`: the listed drugs one level
    down; `reduce_attributed`: every drug the toxicity is attributed to one level down;
    `alternate`: one level down for the drug whose turn it is in the alternation sequence;
    `discontinue_regimen`: stop all study drugs.
    """

    kind: Literal["same", "reduce", "reduce_attributed", "alternate", "discontinue_regimen"]
    drugs: list[str] = Field(default_factory=list)


class DoseModificationRule(Strict):
    id: str
    toxicity_group: str
    text: str
    text_ja: str | None = Field(None, description="`text` in Japanese (pages in Japanese)")
    any_of: list[ToxicityTrigger] = Field(min_length=1)
    occurrence: Literal["any", "first", "recurrence"] = "any"
    hold: list[str]
    hold_attributed: bool = False
    resume_when: str
    resume_when_ja: str | None = Field(
        None, description="`resume_when` in Japanese (pages in Japanese)"
    )
    resume_lab: LabCondition | None = None
    resume_grade_at_most: int | None = Field(default=None, ge=0, le=5)
    resume_without_pain: bool = Field(
        default=False, description="Resumption also needs the toxicity to be free of pain"
    )
    excludes_named_toxicities: bool = Field(
        default=False,
        description="'Other' toxicities: does not apply to a toxicity another rule names",
    )
    resumption: Resumption
    source: Source


class Alternation(Strict):
    """The alternating reduction for overlapping toxicities (ixazomib with lenalidomide)."""

    toxicity_groups: list[str] = Field(min_length=1)
    sequence: list[str] = Field(min_length=2)
    scope: Literal["shared", "per_toxicity"]
    text: str
    source: Source


class Cytopenia(Strict):
    """A count the modification rules read, and the CTCAE v5.0 term of its decrease."""

    ctcae_term: str
    aliases: list[str] = Field(default_factory=list)


class DoseModification(Strict):
    alternation: Alternation
    rules: list[DoseModificationRule] = Field(min_length=1)
    toxicity_terms: dict[str, list[str]] = Field(
        default_factory=dict,
        description="CTCAE v5.0 terms (lower case, underscores) behind each toxicity a rule names",
    )
    cytopenias: dict[str, Cytopenia] = Field(
        default_factory=dict, description="lab variable -> its CTCAE term (platelets, ANC)"
    )
    terms_source: Source
    within_cycle_hold_days: dict[str, list[int]]
    held_doses_made_up: bool
    discontinued_drug_ends_treatment: bool
    levels_down_per_drug_per_decision: int = Field(ge=1)
    source: Source


# --- visits, assessments, follow-up, closure ------------------------------------------------------


class CycleRange(Strict):
    first: int = Field(ge=1)
    last: int | None = Field(default=None, ge=1)

    def contains(self, cycle: int) -> bool:
        return cycle >= self.first and (self.last is None or cycle <= self.last)


class TreatmentVisits(Strict):
    cycles: CycleRange
    days: list[int] = Field(min_length=1)
    source: Source


class VisitWindow(Strict):
    cycles: CycleRange
    days: list[int] = Field(min_length=1)
    before_days: int
    after_days: int
    source: Source


class EndOfTreatmentVisit(Strict):
    days_after_end_of_treatment: int
    before_days: int
    after_days: int
    source: Source


class Visits(Strict):
    treatment: list[TreatmentVisits] = Field(min_length=1)
    windows: list[VisitWindow] = Field(min_length=1)
    end_of_treatment: EndOfTreatmentVisit


class DueWindow(Strict):
    """Days before and after a planned date within which a contact or assessment counts as
    on time (the worklist shows it; without one, the planned day itself)."""

    before_days: int = Field(ge=0)
    after_days: int = Field(ge=0)
    source: Source


class ResponseAssessment(Strict):
    criteria: Literal["IMWG 2016"]
    interval_days: int = Field(gt=0)
    until: Literal["progression"]
    central_lab_analytes: list[str]
    source: Source
    window: DueWindow | None = None


class FollowUp(Strict):
    interval_days: int = Field(gt=0)
    starts_after: Literal["progression"]
    until: str
    listed_without_end: int = Field(gt=0)
    source: Source
    window: DueWindow | None = None


class StudyClosure(Strict):
    months_after_last_enrollment: int = Field(gt=0)
    source: Source


# --- central monitoring and the enrollment forecast (issue 15, items 4 and 5) --------------------


class KriThreshold(Strict):
    """A key risk indicator's flags: a site is amber when its funnel-plot z-score passes
    `z_amber`, red past `z_red` (the high side; the low side too when `two_sided`)."""

    z_amber: float = Field(gt=0)
    z_red: float = Field(gt=0)
    two_sided: bool = False
    basis: Source


class CentralMonitoring(Strict):
    """Site-level key risk indicators (ICH E6(R3) risk-based quality management; the gsm
    KRI metric set). Thresholds keyed by metric id (`analysis.kri.METRICS`); a metric left out
    is computed and shown but never flagged."""

    thresholds: dict[str, KriThreshold]
    query_open_days: int = Field(gt=0)
    entry_lag_days: int = Field(gt=0)
    lab_grade_at_least: int = Field(ge=1, le=5)
    ae_grade_at_least: int = Field(default=1, ge=1, le=5)
    source: Source


class EnrollmentPlan(Strict):
    """The planned sample size, which the enrollment forecast counts down to."""

    planned_participants: int = Field(gt=0)
    source: Source


class ReferenceLimits(Strict):
    """A laboratory's limits of normal for one analyte, in the analyte's stored unit."""

    unit: str
    lln: float | None = Field(default=None, gt=0)
    uln: float | None = Field(default=None, gt=0)


class Safety(Strict):
    """Expedited safety reporting: the SAE reporting clock (ICH E2A; ICH E6(R3)), and the
    limits of normal the lab-based adverse event suggestions grade against (CTCAE v5.0)."""

    sae_report_hours: int = Field(gt=0)
    source: Source
    lab_reference_limits: dict[str, ReferenceLimits] = Field(default_factory=dict)
    lab_reference_limits_source: str = ""


# --- eligibility ---------------------------------------------------------------------------------


class Condition(Strict):
    """`variable operator threshold`: when a sub-question applies."""

    variable: str
    operator: Operator
    threshold: bool | Number | str


class EligibilityCheck(Strict):
    """A checkable comparison: `variable operator threshold` (optionally `x upper limit of normal`)."""

    variable: str
    operator: Operator
    threshold: bool | Number | str
    unit: str | None = None
    times_uln_variable: str | None = None
    applies_when: Condition | None = Field(
        default=None,
        description="a sub-question asked only when this holds; otherwise the check is met",
    )


class EligibilityCriterion(Strict):
    id: str
    kind: Literal["inclusion", "exclusion"]
    text: str
    text_ja: str
    check: EligibilityCheck | None = None
    any_of: list[EligibilityCheck] | None = None
    all_of: list[EligibilityCheck] | None = None
    source: Source

    @property
    def free_text(self) -> bool:
        """True when only the investigator's answer can decide the criterion."""
        return self.check is None and self.any_of is None and self.all_of is None


# --- endpoints -----------------------------------------------------------------------------------


class ValueRange(Strict):
    """What a value of one variable may be: hard limits (refused outside), soft limits (saved,
    flagged and queried outside), whole numbers only for an integer scale."""

    label: str
    label_ja: str
    unit: str
    integer: bool = False
    hard: InputRange
    soft: InputRange | None = None


class ValueRanges(Strict):
    variables: dict[str, ValueRange] = Field(min_length=1)
    source: Source


# --- arms, blinding, randomization (schema version 2) --------------------------------------------


class Product(Strict):
    """What a capsule holds: the active drug or its matching placebo."""

    name: str
    name_ja: str
    active: bool
    source: Source


class Arm(Strict):
    """A treatment arm: the product each blinded drug of the regimen holds in it."""

    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")
    name: str
    name_ja: str
    fills: dict[str, str] = Field(
        default_factory=dict, description="blinded drug (a `drugs` key) -> product id"
    )
    source: Source


class EmergencyUnblinding(Strict):
    role: Literal["investigator"]
    reason_required: bool
    notify: list[str] = Field(min_length=1, description="who is told: e.g. sponsor")
    source: Source


class Blinding(Strict):
    level: Literal["open_label", "double_blind"]
    blinded_drugs: list[str] = Field(
        default_factory=list, description="regimen drugs whose product the arm decides"
    )
    unblinded_roles: list[str] = Field(
        default_factory=list, description="roles that see the arm before the study is unblinded"
    )
    emergency_unblinding: EmergencyUnblinding | None = None
    source: Source


class ScreeningField(Strict):
    """A value collected at screening that no eligibility criterion reads (a stratum's)."""

    label: str
    label_ja: str
    kind: Literal["boolean", "integer"]
    source: Source


class StratumLevel(Strict):
    id: str
    name: str
    when: Condition


class Stratum(Strict):
    id: str
    name: str
    variable: str = Field(description="the screening value the level is read from")
    levels: list[StratumLevel] = Field(min_length=2)
    source: Source


class Randomization(Strict):
    method: Literal["stratified_permuted_blocks", "minimisation"]
    ratio: str = Field(description="allocation ratio over the arms in file order, e.g. 1:1")
    block_multiples: list[int] | None = Field(
        default=None,
        min_length=1,
        description="stratified_permuted_blocks: block sizes as multiples of the ratio's sum, "
        "chosen at random per block (concealed: varied sizes keep the next allocation "
        "unguessable)",
    )
    probability_best: Decimal | None = Field(
        default=None,
        description="minimisation: the probability of the arm that minimises the imbalance "
        "(Pocock and Simon 1975; 1 is Taves' deterministic minimisation)",
    )
    strata: list[Stratum] = Field(default_factory=list)
    source: Source

    def weights(self) -> list[int]:
        """The ratio as integers, in the order of the arms ("1:1" -> [1, 1])."""
        return [int(part) for part in self.ratio.split(":")]


class Population(Strict):
    id: str
    name: str
    definition: str
    source: Source


class Endpoint(Strict):
    id: str
    kind: Literal["primary", "secondary"]
    name: str
    definition: str
    population: str
    method: str
    source: Source


class ReferenceResult(Strict):
    """A published result the analysis must reproduce from the same data."""

    endpoint: str
    value: str
    source: Source


# --- the whole protocol ----------------------------------------------------------------------------


class DeviationRule(Strict):
    """How a deviation found by one rule is classed: its category and whether it is important
    (ICH E3 section 10.2; ICH E6(R3) glossary, "important protocol deviation")."""

    category: str = Field(min_length=1)
    important: bool
    source: Source


class Deviations(Strict):
    """Protocol deviations detected by rule (`clinical.deviations`): each rule's class, and the
    laboratory tests required before each cycle start (within `renal.lab_window_days`)."""

    rules: dict[str, DeviationRule] = Field(default_factory=dict)
    required_labs: list[str] = Field(default_factory=list)
    source: Source


class DispensingUnit(Strict):
    """How one drug is dispensed: the unit counted (capsule or tablet) and its strengths."""

    unit: Literal["capsule", "tablet"]
    strengths_mg: list[Number] = Field(min_length=1)
    source: Source


class Accountability(Strict):
    """Drug accountability (ICH E6(R3) investigational product): the units counted per drug
    and how far the count may differ from the diary before a query is opened."""

    units: dict[str, DispensingUnit] = Field(min_length=1, description="drug -> its unit")
    mismatch_tolerance_units: Number = Field(default=Decimal(0), ge=0)
    source: Source


class Protocol(Strict):
    schema_version: Literal[1, 2]
    identification: Identification
    cycle_length_days: int = Field(gt=0)
    drugs: dict[str, Drug] = Field(min_length=1)
    regimen: dict[str, RegimenEntry] = Field(min_length=1)
    dose_levels: dict[str, DoseLadder]
    renal: Renal
    cycle_start: CycleStart
    dose_modification: DoseModification
    visits: Visits
    response_assessment: ResponseAssessment
    follow_up: FollowUp
    study_closure: StudyClosure
    eligibility: list[EligibilityCriterion] = Field(min_length=1)
    value_ranges: ValueRanges
    screening_fields: dict[str, ScreeningField] = Field(default_factory=dict)
    products: dict[str, Product] = Field(default_factory=dict)
    arms: list[Arm] = Field(default_factory=list)
    blinding: Blinding | None = None
    randomization: Randomization | None = None
    populations: list[Population]
    endpoints: list[Endpoint] = Field(min_length=1)
    reference_results: list[ReferenceResult] = Field(default_factory=list)
    deviations: Deviations | None = None
    accountability: Accountability | None = None
    central_monitoring: CentralMonitoring | None = None
    enrollment: EnrollmentPlan | None = None
    safety: Safety | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Protocol:
        problems = _check_consistency(self)
        if problems:
            raise ValueError(PROBLEM_SEPARATOR.join(f"{path}: {msg}" for path, msg in problems))
        return self

    # Small lookups the clinical rules use; they carry no numbers of their own.

    @property
    def randomized(self) -> bool:
        return self.randomization is not None

    @property
    def double_blind(self) -> bool:
        return self.blinding is not None and self.blinding.level == "double_blind"

    def arm(self, arm_id: str) -> Arm:
        return next(a for a in self.arms if a.id == arm_id)

    def starting_dose(self, drug: str) -> Number:
        return self.regimen[drug].dose

    def levels(self, drug: str) -> list[Number]:
        return list(self.dose_levels[drug].levels)

    def treatment_visit_days(self, cycle: int) -> list[int]:
        for plan in self.visits.treatment:
            if plan.cycles.contains(cycle):
                return list(plan.days)
        return []

    def visit_window(self, cycle: int, day: int) -> VisitWindow | None:
        for window in self.visits.windows:
            if window.cycles.contains(cycle) and day in window.days:
                return window
        return None


PROBLEM_SEPARATOR = "\n"


def _check_arms(p: Protocol) -> list[tuple[str, str]]:
    """Arms, blinding and randomization of a version 2 file, with their field paths."""
    problems: list[tuple[str, str]] = []
    ids = [a.id for a in p.arms]
    blinded = list(p.blinding.blinded_drugs) if p.blinding else []
    for i, drug in enumerate(blinded):
        if drug not in p.drugs:
            problems.append((f"blinding.blinded_drugs[{i}]", f"unknown drug '{drug}'"))
    for i, arm in enumerate(p.arms):
        if ids.count(arm.id) > 1:
            problems.append((f"arms[{i}].id", f"'{arm.id}' is used more than once"))
        for drug, product in arm.fills.items():
            if drug not in blinded:
                problems.append((f"arms[{i}].fills.{drug}", "not a blinded drug of blinding"))
            if product not in p.products:
                problems.append(
                    (f"arms[{i}].fills.{drug}", f"unknown product '{product}' (see products)")
                )
        for drug in blinded:
            if drug not in arm.fills:
                problems.append((f"arms[{i}].fills", f"missing: what '{drug}' holds in this arm"))
    if p.blinding and p.blinding.level == "double_blind" and not blinded:
        problems.append(("blinding.blinded_drugs", "a double-blind study blinds at least one drug"))
    r = p.randomization
    if r is not None:
        if len(p.arms) < 2:
            problems.append(("randomization", "randomization needs at least two arms"))
        try:
            weights = r.weights()
        except ValueError:
            problems.append(("randomization.ratio", f"'{r.ratio}' is not a ratio such as 1:1"))
        else:
            if len(weights) != len(p.arms) or any(w < 1 for w in weights):
                problems.append(
                    (
                        "randomization.ratio",
                        f"'{r.ratio}' needs one positive whole number per arm ({len(p.arms)})",
                    )
                )
        if r.method == "stratified_permuted_blocks" and not r.block_multiples:
            problems.append(("randomization.block_multiples", "permuted blocks need block sizes"))
        for i, multiple in enumerate(r.block_multiples or []):
            if multiple < 1:
                problems.append((f"randomization.block_multiples[{i}]", f"{multiple} is not >= 1"))
        if r.method == "minimisation":
            p_best = r.probability_best
            if p_best is None:
                problems.append(
                    (
                        "randomization.probability_best",
                        "minimisation needs the probability of the best arm (e.g. 0.8)",
                    )
                )
            elif not Decimal(1) / len(p.arms) < p_best <= 1:
                problems.append(
                    (
                        "randomization.probability_best",
                        f"{p_best} is not above 1/{len(p.arms)} (chance) and at most 1",
                    )
                )
            if not r.strata:
                problems.append(("randomization.strata", "minimisation needs at least one factor"))
        known = _screening_variables(p)
        for i, stratum in enumerate(r.strata):
            if stratum.variable not in known:
                problems.append(
                    (
                        f"randomization.strata[{i}].variable",
                        f"unknown field '{stratum.variable}' (a screening value: "
                        f"{', '.join(sorted(known))})",
                    )
                )
    return problems


def _screening_variables(p: Protocol) -> set[str]:
    found = set(p.value_ranges.variables) | set(p.screening_fields)
    for criterion in p.eligibility:
        for check in [criterion.check, *(criterion.any_of or []), *(criterion.all_of or [])]:
            if check is not None:
                found.add(check.variable)
    return found


def _check_consistency(p: Protocol) -> list[tuple[str, str]]:
    """Rules that span fields. Returns (field path, problem) pairs, in file order."""
    problems: list[tuple[str, str]] = []
    cycle = p.cycle_length_days
    drugs = set(p.drugs)

    def day_ok(path: str, day: int) -> None:
        if not 1 <= day <= cycle:
            problems.append((path, f"{day} is outside a {cycle}-day cycle"))

    def known(path: str, drug: str) -> None:
        if drug not in drugs:
            problems.append((path, f"unknown drug '{drug}' (known: {', '.join(sorted(drugs))})"))

    if p.accountability is not None:
        for drug in p.accountability.units:
            known(f"accountability.units.{drug}", drug)
    for drug, entry in p.regimen.items():
        known(f"regimen.{drug}", drug)
        for i, day in enumerate(entry.days):
            day_ok(f"regimen.{drug}.days[{i}]", day)
        if len(set(entry.days)) != len(entry.days) or entry.days != sorted(entry.days):
            problems.append((f"regimen.{drug}.days", "days must be listed once each, ascending"))
        if drug in p.dose_levels and entry.dose != p.dose_levels[drug].levels[0]:
            problems.append(
                (f"regimen.{drug}.dose", f"{entry.dose} is not the first dose level of {drug}")
            )
    for drug in p.drugs:
        if drug not in p.regimen:
            problems.append((f"regimen.{drug}", "missing: every drug needs a regimen entry"))
        if drug not in p.dose_levels:
            problems.append((f"dose_levels.{drug}", "missing: every drug needs dose levels"))

    for drug, ladder in p.dose_levels.items():
        known(f"dose_levels.{drug}", drug)
        for i in range(1, len(ladder.levels)):
            if ladder.levels[i] >= ladder.levels[i - 1]:
                problems.append(
                    (
                        f"dose_levels.{drug}.levels[{i}]",
                        f"{ladder.levels[i]} is not below the level before it "
                        f"({ladder.levels[i - 1]}): levels must be strictly decreasing",
                    )
                )
        for i, level in enumerate(ladder.levels):
            if level <= 0:
                problems.append((f"dose_levels.{drug}.levels[{i}]", f"{level} must be above 0"))

    renal = p.renal
    known("renal.start.drug", renal.start.drug)
    if (
        renal.start.drug in p.dose_levels
        and renal.start.dose not in p.dose_levels[renal.start.drug].levels
    ):
        problems.append(("renal.start.dose", f"{renal.start.dose} is not a dose level"))
    for i, esc in enumerate(renal.escalations):
        known(f"renal.escalations[{i}].drug", esc.drug)
        if esc.drug in p.dose_levels:
            for dose in [*esc.from_doses, esc.to_dose]:
                if dose not in p.dose_levels[esc.drug].levels:
                    problems.append((f"renal.escalations[{i}]", f"{dose} is not a dose level"))
    band_ids = [band.id for band in renal.bands]
    for i, band in enumerate(renal.bands):
        if band_ids.count(band.id) > 1:
            problems.append((f"renal.bands[{i}].id", f"'{band.id}' is used more than once"))
        for drug, entry in band.doses.items():
            known(f"renal.bands[{i}].doses.{drug}", drug)
            if drug in p.dose_levels and entry.dose not in p.dose_levels[drug].levels:
                problems.append(
                    (f"renal.bands[{i}].doses.{drug}.dose", f"{entry.dose} is not a dose level")
                )
    for name in CockcroftGault.INPUTS:
        if name not in p.value_ranges.variables:
            problems.append(
                (f"value_ranges.variables.{name}", "missing: the Cockcroft-Gault formula needs it")
            )
    for name, rng in p.value_ranges.variables.items():
        for kind in ("hard", "soft"):
            limits = getattr(rng, kind)
            if limits is not None and limits.minimum >= limits.maximum:
                problems.append(
                    (f"value_ranges.variables.{name}.{kind}", "minimum must be below maximum")
                )

    mod = p.dose_modification
    for i, drug in enumerate(mod.alternation.sequence):
        known(f"dose_modification.alternation.sequence[{i}]", drug)
    groups = {rule.toxicity_group for rule in mod.rules}
    for i, group in enumerate(mod.alternation.toxicity_groups):
        if group not in groups:
            problems.append(
                (
                    f"dose_modification.alternation.toxicity_groups[{i}]",
                    f"no rule has group '{group}'",
                )
            )
    for i, rule in enumerate(mod.rules):
        base = f"dose_modification.rules[{i}]"
        if rule.occurrence != "any" and rule.toxicity_group not in mod.alternation.toxicity_groups:
            problems.append(
                (
                    f"{base}.occurrence",
                    "first/recurrence is counted by the alternation: "
                    f"add '{rule.toxicity_group}' to alternation.toxicity_groups",
                )
            )
        if (
            rule.resumption.kind == "alternate"
            and rule.toxicity_group not in mod.alternation.toxicity_groups
        ):
            problems.append(
                (
                    f"{base}.resumption.kind",
                    "'alternate' needs the rule's group in alternation.toxicity_groups "
                    f"('{rule.toxicity_group}' is not)",
                )
            )
        for j, drug in enumerate(rule.hold):
            known(f"{base}.hold[{j}]", drug)
        for j, drug in enumerate(rule.resumption.drugs):
            known(f"{base}.resumption.drugs[{j}]", drug)
        for j, trig in enumerate(rule.any_of):
            if trig.attributed_to is not None:
                known(f"{base}.any_of[{j}].attributed_to", trig.attributed_to)
            for k, grade in enumerate(trig.grades or []):
                if not 1 <= grade <= 5:
                    problems.append(
                        (f"{base}.any_of[{j}].grades[{k}]", f"{grade} is not a CTCAE grade")
                    )
    named = {t.toxicity for r in mod.rules for t in r.any_of if t.toxicity is not None}
    for toxicity in mod.toxicity_terms:
        if toxicity not in named:
            problems.append(
                (f"dose_modification.toxicity_terms.{toxicity}", "no rule names this toxicity")
            )
    rule_labs = {t.lab.variable for r in mod.rules for t in r.any_of if t.lab is not None}
    for variable in mod.cytopenias:
        if variable not in rule_labs:
            problems.append(
                (f"dose_modification.cytopenias.{variable}", "no rule compares this count")
            )
    for drug, days in mod.within_cycle_hold_days.items():
        known(f"dose_modification.within_cycle_hold_days.{drug}", drug)
        for i, day in enumerate(days):
            day_ok(f"dose_modification.within_cycle_hold_days.{drug}[{i}]", day)

    for i, plan in enumerate(p.visits.treatment):
        for j, day in enumerate(plan.days):
            day_ok(f"visits.treatment[{i}].days[{j}]", day)
        if plan.cycles.last is not None and plan.cycles.last < plan.cycles.first:
            problems.append((f"visits.treatment[{i}].cycles", "last cycle is before the first"))
    for i, window in enumerate(p.visits.windows):
        for j, day in enumerate(window.days):
            day_ok(f"visits.windows[{i}].days[{j}]", day)
        for side in ("before_days", "after_days"):
            value = getattr(window, side)
            if value < 0:
                problems.append((f"visits.windows[{i}].{side}", f"{value} is negative"))
    eot = p.visits.end_of_treatment
    for side in ("days_after_end_of_treatment", "before_days", "after_days"):
        value = getattr(eot, side)
        if value < 0:
            problems.append((f"visits.end_of_treatment.{side}", f"{value} is negative"))

    ids = [c.id for c in p.eligibility]
    for i, crit in enumerate(p.eligibility):
        if ids.count(crit.id) > 1:
            problems.append((f"eligibility[{i}].id", f"'{crit.id}' is used more than once"))
        shapes = [x is not None for x in (crit.check, crit.any_of, crit.all_of)]
        if sum(shapes) > 1:
            problems.append((f"eligibility[{i}]", "give at most one of check, any_of, all_of"))

    if p.schema_version == 1:
        for name in ("arms", "products", "blinding", "randomization", "screening_fields"):
            if getattr(p, name):
                problems.append((name, "needs schema_version 2 (arms, blinding, randomization)"))
    problems.extend(_check_arms(p))

    population_ids = {pop.id for pop in p.populations}
    for i, endpoint in enumerate(p.endpoints):
        if endpoint.population not in population_ids:
            problems.append(
                (f"endpoints[{i}].population", f"unknown population '{endpoint.population}'")
            )
    return problems
