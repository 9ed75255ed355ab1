"""Minimisation (Pocock and Simon, Biometrics 1975;31:103-15), the rule of
clinical/minimisation.py: imbalance = sum over factors of the range of the arms' counts (divided
by their ratio weights) among participants sharing the new participant's level, with the new
participant added to the candidate arm; the best arm with probability p."""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from mmtrial.clinical.minimisation import draw_for, minimisation_arm, replay

ARMS = ["A", "B"]
PREVIOUS = [
    ({"f1": "x", "f2": "u"}, "A"),
    ({"f1": "y", "f2": "u"}, "B"),
    ({"f1": "x", "f2": "v"}, "A"),
]


def _arm(previous, levels, u, p="0.8", weights=(1, 1), arms=ARMS):
    return minimisation_arm(
        previous=previous,
        levels=levels,
        arms=arms,
        weights=list(weights),
        probability_best=Decimal(p),
        u=Fraction(u),
    )


def test_the_imbalance_scores_of_a_hand_worked_example():
    # New participant (x, u). Among f1 = x: A 2, B 0; among f2 = u: A 1, B 1.
    # To A: f1 range |3 - 0| = 3, f2 range |2 - 1| = 1 -> 4; to B: |2 - 1| + |1 - 2| = 2.
    choice = _arm(PREVIOUS, {"f1": "x", "f2": "u"}, "0.5")
    assert choice.imbalance == {"A": 4, "B": 2}
    assert choice.best == ("B",) and choice.arm_id == "B"


def test_the_best_arm_with_probability_p_and_the_other_arm_otherwise():
    levels = {"f1": "x", "f2": "u"}
    assert _arm(PREVIOUS, levels, "0.79").arm_id == "B"  # u < 0.8: the best arm
    assert _arm(PREVIOUS, levels, "0.8").arm_id == "A"  # u >= 0.8: the other arm
    assert _arm(PREVIOUS, levels, "0.999", p="1").arm_id == "B"  # Taves: always the best


def test_a_tie_is_drawn_by_the_ratio():
    # no one yet in a 1:1 study: both arms give range 1, drawn half and half
    assert _arm([], {"f1": "x"}, "0.49").arm_id == "A"
    assert _arm([], {"f1": "x"}, "0.5").arm_id == "B"


def test_a_two_to_one_ratio_is_balanced_at_two_to_one():
    # 2:1, one A already in level x: to A gives |2/2 - 0/1| = 1, to B |1/2 - 1/1| = 1/2
    choice = _arm([({"f1": "x"}, "A")], {"f1": "x"}, "0.1", weights=(2, 1))
    assert choice.imbalance == {"A": 1, "B": Fraction(1, 2)} and choice.arm_id == "B"
    # then A, A: to A |3/2 - 1| = 1/2, to B |1 - 2| = 1 -> A is best
    after = [({"f1": "x"}, "A"), ({"f1": "x"}, "B")]
    assert _arm(after, {"f1": "x"}, "0.1", weights=(2, 1)).best == ("A",)


def test_only_participants_of_the_same_level_count():
    # the other level's participants change nothing
    crowded = [({"f1": "y"}, "A")] * 5
    assert _arm(crowded, {"f1": "x"}, "0.3").imbalance == {"A": 1, "B": 1}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["x", "y", "z"]), min_size=1, max_size=60), st.integers(0, 999))
def test_deterministic_minimisation_on_one_factor_never_lets_a_level_differ_by_more_than_one(
    levels, seed
):
    """With p = 1 and one factor, the arm chosen always lowers (or keeps at 1) the level's
    difference: after every allocation each level's arms differ by at most one."""
    previous = []
    for i, level in enumerate(levels):
        u = draw_for(seed=str(seed), sequence=i + 1)
        arm = _arm(previous, {"f": level}, u, p="1").arm_id
        previous.append(({"f": level}, arm))
        for lv in set(levels):
            arms = [a for their, a in previous if their["f"] == lv]
            assert abs(arms.count("A") - arms.count("B")) <= 1


def test_the_best_arm_is_chosen_about_p_of_the_time():
    """Where one arm is best, the draws (HMAC of the seed) pick it with probability 0.8:
    in 2,000 allocations the share is within 4 standard errors (0.0089 each) of 0.8."""
    levels = {"f1": "x", "f2": "u"}
    best = sum(
        _arm(PREVIOUS, levels, draw_for(seed="s", sequence=n)).arm_id == "B" for n in range(1, 2001)
    )
    assert abs(best / 2000 - 0.8) < 4 * (0.8 * 0.2 / 2000) ** 0.5


def test_the_sequence_is_reproducible_from_the_seed_and_marginally_balanced():
    rng = random.Random(7)
    people = [
        {"lines": rng.choice("12"), "pi": rng.choice("ne"), "iss": rng.choice("ab")}
        for _ in range(300)
    ]
    allocations = list(enumerate(people, start=1))
    args = {"arms": ARMS, "weights": [1, 1], "probability_best": Decimal("0.8")}
    arms = replay(seed="k", allocations=allocations, **args)
    assert arms == replay(seed="k", allocations=allocations, **args)
    assert arms != replay(seed="other", allocations=allocations, **args)
    # each factor level balanced far better than chance (a coin would differ by ~sqrt(150))
    for factor in ("lines", "pi", "iss"):
        for level in {p[factor] for p in people}:
            mine = [a for p, a in zip(people, arms, strict=True) if p[factor] == level]
            assert abs(mine.count("A") - mine.count("B")) <= 6, (factor, level)
