"""A deterministic synthetic cohort: what happens to each demo participant, and when.

`build_cohort(seed=...)` returns one `ParticipantPlan` per participant: demographics, baseline
disease (serum M-protein, urine M-protein or free-light-chain-only), renal function (some with
a Cockcroft-Gault CrCl below 60 mL/min, for the renal lenalidomide dose), consent, screening and
enrollment dates, each cycle's start (with delays) and the local laboratory values its dose
decision reads, adverse events with CTCAE grades (mmtrial.sim.cohort_events), central-laboratory
samples whose M-protein kinetics (mmtrial.sim.disease_kinetics) lead the IMWG engine to
responses from CR to PD, end of treatment, follow-up contacts after progression and deaths.

Pure Python: no Django, no clock; the same seed gives the same plan. The plan only says what a
site would enter; the EDC services decide doses, visits and responses from it
(mmtrial.sim.demo enters it). The stages are fixed by `archetypes.ARCHETYPES`, because the demo
needs its spread; the seed varies dates, demographics and values.
"""

from __future__ import annotations

import datetime as dt
import random

from mmtrial.protocol.loader import load_protocol
from mmtrial.sim.archetypes import ARCHETYPES, SITES, Archetype
from mmtrial.sim.cohort_events import adverse_events, outcome
from mmtrial.sim.disease_kinetics import KINETICS, involved_values
from mmtrial.sim.plans import (
    DATA_CUTOFF,
    SAMPLE_DAYS_BEFORE_CYCLE,
    CyclePlan,
    ParticipantPlan,
    SamplePlan,
    StudyCalendar,
    first_consent_for,
)

__all__ = ["build_cohort"]

TREATED = ("ongoing", "progressed", "ae_stop")
AE_STOP_DAY = 10
SCREEN_FAILURE_PLATELETS = 62000  # below the inclusion threshold of the protocol file
CR_FROM_ASSESSMENT = 3
MARROW_AT_ASSESSMENT = 4
MARROW_PLASMA_CELLS_PCT = 2.0
SLOW_RESPONDER_LATE_PLATEAU = 0.3


def _creatinine(plan: ParticipantPlan, on: dt.date, weight_kg: float, rng: random.Random) -> float:
    """Serum creatinine giving the participant's target Cockcroft-Gault CrCl (+/- 3%)."""
    age = on.year - plan.year_of_birth
    crcl = plan.crcl_target_ml_min * (1 + rng.uniform(-0.03, 0.03))
    female = 0.85 if plan.sex == "female" else 1.0
    return round((140 - age) * weight_kg * female / (72 * crcl), 2)


def _baseline_disease(kind: str, rng: random.Random) -> dict[str, float]:
    """Baseline values; the involved FLC is kappa (the uninvolved lambda is drawn apart)."""
    if kind == "serum":
        return {
            "serum_m_protein_g_dl": round(rng.uniform(1.8, 4.6), 2),
            "involved_flc_mg_l": round(rng.uniform(60, 400), 1),
        }
    if kind == "urine":
        return {
            "serum_m_protein_g_dl": round(rng.uniform(0.2, 0.6), 2),
            "urine_m_protein_mg_24h": float(rng.randrange(500, 1400, 10)),
            "involved_flc_mg_l": round(rng.uniform(150, 500), 1),
        }
    return {
        "serum_m_protein_g_dl": round(rng.uniform(0.1, 0.4), 2),
        "involved_flc_mg_l": round(rng.uniform(350, 900), 1),
    }


def _screening_values(
    plan: ParticipantPlan, disease: dict[str, float], rng: random.Random
) -> dict[str, object]:
    values: dict[str, object] = {
        "confirmed_mm_diagnosis": True,
        "prior_lines": rng.choice([1, 1, 2, 2, 3]),
        "relapsed_or_refractory": True,
        "ecog": rng.choice([0, 0, 1, 1, 2]),
        "anc_per_mm3": rng.randrange(1600, 4200, 100),
        "platelets_per_mm3": rng.randrange(110000, 260000, 1000),
        "total_bilirubin_mg_dl": round(rng.uniform(0.4, 1.1), 1),
        "total_bilirubin_uln_mg_dl": 1.2,
        "alt_u_l": rng.randrange(12, 45),
        "alt_uln_u_l": 40,
        "ast_u_l": rng.randrange(14, 40),
        "ast_uln_u_l": 40,
        "creatinine_mg_dl": _creatinine(plan, plan.screened, plan.weight_kg, rng),
        "weight_kg": plan.weight_kg,
        "lenalidomide_refractory": False,
        "pi_refractory": False,
        "peripheral_neuropathy_grade": rng.choice([0, 0, 0, 1]),
        "peripheral_neuropathy_grade_1_with_pain": False,
        "serum_m_protein_g_dl": disease["serum_m_protein_g_dl"],
        "involved_flc_mg_l_with_abnormal_ratio": disease["involved_flc_mg_l"],
    }
    if "urine_m_protein_mg_24h" in disease:
        values["urine_m_protein_mg_24h"] = disease["urine_m_protein_mg_24h"]
    if plan.archetype.stage == "screen_failed":
        values["platelets_per_mm3"] = SCREEN_FAILURE_PLATELETS
    return values


def _dates(plan: ParticipantPlan, rng: random.Random) -> None:
    """Consent, screening, enrollment and the planned C1D1, placed so that an ongoing
    participant has started exactly the archetype's number of cycles by the data cut-off."""
    a = plan.archetype
    cutoff = plan.data_cutoff
    if a.stage not in TREATED:
        plan.consent = cutoff - dt.timedelta(days=a.consent_days_before_cutoff)
        plan.screened = None if a.registered_only else plan.consent + dt.timedelta(days=2)
        return
    cycle_days = plan.calendar.cycle_days
    delays = sum(plan.calendar.recheck_days for event, _ in a.events if event == "delay")
    if a.stage == "ongoing":
        back = (a.cycles - 1) * cycle_days + delays + rng.randrange(1, cycle_days - 1)
        c1d1 = cutoff - dt.timedelta(days=back)
    else:
        first = first_consent_for(cutoff)
        c1d1 = first + dt.timedelta(days=a.start_offset_days + rng.randrange(10, 20))
    plan.c1d1_planned = c1d1
    plan.enrolled = c1d1 - dt.timedelta(days=rng.randrange(3, 7))
    plan.screened = plan.enrolled - dt.timedelta(days=rng.randrange(2, 6))
    plan.consent = plan.screened - dt.timedelta(days=rng.randrange(1, 4))


def _holds(plan: ParticipantPlan, number: int) -> dict[tuple[str, int], str]:
    """Holds after a mid-cycle drop of platelets or neutrophils: ixazomib and lenalidomide from
    that day to the end of their dosing (the protocol's thrombocytopenia and neutropenia rules)."""
    holds: dict[tuple[str, int], str] = {}
    drop = plan.calendar.mid_cycle_day
    for event, cycle in plan.archetype.events:
        if cycle != number or event not in ("thrombocytopenia", "neutropenia"):
            continue
        count = "血小板数" if event == "thrombocytopenia" else "好中球数"
        reason = f"Day {drop}に{count}がプロトコル規定の基準値を下回ったため、回復まで休薬"
        for drug in ("ixazomib", "lenalidomide"):
            for day in plan.calendar.dosing_days[drug]:
                if day >= drop:
                    holds[(drug, day)] = reason
    return holds


def _cycles(plan: ParticipantPlan, rng: random.Random) -> None:
    a = plan.archetype
    start = plan.c1d1_planned
    delay_cycles = {cycle for event, cycle in a.events if event == "delay"}
    for number in range(1, a.cycles + 1):
        delayed_from = delay_platelets = None
        if number in delay_cycles:
            delayed_from, delay_platelets = start, rng.randrange(58000, 72000, 1000)
            start = start + dt.timedelta(days=plan.calendar.recheck_days)
        weight = round(plan.weight_kg + rng.uniform(-0.8, 0.8), 1)
        last = number == a.cycles
        plan.cycles.append(
            CyclePlan(
                number=number,
                start=start,
                creatinine_mg_dl=_creatinine(plan, start, weight, rng),
                anc_per_mm3=rng.randrange(1500, 4000, 100),
                platelets_per_mm3=rng.randrange(95000, 240000, 1000),
                weight_kg=weight,
                delayed_from=delayed_from,
                delay_platelets_per_mm3=delay_platelets,
                holds=_holds(plan, number),
                stop_day=AE_STOP_DAY if last and a.stage == "ae_stop" else None,
            )
        )
        start = start + dt.timedelta(days=plan.calendar.cycle_days)


def _sample(
    on: dt.date,
    kind: str,
    disease: dict[str, float],
    *,
    fraction: float,
    involved: float,
    uninvolved: float,
    cr: bool = False,
    marrow: float | None = None,
) -> SamplePlan:
    values: dict[str, tuple[str, str]] = {}
    fraction = max(fraction, 0.0)
    if kind == "serum":
        serum = 0.0 if cr or involved < 0.05 else involved
        values["serum_m_protein"] = (f"{serum:.2f}", "g/dL")
    else:
        serum = disease["serum_m_protein_g_dl"] * min(fraction, 1.0)
        values["serum_m_protein"] = (f"{serum:.2f}", "g/dL")
    if kind == "urine":
        values["urine_m_protein"] = (f"{involved:.0f}", "mg/24h")
    if kind == "flc":
        kappa = involved + uninvolved
    else:
        kappa = uninvolved + (disease["involved_flc_mg_l"] - uninvolved) * fraction
    values["kappa_flc"] = (f"{kappa:.1f}", "mg/L")
    values["lambda_flc"] = (f"{uninvolved:.1f}", "mg/L")
    values["serum_ife"] = ("negative" if cr else "positive", "")
    if kind == "urine" or cr:
        values["urine_ife"] = ("negative" if cr else "positive", "")
    return SamplePlan(collected_on=on, values=values, bone_marrow_plasma_cells_pct=marrow)


def _sample_dates(plan: ParticipantPlan) -> list[dt.date]:
    """A week before each later cycle, and every four weeks after it while not progressed."""
    a = plan.archetype
    cycle_days = plan.calendar.cycle_days
    dates = [c.start - dt.timedelta(days=SAMPLE_DAYS_BEFORE_CYCLE) for c in plan.cycles[1:]]
    if a.stage == "progressed":
        # the first PD, then the one confirming it, a week before the cycle that never starts
        last = plan.cycles[-1].start + dt.timedelta(days=cycle_days - SAMPLE_DAYS_BEFORE_CYCLE)
        return [*dates, last][: a.pd_at + 1]
    day = plan.cycles[-1].start + dt.timedelta(days=cycle_days - SAMPLE_DAYS_BEFORE_CYCLE)
    while day <= plan.data_cutoff:
        dates.append(day)
        day += dt.timedelta(days=cycle_days)
    return [d for d in dates if d <= plan.data_cutoff]


def _samples(
    plan: ParticipantPlan, disease: dict[str, float], uninvolved: float, rng: random.Random
) -> None:
    """The baseline sample at enrollment, then the on-study samples."""
    a = plan.archetype
    kind = a.disease
    baseline = {
        "serum": disease["serum_m_protein_g_dl"],
        "urine": disease.get("urine_m_protein_mg_24h", 0.0),
        "flc": disease["involved_flc_mg_l"] - uninvolved,
    }[kind]
    dates = _sample_dates(plan)
    involved = involved_values(
        baseline=baseline,
        kind=kind,
        kinetics=KINETICS[a.kinetics],
        assessments=len(dates),
        pd_at=a.pd_at if a.stage == "progressed" else None,
        rng=rng,
        late_plateau=SLOW_RESPONDER_LATE_PLATEAU if a.kinetics == "SLOW_THEN_PR" else None,
    )
    plan.samples.append(
        _sample(
            plan.enrolled, kind, disease, fraction=1.0, involved=baseline, uninvolved=uninvolved
        )
    )
    for j, (day, value) in enumerate(zip(dates, involved, strict=True), start=1):
        complete = a.kinetics == "CR" and j >= CR_FROM_ASSESSMENT
        marrow = (
            MARROW_PLASMA_CELLS_PCT if a.kinetics == "CR" and j == MARROW_AT_ASSESSMENT else None
        )
        plan.samples.append(
            _sample(
                day,
                kind,
                disease,
                fraction=value / baseline,
                involved=value,
                uninvolved=uninvolved,
                cr=complete,
                marrow=marrow,
            )
        )


def _plan(
    index: int, archetype: Archetype, calendar: StudyCalendar, rng: random.Random
) -> ParticipantPlan:
    sex = rng.choice(["female", "male"])
    weight = rng.uniform(44, 58) if sex == "female" else rng.uniform(52, 74)
    return ParticipantPlan(
        index=index,
        archetype=archetype,
        site=SITES[archetype.site - 1],
        screening_number="",
        calendar=calendar,
        sex=sex,
        year_of_birth=rng.randrange(1944, 1972),
        weight_kg=round(weight, 1),
        # renal participants stay well inside 30-60 mL/min, the others well above 60
        crcl_target_ml_min=rng.uniform(40, 52) if archetype.renal else rng.uniform(75, 105),
    )


def build_cohort(
    *, seed: int, protocol=None, data_cutoff: dt.date = DATA_CUTOFF
) -> list[ParticipantPlan]:
    """Every demo participant's plan, in consent order (deterministic in `seed` and
    `data_cutoff`).

    `protocol` (default: the current protocol file) gives the cycle length, the follow-up
    interval and the re-check interval of a delayed cycle. `data_cutoff` (default: the
    reference calendar's) is the last day with data: the same cohort is placed so that its
    data stop there, each date as far before it as on the reference calendar (and each year of
    birth as many years before, so that ages stay as designed).
    """
    calendar = StudyCalendar.from_protocol(protocol or load_protocol())
    rng = random.Random(seed)
    years = data_cutoff.year - DATA_CUTOFF.year
    plans = []
    for index, archetype in enumerate(ARCHETYPES):
        prng = random.Random(rng.getrandbits(64))
        plan = _plan(index, archetype, calendar, prng)
        plan.data_cutoff = data_cutoff
        plan.year_of_birth += years
        _dates(plan, prng)
        disease = _baseline_disease(archetype.disease, prng)
        uninvolved = round(prng.uniform(6, 16), 1)
        if plan.screened is not None:
            plan.screening_values = _screening_values(plan, disease, prng)
        if archetype.stage in TREATED:
            _cycles(plan, prng)
            adverse_events(plan, prng)
            outcome(plan, prng)
            _samples(plan, disease, uninvolved, prng)
        plans.append(plan)
    plans.sort(key=lambda p: (p.consent, p.index))
    per_site: dict[str, int] = {}
    for plan in plans:
        per_site[plan.site.code] = per_site.get(plan.site.code, 0) + 1
        plan.screening_number = f"SCR-{per_site[plan.site.code]:03d}"
    return plans
