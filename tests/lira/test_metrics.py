"""Tests of the membership-inference metrics (ROC, AUC, TPR at low FPR, summary over targets)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from acadp.lira.attacks import AttackResult
from acadp.lira.metrics import auc, roc, summarize, t_interval, target_metrics, tpr_at_fpr
from acadp.lira.results import min_non_members


def _result(target: int, predictions: list[float], members: list[bool]) -> AttackResult:
    return AttackResult(target=target, predictions=np.array(predictions), members=np.array(members))


# --------------------------------------------------------------------------------------------- hand-computed fixtures


def test_auc_hand_case() -> None:
    # members score 0.9 and 0.7, non-members 0.8 and 0.6. Of the 4 (member, non-member) pairs the member ranks higher
    # in 3: (0.9 > 0.8), (0.9 > 0.6), (0.7 > 0.6); (0.7 < 0.8). AUC = 3/4.
    predictions = np.array([0.9, 0.8, 0.7, 0.6])
    members = np.array([True, False, True, False])
    assert auc(predictions, members) == pytest.approx(0.75)
    curve = roc(predictions, members)
    # thresholds from high to low: (+inf: 0, 0), (0.9: 0, ½), (0.8: ½, ½), (0.7: ½, 1), (0.6: 1, 1)
    np.testing.assert_allclose(curve.fpr, [0.0, 0.0, 0.5, 0.5, 1.0])
    np.testing.assert_allclose(curve.tpr, [0.0, 0.5, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(curve.thresholds[1:], [0.9, 0.8, 0.7, 0.6])


def test_tpr_at_fpr_hand_case_and_the_le_versus_lt_convention() -> None:
    fpr = np.array([0.0, 0.0, 0.5, 0.5, 1.0])
    tpr = np.array([0.0, 0.5, 0.5, 1.0, 1.0])
    assert tpr_at_fpr(fpr, tpr, 0.0) == 0.5  # flag the top member only: FPR 0, TPR ½
    assert tpr_at_fpr(fpr, tpr, 0.1) == 0.5
    # FPR exactly at the target counts (≤): TPR 1 at FPR ½. The reference's strict '<' would give ½ here.
    assert tpr_at_fpr(fpr, tpr, 0.5) == 1.0
    assert tpr[np.where(fpr < 0.5)[0][-1]] == 0.5
    assert tpr_at_fpr(fpr, tpr, 1.0) == 1.0


def test_tpr_at_fpr_without_a_qualifying_point_is_zero() -> None:
    assert tpr_at_fpr(np.array([0.2, 1.0]), np.array([0.6, 1.0]), 0.1) == 0.0


def test_perfect_and_reversed_attacks() -> None:
    members = np.array([True] * 50 + [False] * 1000)
    perfect = np.linspace(1.0, 0.0, 1050)  # every member above every non-member
    counts = {"n_members": 50.0, "n_non_members": 1000.0}
    metrics = target_metrics(perfect, members)
    assert metrics == {"auc": 1.0, "tpr_at_fpr_0.001": 1.0, "tpr_at_fpr_0.01": 1.0, **counts}
    reversed_metrics = target_metrics(-perfect, members)
    assert reversed_metrics == {"auc": 0.0, "tpr_at_fpr_0.001": 0.0, "tpr_at_fpr_0.01": 0.0, **counts}


def test_ties_count_half_in_the_auc() -> None:
    # all predictions equal: every pair is a tie, AUC = ½; the only operating points are (0, 0) and (1, 1)
    members = np.array([True] + [False] * 100)
    assert auc(np.zeros(101), members) == 0.5
    assert target_metrics(np.zeros(101), members)["tpr_at_fpr_0.01"] == 0.0


def test_min_non_members_is_one_over_the_fpr() -> None:
    assert (min_non_members(0.001), min_non_members(0.01), min_non_members(0.3), min_non_members(1.0)) == (
        1000,
        100,
        4,
        1,
    )
    with pytest.raises(ValueError, match="target_fpr"):
        min_non_members(0.0)


def test_tpr_at_fpr_is_undefined_with_fewer_than_one_over_fpr_non_members() -> None:
    # 99 non-members: FPR 1% admits no false positive, so "TPR at 1% FPR" would be the TPR at FPR 0: undefined
    for n_non_members, defined in ((99, False), (100, True)):
        members = np.array([True] * 10 + [False] * n_non_members)
        metrics = target_metrics(np.linspace(1.0, 0.0, members.size), members)
        assert math.isnan(metrics["tpr_at_fpr_0.001"])  # < 1000 non-members either way
        assert math.isnan(metrics["tpr_at_fpr_0.01"]) != defined
        assert metrics["auc"] == 1.0 and metrics["n_non_members"] == n_non_members


# --------------------------------------------------------------------------- direct transcription of the definitions


def _mann_whitney_auc(predictions: np.ndarray, members: np.ndarray) -> float:
    """AUC = Pr[member's prediction > non-member's] + ½ Pr[tie], by looping over all pairs."""
    wins = 0.0
    positives = [p for p, m in zip(predictions, members, strict=True) if m]
    negatives = [p for p, m in zip(predictions, members, strict=True) if not m]
    for p in positives:
        for n in negatives:
            wins += 1.0 if p > n else 0.5 if p == n else 0.0
    return wins / (len(positives) * len(negatives))


def _max_tpr_with_fpr_at_most(predictions: np.ndarray, members: np.ndarray, target_fpr: float) -> float:
    """Try every threshold "member iff prediction ≥ t" and keep the best TPR whose FPR ≤ target_fpr."""
    best = 0.0
    n_members, n_non_members = int(members.sum()), int((~members).sum())
    for t in predictions:
        flagged = predictions >= t
        fpr = (flagged & ~members).sum() / n_non_members
        if fpr <= target_fpr:
            best = max(best, (flagged & members).sum() / n_members)
    return best


def test_metrics_match_the_transcribed_definitions() -> None:
    rng = np.random.default_rng(0)
    members = rng.random(400) < 0.5
    predictions = np.round(rng.normal(size=400) + members, 1)  # rounding creates ties
    assert auc(predictions, members) == pytest.approx(_mann_whitney_auc(predictions, members), rel=1e-12)
    curve = roc(predictions, members)
    for target_fpr in (0.0, 0.001, 0.01, 0.05, 0.3):
        expected = _max_tpr_with_fpr_at_most(predictions, members, target_fpr)
        assert tpr_at_fpr(curve.fpr, curve.tpr, target_fpr) == pytest.approx(expected), target_fpr


def test_agrees_with_the_reference_lookup_when_target_times_non_members_is_not_an_integer() -> None:
    rng = np.random.default_rng(1)
    members = np.array([True] * 1500 + [False] * 1499)  # 0.001 * 1499 and 0.01 * 1499 are not integers
    predictions = rng.normal(size=2999) + 2.0 * members
    curve = roc(predictions, members)
    for target_fpr in (0.001, 0.01):
        reference = curve.tpr[np.where(curve.fpr < target_fpr)[0][-1]]
        assert tpr_at_fpr(curve.fpr, curve.tpr, target_fpr) == reference


# ----------------------------------------------------------------------------------------------------- summarize


def test_summarize_mean_and_std_over_targets() -> None:
    # target 0: AUC ¾ (hand case above); target 1: perfect, AUC 1. mean = 0.875, std (ddof 1) = 0.25/√2 = 0.1767767.
    results = [
        _result(0, [0.9, 0.8, 0.7, 0.6], [True, False, True, False]),
        _result(1, [0.9, 0.8, 0.7, 0.6], [True, True, False, False]),
    ]
    summary = summarize(results)
    assert summary["auc_mean"] == pytest.approx(0.875)
    assert summary["auc_std"] == pytest.approx(0.25 / math.sqrt(2.0))
    # 2 non-members per target: below 1/FPR for both FPRs, so no target defines a TPR at them
    assert math.isnan(summary["tpr_at_fpr_0.001_mean"]) and summary["tpr_at_fpr_0.001_n_targets"] == 0.0
    assert summary["n_targets"] == 2.0
    assert summary["n_targets_defined"] == summary["auc_n_targets"] == 2.0
    # t-interval with 2 targets: 0.875 ± t(0.975, 1) · 0.1767767 / √2 = 0.875 ± 12.7062 · 0.125, clipped to [0, 1]
    assert (summary["auc_ci_low"], summary["auc_ci_high"]) == (0.0, 1.0)
    assert (summary["n_members_mean"], summary["n_members_min"]) == (2.0, 2.0)
    assert (summary["n_non_members_mean"], summary["n_non_members_min"]) == (2.0, 2.0)
    assert set(summary) == {
        "n_targets", "n_targets_defined", "auc_mean", "auc_std", "auc_n_targets", "auc_ci_low", "auc_ci_high",
        "tpr_at_fpr_0.001_mean", "tpr_at_fpr_0.001_std", "tpr_at_fpr_0.001_n_targets", "tpr_at_fpr_0.01_mean",
        "tpr_at_fpr_0.01_std", "tpr_at_fpr_0.01_n_targets", "n_members_mean", "n_members_min", "n_non_members_mean",
        "n_non_members_min",
    }  # fmt: skip


def test_summarize_tpr_mean_is_over_the_targets_with_enough_non_members() -> None:
    # target 0: 100 non-members, perfect (TPR@1% = 1); target 1: 50 non-members (undefined); target 2: 100
    # non-members, members at the bottom (TPR@1% = 0). Mean over the two defined targets = ½, std = √½.
    def ranked(n_non_members: int, members_first: bool) -> AttackResult:
        members = [True] * 10 + [False] * n_non_members
        order = np.linspace(1.0, 0.0, len(members))
        return _result(0, list(order if members_first else -order), members)

    results = [ranked(100, True), ranked(50, True), ranked(100, False)]
    summary = summarize(results)
    assert summary["tpr_at_fpr_0.01_n_targets"] == 2.0
    assert summary["tpr_at_fpr_0.01_mean"] == pytest.approx(0.5)
    assert summary["tpr_at_fpr_0.01_std"] == pytest.approx(math.sqrt(0.5))
    assert summary["auc_n_targets"] == 3.0  # the AUC is defined for all three
    assert (summary["n_non_members_mean"], summary["n_non_members_min"]) == (pytest.approx(250 / 3), 50.0)


def test_t_interval_hand_case() -> None:
    # AUCs 0.6, 0.7, 0.8: mean 0.7, s = 0.1, t(0.975, 2) = 4.302653 → 0.7 ± 4.302653 · 0.1 / √3 = 0.7 ± 0.248414
    low, high = t_interval(np.array([0.6, 0.7, 0.8]))
    assert low == pytest.approx(0.7 - 0.248414, abs=1e-6) and high == pytest.approx(0.7 + 0.248414, abs=1e-6)
    assert all(math.isnan(v) for v in t_interval(np.array([0.6])))
    results = [_result(t, [0.9, 0.8, 0.7, 0.6], members) for t, members in enumerate(_THREE_TARGETS)]
    summary = summarize(results)
    assert summary["auc_mean"] == pytest.approx(5.0 / 6.0)
    assert summary["auc_ci_low"] == pytest.approx(5.0 / 6.0 - 4.302653 * summary["auc_std"] / math.sqrt(3), abs=1e-6)


# AUCs 1, ¾, ¾ (mean 5/6)
_THREE_TARGETS = [[True, True, False, False], [True, False, True, False], [True, False, True, False]]


def test_summarize_on_a_subset_counts_only_those_examples() -> None:
    # On all 6 examples: members {0.9, 0.7, 0.2} vs non-members {0.8, 0.6, 0.1} win 3 + 2 + 1 = 6 of 9 pairs (⅔).
    # Restricted to examples 0–3 = predictions (0.9, 0.8, 0.7, 0.6), members (T, F, T, F): the hand case, ¾.
    result = _result(0, [0.9, 0.8, 0.7, 0.6, 0.2, 0.1], [True, False, True, False, True, False])
    subset = np.array([True, True, True, True, False, False])
    assert summarize([result])["auc_mean"] == pytest.approx(2.0 / 3.0)
    assert summarize([result], subset_mask=subset)["auc_mean"] == pytest.approx(0.75)
    # on the complement: member 0.2 vs non-member 0.1 → AUC 1
    assert summarize([result], subset_mask=~subset)["auc_mean"] == pytest.approx(1.0)
    # one target: the std across targets is undefined
    assert math.isnan(summarize([result], subset_mask=subset)["auc_std"])


def test_summarize_degenerate_subsets_give_nan_without_warnings() -> None:
    # subset of members only for target 0; target 1 has members and non-members in it
    results = [
        _result(0, [0.9, 0.8, 0.7, 0.6], [True, True, False, False]),
        _result(1, [0.9, 0.8, 0.7, 0.6], [True, False, False, True]),
    ]
    subset = np.array([True, True, False, False])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        summary = summarize(results, subset_mask=subset)
        assert summary["n_targets_defined"] == 1.0
        assert summary["auc_mean"] == pytest.approx(1.0)  # target 1 only: member 0.9 > non-member 0.8
        empty = summarize(results, subset_mask=np.zeros(4, dtype=bool))
        assert empty["n_targets_defined"] == 0.0
        assert all(math.isnan(v) for k, v in empty.items() if not (k.startswith("n_") or k.endswith("_n_targets")))
        assert empty["auc_n_targets"] == empty["tpr_at_fpr_0.01_n_targets"] == empty["n_members_min"] == 0.0
        all_members = summarize([_result(0, [0.1, 0.2], [True, True])])
        assert math.isnan(all_members["auc_mean"])


def test_one_class_only() -> None:
    assert math.isnan(auc(np.array([0.1, 0.2]), np.array([True, True])))
    with pytest.raises(ValueError, match="members and non-members"):
        roc(np.array([0.1, 0.2]), np.array([False, False]))


@pytest.mark.parametrize(
    ("predictions", "members", "message"),
    [
        (np.zeros(3), np.zeros(4, dtype=bool), "equal length"),
        (np.zeros(3), np.zeros(3, dtype=int), "bool"),
        (np.array([0.0, np.nan]), np.array([True, False]), "NaN"),
    ],
)
def test_invalid_inputs_raise(predictions: np.ndarray, members: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        auc(predictions, members)


def test_summarize_rejects_a_misshapen_subset_and_no_results() -> None:
    result = _result(0, [0.9, 0.8], [True, False])
    with pytest.raises(ValueError, match="subset_mask"):
        summarize([result], subset_mask=np.array([True]))
    with pytest.raises(ValueError, match="at least one"):
        summarize([])


# ------------------------------------------------------------------------------------------- Hypothesis properties


@st.composite
def scored_members(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(2, 60))
    predictions = draw(hnp.arrays(np.float64, (n,), elements=st.floats(-1e6, 1e6, allow_nan=False)))
    members = draw(hnp.arrays(np.bool_, (n,)))
    members[0], members[1] = True, False  # both classes present
    return predictions, members


@settings(max_examples=150, deadline=None)
@given(scored_members(), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_metric_ranges_and_monotonicity(case: tuple[np.ndarray, np.ndarray], fpr_a: float, fpr_b: float) -> None:
    predictions, members = case
    value = auc(predictions, members)
    assert 0.0 <= value <= 1.0
    assert value == pytest.approx(1.0 - auc(-predictions, members))  # flipping the ranking flips the AUC
    curve = roc(predictions, members)
    low, high = sorted((fpr_a, fpr_b))
    assert 0.0 <= tpr_at_fpr(curve.fpr, curve.tpr, low) <= tpr_at_fpr(curve.fpr, curve.tpr, high) <= 1.0
