"""Tests of LiRA's logit-scaled confidence score (Carlini et al. 2022, reference ``score.py``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from acadp.lira.scores import logit_scaled_confidence


def _one(logits: list[float], label: int) -> float:
    """Score of a single query: logits of shape (1 example, 1 query, n_classes)."""
    return float(logit_scaled_confidence(np.array([[logits]]), np.array([label]))[0, 0])


@pytest.mark.parametrize(
    ("name", "logits", "label", "expected"),
    [
        # two equal logits: p = (1/2, 1/2) → log(1/2) − log(1/2) = 0
        ("uniform_two_classes", [0.0, 0.0], 0, 0.0),
        # p ∝ (3, 1, 1): log(3/5) − log(2/5) = log(3/2)
        ("three_to_one_to_one", [math.log(3.0), 0.0, 0.0], 0, math.log(1.5)),
        # z = (2, 1, 0), y = 1: 1 − log(e^2 + e^0) = 1 − 2.1269280110 = −1.1269280110
        ("middle_class", [2.0, 1.0, 0.0], 1, 1.0 - math.log(math.e**2 + 1.0)),
        # two classes: the score is the logit difference z_y − z_other = 7 − 3 = 4
        ("two_class_logit_gap", [7.0, 3.0], 0, 4.0),
        # shift invariance of the softmax: adding 100 to every logit changes nothing
        ("shifted_two_class", [107.0, 103.0], 0, 4.0),
        # confident: 1000 − log(e^0 + e^0) = 1000 − log 2 (the reference saturates at ≈ 103.6 here)
        ("confident_correct", [1000.0, 0.0, 0.0], 0, 1000.0 - math.log(2.0)),
        # confidently wrong: 0 − log(e^1000 + e^0) = −1000 (to double precision)
        ("confident_wrong", [1000.0, 0.0, 0.0], 1, -1000.0),
    ],
)
def test_hand_computed_values(name: str, logits: list[float], label: int, expected: float) -> None:
    assert _one(logits, label) == pytest.approx(expected, rel=1e-12, abs=1e-12), name


def _reference_score(logits: list[float], label: int) -> float:
    """Transcription of the reference: normalise exp(z − max z); log(p_y + 1e-45) − log(Σ others + 1e-45)."""
    top = max(logits)
    exponentials = [math.exp(z - top) for z in logits]
    total = sum(exponentials)
    probabilities = [e / total for e in exponentials]
    p_true = probabilities[label]
    p_wrong = sum(p for k, p in enumerate(probabilities) if k != label)
    return math.log(p_true + 1e-45) - math.log(p_wrong + 1e-45)


def test_agrees_with_the_reference_formula_where_it_does_not_saturate() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=4.0, size=(3, 20, 2, 10))  # (n_models, n_examples, n_queries, n_classes)
    labels = rng.integers(0, 10, size=20)
    scores = logit_scaled_confidence(logits, labels)
    assert scores.shape == (3, 20, 2)
    for m in range(3):
        for j in range(20):
            for q in range(2):
                expected = _reference_score(list(logits[m, j, q]), int(labels[j]))
                assert scores[m, j, q] == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_leading_axes_are_independent_and_labels_broadcast_over_queries() -> None:
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(2, 3, 5, 4, 6))  # two leading axes
    labels = rng.integers(0, 6, size=5)
    scores = logit_scaled_confidence(logits, labels)
    assert scores.shape == (2, 3, 5, 4)
    np.testing.assert_allclose(scores[1, 2], logit_scaled_confidence(logits[1, 2], labels))


def test_float32_logits_give_float64_scores() -> None:
    scores = logit_scaled_confidence(np.zeros((2, 1, 3), dtype=np.float32), np.array([0, 2]))
    assert scores.dtype == np.float64
    np.testing.assert_allclose(scores, math.log(1 / 3) - math.log(2 / 3))


@pytest.mark.parametrize(
    ("logits_shape", "labels", "message"),
    [
        ((4, 3), np.array([0, 1, 2, 0]), "n_examples, n_queries, n_classes"),
        ((4, 1, 3), np.array([0, 1, 2]), r"labels must have shape"),
        ((2, 1, 3), np.array([0, 3]), "labels must lie in"),
        ((2, 1, 3), np.array([0, -1]), "labels must lie in"),
        ((2, 1, 3), np.array([0.0, 1.0]), "integer"),
        ((2, 1, 1), np.array([0, 0]), "at least 2 classes"),
    ],
)
def test_invalid_inputs_raise_value_error(logits_shape: tuple[int, ...], labels: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        logit_scaled_confidence(np.zeros(logits_shape), labels)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_logits_raise(bad: float) -> None:
    logits = np.zeros((2, 1, 3))
    logits[1, 0, 2] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        logit_scaled_confidence(logits, np.array([0, 1]))


@st.composite
def logits_and_labels(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n_models = draw(st.integers(1, 3))
    n_examples = draw(st.integers(1, 6))
    n_queries = draw(st.integers(1, 3))
    n_classes = draw(st.integers(2, 12))
    logits = draw(
        hnp.arrays(
            np.float64,
            (n_models, n_examples, n_queries, n_classes),
            elements=st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False),
        )
    )
    labels = draw(hnp.arrays(np.int64, (n_examples,), elements=st.integers(0, n_classes - 1)))
    return logits, labels


@settings(max_examples=200, deadline=None)
@given(logits_and_labels())
def test_scores_are_finite_float64_of_the_right_shape(case: tuple[np.ndarray, np.ndarray]) -> None:
    logits, labels = case
    scores = logit_scaled_confidence(logits, labels)
    assert scores.shape == logits.shape[:-1]
    assert scores.dtype == np.float64
    assert np.all(np.isfinite(scores))


@settings(max_examples=100, deadline=None)
@given(logits_and_labels(), st.floats(-1e3, 1e3), st.floats(0.5, 50.0))
def test_shift_invariance_and_monotonicity_in_the_true_logit(
    case: tuple[np.ndarray, np.ndarray], shift: float, bump: float
) -> None:
    logits, labels = case
    scores = logit_scaled_confidence(logits, labels)
    # adding a constant to all logits of a query leaves the softmax, hence the score, unchanged
    shifted = logit_scaled_confidence(logits + shift, labels)
    np.testing.assert_allclose(shifted, scores, rtol=1e-9, atol=1e-7)
    # raising the true class's logit by `bump` raises the score by exactly `bump` (z_y − logsumexp of the others)
    raised = logits.copy()
    raised[..., np.arange(labels.size), :, labels] += bump
    np.testing.assert_allclose(logit_scaled_confidence(raised, labels), scores + bump, rtol=1e-9, atol=1e-7)
