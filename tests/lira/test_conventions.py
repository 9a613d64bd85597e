"""Leave-one-out conventions: hand-computed fixtures for ``unbalanced``, ``reference`` (the published LiRA code's
truncation) and ``balanced``, and their behaviour on useless models."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from acadp.errors import RegistryError
from acadp.lira.attacks import online
from acadp.lira.conventions import (
    CONVENTIONS,
    REPORTED_CONVENTIONS,
    Convention,
    balancing_mask,
    reference_mask,
    run_leave_one_out,
)
from acadp.lira.keep import balanced_keep_matrix
from acadp.lira.results import LiraRow

ALL_ATTACKS = ["global_threshold", "offline", "offline_fixed_variance", "online", "online_fixed_variance"]

# ------------------------------------------------------------------------------------ the hand-computed fixture
# 6 models, 2 examples, 1 query; every example is IN for exactly 3 models (a balanced keep matrix).
#   example 0: IN for models 0, 1, 3 (scores 2, 3, 4); OUT for 2, 4, 5 (scores 0, −1, 1)
#   example 1: IN for models 1, 2, 4 (scores 2.5, 3.5, 1.5); OUT for 0, 3, 5 (scores 0.5, −0.5, 0)
KEEP = np.array([[1, 0], [1, 1], [0, 1], [1, 0], [0, 1], [0, 0]], dtype=bool)
SCORES = np.array([[2.0, 0.5], [3.0, 2.5], [0.0, 3.5], [4.0, -0.5], [-1.0, 1.5], [1.0, 0.0]])[:, :, None]


def _log_density(s: float, sample: list[float]) -> float:
    """log N(s; mean, std) with the ML fit (ddof 0) of ``sample``, written out."""
    mean = sum(sample) / len(sample)
    var = sum((x - mean) ** 2 for x in sample) / len(sample)
    return -0.5 * math.log(2.0 * math.pi * var) - (s - mean) ** 2 / (2.0 * var)


def _online_by_hand(s: float, in_scores: list[float], out_scores: list[float]) -> float:
    return _log_density(s, in_scores) - _log_density(s, out_scores)


def _predictions(convention: Convention, target: int) -> np.ndarray:
    results = run_leave_one_out(scores=SCORES, keep=KEEP, attack="online", convention=convention)
    return results[target].predictions


def test_target_zero_by_hand_under_each_convention() -> None:
    # Target 0 (IN on example 0, OUT on example 1); its shadows are models 1..5, in that order.
    # unbalanced: example 0 fits IN {3, 4} (models 1, 3), OUT {0, −1, 1} (models 2, 4, 5);
    #             example 1 fits IN {2.5, 3.5, 1.5} (models 1, 2, 4), OUT {−0.5, 0} (models 3, 5).
    unbalanced = [_online_by_hand(2.0, [3, 4], [0, -1, 1]), _online_by_hand(0.5, [2.5, 3.5, 1.5], [-0.5, 0])]
    np.testing.assert_allclose(_predictions("unbalanced", 0), unbalanced, rtol=1e-12)
    # reference (plot.py): in_size = min(2, 3) = 2, out_size = min(3, 2) = 2, the first shadows in model order:
    #   example 0 keeps OUT models 2, 4 → {0, −1}; example 1 keeps IN models 1, 2 → {2.5, 3.5}.
    reference = [_online_by_hand(2.0, [3, 4], [0, -1]), _online_by_hand(0.5, [2.5, 3.5], [-0.5, 0])]
    np.testing.assert_allclose(_predictions("reference", 0), reference, rtol=1e-12)
    # balanced: example 0 drops one of the OUT models 2, 4, 5 at random; example 1 one of the IN models 1, 2, 4.
    balanced_options = [
        [_online_by_hand(2.0, [3, 4], out) for out in ([-1, 1], [0, 1], [0, -1])],
        [_online_by_hand(0.5, inside, [-0.5, 0]) for inside in ([3.5, 1.5], [2.5, 1.5], [2.5, 3.5])],
    ]
    for value, options, plain in zip(_predictions("balanced", 0), balanced_options, unbalanced, strict=True):
        assert min(abs(value - option) for option in options) < 1e-9
        assert abs(value - plain) > 1e-3  # balancing changed the fit


def _first_shadows(keep: np.ndarray, target: int) -> list[list[int]]:
    """plot.py's selection, transcribed with lists: per example the first in_size IN and out_size OUT shadows."""
    shadows = [m for m in range(keep.shape[0]) if m != target]
    dat_in = [[m for m in shadows if keep[m, j]] for j in range(keep.shape[1])]
    dat_out = [[m for m in shadows if not keep[m, j]] for j in range(keep.shape[1])]
    in_size, out_size = min(map(len, dat_in)), min(map(len, dat_out))
    return [sorted(a[:in_size] + b[:out_size]) for a, b in zip(dat_in, dat_out, strict=True)]


@pytest.mark.parametrize("target", range(6))
def test_every_target_of_the_fixture_matches_the_transcribed_rules(target: int) -> None:
    shadows = [m for m in range(6) if m != target]
    for convention in ("unbalanced", "reference"):
        used = [shadows] * 2 if convention == "unbalanced" else _first_shadows(KEEP, target)
        expected = [
            _online_by_hand(
                SCORES[target, j, 0],
                [SCORES[m, j, 0] for m in used[j] if KEEP[m, j]],
                [SCORES[m, j, 0] for m in used[j] if not KEEP[m, j]],
            )
            for j in range(2)
        ]
        np.testing.assert_allclose(_predictions(convention, target), expected, rtol=1e-12, err_msg=convention)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reference_mask_is_the_published_truncation_on_random_keep_matrices(seed: int) -> None:
    keep = balanced_keep_matrix(n_models=8, n_examples=30, pkeep=0.5, seed=seed)
    for target in range(8):
        mask = reference_mask(keep, target)
        chosen = _first_shadows(keep, target)
        shadows = [m for m in range(8) if m != target]
        for j in range(30):
            assert [shadows[i] for i in np.flatnonzero(mask[:, j])] == chosen[j]


@pytest.mark.parametrize("n_models", [4, 5, 8, 16])
@pytest.mark.parametrize("convention", ["balanced", "reference"])
def test_both_reported_conventions_leave_the_same_counts_whatever_the_target_membership(
    n_models: int, convention: str
) -> None:
    keep = balanced_keep_matrix(n_models=n_models, n_examples=50, pkeep=0.5, seed=1)
    k = int(keep[:, 0].sum())
    for target in range(n_models):
        mask = CONVENTIONS.get(convention).mask(keep, target)
        others = keep[np.arange(n_models) != target]
        assert np.all((others & mask).sum(axis=0) == k - 1)
        assert np.all((~others & mask).sum(axis=0) == n_models - k - 1)


def test_useless_models_give_chance_auc_under_the_reported_conventions_only() -> None:
    """Scores carry no membership signal: balanced and reference stay at AUC 0.5; unbalanced drifts below."""
    rng = np.random.default_rng(3)
    keep = balanced_keep_matrix(n_models=8, n_examples=4000, pkeep=0.5, seed=3)
    scores = rng.normal(size=(8, 4000, 1)) + rng.normal(size=(1, 4000, 1))  # per-example offsets, no membership
    for convention, low, high in (("balanced", 0.48, 0.52), ("reference", 0.48, 0.52), ("unbalanced", 0.0, 0.47)):
        results = run_leave_one_out(scores=scores, keep=keep, attack="online", convention=convention)
        auc = np.mean([roc_auc_score(r.members, r.predictions) for r in results])
        assert low <= auc <= high, (convention, auc)


def test_leave_one_out_attacks_each_model_with_the_others_as_shadows() -> None:
    rng = np.random.default_rng(5)
    keep = balanced_keep_matrix(n_models=6, n_examples=20, pkeep=0.5, seed=5)
    scores = rng.normal(size=(6, 20, 2)) + keep[:, :, None]
    results = run_leave_one_out(scores=scores, keep=keep, attack="online")
    assert [r.target for r in results] == list(range(6))
    for r in results:
        others = np.arange(6) != r.target
        np.testing.assert_array_equal(r.members, keep[r.target])
        expected = online(
            target_scores=scores[r.target],
            shadow_scores=scores[others],
            shadow_keep=keep[others],
            shadow_mask=balancing_mask(keep, r.target),
        )
        np.testing.assert_array_equal(r.predictions, expected)
    by_function = run_leave_one_out(scores=scores, keep=keep, attack=online)
    for a, b in zip(results, by_function, strict=True):
        np.testing.assert_array_equal(a.predictions, b.predictions)


def test_leave_one_out_with_two_models_and_the_smallest_balanced_keep() -> None:
    # n_models = 2: each target has one shadow, IN exactly where the target is OUT; predictions stay finite
    keep = balanced_keep_matrix(n_models=2, n_examples=10, pkeep=0.5, seed=0)
    scores = np.random.default_rng(0).normal(size=(2, 10, 1))
    for attack in ALL_ATTACKS:
        for r in run_leave_one_out(scores=scores, keep=keep, attack=attack, convention="unbalanced"):
            assert np.all(np.isfinite(r.predictions)), attack


def test_leave_one_out_rejects_bad_input() -> None:
    for convention in ("balanced", "reference"):
        with pytest.raises(ValueError, match=f"at least 4 models under the '{convention}' convention"):
            run_leave_one_out(
                scores=np.zeros((3, 3, 1)), keep=np.zeros((3, 3), dtype=bool), attack="online", convention=convention
            )
    with pytest.raises(ValueError, match="n_models, n_examples, n_queries"):
        run_leave_one_out(scores=np.zeros((2, 3)), keep=np.zeros((2, 3), dtype=bool), attack="online")
    with pytest.raises(RegistryError):
        run_leave_one_out(scores=np.zeros((4, 3, 1)), keep=np.zeros((4, 3), dtype=bool), attack="nope")
    with pytest.raises(RegistryError, match="balanced, reference, unbalanced"):
        run_leave_one_out(
            scores=np.zeros((4, 3, 1)), keep=np.zeros((4, 3), dtype=bool), attack="online", convention="plain"
        )  # type: ignore[arg-type]


def test_registered_conventions_are_the_row_literal_and_the_reported_ones_exist() -> None:
    assert set(CONVENTIONS.names()) == set(LiraRow.model_fields["convention"].annotation.__args__)
    assert REPORTED_CONVENTIONS == ("balanced", "reference")
