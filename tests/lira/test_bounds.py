"""Tests of the one-run ε lower bound (Steinke, Nasr & Jagielski 2023) and the per-target bound, by hand-checked
fixtures, an independent transcription of Theorem 3.1, and simulated mechanisms whose true ε is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import binom, norm

from acadp.lira.bounds import (
    minimum_guesses,
    one_run_epsilon_lower_bound,
    one_run_guesses,
    one_run_p_value,
    per_target_epsilon_lower_bound,
)
from acadp.lira.epsilon import epsilon_lower_bound

REPETITIONS = 200
CONFIDENCE = 0.95
# A valid bound exceeds the true ε in at most a share 1 − CONFIDENCE of audits in expectation, so the number of
# violations among REPETITIONS independent audits is at most Binomial(200, 0.05) (stochastically). Its 99.9% quantile
# is 21, so a valid bound fails this check with probability below 0.1% (and never with the fixed seeds used here).
ALLOWED_VIOLATIONS = int(binom.ppf(0.999, REPETITIONS, 1.0 - CONFIDENCE))  # 21 of 200


def _randomised_response_audits(
    rng: np.random.Generator, *, epsilon: float, canaries: int, k_each: int | None
) -> list[tuple[int, int]]:
    """(correct, made) of REPETITIONS one-run audits of ε-randomised response on each canary's inclusion bit.

    The output bit equals the inclusion bit with probability e^ε / (1 + e^ε). ``k_each=None`` guesses on every canary
    (the output bit itself); otherwise on the ``k_each`` highest and lowest outputs, ties broken at random.
    """
    included = rng.random((REPETITIONS, canaries)) < 0.5  # (repetitions, canaries)
    truthful = rng.random((REPETITIONS, canaries)) < math.exp(epsilon) / (1.0 + math.exp(epsilon))
    outputs = np.where(truthful, included, ~included).astype(np.float64)
    scores = outputs + 0.5 * rng.random((REPETITIONS, canaries))  # random tie-break inside each output value
    audits = []
    for scores_row, included_row, outputs_row in zip(scores, included, outputs, strict=True):
        ones = int(outputs_row.sum())
        k_plus, k_minus = (ones, canaries - ones) if k_each is None else (k_each, k_each)
        audits.append(one_run_guesses(scores_row, included_row, k_plus, k_minus))
    return audits


def _one_run_bounds(audits: list[tuple[int, int]], *, canaries: int, delta: float) -> np.ndarray:
    return np.array(
        [one_run_epsilon_lower_bound(c, r, canaries, delta=delta, confidence=CONFIDENCE) for c, r in audits]
    )


# ------------------------------------------------------------------------------------------------ hand-checked cases


@pytest.mark.parametrize(("guesses", "confidence"), [(5, 0.95), (100, 0.95), (1000, 0.99), (10_000, 0.9)])
def test_all_guesses_correct_solves_the_closed_form(guesses: int, confidence: float) -> None:
    # δ = 0 and r of r correct: P[Binomial(r, q) ≥ r] = q^r = 1 − confidence, so ε = logit((1 − confidence)^(1/r)).
    # E.g. r = 100 at 95%: q = 0.05^0.01 = 0.970487, ε = log(0.970487 / 0.029513) = 3.4930.
    q = (1.0 - confidence) ** (1.0 / guesses)
    expected = math.log(q / (1.0 - q))
    bound = one_run_epsilon_lower_bound(guesses, guesses, guesses, delta=0.0, confidence=confidence)
    assert bound == pytest.approx(expected, rel=1e-9)
    if guesses == 100:
        assert bound == pytest.approx(3.4930, abs=1e-4)


def test_the_bound_is_where_the_binomial_tail_reaches_one_minus_confidence() -> None:
    # δ = 0, 700 correct of 1000: the bound solves P[Binomial(1000, q) ≥ 700] = 0.05 for q = e^ε / (1 + e^ε)
    bound = one_run_epsilon_lower_bound(700, 1000, 1000, delta=0.0, confidence=0.95)
    q = math.exp(bound) / (1.0 + math.exp(bound))
    assert binom.sf(699, 1000, q) == pytest.approx(0.05, rel=1e-8)
    assert 0.0 < bound < math.log(0.7 / 0.3)  # below the point estimate logit(0.7) = 0.847


@pytest.mark.parametrize(
    ("correct", "made", "confidence"), [(0, 0, 0.95), (0, 10, 0.95), (50, 100, 0.95), (4, 4, 0.95), (6, 6, 0.99)]
)
def test_no_evidence_gives_zero(correct: int, made: int, confidence: float) -> None:
    # no guesses, chance accuracy, or too few perfect guesses (2^−4 = 0.0625 > 0.05; 2^−6 = 0.0156 > 0.01)
    assert one_run_epsilon_lower_bound(correct, made, max(made, 1), delta=0.0, confidence=confidence) == 0.0


def _literal_theorem_p_value(correct: int, made: int, canaries: int, epsilon: float, delta: float) -> float:
    """Theorem 3.1 transcribed as printed: f(v) + 2mδ · max over i = 1..m of (f(v − i) − f(v)) / i."""
    q = math.exp(epsilon) / (1.0 + math.exp(epsilon))

    def f(v: int) -> float:  # P[Binomial(r, q) ≥ v]; 1 for v ≤ 0
        return float(binom.sf(v - 1, made, q))

    worst = max((f(correct - i) - f(correct)) / i for i in range(1, canaries + 1))
    return min(f(correct) + 2.0 * canaries * delta * worst, 1.0)


@pytest.mark.parametrize(
    ("correct", "made", "canaries", "delta"),
    [(90, 100, 100, 1e-4), (40, 50, 200, 1e-3), (150, 200, 200, 1e-5), (30, 30, 60, 1e-3), (120, 200, 300, 1e-5)],
)
def test_delta_term_matches_the_theorem_as_printed(correct: int, made: int, canaries: int, delta: float) -> None:
    for epsilon in (0.0, 0.5, 1.5, 3.0):
        expected = _literal_theorem_p_value(correct, made, canaries, epsilon, delta)
        assert one_run_p_value(correct, made, canaries, epsilon=epsilon, delta=delta) == pytest.approx(
            expected, rel=1e-9, abs=1e-12
        )
    bound = one_run_epsilon_lower_bound(correct, made, canaries, delta=delta, confidence=CONFIDENCE)
    assert bound > 0.0
    # the bound is the crossing of the theorem's p-value with 1 − confidence, and the largest such ε
    assert _literal_theorem_p_value(correct, made, canaries, bound, delta) == pytest.approx(0.05, rel=1e-6)
    assert _literal_theorem_p_value(correct, made, canaries, bound + 1e-4, delta) > 0.05
    # claiming a δ > 0 only weakens the evidence
    assert bound < one_run_epsilon_lower_bound(correct, made, canaries, delta=0.0, confidence=CONFIDENCE)


def test_more_confidence_or_more_delta_lowers_the_bound() -> None:
    base = one_run_epsilon_lower_bound(800, 1000, 1000, delta=1e-5, confidence=0.95)
    assert one_run_epsilon_lower_bound(800, 1000, 1000, delta=1e-5, confidence=0.99) < base
    assert one_run_epsilon_lower_bound(800, 1000, 1000, delta=1e-4, confidence=0.95) < base


@pytest.mark.parametrize(("confidence", "expected"), [(0.9, 4), (0.95, 5), (0.99, 7), (0.999, 10)])
def test_minimum_guesses_for_pure_dp_is_the_smallest_r_with_two_to_minus_r_below_one_minus_confidence(
    confidence: float, expected: int
) -> None:
    # 2^−4 = 0.0625 < 0.1 ≤ 2^−3; 2^−5 = 0.031 < 0.05 ≤ 2^−4; 2^−7 = 0.0078 < 0.01 ≤ 2^−6; 2^−10 < 0.001 ≤ 2^−9
    assert minimum_guesses(canaries=1000, delta=0.0, confidence=confidence) == expected


@pytest.mark.parametrize(("canaries", "delta", "confidence"), [(100_000, 1e-5, 0.95), (5000, 1e-4, 0.99)])
def test_minimum_guesses_with_delta_is_the_threshold_of_a_positive_bound(
    canaries: int, delta: float, confidence: float
) -> None:
    needed = minimum_guesses(canaries=canaries, delta=delta, confidence=confidence)
    assert needed > minimum_guesses(canaries=canaries, delta=0.0, confidence=confidence)  # the 2mδ term costs guesses
    assert one_run_epsilon_lower_bound(needed - 1, needed - 1, canaries, delta=delta, confidence=confidence) == 0.0
    # the bisection assumes every r ≥ needed also works: check a stretch above the threshold
    for guesses in range(needed, needed + 100, 7):
        assert one_run_epsilon_lower_bound(guesses, guesses, canaries, delta=delta, confidence=confidence) > 0.0


# ------------------------------------------------------------------------------------------------ guesses


def test_guesses_on_a_hand_example() -> None:
    scores = np.array([0.1, 0.9, 0.5, 0.3, 0.7])
    included = np.array([False, True, False, True, True])
    # top 2 are canaries 1 and 4 (both included), bottom 1 is canary 0 (excluded): 3 of 3 correct
    assert one_run_guesses(scores, included, 2, 1) == (3, 3)
    # top 3 adds canary 2 (excluded: wrong); bottom 2 adds canary 3 (included: wrong)
    assert one_run_guesses(scores, included, 3, 2) == (3, 5)
    assert one_run_guesses(scores, included, 0, 0) == (0, 0)


# ------------------------------------------------------------------------------------------------ simulations


@pytest.mark.parametrize(("canaries", "k_each"), [(100, None), (1000, None), (1000, 100), (10_000, None)])
def test_randomised_response_bound_is_valid(canaries: int, k_each: int | None) -> None:
    epsilon = 1.0
    audits = _randomised_response_audits(
        np.random.default_rng(canaries), epsilon=epsilon, canaries=canaries, k_each=k_each
    )
    pure = _one_run_bounds(audits, canaries=canaries, delta=0.0)
    assert int((pure > epsilon).sum()) <= ALLOWED_VIOLATIONS
    # randomised response is ε-DP, so also (ε, δ)-DP: the δ > 0 bound must be valid too, and never above the pure one
    if canaries <= 1000:
        approximate = _one_run_bounds(audits, canaries=canaries, delta=1e-5)
        assert np.all(approximate <= pure)
        assert int((approximate > epsilon).sum()) <= ALLOWED_VIOLATIONS


def test_randomised_response_bound_approaches_the_true_epsilon_as_canaries_grow() -> None:
    # Randomised response is the worst case of Theorem 3.1 at δ = 0, so the one-run audit is tight for it: with
    # 10000 canaries the 95% bound is about logit(0.731 − 1.645·0.0044) = 0.963 for ε = 1.
    epsilon = 1.0
    means = []
    for canaries in (100, 1000, 10_000):
        audits = _randomised_response_audits(np.random.default_rng(7), epsilon=epsilon, canaries=canaries, k_each=None)
        means.append(float(_one_run_bounds(audits, canaries=canaries, delta=0.0).mean()))
    assert means[0] < means[1] < means[2] < epsilon
    assert means[2] > 0.9 * epsilon


def _analytic_gaussian_sigma(epsilon: float, delta: float) -> float:
    """σ of the analytic Gaussian mechanism (Balle & Wang 2018, Thm. 8) with sensitivity 1: the σ at which
    Φ(1/(2σ) − εσ) − e^ε Φ(−1/(2σ) − εσ) = δ, so the mechanism is (ε, δ)-DP and for no smaller ε at this δ."""
    return float(
        brentq(
            lambda s: norm.cdf(0.5 / s - epsilon * s) - math.exp(epsilon) * norm.cdf(-0.5 / s - epsilon * s) - delta,
            1e-3,
            1e3,
        )
    )


@pytest.mark.parametrize(("epsilon", "canaries", "k_each"), [(2.0, 1000, 50), (4.0, 2000, 100), (8.0, 1000, 200)])
def test_gaussian_mechanism_bound_is_valid(epsilon: float, canaries: int, k_each: int) -> None:
    # score = b + N(0, σ²) per canary with σ from the analytic calibration, so each canary's score is exactly
    # (ε, δ)-DP in its inclusion bit b and the whole score vector is (ε, δ)-DP for adding or removing one canary
    delta = 1e-5
    sigma = _analytic_gaussian_sigma(epsilon, delta)
    rng = np.random.default_rng(int(epsilon))
    included = rng.random((REPETITIONS, canaries)) < 0.5  # (repetitions, canaries)
    scores = included + rng.normal(0.0, sigma, (REPETITIONS, canaries))
    audits = [one_run_guesses(s, b, k_each, k_each) for s, b in zip(scores, included, strict=True)]
    bounds = _one_run_bounds(audits, canaries=canaries, delta=delta)
    assert int((bounds > epsilon).sum()) <= ALLOWED_VIOLATIONS
    # the audit is not vacuous: one run recovers a fair share of ε (known to be loose for the Gaussian mechanism)
    assert 0.25 * epsilon < bounds.mean() < epsilon


@pytest.mark.parametrize("epsilon", [0.5, 1.0, 2.0])
def test_per_target_bound_on_randomised_response_targets_is_valid(epsilon: float) -> None:
    # each target answers on its member with "member" w.p. p = e^ε / (1 + e^ε) and on its non-member w.p. 1 − p:
    # TPR / FPR = e^ε exactly, so the bound is ≤ ε with probability ≥ 95%
    n_targets = 500
    rng = np.random.default_rng(11)
    p = math.exp(epsilon) / (1.0 + math.exp(epsilon))
    member_hits = rng.random((REPETITIONS, n_targets)) < p  # (repetitions, n_targets)
    nonmember_hits = rng.random((REPETITIONS, n_targets)) < 1.0 - p
    bounds = np.array(
        [
            per_target_epsilon_lower_bound(m, n, delta=1e-5, confidence=CONFIDENCE)
            for m, n in zip(member_hits, nonmember_hits, strict=True)
        ]
    )
    assert int((bounds > epsilon).sum()) <= ALLOWED_VIOLATIONS
    assert bounds.mean() > 0.5 * epsilon


def test_per_target_bound_is_the_clopper_pearson_bound_on_the_counts() -> None:
    member_hits = np.array([True] * 40 + [False] * 10)
    nonmember_hits = np.array([True] * 5 + [False] * 45)
    expected = epsilon_lower_bound(
        true_positives=40, n_members=50, false_positives=5, n_non_members=50, delta=1e-5, confidence=0.9
    )
    assert per_target_epsilon_lower_bound(member_hits, nonmember_hits, delta=1e-5, confidence=0.9) == expected
    assert expected > 0.0


# ------------------------------------------------------------------------------------------------ invalid input


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ((11, 10, 100, 0.0, 0.95), "guesses_correct"),
        ((-1, 10, 100, 0.0, 0.95), "guesses_correct"),
        ((5, 10, 9, 0.0, 0.95), "canaries"),
        ((5, 10, 100, 0.0, 1.0), "confidence"),
        ((5, 10, 100, 0.0, 0.0), "confidence"),
        ((5, 10, 100, -0.1, 0.95), "delta"),
        ((5, 10, 100, 1.0, 0.95), "delta"),
    ],
)
def test_one_run_bound_rejects_invalid_arguments(arguments: tuple[int, int, int, float, float], message: str) -> None:
    correct, made, canaries, delta, confidence = arguments
    with pytest.raises(ValueError, match=message):
        one_run_epsilon_lower_bound(correct, made, canaries, delta=delta, confidence=confidence)


def test_p_value_rejects_negative_epsilon() -> None:
    with pytest.raises(ValueError, match="epsilon"):
        one_run_p_value(5, 10, 10, epsilon=-1.0, delta=0.0)


def test_minimum_guesses_refuses_too_few_canaries() -> None:
    with pytest.raises(ValueError, match="too few"):
        minimum_guesses(canaries=4, delta=0.0, confidence=0.95)
    with pytest.raises(ValueError, match="too few"):
        # 2mδ = 60: even 1000 correct of 1000 leave a p-value of 0.11 at ε = 0 (δ = 0.01 would need 731 guesses)
        minimum_guesses(canaries=1000, delta=0.03, confidence=0.95)
    with pytest.raises(ValueError, match="canaries"):
        minimum_guesses(canaries=0, delta=0.0, confidence=0.95)


@pytest.mark.parametrize(
    ("scores", "included", "k_plus", "k_minus", "message"),
    [
        (np.zeros(5), np.zeros(5, dtype=bool), 3, 3, "k_plus"),
        (np.zeros(5), np.zeros(5, dtype=bool), -1, 0, "k_plus"),
        (np.zeros(5), np.zeros(5), 1, 1, "bool"),
        (np.zeros(5), np.zeros(4, dtype=bool), 1, 1, "bool"),
        (np.array([0.0, np.nan]), np.zeros(2, dtype=bool), 1, 0, "finite"),
    ],
)
def test_guesses_reject_invalid_arguments(
    scores: np.ndarray, included: np.ndarray, k_plus: int, k_minus: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        one_run_guesses(scores, included, k_plus, k_minus)


@pytest.mark.parametrize(
    ("member_hits", "nonmember_hits", "message"),
    [
        (np.ones(3, dtype=bool), np.ones(4, dtype=bool), "same length"),
        (np.ones(0, dtype=bool), np.ones(0, dtype=bool), "same length"),
        (np.ones(3), np.ones(3, dtype=bool), "bool"),
    ],
)
def test_per_target_bound_rejects_invalid_arguments(
    member_hits: np.ndarray, nonmember_hits: np.ndarray, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        per_target_epsilon_lower_bound(member_hits, nonmember_hits, delta=1e-5, confidence=0.95)
    with pytest.raises(ValueError, match="confidence"):
        per_target_epsilon_lower_bound(np.ones(3, dtype=bool), np.ones(3, dtype=bool), delta=1e-5, confidence=1.5)
