"""Tests of the balanced keep matrix (Carlini et al. 2022, reference ``train.py``) and its stratified form."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acadp.lira.keep import (
    balanced_keep_matrix,
    keep_matrix_problem,
    n_in_models,
    stratified_keep_matrix,
    stratum_share,
)


def test_hand_case_four_models_half_kept() -> None:
    # pkeep = 0.5 of 4 models: every example is IN for exactly 2 models and OUT for 2.
    keep = balanced_keep_matrix(n_models=4, n_examples=7, pkeep=0.5, seed=0)
    assert keep.shape == (4, 7)
    assert keep.dtype == np.bool_
    np.testing.assert_array_equal(keep.sum(axis=0), np.full(7, 2))


def test_matches_a_direct_transcription_of_the_reference_construction() -> None:
    # Reference: one uniform matrix from one seed; in each column the models with the n_in smallest values are IN.
    n_models, n_examples, pkeep, seed = 6, 40, 0.5, 123
    uniform = np.random.default_rng(seed).uniform(size=(n_models, n_examples))
    expected = np.zeros((n_models, n_examples), dtype=bool)
    for j in range(n_examples):
        smallest = sorted(range(n_models), key=lambda m: uniform[m, j])[:3]
        for m in smallest:
            expected[m, j] = True
    np.testing.assert_array_equal(balanced_keep_matrix(n_models=6, n_examples=40, pkeep=pkeep, seed=seed), expected)


def test_same_seed_same_matrix_other_seed_other_matrix() -> None:
    first = balanced_keep_matrix(n_models=16, n_examples=500, pkeep=0.5, seed=7)
    again = balanced_keep_matrix(n_models=16, n_examples=500, pkeep=0.5, seed=7)
    other = balanced_keep_matrix(n_models=16, n_examples=500, pkeep=0.5, seed=8)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_each_model_keeps_about_pkeep_of_the_examples() -> None:
    # A model's IN count is a sum of n_examples independent Bernoulli(0.5) indicators (columns are independent):
    # sd = sqrt(10000 * 0.25) = 50, so 5 sd = 250 around 5000 fails with probability ~1e-6 per model.
    keep = balanced_keep_matrix(n_models=16, n_examples=10_000, pkeep=0.5, seed=1)
    assert np.all(np.abs(keep.sum(axis=1) - 5_000) < 250)


def test_the_pattern_of_models_differs_between_examples() -> None:
    # Columns are drawn independently: with C(16, 8) = 12870 patterns, 200 columns are not all the same.
    keep = balanced_keep_matrix(n_models=16, n_examples=200, pkeep=0.5, seed=2)
    assert len({tuple(column) for column in keep.T}) > 150


@pytest.mark.parametrize(
    ("n_models", "pkeep", "expected"),
    [(16, 0.5, 8), (10, 0.25, 2), (3, 0.5, 2), (4, 0.9, 4), (4, 0.1, 0)],  # round(2.5) = 2, round(1.5) = 2 (to even)
)
def test_in_count_is_round_of_pkeep_times_models_or_rejected(n_models: int, pkeep: float, expected: int) -> None:
    if 1 <= expected < n_models:
        assert n_in_models(n_models=n_models, pkeep=pkeep) == expected
    else:
        with pytest.raises(ValueError, match="at least 1 and below n_models"):
            n_in_models(n_models=n_models, pkeep=pkeep)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_models": 4, "n_examples": 5, "pkeep": 0.0, "seed": 0}, "pkeep"),
        ({"n_models": 4, "n_examples": 5, "pkeep": 1.0, "seed": 0}, "pkeep"),
        ({"n_models": 4, "n_examples": 5, "pkeep": 1.5, "seed": 0}, "pkeep"),
        ({"n_models": 1, "n_examples": 5, "pkeep": 0.5, "seed": 0}, "n_models"),
        ({"n_models": 4, "n_examples": 0, "pkeep": 0.5, "seed": 0}, "n_examples"),
        ({"n_models": 20, "n_examples": 5, "pkeep": 0.01, "seed": 0}, "at least 1"),
    ],
)
def test_invalid_arguments_raise_value_error(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        balanced_keep_matrix(**kwargs)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(
    n_models=st.integers(min_value=2, max_value=64),
    n_examples=st.integers(min_value=1, max_value=300),
    pkeep=st.floats(min_value=0.001, max_value=0.999),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_every_example_is_in_exactly_round_pkeep_models(
    n_models: int, n_examples: int, pkeep: float, seed: int
) -> None:
    n_in = round(pkeep * n_models)
    if not 1 <= n_in < n_models:
        with pytest.raises(ValueError):
            balanced_keep_matrix(n_models=n_models, n_examples=n_examples, pkeep=pkeep, seed=seed)
        return
    keep = balanced_keep_matrix(n_models=n_models, n_examples=n_examples, pkeep=pkeep, seed=seed)
    assert keep.shape == (n_models, n_examples)
    np.testing.assert_array_equal(keep.sum(axis=0), np.full(n_examples, n_in))


def _stratum(n_examples: int, size: int, seed: int) -> np.ndarray:
    stratum = np.zeros(n_examples, dtype=bool)
    stratum[np.random.default_rng(seed).choice(n_examples, size=size, replace=False)] = True
    return stratum


def test_stratified_every_model_keeps_half_of_the_stratum_and_half_of_the_rest() -> None:
    # the study's sizes: 16 shadows over a pool of 4000, a collective of 40 — balanced alone, targets hold 15 to 25
    stratum = _stratum(4000, 40, seed=0)
    balanced = balanced_keep_matrix(n_models=16, n_examples=4000, pkeep=0.5, seed=3)
    assert np.ptp(balanced[:, stratum].sum(axis=1)) > 0  # what stratifying is for
    keep = stratified_keep_matrix(n_models=16, n_examples=4000, pkeep=0.5, seed=3, stratum=stratum)
    np.testing.assert_array_equal(keep.sum(axis=0), np.full(4000, 8))
    np.testing.assert_array_equal(keep[:, stratum].sum(axis=1), np.full(16, 20))
    np.testing.assert_array_equal(keep[:, ~stratum].sum(axis=1), np.full(16, 1980))
    # moves within columns, starting from the same seed's balanced matrix: most entries stay where they were
    assert 0 < (keep != balanced).mean() < 0.1
    np.testing.assert_array_equal(
        keep, stratified_keep_matrix(n_models=16, n_examples=4000, pkeep=0.5, seed=3, stratum=stratum)
    )
    assert not np.array_equal(
        keep, stratified_keep_matrix(n_models=16, n_examples=4000, pkeep=0.5, seed=4, stratum=stratum)
    )
    assert len({tuple(column) for column in keep[:, stratum].T}) > 30  # still random patterns per example


def test_a_stratified_matrix_is_checked_for_its_shares() -> None:
    stratum = _stratum(200, 10, seed=1)
    keep = stratified_keep_matrix(n_models=8, n_examples=200, pkeep=0.5, seed=0, stratum=stratum)
    assert keep_matrix_problem(keep, n_models=8, n_examples=200, pkeep=0.5, stratum=stratum) is None
    balanced = balanced_keep_matrix(n_models=8, n_examples=200, pkeep=0.5, seed=0)
    problem = keep_matrix_problem(balanced, n_models=8, n_examples=200, pkeep=0.5, stratum=stratum)
    assert problem is not None and "of the stratum, not its share 5" in problem
    assert keep_matrix_problem(balanced, n_models=8, n_examples=200, pkeep=0.5) is None  # unstratified: fine
    with pytest.raises(ValueError, match="stratum must be a bool array"):
        stratified_keep_matrix(n_models=8, n_examples=200, pkeep=0.5, seed=0, stratum=stratum[:-1])


@settings(max_examples=200, deadline=None)
@given(
    n_models=st.integers(min_value=2, max_value=40),
    n_examples=st.integers(min_value=1, max_value=300),
    pkeep=st.floats(min_value=0.05, max_value=0.95),
    fraction=st.floats(min_value=0.0, max_value=1.0),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_stratified_shares_are_as_even_as_the_models_allow(
    n_models: int, n_examples: int, pkeep: float, fraction: float, seed: int
) -> None:
    n_in = round(pkeep * n_models)
    if not 1 <= n_in < n_models:
        return
    stratum = _stratum(n_examples, round(fraction * n_examples), seed=seed)
    keep = stratified_keep_matrix(n_models=n_models, n_examples=n_examples, pkeep=pkeep, seed=seed, stratum=stratum)
    np.testing.assert_array_equal(keep.sum(axis=0), np.full(n_examples, n_in))
    for part in (stratum, ~stratum):
        held = keep[:, part].sum(axis=1)
        low, high = stratum_share(int(part.sum()), n_models=n_models, pkeep=pkeep)
        assert high - low <= 1 and held.min() >= low and held.max() <= high
        assert held.sum() == int(part.sum()) * n_in
