"""Tests of the empirical ε lower bounds and Clopper–Pearson intervals (Jagielski et al. 2020; Nasr et al. 2021)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq
from scipy.stats import binom, norm

from acadp.lira.epsilon import clopper_pearson, epsilon_lower_bound, epsilon_lower_bound_from_scores

# ---------------------------------------------------------------------------------------------------- Clopper–Pearson


@pytest.mark.parametrize("n", [1, 10, 1000])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_closed_forms_at_zero_and_all_successes(n: int, confidence: float) -> None:
    # k = 0: Pr[0 successes | p] = (1 − p)^n = α/2 → upper = 1 − (α/2)^(1/n); k = n: p^n = α/2 → lower = (α/2)^(1/n)
    half_alpha = (1.0 - confidence) / 2.0
    none = clopper_pearson(0, n, confidence=confidence)
    assert none.lower == 0.0
    assert none.upper == pytest.approx(1.0 - half_alpha ** (1.0 / n), rel=1e-10)
    every = clopper_pearson(n, n, confidence=confidence)
    assert every.lower == pytest.approx(half_alpha ** (1.0 / n), rel=1e-10)
    assert every.upper == 1.0


def test_published_value_five_of_ten() -> None:
    # The exact 95% interval for 5 successes in 10 trials is (0.1871, 0.8129) (Clopper & Pearson 1934 tables;
    # e.g. R's binom.test(5, 10)$conf.int = 0.187086 0.812914).
    interval = clopper_pearson(5, 10)
    assert interval.lower == pytest.approx(0.187086, abs=1e-6)
    assert interval.upper == pytest.approx(0.812914, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))), st.floats(0.5, 0.999))
def test_interval_ends_solve_the_binomial_tail_equations(case: tuple[int, int], confidence: float) -> None:
    # The definition, independent of the beta-quantile form: the upper end u solves Pr[X ≤ k | u] = α/2 and the lower
    # end l solves Pr[X ≥ k | l] = α/2 (X ~ Binomial(n, ·)); the interval contains the observed rate k/n.
    k, n = case
    half_alpha = (1.0 - confidence) / 2.0
    interval = clopper_pearson(k, n, confidence=confidence)
    assert interval.lower <= k / n <= interval.upper
    if k < n:
        assert binom.cdf(k, n, interval.upper) == pytest.approx(half_alpha, rel=1e-6, abs=1e-12)
    if k > 0:
        assert binom.sf(k - 1, n, interval.lower) == pytest.approx(half_alpha, rel=1e-6, abs=1e-12)


def test_higher_confidence_gives_a_wider_interval() -> None:
    narrow, wide = clopper_pearson(30, 100, confidence=0.9), clopper_pearson(30, 100, confidence=0.99)
    assert wide.lower < narrow.lower < 0.3 < narrow.upper < wide.upper


# ------------------------------------------------------------------------------------------------- ε from counts


def test_hand_case_perfect_attack() -> None:
    # 1000 members all flagged, 1000 non-members none flagged, δ = 0, 95%:
    # TPR_lo = 0.025^(1/1000) = 0.996318, FPR_hi = 1 − 0.025^(1/1000) = 0.003682;
    # log(TPR_lo / FPR_hi) = log(270.6) = 5.6005; (1 − FPR_hi)/(1 − TPR_lo) is the same ratio by symmetry.
    root = 0.025 ** (1.0 / 1000)
    expected = math.log(root / (1.0 - root))
    bound = epsilon_lower_bound(true_positives=1000, n_members=1000, false_positives=0, n_non_members=1000, delta=0.0)
    assert bound == pytest.approx(expected, rel=1e-9)
    assert bound == pytest.approx(5.6005, abs=1e-4)


def test_hand_case_with_delta() -> None:
    # tp = 500/1000, fp = 0/1000, δ = 1e-5: TPR_lo = CP lower(500, 1000) at 2.5%, FPR_hi = 1 − 0.025^(1/1000);
    # ε = log((TPR_lo − δ)/FPR_hi) (the other term, log((1 − FPR_hi − δ)/(1 − TPR_lo)) ≈ log 2, is smaller).
    tpr_lo = clopper_pearson(500, 1000).lower
    fpr_hi = 1.0 - 0.025 ** (1.0 / 1000)
    expected = math.log((tpr_lo - 1e-5) / fpr_hi)
    bound = epsilon_lower_bound(true_positives=500, n_members=1000, false_positives=0, n_non_members=1000, delta=1e-5)
    assert bound == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("tp", "fp"), [(0, 0), (1000, 1000), (500, 500), (300, 700), (10, 12)])
def test_no_evidence_gives_zero(tp: int, fp: int) -> None:
    bound = epsilon_lower_bound(true_positives=tp, n_members=1000, false_positives=fp, n_non_members=1000, delta=1e-5)
    assert bound == 0.0


def test_a_large_claimed_delta_explains_everything() -> None:
    # δ ≥ TPR_lo and δ ≥ 1 − FPR_hi: both numerators are ≤ 0, so no ε is ruled out
    assert (
        epsilon_lower_bound(true_positives=1000, n_members=1000, false_positives=0, n_non_members=1000, delta=0.999)
        == 0.0
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"delta": -0.1}, "delta"),
        ({"delta": 1.0}, "delta"),
        ({"confidence": 1.0}, "confidence"),
        ({"confidence": 0.0}, "confidence"),
        ({"true_positives": 11}, "true_positives"),
        ({"false_positives": -1}, "false_positives"),
        ({"n_members": 0, "true_positives": 0}, "at least 1"),
    ],
)
def test_invalid_arguments_raise(kwargs: dict[str, float], message: str) -> None:
    arguments: dict[str, float] = {
        "true_positives": 5,
        "n_members": 10,
        "false_positives": 1,
        "n_non_members": 10,
        "delta": 1e-5,
    }
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        epsilon_lower_bound(**arguments)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------ ε from scores


def test_from_scores_matches_a_loop_over_thresholds() -> None:
    rng = np.random.default_rng(0)
    members = rng.random(300) < 0.4
    predictions = np.round(rng.normal(size=300) + 1.5 * members, 1)
    best = 0.0
    for t in np.unique(predictions):
        flagged = predictions >= t
        best = max(
            best,
            epsilon_lower_bound(
                true_positives=int((flagged & members).sum()),
                n_members=int(members.sum()),
                false_positives=int((flagged & ~members).sum()),
                n_non_members=int((~members).sum()),
                delta=1e-5,
            ),
        )
    result = epsilon_lower_bound_from_scores(predictions, members, delta=1e-5)
    assert result.epsilon == pytest.approx(best, rel=1e-12)
    flagged = predictions >= result.threshold
    assert result.true_positives == int((flagged & members).sum())
    assert result.false_positives == int((flagged & ~members).sum())
    assert result.epsilon > 0.0


def test_useless_attacks_give_zero() -> None:
    # identical predictions for members and non-members: TPR = FPR at every threshold, so no evidence
    shared = np.random.default_rng(1).normal(size=500)
    predictions = np.concatenate([shared, shared])
    members = np.array([True] * 500 + [False] * 500)
    assert epsilon_lower_bound_from_scores(predictions, members, delta=1e-5).epsilon == 0.0
    # constant predictions: the only operating points flag everybody or nobody
    assert epsilon_lower_bound_from_scores(np.zeros(1000), members, delta=1e-5).epsilon == 0.0
    # predictions independent of membership (fixed seed)
    independent = np.random.default_rng(2).normal(size=1000)
    assert epsilon_lower_bound_from_scores(independent, members, delta=1e-5).epsilon == 0.0


def _gaussian_dp_epsilon(mu: float, delta: float) -> float:
    """ε of a μ-GDP mechanism at δ (Dong, Roth & Su 2019, Cor. 2.13):
    δ(ε) = Φ(−ε/μ + μ/2) − e^ε Φ(−ε/μ − μ/2), solved for ε."""
    return float(
        brentq(
            lambda eps: norm.cdf(-eps / mu + mu / 2) - math.exp(eps) * norm.cdf(-eps / mu - mu / 2) - delta, 0.0, 100.0
        )
    )


@pytest.mark.parametrize(("mu", "delta"), [(1.0, 1e-3), (2.0, 1e-5), (3.0, 1e-5)])
def test_gaussian_mechanism_bound_is_positive_and_below_the_true_epsilon(mu: float, delta: float) -> None:
    # An attack seeing the output of a Gaussian mechanism with sensitivity/σ = μ: members N(μ, 1), non-members
    # N(0, 1). The mechanism is μ-GDP, so its true ε(δ) is known (μ=1, δ=1e-3: 3.14; μ=2, δ=1e-5: 10.0;
    # μ=3, δ=1e-5: 16.7). With 100000 trials per world the bound is well above 0 but must stay below the truth.
    rng = np.random.default_rng(0)
    n = 100_000
    predictions = np.concatenate([rng.normal(mu, 1.0, n), rng.normal(0.0, 1.0, n)])
    members = np.concatenate([np.ones(n, dtype=bool), np.zeros(n, dtype=bool)])
    true_epsilon = _gaussian_dp_epsilon(mu, delta)
    result = epsilon_lower_bound_from_scores(predictions, members, delta=delta)
    assert 0.25 * true_epsilon < result.epsilon < true_epsilon
    # asking for more confidence can only lower the bound
    assert epsilon_lower_bound_from_scores(predictions, members, delta=delta, confidence=0.999).epsilon < result.epsilon


def test_from_scores_rejects_one_class_and_bad_shapes() -> None:
    with pytest.raises(ValueError, match="members and non-members"):
        epsilon_lower_bound_from_scores(np.zeros(3), np.ones(3, dtype=bool), delta=1e-5)
    with pytest.raises(ValueError, match="bool"):
        epsilon_lower_bound_from_scores(np.zeros(3), np.ones(4, dtype=bool), delta=1e-5)
