"""Tests of a LiRA row's ε lower bound (one member and one non-member decision per judged target, threshold chosen
on the other half of the targets): a hand case, what the threshold may depend on, and validity by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import beta, binom

from acadp.lira.attacks import AttackResult
from acadp.lira.target_bound import decision_pair, expected_bounds, held_out_target_bound

CONFIDENCE = 0.95
REPETITIONS = 200
ALLOWED_VIOLATIONS = int(binom.ppf(0.999, REPETITIONS, 1.0 - CONFIDENCE))  # see tests/lira/test_bounds.py


def _cp_epsilon(member_hits: int, non_member_hits: int, n: int, *, delta: float) -> float:
    """Clopper–Pearson ε bound, transcribed: one-sided bounds at (1 − confidence) / 2 from beta quantiles."""
    a = (1.0 - CONFIDENCE) / 2.0
    tpr_low = 0.0 if member_hits == 0 else beta.ppf(a, member_hits, n - member_hits + 1)
    fpr_high = 1.0 if non_member_hits == n else beta.ppf(1.0 - a, non_member_hits + 1, n - non_member_hits)
    candidates = [0.0]
    if tpr_low - delta > 0:
        candidates.append(math.log((tpr_low - delta) / fpr_high))
    if 1.0 - fpr_high - delta > 0:
        candidates.append(math.log((1.0 - fpr_high - delta) / (1.0 - tpr_low)))
    return max(candidates)


def _constant_target(target: int, member_value: float, non_member_value: float, n: int = 20) -> AttackResult:
    """Half members, half non-members; every member predicts ``member_value``, every non-member the other."""
    members = np.arange(n) % 2 == 0
    return AttackResult(target, np.where(members, member_value, non_member_value), members)


def test_hand_case_thirty_two_targets() -> None:
    # choosing (even) targets separate perfectly: members 1, non-members 0, so τ = 1 (TPR 1, FPR 0).
    # judged (odd) targets 1..27 also separate; target 29's members predict 0 (a miss), target 31's non-members 1
    # (a false positive): 15 of 16 member hits, 1 of 16 non-member hits, whichever pair each target draws.
    results = [_constant_target(t, 1.0, 0.0) for t in range(29)]
    results += [_constant_target(29, 0.0, 0.0), _constant_target(30, 1.0, 0.0), _constant_target(31, 1.0, 1.0)]
    bound = held_out_target_bound(results, np.ones(20, dtype=bool), delta=1e-5, confidence=CONFIDENCE, seed=0)
    assert bound.threshold == 1.0 and bound.n_targets == 16
    assert bound.epsilon == pytest.approx(_cp_epsilon(15, 1, 16, delta=1e-5), rel=1e-9)
    assert bound.epsilon > 0.5


def test_best_possible_expected_bound_is_the_closed_form() -> None:
    # TPR 1 and FPR 0 on 8 pairs: 8 of 8 and 0 of 8 surely; with δ = 0 the bound is log(q / (1 − q)), q = a^(1/8)
    q = ((1.0 - CONFIDENCE) / 2.0) ** (1.0 / 8.0)
    expected = expected_bounds(np.array([1.0]), np.array([0.0]), n_judged=8, delta=0.0, confidence=CONFIDENCE)
    assert expected[0] == pytest.approx(math.log(q / (1.0 - q)), rel=1e-9)
    assert expected[0] == pytest.approx(0.535, abs=1e-3)  # the most 16 shadows can show at 95 %
    five = expected_bounds(np.array([1.0]), np.array([0.0]), n_judged=5, delta=0.0, confidence=CONFIDENCE)
    assert five[0] == 0.0  # fewer than 6 judged targets can never show ε > 0 at 95 %


def test_the_threshold_depends_on_the_choosing_targets_only() -> None:
    rng = np.random.default_rng(0)
    members = rng.random((12, 200)) < 0.5
    predictions = rng.normal(size=(12, 200)) + members
    subset = np.ones(200, dtype=bool)

    def bound_of(values: np.ndarray) -> float:
        results = [AttackResult(t, values[t], members[t]) for t in range(12)]
        return held_out_target_bound(results, subset, delta=1e-5, confidence=CONFIDENCE, seed=0).threshold

    judged_changed, choosing_changed = predictions.copy(), predictions.copy()
    judged_changed[1::2] = rng.normal(size=(6, 200)) + 5.0 * members[1::2]
    choosing_changed[0::2] = rng.normal(size=(6, 200)) + 3.0 * members[0::2]
    assert bound_of(judged_changed) == bound_of(predictions)
    assert bound_of(choosing_changed) != bound_of(predictions)


def test_decision_pairs_come_from_the_keep_row_and_seed() -> None:
    members = np.arange(30) % 3 == 0
    pair = decision_pair(members, seed=4, target=7)
    assert pair is not None and members[pair[0]] and not members[pair[1]]
    assert decision_pair(members, seed=4, target=7) == pair  # deterministic
    drawn = {decision_pair(members, seed=4, target=t) for t in range(40)}
    assert len(drawn) > 10  # different targets draw different pairs
    assert decision_pair(np.ones(5, dtype=bool), seed=0, target=0) is None
    assert decision_pair(np.zeros(5, dtype=bool), seed=0, target=0) is None


def test_undefined_without_both_classes_and_counts_only_judged_targets_with_a_pair() -> None:
    results = [_constant_target(t, 1.0, 0.0) for t in range(8)]
    members_only = np.arange(20) % 2 == 0
    undefined = held_out_target_bound(results, members_only, delta=1e-5, confidence=CONFIDENCE, seed=0)
    assert math.isnan(undefined.epsilon) and undefined.n_targets == 0
    # a subset holding one member and one non-member: every judged target has its pair; 4 pairs show nothing
    two = np.zeros(20, dtype=bool)
    two[:2] = True
    small = held_out_target_bound(results, two, delta=1e-5, confidence=CONFIDENCE, seed=0)
    assert small.n_targets == 4 and small.epsilon == 0.0


@pytest.mark.parametrize("epsilon", [0.0, 1.0])
def test_the_bound_is_valid_for_independent_randomised_response_targets(epsilon: float) -> None:
    # each target says "member" on a member with probability p = e^ε / (1 + e^ε) and on a non-member with 1 − p:
    # TPR / FPR = e^ε at the only useful threshold, so the bound must exceed ε in at most ~5% of audits
    rng = np.random.default_rng(17)
    p = math.exp(epsilon) / (1.0 + math.exp(epsilon))
    members = np.arange(40) % 2 == 0
    bounds = []
    for _ in range(REPETITIONS):
        says_member = np.where(members, rng.random((64, 40)) < p, rng.random((64, 40)) < 1.0 - p)
        results = [AttackResult(t, says_member[t].astype(float), members) for t in range(64)]
        bound = held_out_target_bound(
            results, np.ones(40, dtype=bool), delta=1e-5, confidence=CONFIDENCE, seed=int(rng.integers(1 << 30))
        )
        bounds.append(bound.epsilon)
    bounds_array = np.array(bounds)
    assert int((bounds_array > epsilon).sum()) <= ALLOWED_VIOLATIONS
    if epsilon > 0.0:
        assert bounds_array.mean() > 0.2  # 32 judged pairs do see some of the leak
