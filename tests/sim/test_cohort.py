"""The synthetic cohort plan: deterministic in its seed, and the spread the demo needs."""

import dataclasses
import datetime as dt
from collections import Counter

from mmtrial.sim.archetypes import ARCHETYPES, SITES
from mmtrial.sim.cohort import build_cohort
from mmtrial.sim.plans import DATA_CUTOFF

SEED = 20270104


def _as_data(plans):
    return [dataclasses.asdict(plan) for plan in plans]


def test_the_same_seed_gives_the_same_plan_and_another_seed_another():
    assert _as_data(build_cohort(seed=SEED)) == _as_data(build_cohort(seed=SEED))
    assert _as_data(build_cohort(seed=SEED)) != _as_data(build_cohort(seed=SEED + 1))


def test_34_participants_over_16_sites_with_the_stages_of_the_archetypes():
    plans = build_cohort(seed=SEED)
    assert len(plans) == len(ARCHETYPES) == 34
    assert {p.site.code for p in plans} == {s.code for s in SITES} and len(SITES) == 16
    stages = Counter(p.archetype.stage for p in plans)
    assert stages["screen_failed"] == 1 and stages["screening"] == 3
    assert stages["ongoing"] + stages["progressed"] + stages["ae_stop"] == 30
    numbers = [(p.site.code, p.screening_number) for p in plans]
    assert len(set(numbers)) == len(numbers)


def test_ongoing_participants_reach_their_cycle_by_the_cut_off_and_no_further():
    for plan in build_cohort(seed=SEED):
        if plan.archetype.stage != "ongoing":
            continue
        last = plan.cycles[-1]
        assert len(plan.cycles) == plan.archetype.cycles
        cycle = dt.timedelta(days=plan.calendar.cycle_days)
        assert last.start <= DATA_CUTOFF < last.start + cycle
    cycles = sorted(len(p.cycles) for p in build_cohort(seed=SEED) if p.cycles)
    assert cycles[0] == 1 and cycles[-1] == 20


def test_renal_participants_stay_between_30_and_60_ml_min_and_the_others_above():
    for seed in (SEED, 1, 2, 3):
        for plan in build_cohort(seed=seed):
            if plan.archetype.renal:
                assert 35 < plan.crcl_target_ml_min < 55
            else:
                assert plan.crcl_target_ml_min > 70


def test_everything_happens_between_consent_and_the_cut_off_in_order():
    for plan in build_cohort(seed=SEED):
        dates = [plan.consent, plan.screened, plan.enrolled, plan.c1d1]
        known = [d for d in dates if d is not None]
        assert known == sorted(known) and known[-1] <= DATA_CUTOFF
        for sample in plan.samples:
            assert plan.enrolled <= sample.collected_on <= DATA_CUTOFF
        for ae in plan.adverse_events:
            assert plan.c1d1 <= ae.start <= DATA_CUTOFF
            assert ae.end is None or ae.end >= ae.start
        if plan.death is not None:
            assert all(contact < plan.death for contact in plan.contacts)


def test_progression_is_planned_by_a_rise_above_the_nadir_that_the_next_sample_confirms():
    for plan in build_cohort(seed=SEED):
        if plan.archetype.stage != "progressed":
            continue
        key = "urine_m_protein" if plan.archetype.disease == "urine" else "serum_m_protein"
        values = [float(s.values[key][0]) for s in plan.samples]
        j = plan.archetype.pd_at  # samples[0] is the baseline
        nadir = min(values[:j])
        assert values[j] >= nadir * 1.25 and values[j + 1] > values[j]
        assert len(values) == j + 2
