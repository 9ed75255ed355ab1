"""Stratified permuted blocks (clinical/randomization.py; tmm1.yaml `randomization`).

Properties from the method (ICH E9 2.3.1; the protocol file: ratio 1:1, blocks of 2 or 4):
every completed block holds each arm equally often; so at any point of a stratum's list the
difference between the arms is at most half the largest block; the list is reproducible from its
seed; the stratum follows the publication's three factors."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mmtrial.clinical.randomization import allocation_slots, kit_code, stratum_of
from mmtrial.errors import InputError
from mmtrial.protocol.loader import PROTOCOLS_DIR, load_protocol_file

TMM1 = load_protocol_file(PROTOCOLS_DIR / "tmm1.yaml")
ARMS = [a.id for a in TMM1.arms]
SIZES = {m * 2 for m in TMM1.randomization.block_multiples}  # 1:1 -> blocks of 2 x multiple


def test_the_stratum_is_read_from_the_three_factors():
    s = stratum_of({"prior_lines": 2, "pi_exposed": False, "iss_stage": 3}, protocol=TMM1)
    assert s.levels == {"prior_lines": "2-3", "pi_exposure": "naive", "iss": "III"}
    assert s.key == "prior_lines=2-3|pi_exposure=naive|iss=III"
    s1 = stratum_of({"prior_lines": 1, "pi_exposed": True, "iss_stage": 1}, protocol=TMM1)
    assert s1.levels == {"prior_lines": "1", "pi_exposure": "exposed", "iss": "I-II"}


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"pi_exposed": False, "iss_stage": 3}, "prior_lines"),
        ({"prior_lines": 0, "pi_exposed": False, "iss_stage": 3}, "prior_lines"),
        ({"prior_lines": 1, "pi_exposed": False, "iss_stage": 4}, "iss_stage"),
    ],
)
def test_a_missing_or_unplaceable_factor_is_refused_naming_it(values, field):
    with pytest.raises(InputError) as err:
        stratum_of(values, protocol=TMM1)
    assert err.value.message.startswith(f"{field}: ")


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=8, max_size=16), st.integers(min_value=1, max_value=120))
def test_blocks_balance_the_arms_and_the_lists_reproduce(seed, n):
    slots = allocation_slots(seed=seed, stratum_key="s", upto=n, protocol=TMM1)
    assert slots == allocation_slots(seed=seed, stratum_key="s", upto=n, protocol=TMM1)
    by_block: dict[int, list[str]] = {}
    for slot in slots:
        by_block.setdefault(slot.block, []).append(slot.arm_id)
        assert slot.block_size in SIZES
    for arms in by_block.values():
        counts = Counter(arms)
        assert counts[ARMS[0]] == counts[ARMS[1]] == len(arms) // 2
    running = Counter()
    for slot in slots[:n]:
        running[slot.arm_id] += 1
        assert abs(running[ARMS[0]] - running[ARMS[1]]) <= max(SIZES) // 2


def test_many_seeded_studies_are_balanced_within_strata():
    """Over 200 seeds and 8 strata of 45 participants each, the imbalance of a stratum never
    exceeds half the largest block (2), and the arms are equally often first in a block."""
    firsts = Counter()
    for n in range(200):
        for stratum in range(8):
            slots = allocation_slots(
                seed=f"seed{n}", stratum_key=str(stratum), upto=45, protocol=TMM1
            )
            counts = Counter(s.arm_id for s in slots[:45])
            assert abs(counts[ARMS[0]] - counts[ARMS[1]]) <= 2
            firsts[slots[0].arm_id] += 1
    assert 700 <= firsts[ARMS[0]] <= 900  # 1,600 first slots, about half each


def test_kit_codes_are_distinct_and_tell_nothing_readable():
    codes = {kit_code(seed="x" * 16, stratum_key="s", position=p) for p in range(1, 500)}
    assert len(codes) == 499
    assert all(code.startswith("K-") and len(code) == 10 for code in codes)
