"""Tests of the LiRA attacks (Carlini et al. 2022; reference ``plot.py`` and ``advanced_mia.py``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.stats import norm

from acadp.errors import RegistryError
from acadp.lira.attacks import (
    ATTACKS,
    STD_FLOOR,
    global_threshold,
    offline,
    online,
    online_fixed_variance,
)
from acadp.lira.keep import balanced_keep_matrix
from acadp.lira.metrics import auc

ALL_ATTACKS = ["global_threshold", "offline", "offline_fixed_variance", "online", "online_fixed_variance"]


def _call(name: str, target: np.ndarray, shadows: np.ndarray, keep: np.ndarray) -> np.ndarray:
    return ATTACKS.get(name)(target_scores=target, shadow_scores=shadows, shadow_keep=keep)


# --------------------------------------------------------------------------------------------- hand-computed fixtures


def _one_example(in_scores: list[float], out_scores: list[float]) -> tuple[np.ndarray, np.ndarray]:
    """Shadow scores (n_shadows, 1, 1) and keep (n_shadows, 1): the IN shadows first, then the OUT ones."""
    shadows = np.array(in_scores + out_scores, dtype=np.float64)[:, None, None]
    keep = np.array([True] * len(in_scores) + [False] * len(out_scores))[:, None]
    return shadows, keep


def test_online_hand_case() -> None:
    # IN shadows {1, 3}: μ_in = 2, σ_in = 1 (ddof 0); OUT {−1, 1}: μ_out = 0, σ_out = 1. Target s = 2:
    # log N(2; 2, 1) − log N(2; 0, 1) = −(0)²/2 + (2)²/2 = 2 (the normalising constants cancel).
    shadows, keep = _one_example([1.0, 3.0], [-1.0, 1.0])
    np.testing.assert_allclose(online(target_scores=np.array([[2.0]]), shadow_scores=shadows, shadow_keep=keep), [2.0])
    # s = 0: −(0 − 2)²/2 + 0 = −2 (looks like an OUT example)
    np.testing.assert_allclose(online(target_scores=np.array([[0.0]]), shadow_scores=shadows, shadow_keep=keep), [-2.0])


def test_online_sums_over_queries() -> None:
    # Two queries with the shadow scores of the hand case on both; target (2, 0) → 2 + (−2) = 0.
    shadows, keep = _one_example([1.0, 3.0], [-1.0, 1.0])
    shadows = np.repeat(shadows, 2, axis=2)
    prediction = online(target_scores=np.array([[2.0, 0.0]]), shadow_scores=shadows, shadow_keep=keep)
    np.testing.assert_allclose(prediction, [0.0], atol=1e-12)


def test_online_fixed_variance_hand_case() -> None:
    # Example 0: IN {1, 3} (μ 2, residuals ±1), OUT {−1, 1} (μ 0, residuals ±1).
    # Example 1: IN {0, 4} (μ 2, residuals ±2), OUT {0, 0} (μ 0, residuals 0).
    # Pooled σ_in = sqrt((1 + 1 + 4 + 4) / 4) = sqrt(2.5); pooled σ_out = sqrt((1 + 1 + 0 + 0) / 4) = sqrt(0.5).
    # Target of example 0, s = 2: log N(2; 2, 2.5) − log N(2; 0, 0.5)
    #   = −½ log(2π·2.5) − [−½ log(2π·0.5) − 2²/(2·0.5)] = 4 − ½ log 5 = 3.19528...
    shadows = np.array([[1.0, 0.0], [3.0, 4.0], [-1.0, 0.0], [1.0, 0.0]])[:, :, None]
    keep = np.array([[True, True], [True, True], [False, False], [False, False]])
    target = np.array([[2.0], [2.0]])
    prediction = online_fixed_variance(target_scores=target, shadow_scores=shadows, shadow_keep=keep)
    assert prediction[0] == pytest.approx(4.0 - 0.5 * math.log(5.0), rel=1e-12)


def test_offline_hand_case() -> None:
    # OUT {−1, 1}: μ_out = 0, σ_out = 1. s = 1.6448536 is the 95% quantile: Pr[Z > s] = 0.05 → −log 0.05 = 2.99573.
    shadows, keep = _one_example([10.0], [-1.0, 1.0])  # the IN shadow must be ignored
    s = norm.ppf(0.95)
    prediction = offline(target_scores=np.array([[s]]), shadow_scores=shadows, shadow_keep=keep)
    assert prediction[0] == pytest.approx(-math.log(0.05), rel=1e-9)
    # s = μ_out: Pr[Z > 0] = 1/2 → log 2
    prediction = offline(target_scores=np.array([[0.0]]), shadow_scores=shadows, shadow_keep=keep)
    assert prediction[0] == pytest.approx(math.log(2.0), rel=1e-12)


def test_global_threshold_hand_case() -> None:
    # mean over queries of the target's scores: (1 + 3) / 2 = 2, (−1 + 0) / 2 = −0.5; shadows unused
    shadows = np.zeros((2, 2, 2))
    keep = np.array([[True, False], [False, True]])
    prediction = global_threshold(
        target_scores=np.array([[1.0, 3.0], [-1.0, 0.0]]), shadow_scores=shadows, shadow_keep=keep
    )
    np.testing.assert_allclose(prediction, [2.0, -0.5])


# --------------------------------------------------------------------------- direct transcription of the formulas


def _side(shadows: np.ndarray, keep: np.ndarray, j: int, q: int, member: bool) -> list[float]:
    return [float(shadows[i, j, q]) for i in range(shadows.shape[0]) if bool(keep[i, j]) == member]


def _mean_std(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def _pooled_std(shadows: np.ndarray, keep: np.ndarray, member: bool) -> float:
    residuals = []
    for j in range(shadows.shape[1]):
        for q in range(shadows.shape[2]):
            values = _side(shadows, keep, j, q, member)
            mean = sum(values) / len(values)
            residuals += [v - mean for v in values]
    return math.sqrt(sum(r * r for r in residuals) / len(residuals))


def _transcribed(target: np.ndarray, shadows: np.ndarray, keep: np.ndarray, attack: str) -> list[float]:
    """The published formulas with loops, math.log and scipy.stats.norm.pdf / norm.sf (every example has both sides)."""
    fixed = attack.endswith("fixed_variance")
    pooled_in, pooled_out = _pooled_std(shadows, keep, True), _pooled_std(shadows, keep, False)
    predictions = []
    for j in range(target.shape[0]):
        total = 0.0
        for q in range(target.shape[1]):
            s = float(target[j, q])
            mean_in, std_in = _mean_std(_side(shadows, keep, j, q, True))
            mean_out, std_out = _mean_std(_side(shadows, keep, j, q, False))
            if fixed:
                std_in, std_out = pooled_in, pooled_out
            if attack.startswith("online"):
                total += math.log(norm.pdf(s, mean_in, std_in)) - math.log(norm.pdf(s, mean_out, std_out))
            elif attack.startswith("offline"):
                total += -math.log(norm.sf(s, mean_out, std_out))
            else:
                total += s / target.shape[1]
        predictions.append(total)
    return predictions


@pytest.mark.parametrize("attack", ALL_ATTACKS)
def test_vectorised_attacks_match_the_transcribed_formulas(attack: str) -> None:
    rng = np.random.default_rng(3)
    n_shadows, n_examples, n_queries = 12, 30, 3
    keep = balanced_keep_matrix(n_models=n_shadows, n_examples=n_examples, pkeep=0.5, seed=4)
    means = rng.normal(scale=3.0, size=(1, n_examples, 1))
    shadows = (
        means
        + 1.5 * keep[:, :, None]
        + rng.normal(scale=rng.uniform(0.5, 2.0, size=(1, n_examples, 1)), size=(n_shadows, n_examples, n_queries))
    )
    target = means[0] + rng.normal(size=(n_examples, n_queries))
    expected = _transcribed(target, shadows, keep, attack)
    np.testing.assert_allclose(_call(attack, target, shadows, keep), expected, rtol=1e-9, atol=1e-9)


# ------------------------------------------------------------------------------------------------------ edge cases


def test_example_without_in_shadows_uses_the_documented_fallback() -> None:
    # Example 0: IN {1, 3} (μ 2, residuals ±1), OUT {−1, 1}. Example 1: no IN shadow; OUT {5, 5, 7, 7}: μ 6, σ 1.
    # Fallback for example 1's IN side: μ_in = mean of the IN means of examples that have them = 2,
    # σ_in = pooled IN σ = sqrt((1 + 1) / 2) = 1. Target s = 6: log N(6; 2, 1) − log N(6; 6, 1) = −16/2 − 0 = −8.
    shadows = np.array([[1.0, 5.0], [3.0, 5.0], [-1.0, 7.0], [1.0, 7.0]])[:, :, None]
    keep = np.array([[True, False], [True, False], [False, False], [False, False]])
    prediction = online(target_scores=np.array([[2.0], [6.0]]), shadow_scores=shadows, shadow_keep=keep)
    np.testing.assert_allclose(prediction, [2.0, -8.0])
    for attack in ALL_ATTACKS:
        assert np.all(np.isfinite(_call(attack, np.array([[2.0], [6.0]]), shadows, keep))), attack


def test_example_without_out_shadows_is_finite_for_every_attack() -> None:
    shadows = np.array([[1.0, 5.0], [3.0, 6.0], [-1.0, 7.0], [1.0, 8.0]])[:, :, None]
    keep = np.array([[True, True], [True, True], [False, True], [False, True]])  # example 1 is IN everywhere
    for attack in ALL_ATTACKS:
        prediction = _call(attack, np.array([[2.0], [6.0]]), shadows, keep)
        assert prediction.shape == (2,)
        assert np.all(np.isfinite(prediction)), attack


@pytest.mark.parametrize("attack", ["online", "online_fixed_variance"])
def test_online_needs_each_side_somewhere(attack: str) -> None:
    shadows = np.zeros((3, 4, 1))
    with pytest.raises(ValueError, match="no example has an OUT shadow"):
        _call(attack, np.zeros((4, 1)), shadows, np.ones((3, 4), dtype=bool))
    with pytest.raises(ValueError, match="no example has an IN shadow"):
        _call(attack, np.zeros((4, 1)), shadows, np.zeros((3, 4), dtype=bool))


def test_offline_needs_out_shadows_but_not_in_shadows() -> None:
    shadows = np.arange(12.0).reshape(3, 4, 1)
    assert np.all(
        np.isfinite(
            offline(target_scores=np.zeros((4, 1)), shadow_scores=shadows, shadow_keep=np.zeros((3, 4), dtype=bool))
        )
    )
    with pytest.raises(ValueError, match="OUT shadow"):
        offline(target_scores=np.zeros((4, 1)), shadow_scores=shadows, shadow_keep=np.ones((3, 4), dtype=bool))


def test_constant_scores_give_finite_predictions_in_the_right_order() -> None:
    # Every shadow scores IN examples 1.0 and OUT examples 0.0 exactly: σ = 0, so σ becomes STD_FLOOR = 1e-30.
    keep = balanced_keep_matrix(n_models=6, n_examples=3, pkeep=0.5, seed=0)
    shadows = keep[:, :, None].astype(np.float64)
    target = np.array([[1.0], [0.0], [0.5]])
    for attack in ALL_ATTACKS:
        prediction = _call(attack, target, shadows, keep)
        assert np.all(np.isfinite(prediction)), attack
        assert prediction[0] > prediction[1], attack  # the score an IN model gives looks more like a member
    # the midpoint is equally far from both Gaussians: log N(½; 1, σ) − log N(½; 0, σ) = 0 exactly
    assert online(target_scores=target, shadow_scores=shadows, shadow_keep=keep)[2] == 0.0
    assert STD_FLOOR == 1e-30


def test_identical_in_and_out_scores_give_zero() -> None:
    keep = balanced_keep_matrix(n_models=4, n_examples=2, pkeep=0.5, seed=0)
    shadows = np.full((4, 2, 1), 0.7)
    prediction = online(target_scores=np.full((2, 1), 0.7), shadow_scores=shadows, shadow_keep=keep)
    np.testing.assert_array_equal(prediction, [0.0, 0.0])


@pytest.mark.parametrize("attack", ALL_ATTACKS)
def test_single_query_and_single_shadow_per_side(attack: str) -> None:
    # 2 shadows, one IN and one OUT per example, 1 query: σ per example is 0 → floor; still finite
    keep = np.array([[True, False, True], [False, True, False]])
    shadows = np.array([[[0.5], [1.0], [2.0]], [[-0.5], [3.0], [0.0]]])
    prediction = _call(attack, np.array([[0.4], [2.9], [1.0]]), shadows, keep)
    assert prediction.shape == (3,)
    assert prediction.dtype == np.float64
    assert np.all(np.isfinite(prediction))


@pytest.mark.parametrize(
    ("target", "shadows", "keep", "message"),
    [
        (np.zeros(3), np.zeros((2, 3, 1)), np.zeros((2, 3), dtype=bool), "target_scores"),
        (np.zeros((3, 1)), np.zeros((2, 4, 1)), np.zeros((2, 4), dtype=bool), "shadow_scores"),
        (np.zeros((3, 1)), np.zeros((2, 3, 1)), np.zeros((3, 2), dtype=bool), "shadow_keep"),
        (np.zeros((3, 1)), np.zeros((2, 3, 1)), np.zeros((2, 3), dtype=int), "bool"),
        (np.full((3, 1), np.nan), np.zeros((2, 3, 1)), np.zeros((2, 3), dtype=bool), "NaN"),
    ],
)
def test_invalid_inputs_raise(target: np.ndarray, shadows: np.ndarray, keep: np.ndarray, message: str) -> None:
    for attack in ALL_ATTACKS:
        with pytest.raises(ValueError, match=message):
            _call(attack, target, shadows, keep)


# ------------------------------------------------------------------------------------------- Hypothesis properties


@st.composite
def attack_inputs(draw: st.DrawFn, *, grid: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random target scores, shadow scores and keep matrix with at least one IN and one OUT entry somewhere."""
    n_shadows = draw(st.integers(2, 8))
    n_examples = draw(st.integers(1, 8))
    n_queries = draw(st.integers(1, 3))
    if grid:
        scores = st.integers(-600, 600).map(lambda k: k / 4.0)
    else:
        scores = st.floats(-150.0, 150.0, allow_nan=False, allow_infinity=False)
    target = draw(hnp.arrays(np.float64, (n_examples, n_queries), elements=scores))
    shadows = draw(hnp.arrays(np.float64, (n_shadows, n_examples, n_queries), elements=scores))
    keep = draw(hnp.arrays(np.bool_, (n_shadows, n_examples)))
    assume(keep.any() and not keep.all())
    return target, shadows, keep


@settings(max_examples=150, deadline=None)
@given(attack_inputs())
def test_predictions_are_finite_for_any_scores_and_keep(case: tuple[np.ndarray, np.ndarray, np.ndarray]) -> None:
    target, shadows, keep = case
    for attack in ALL_ATTACKS:
        prediction = _call(attack, target, shadows, keep)
        assert prediction.shape == (target.shape[0],)
        assert np.all(np.isfinite(prediction)), attack


@settings(max_examples=50, deadline=None)
@given(attack_inputs(grid=True), st.integers(0, 2**32 - 1))
def test_predictions_do_not_depend_on_the_order_of_the_shadows(
    case: tuple[np.ndarray, np.ndarray, np.ndarray], seed: int
) -> None:
    # Scores on a grid of quarters, so means are computed exactly whatever the order and a σ is either exactly 0
    # (constant, floored) or ≥ 0.1: reordering changes the result by rounding only.
    target, shadows, keep = case
    order = np.random.default_rng(seed).permutation(shadows.shape[0])
    for attack in ALL_ATTACKS:
        np.testing.assert_allclose(
            _call(attack, target, shadows[order], keep[order]),
            _call(attack, target, shadows, keep),
            rtol=1e-9,
            atol=1e-9,
        )


# ------------------------------------------------------------------------------------ known-separation synthetic data


def _synthetic(
    *, delta: float, tau: float, n_queries: int, n_shadows: int, n_examples: int = 10_000, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per example j a base level μ_j ~ N(0, τ²); an IN model scores N(μ_j + Δ, 1), an OUT model N(μ_j, 1), i.i.d.
    over queries and models. The target is IN for a random half. Returns target, shadows, shadow_keep, members."""
    rng = np.random.default_rng(seed)
    base = rng.normal(scale=tau, size=(n_examples, 1))
    keep = balanced_keep_matrix(n_models=n_shadows + 1, n_examples=n_examples, pkeep=0.5, seed=seed)
    scores = base + delta * keep[:, :, None] + rng.normal(size=(n_shadows + 1, n_examples, n_queries))
    return scores[0], scores[1:], keep[1:], keep[0]


# Tolerance. The analytic AUC is that of the exact likelihood ratio, the best any ranking can do. Two things move the
# measured AUC from it: sampling (≈ 5000 members and 5000 non-members: Hanley–McNeil standard error ≈ 0.005 near 0.76,
# ≈ 0.003 near 0.92) and the finite number of shadows (means and σ fitted from ~256 shadows per side, a loss of
# ≈ 0.005 measured over seeds; ≈ 0.01 with 64 per side). 0.02 ≈ 3 standard errors + that loss. A wrong sign, a
# dropped query or a mixed-up IN/OUT side moves the AUC by ≥ 0.1.
AUC_TOLERANCE = 0.02


@pytest.mark.parametrize("attack", ["online", "online_fixed_variance", "offline", "offline_fixed_variance"])
def test_lira_reaches_the_analytic_auc_despite_heterogeneous_examples(attack: str) -> None:
    # The per-example likelihood ratio is monotone in s − μ_j, which is N(Δ, 1) for members and N(0, 1) for
    # non-members: AUC = Φ(Δ/√2) = Φ(1/√2) = 0.7602 for Δ = 1, whatever the spread τ of the μ_j.
    target, shadows, keep, members = _synthetic(delta=1.0, tau=2.0, n_queries=1, n_shadows=512)
    lira_auc = auc(_call(attack, target, shadows, keep), members)
    assert lira_auc == pytest.approx(norm.cdf(1.0 / math.sqrt(2.0)), abs=AUC_TOLERANCE)
    baseline = global_threshold(target_scores=target, shadow_scores=shadows, shadow_keep=keep)
    assert lira_auc > auc(baseline, members) + 0.1  # per-example calibration is what LiRA adds


def test_global_threshold_reaches_its_analytic_auc() -> None:
    # Without per-example calibration, s = μ_j + Δ·m + noise: member − non-member ~ N(Δ, 2(1 + τ²)).
    # τ = 0: AUC = Φ(Δ/√2) = 0.7602 (same as LiRA); τ = 2: AUC = Φ(1/√10) = 0.6241 (LiRA's advantage).
    for tau in (0.0, 2.0):
        target, shadows, keep, members = _synthetic(delta=1.0, tau=tau, n_queries=1, n_shadows=2)
        expected = norm.cdf(1.0 / math.sqrt(2.0 * (1.0 + tau**2)))
        prediction = global_threshold(target_scores=target, shadow_scores=shadows, shadow_keep=keep)
        assert auc(prediction, members) == pytest.approx(expected, abs=AUC_TOLERANCE), tau


@pytest.mark.parametrize("attack", ["online", "online_fixed_variance", "global_threshold"])
def test_queries_are_combined(attack: str) -> None:
    # 4 i.i.d. queries with Δ = 1 and τ = 0: the summed log-likelihood ratio and the mean score both rank by the mean
    # of the 4 queries, N(Δ·m, 1/4): AUC = Φ(Δ/√(2/4)) = Φ(√2) = 0.9214, against Φ(1/√2) = 0.7602 from one query.
    # (Offline LiRA's sum of −log Pr[Z > s_q] is not the likelihood ratio across queries, so it is not held to this.)
    target, shadows, keep, members = _synthetic(delta=1.0, tau=0.0, n_queries=4, n_shadows=256)
    expected = norm.cdf(math.sqrt(2.0))
    assert auc(_call(attack, target, shadows, keep), members) == pytest.approx(expected, abs=AUC_TOLERANCE)


# ------------------------------------------------------------------------------------------ registry, leave-one-out


def test_registry_holds_every_attack_and_names_them_on_a_typo() -> None:
    assert ATTACKS.names() == ALL_ATTACKS
    with pytest.raises(RegistryError, match="online_fixed_variance"):
        ATTACKS.get("onlne")
