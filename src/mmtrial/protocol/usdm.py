"""The protocol file as CDISC USDM v4 (Unified Study Definitions Model), built with `usdm4`.

Everything comes from the protocol file: the study's identity and phase, the single IRd arm,
the epochs (screening, open-label treatment, follow-up for progression, survival follow-up),
the encounters (each treatment visit of the visit plan, end of treatment, the follow-up
contacts), the activities (dosing of each drug on its days, laboratory tests, response
assessment, adverse events, survival contact), the schedule of activities (a main timeline of
scheduled activity instances with their timings from C1D1), the eligibility criteria, the
objectives and endpoints, the analysis populations and the study interventions.

Codes are CDISC Controlled Terminology from the library `usdm4` ships (looked up by term, so a
term missing from the library is an error, not a made-up code). `usdm_validate` runs usdm4's own
rules (its DDF rule library). A CORE conformance step, where usdm4 offers one, needs the network
to fetch the CDISC rules and cannot be run here: it is not run and not counted.

This module imports nothing of mmtrial but the protocol models (import-linter contract).
"""

from __future__ import annotations

import itertools
import json
import os
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from mmtrial.protocol.models import Protocol

#: ISO 8601 day durations for timings.
_DAY = "P{n}D"


class UsdmError(Exception):
    """The USDM document could not be built (a term the CT library lacks, an invalid object)."""


@dataclass
class UsdmValidation:
    """usdm4's rules on a USDM file: the rules by outcome, and each failure with its rule id."""

    passed: list[str] = field(default_factory=list)
    not_implemented: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    #: one row per problem found: rule_id, message, rule_text, klass, attribute, path
    failures: list[dict[str, Any]] = field(default_factory=list)

    @property
    def checked(self) -> int:
        return len(self.passed) + len(self.failed) + len(self.exceptions)

    def unexplained(self) -> list[dict[str, Any]]:
        """Failures other than the known ones of `KNOWN_FINDINGS`."""
        return [f for f in self.failures if not _known(f)]


#: Findings of usdm4's rules that are the rule library's, not the document's, with the reason.
KNOWN_FINDINGS = {
    "DDF00155": (
        "usdm4 0.19's rule DDF00155 accepts CDISC CT releases up to 2025-03-28 only, while the "
        "CT library usdm4 itself ships and codes every term from is the 2025-09-26 release; "
        "every CDISC code of the document is reported"
    ),
}


def _known(failure: dict[str, Any]) -> bool:
    return failure.get("rule_id") == "DDF00155" and failure.get("message") == (
        "Invalid codeSystemVersion"
    )


def _num(value: Decimal) -> float:
    return float(value)


class _Study:
    def __init__(self, protocol: Protocol) -> None:
        from simple_error_log.errors import Errors
        from usdm4 import USDM4

        self.p = protocol
        self.errors = Errors()
        self.b = USDM4().builder(self.errors)

    # --- helpers -----------------------------------------------------------------------------

    def make(self, klass: str, **params):
        from usdm4 import api

        obj = self.b.create(getattr(api, klass), params)
        if obj is None:
            raise UsdmError(f"cannot build {klass}: {self._last_error()}")
        return obj

    def _last_error(self) -> str:
        items = self.errors.to_dict() if hasattr(self.errors, "to_dict") else []
        return str(items[-1]) if items else "unknown reason"

    def term(self, klass: str, attribute: str, value: str):
        code = self.b.klass_and_attribute_value(klass, attribute, value)
        if code is None:
            raise UsdmError(f"CDISC CT has no term {value!r} for {klass}.{attribute}")
        return code

    def code(self, concept: str, decode: str):
        code = self.b.cdisc_code(concept, decode)
        if code is None:
            raise UsdmError(f"CDISC CT has no code {concept} ({decode})")
        return code

    def unit(self, unit: str):
        code = self.b.cdisc_unit_code(unit)
        return self.b.alias_code(code) if code is not None else None

    # --- the study -----------------------------------------------------------------------------

    def build(self) -> dict[str, Any]:
        ident = self.p.identification
        wrapper = self.b.minimum(ident.title, ident.study_id, ident.version)
        version = wrapper.study.versions[0]
        wrapper.study.name = ident.study_id
        wrapper.study.label = ident.short_title
        version.versionIdentifier = ident.version
        version.rationale = f"{ident.design}; {ident.population}"
        sponsor = version.organizations[0]
        sponsor.name = sponsor.label = ident.sponsor
        sponsor.identifier = ident.sponsor
        sponsor.identifierScheme = "Sponsor name"
        sponsor.type = self.term("Organization", "type", "Pharmaceutical Company")
        version.titles.append(
            self.make(
                "StudyTitle",
                text=ident.short_title,
                type=self.term("StudyTitle", "type", "Brief Study Title"),
            )
        )
        version.studyInterventions = self.interventions()
        criteria, items = self.eligibility()
        version.eligibilityCriterionItems = items
        ids = [i.id for i in version.studyInterventions]
        version.studyDesigns = [self.design(criteria, ids)]
        return json.loads(wrapper.to_json())

    def interventions(self) -> list[Any]:
        out = []
        for key, drug in self.p.drugs.items():
            entry = self.p.regimen[key]
            days = ", ".join(str(d) for d in entry.days)
            administration = self.make(
                "Administration",
                name=f"{key}_administration",
                label=f"{drug.name} {entry.dose.normalize():f} {entry.unit}",
                description=f"{entry.frequency}, days {days} of each {self.p.cycle_length_days}-day cycle",
                duration=self.make(
                    "Duration",
                    text="until progressive disease or unacceptable toxicity",
                    durationWillVary=True,
                    reasonDurationWillVary="treatment continues until progression or toxicity",
                ),
                dose=self.make("Quantity", value=_num(entry.dose), unit=self.unit(entry.unit)),
                route=self.b.alias_code(self.term("Administration", "route", "ORAL")),
            )
            out.append(
                self.make(
                    "StudyIntervention",
                    name=key,
                    label=drug.name,
                    description=f"{drug.name} ({drug.name_ja}); dose levels from {drug.label}",
                    role=self.term("StudyIntervention", "role", "Experimental Intervention"),
                    type=self.term("StudyIntervention", "type", "DRUG"),
                    administrations=[administration],
                )
            )
        return out

    def eligibility(self) -> tuple[list[Any], list[Any]]:
        criteria, items = [], []
        for crit in self.p.eligibility:
            item = self.make(
                "EligibilityCriterionItem", name=crit.id, label=crit.id, text=crit.text
            )
            items.append(item)
            category = (
                ("C25532", "Inclusion Criteria")
                if crit.kind == "inclusion"
                else ("C25370", "Exclusion Criteria")
            )
            criteria.append(
                self.make(
                    "EligibilityCriterion",
                    name=crit.id,
                    label=crit.text_ja,
                    description=crit.source,
                    identifier=crit.id,
                    category=self.code(*category),
                    criterionItemId=item.id,
                )
            )
        self.b.double_link(criteria, "previousId", "nextId")
        return criteria, items

    def design(self, criteria: list[Any], intervention_ids: list[str]):
        ident = self.p.identification
        arm = self.make(
            "StudyArm",
            name="IRd",
            label="Ixazomib, lenalidomide and dexamethasone",
            description="; ".join(
                f"{self.p.drugs[k].name} {e.dose.normalize():f} {e.unit} days "
                + ", ".join(str(d) for d in e.days)
                for k, e in self.p.regimen.items()
            ),
            type=self.term("StudyArm", "type", "Investigational Arm"),
            dataOriginDescription="Data collected in the study",
            dataOriginType=self.term("StudyArm", "dataOriginType", "Data Generated Within Study"),
        )
        epochs = self.epochs()
        elements = [
            self.make(
                "StudyElement",
                name=f"EL_{e.name}",
                label=e.label,
                description=e.description,
                studyInterventionIds=intervention_ids if e.name == "TREATMENT" else [],
            )
            for e in epochs
        ]
        cells = [
            self.make("StudyCell", armId=arm.id, epochId=epoch.id, elementIds=[element.id])
            for epoch, element in zip(epochs, elements, strict=True)
        ]
        encounters, visits = self.encounters()
        activities = self.activities()
        timeline = self.timeline(epochs, encounters, visits, activities)
        population = self.make(
            "StudyDesignPopulation",
            name="population",
            label="Study population",
            description=ident.population,
            includesHealthySubjects=False,
            criterionIds=[c.id for c in criteria],
            plannedAge=self.age_range(),
        )
        return self.make(
            "InterventionalStudyDesign",
            name=f"{ident.study_id}_design",
            label=ident.design,
            description=ident.title,
            rationale=f"Phase {ident.phase}, {ident.design}",
            studyType=self.term("StudyDesign", "studyType", "Interventional Study"),
            studyPhase=self.b.alias_code(self.phase()),
            model=self.term("InterventionalStudyDesign", "model", "Single Group Study"),
            arms=[arm],
            epochs=epochs,
            elements=elements,
            studyCells=cells,
            encounters=encounters,
            activities=activities,
            scheduleTimelines=[timeline],
            population=population,
            eligibilityCriteria=criteria,
            objectives=self.objectives(),
            analysisPopulations=[
                self.make(
                    "AnalysisPopulation",
                    name=pop.id,
                    label=pop.name,
                    description=pop.source,
                    text=pop.definition,
                )
                for pop in self.p.populations
            ],
            studyInterventionIds=intervention_ids,
        )

    def phase(self):
        phases = {"1": "PHASE I TRIAL", "2": "PHASE II TRIAL", "3": "PHASE III TRIAL"}
        value = phases.get(self.p.identification.phase, self.p.identification.phase)
        return self.term("StudyDesign", "studyPhase", value)

    def age_range(self):
        for crit in self.p.eligibility:
            if crit.check is not None and crit.check.variable == "age_years":
                years = self.unit("YEARS")
                low = self.make("Quantity", value=float(crit.check.threshold), unit=years)
                high = self.make(
                    "Quantity",
                    value=float(self.p.value_ranges.variables["age_years"].hard.maximum),
                    unit=years,
                )
                return self.make("Range", minValue=low, maxValue=high, isApproximate=False)
        return None

    def epochs(self) -> list[Any]:
        fu = self.p.follow_up
        ra = self.p.response_assessment
        specs = [
            ("SCREENING", "Screening", "Screening Epoch", "Consent, screening and enrolment"),
            (
                "TREATMENT",
                "Treatment",
                "Open Label Treatment Epoch",
                f"{self.p.cycle_length_days}-day cycles of IRd until progression or "
                "unacceptable toxicity",
            ),
            (
                "FOLLOW-UP",
                "Follow-up for progression",
                "Follow-Up Epoch",
                f"After the end of treatment without progression: response assessment every "
                f"{ra.interval_days} days until {ra.until}",
            ),
            (
                "LONG-TERM FOLLOW-UP",
                "Survival follow-up",
                "Long-term Follow-up Epoch",
                f"After {fu.starts_after}: contact every {fu.interval_days} days until {fu.until}",
            ),
        ]
        epochs = [
            self.make(
                "StudyEpoch",
                name=name,
                label=label,
                description=description,
                type=self.code(*self._epoch_code(term)),
            )
            for name, label, term, description in specs
        ]
        self.b.double_link(epochs, "previousId", "nextId")
        return epochs

    def _epoch_code(self, preferred: str) -> tuple[str, str]:
        library = self.b.klass_and_attribute("StudyEpoch", "type")
        for term in library["terms"]:
            if term["preferredTerm"] == preferred:
                return term["conceptId"], term["preferredTerm"]
        raise UsdmError(f"CDISC CT has no epoch type {preferred!r}")

    def encounters(self) -> tuple[list[Any], list[tuple[str, Any, int | None, str]]]:
        """Encounters in time order, with (epoch name, encounter, study day or None, window)."""
        visit = self.term("Encounter", "type", "Visit")
        cycle = self.p.cycle_length_days
        rows: list[tuple[str, str, str, int | None, str]] = [
            ("SCREENING", "SCREENING", "Screening", None, "before C1D1"),
        ]
        for plan in self.p.visits.treatment:
            last = plan.cycles.last or plan.cycles.first
            for number in range(plan.cycles.first, last + 1):
                for day in plan.days:
                    name = f"C{number}D{day}"
                    label = f"Cycle {number} day {day}"
                    if plan.cycles.last is None:
                        label += f" (and day {day} of every later cycle)"
                    window = self.p.visit_window(number, day)
                    text = (
                        f"-{window.before_days}/+{window.after_days} days"
                        if window
                        else "no window"
                    )
                    rows.append(("TREATMENT", name, label, (number - 1) * cycle + day, text))
        eot = self.p.visits.end_of_treatment
        rows.append(
            (
                "TREATMENT",
                "EOT",
                f"End of treatment ({eot.days_after_end_of_treatment} days after the last dose)",
                None,
                f"-{eot.before_days}/+{eot.after_days} days",
            )
        )
        ra, fu = self.p.response_assessment, self.p.follow_up
        rows.append(
            ("FOLLOW-UP", "PFS_FU", f"Response assessment every {ra.interval_days} days", None, "")
        )
        rows.append(
            (
                "LONG-TERM FOLLOW-UP",
                "OS_FU",
                f"Survival contact every {fu.interval_days} days",
                None,
                "",
            )
        )
        encounters, placed = [], []
        for epoch, name, label, day, window in rows:
            encounter = self.make(
                "Encounter",
                name=name,
                label=label,
                description=f"{label}; window {window}" if window else label,
                type=visit,
            )
            encounters.append(encounter)
            placed.append((epoch, encounter, day, window))
        self.b.double_link(encounters, "previousId", "nextId")
        return encounters, placed

    def activities(self) -> list[Any]:
        specs = [
            ("CONSENT", "Informed consent", "Written informed consent before any study procedure"),
            ("ELIGIBILITY", "Eligibility assessment", f"{len(self.p.eligibility)} criteria"),
            (
                "CYCLE_START",
                "Cycle start decision",
                "; ".join(c.text for c in self.p.cycle_start.criteria),
            ),
            (
                "LOCAL_LAB",
                "Local laboratory",
                "Hematology and serum creatinine (Cockcroft-Gault CrCl)",
            ),
            *[
                (
                    f"DOSE_{key.upper()}",
                    f"{drug.name} administration",
                    f"{self.p.regimen[key].dose.normalize():f} {self.p.regimen[key].unit} "
                    f"{self.p.regimen[key].route}",
                )
                for key, drug in self.p.drugs.items()
            ],
            (
                "RESPONSE",
                "Response assessment",
                f"{self.p.response_assessment.criteria}; central laboratory: "
                + ", ".join(self.p.response_assessment.central_lab_analytes),
            ),
            ("AE", "Adverse events", "CTCAE v5.0"),
            ("SURVIVAL", "Survival status", f"Until {self.p.follow_up.until}"),
        ]
        activities = [
            self.make("Activity", name=name, label=label, description=description)
            for name, label, description in specs
        ]
        self.b.double_link(activities, "previousId", "nextId")
        return activities

    def _activities_at(self, name: str, day: int | None, by_name: dict[str, Any]) -> list[str]:
        if name == "SCREENING":
            wanted = ["CONSENT", "ELIGIBILITY", "LOCAL_LAB"]
        elif name == "EOT":
            wanted = ["LOCAL_LAB", "RESPONSE", "AE"]
        elif name == "PFS_FU":
            wanted = ["RESPONSE", "AE", "SURVIVAL"]
        elif name == "OS_FU":
            wanted = ["SURVIVAL"]
        else:
            cycle_day = (day - 1) % self.p.cycle_length_days + 1
            wanted = ["LOCAL_LAB", "AE"]
            if cycle_day == 1:
                wanted.insert(0, "CYCLE_START")
                wanted.append("RESPONSE")
            for key, entry in self.p.regimen.items():
                if cycle_day in entry.days:
                    wanted.append(f"DOSE_{key.upper()}")
        return [by_name[w].id for w in wanted]

    def timeline(self, epochs, encounters, placed, activities):
        epoch_ids = {e.name: e.id for e in epochs}
        by_name = {a.name: a for a in activities}
        instances = []
        for epoch, encounter, day, _window in placed:
            instances.append(
                self.make(
                    "ScheduledActivityInstance",
                    name=f"SAI_{encounter.name}",
                    label=encounter.label,
                    description=encounter.description,
                    epochId=epoch_ids[epoch],
                    encounterId=encounter.id,
                    activityIds=self._activities_at(encounter.name, day, by_name),
                )
            )
        exit_ = self.make("ScheduleTimelineExit")
        instances[-1].timelineExitId = exit_.id
        for current, following in itertools.pairwise(instances):
            current.defaultConditionId = following.id
        anchor = next(i for i, (_, enc, _, _) in enumerate(placed) if enc.name == "C1D1")
        timings = []
        after = self.term("Timing", "type", "After")
        start_to_start = self.term("Timing", "relativeToFrom", "Start to Start")
        fixed = self.term("Timing", "type", "Fixed Reference")
        timings.append(
            self.make(
                "Timing",
                name="TIM_C1D1",
                label="C1D1: study day 1 (first dose)",
                type=fixed,
                value="P0D",
                valueLabel="Day 1",
                relativeToFrom=start_to_start,
                relativeFromScheduledInstanceId=instances[anchor].id,
            )
        )
        for instance, (_epoch, encounter, day, _window) in zip(instances, placed, strict=True):
            if day is None or day == 1:
                continue
            window = None
            for plan_window in self.p.visits.windows:
                cycle_number = (day - 1) // self.p.cycle_length_days + 1
                cycle_day = (day - 1) % self.p.cycle_length_days + 1
                if plan_window.cycles.contains(cycle_number) and cycle_day in plan_window.days:
                    window = plan_window
                    break
            params = {}
            if window is not None:
                params = {
                    "windowLower": f"-P{window.before_days}D",
                    "windowUpper": f"P{window.after_days}D",
                    "windowLabel": f"-{window.before_days}..+{window.after_days} days",
                }
            timings.append(
                self.make(
                    "Timing",
                    name=f"TIM_{encounter.name}",
                    label=f"{encounter.name}: study day {day}",
                    type=after,
                    value=_DAY.format(n=day - 1),
                    valueLabel=f"{day - 1} days after C1D1",
                    relativeToFrom=start_to_start,
                    relativeFromScheduledInstanceId=instance.id,
                    relativeToScheduledInstanceId=instances[anchor].id,
                    **params,
                )
            )
        return self.make(
            "ScheduleTimeline",
            name="MAIN",
            label="Schedule of activities",
            description=(
                f"Main timeline: study day 1 = C1D1 (first dose); {self.p.cycle_length_days}-day "
                "cycles; visit plan and windows from the protocol file"
            ),
            mainTimeline=True,
            entryCondition="Informed consent signed",
            entryId=instances[0].id,
            exits=[exit_],
            timings=timings,
            instances=instances,
        )

    def objectives(self) -> list[Any]:
        out = []
        for kind in ("primary", "secondary"):
            endpoints = [
                self.make(
                    "Endpoint",
                    name=e.id,
                    label=e.name,
                    description=f"{e.method} ({e.population}); {e.source}",
                    text=e.definition,
                    purpose="Efficacy" if e.id != "safety" else "Safety",
                    level=self.term("Endpoint", "level", f"{kind.title()} Endpoint"),
                )
                for e in self.p.endpoints
                if e.kind == kind
            ]
            if not endpoints:
                continue
            out.append(
                self.make(
                    "Objective",
                    name=f"OBJ_{kind.upper()}",
                    label=f"{kind.title()} objective",
                    text=f"To evaluate {'; '.join(e.label for e in endpoints)}",
                    level=self.term("Objective", "level", f"Study {kind.title()} Objective"),
                    endpoints=endpoints,
                )
            )
        return out


def protocol_to_usdm(protocol: Protocol) -> dict[str, Any]:
    """The protocol as a USDM v4 document (the JSON-ready dict of usdm4's Wrapper)."""
    return _Study(protocol).build()


def write_usdm(protocol: Protocol, path: str | os.PathLike[str]) -> Path:
    """Write the USDM JSON to `path` (complete or not at all)."""
    target = Path(path)
    document = protocol_to_usdm(protocol)
    temp = target.with_name(f".{target.name}.tmp")
    temp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(temp, target)
    return target


def usdm_validate(path: str | os.PathLike[str]) -> UsdmValidation:
    """Run usdm4's rules on a USDM file (no CORE step: see the module docstring)."""
    from usdm4 import USDM4

    results = USDM4().validate(str(path))
    report = UsdmValidation()
    outcome = {
        "Success": report.passed,
        "Not Implemented": report.not_implemented,
        "Failure": report.failed,
    }
    for row in results.to_dict():
        rule, status = row["rule_id"], row["status"]
        bucket = outcome.get(status, report.exceptions)
        if rule not in bucket:
            bucket.append(rule)
        if status == "Failure":
            report.failures.append(
                {
                    key: row.get(key, "")
                    for key in ("rule_id", "message", "rule_text", "klass", "attribute", "path")
                }
            )
    return report
