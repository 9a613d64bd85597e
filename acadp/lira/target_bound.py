"""The ε lower bound a LiRA row reports: one member and one non-member decision per target model, with the decision
threshold chosen on other target models.

The rule (a held-out half of the targets):

1. The targets (every model, in leave-one-out) are split by index: even-indexed targets *choose* the threshold,
   odd-indexed targets are *judged*.
2. Threshold τ ("member" iff prediction ≥ τ). On the choosing targets' predictions over the row's subset, pooled,
   every distinct prediction τ (up to :data:`MAX_CANDIDATES` of them) has rates TPR(τ) and FPR(τ); τ is the one
   with the largest *expected* bound: the mean per-target bound of n judged decision pairs whose member hits are
   Binomial(n, TPR(τ)) and non-member hits Binomial(n, FPR(τ)). When no τ expects a positive bound (fewer than 6
   judged targets at 95 %), τ maximises TPR(τ) − FPR(τ) instead.
3. Decisions. Each judged target with a member and a non-member in the subset contributes one of each, drawn
   uniformly at random from the audit seed and the target's index — from the keep matrix alone, before any
   prediction is looked at. A decision is a hit when its prediction is ≥ τ.
4. ε_lb = :func:`acadp.lira.bounds.per_target_epsilon_lower_bound` of the hits at the audit's confidence.

Why it holds at its confidence. τ depends on the choosing targets' predictions only and the judged examples on the
seed and keep matrix only, so the threshold is fixed before the counted decisions are seen, and every judged target
adds exactly one trial of each kind. (The figure it replaces pooled all targets × examples into one Clopper–Pearson
count; decisions on one model, and on models fitted with the same shadows, are correlated, so that count was not n
independent trials and its confidence was not what it said.) The assumptions, as stated by
:func:`~acadp.lira.bounds.per_target_epsilon_lower_bound`:

* the judged decisions are independent trials. Each target trained independently (its own seed) on its keep row;
  but leave-one-out fits every target's Gaussians on the other models (choosing and judged targets alike) and the
  balanced keep matrix couples the rows, so this holds to the extent that a decision is governed by its own target
  model rather than by the shared fits;
* a judged member and non-member are exchangeable: the keep matrix puts each example in a uniformly random set of
  models, so the non-member's hit rate stands for the member's in the neighbouring dataset (replace-one neighbours;
  add/remove (ε, δ)-DP implies replace-one (2ε, (1 + e^ε)δ)-DP);
* the shadows' IN/OUT counts do not reveal the target's membership, which the ``reference`` and ``balanced``
  conventions ensure (:mod:`acadp.lira.conventions`).

The bound is small by construction: n judged targets can show at most ε = log(a^(1/n) / (1 − a^(1/n))) with
a = (1 − confidence) / 2 — about 0.54 with 8 judged targets (16 shadows) at 95 %, and 0 below 6 judged targets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import binom

from acadp.lira.attacks import AttackResult
from acadp.lira.bounds import per_target_epsilon_lower_bound
from acadp.lira.epsilon import epsilon_from_counts
from acadp.lira.metrics import has_both_classes
from acadp.seeding import numpy_rng

MAX_CANDIDATES = 2048  # thresholds tried when choosing τ (evenly spaced in rank among the distinct predictions)


@dataclass(frozen=True)
class TargetBound:
    """A row's ε lower bound, the number of judged targets (decision pairs) behind it and the threshold used.

    ``epsilon`` and ``threshold`` are NaN when the choosing targets lack members or non-members in the subset, or
    no judged target has both.
    """

    epsilon: float
    n_targets: int
    threshold: float


def _candidates(predictions: np.ndarray) -> np.ndarray:
    """The distinct predictions, ascending; at most :data:`MAX_CANDIDATES` of them, evenly spaced in rank."""
    thresholds = np.unique(predictions)
    if thresholds.size > MAX_CANDIDATES:
        thresholds = thresholds[np.linspace(0, thresholds.size - 1, MAX_CANDIDATES).round().astype(int)]
    return thresholds


def _flag_rate(predictions: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Fraction of ``predictions`` ≥ each threshold."""
    return 1.0 - np.searchsorted(np.sort(predictions), thresholds, side="left") / predictions.size


def expected_bounds(tpr: np.ndarray, fpr: np.ndarray, *, n_judged: int, delta: float, confidence: float) -> np.ndarray:
    """E[per-target bound] over Binomial(n_judged, tpr) member hits and Binomial(n_judged, fpr) non-member hits, for
    each of the rates ``tpr``, ``fpr`` ``(n_thresholds,)`` (rule 2 of the module docstring)."""
    hits = np.arange(n_judged + 1)
    table = epsilon_from_counts(  # (member hits, non-member hits) → bound
        hits[:, None], n_members=n_judged, false_positives=hits[None, :], n_non_members=n_judged, delta=delta,
        confidence=confidence,
    )  # fmt: skip
    member_pmf = binom.pmf(hits[None, :], n_judged, tpr[:, None])  # (n_thresholds, n_judged + 1)
    non_member_pmf = binom.pmf(hits[None, :], n_judged, fpr[:, None])
    return np.einsum("ti,ij,tj->t", member_pmf, table, non_member_pmf)


def choose_threshold(
    predictions: np.ndarray, members: np.ndarray, *, n_judged: int, delta: float, confidence: float
) -> float:
    """τ of rule 2 of the module docstring from the choosing targets' pooled ``predictions`` ``(n,)`` and
    ``members`` ``(n,)`` bool (both classes present), for ``n_judged`` decision pairs."""
    thresholds = _candidates(predictions)
    tpr, fpr = _flag_rate(predictions[members], thresholds), _flag_rate(predictions[~members], thresholds)
    expected = expected_bounds(tpr, fpr, n_judged=n_judged, delta=delta, confidence=confidence)
    best = int(np.argmax(expected)) if expected.max() > 0.0 else int(np.argmax(tpr - fpr))
    return float(thresholds[best])


def decision_pair(members: np.ndarray, *, seed: int, target: int) -> tuple[int, int] | None:
    """Positions of one member and one non-member of ``members`` ``(n,)`` bool, drawn uniformly from ``seed`` and
    ``target``; None when either class is absent."""
    member_positions, non_member_positions = np.flatnonzero(members), np.flatnonzero(~members)
    if member_positions.size == 0 or non_member_positions.size == 0:
        return None
    rng = numpy_rng(seed, f"lira-epsilon-pair-{target}")
    return int(rng.choice(member_positions)), int(rng.choice(non_member_positions))


def _pooled(results: Sequence[AttackResult], mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    predictions = np.concatenate([np.asarray(r.predictions)[mask] for r in results])
    members = np.concatenate([np.asarray(r.members)[mask] for r in results])
    return predictions, members


def held_out_target_bound(
    results: Sequence[AttackResult], subset_mask: np.ndarray, *, delta: float, confidence: float, seed: int
) -> TargetBound:
    """The ε lower bound of the module docstring for one attack, convention and subset.

    Args:
        results: one :class:`AttackResult` per target model, in model order (:func:`run_leave_one_out`).
        subset_mask: ``(n_examples,)`` bool, the row's examples.
        delta: the δ the audited training claims.
        confidence: probability that the true ε is at least the bound.
        seed: the audit seed, from which each judged target's decision pair is drawn.
    """
    choosing, judged = results[0::2], results[1::2]
    pairs = []
    for result in judged:
        predictions, members = np.asarray(result.predictions)[subset_mask], np.asarray(result.members)[subset_mask]
        pair = decision_pair(members, seed=seed, target=result.target)
        if pair is not None:
            pairs.append((predictions[pair[0]], predictions[pair[1]]))
    choose_predictions, choose_members = _pooled(choosing, subset_mask)
    if not pairs or not has_both_classes(choose_members):
        return TargetBound(epsilon=float("nan"), n_targets=len(pairs), threshold=float("nan"))
    threshold = choose_threshold(
        choose_predictions, choose_members, n_judged=len(pairs), delta=delta, confidence=confidence
    )
    member_hits = np.array([member >= threshold for member, _ in pairs])
    non_member_hits = np.array([non_member >= threshold for _, non_member in pairs])
    epsilon = per_target_epsilon_lower_bound(member_hits, non_member_hits, delta=delta, confidence=confidence)
    return TargetBound(epsilon=epsilon, n_targets=len(pairs), threshold=threshold)
