"""Empirical lower bounds on ε from a membership-inference attack (privacy auditing).

An (ε, δ)-DP training algorithm bounds every membership test: for the event "the attack says member",

    TPR ≤ e^ε · FPR + δ        and        1 − FPR ≤ e^ε · (1 − TPR) + δ

(the second is the DP inequality for the complementary event with the two worlds swapped). An attack with observed
rates therefore shows ε ≥ max(log((TPR − δ) / FPR), log((1 − FPR − δ) / (1 − TPR)), 0). Following Jagielski et al.
2020 ("Auditing Differentially Private Machine Learning") and Nasr et al. 2021/2023, the observed rates are replaced
by Clopper–Pearson bounds so that the statement holds with a stated confidence: the LOWER bound on TPR and the UPPER
bound on FPR.

Sidedness: with ``confidence`` c, each of the two bounds is the one-sided Clopper–Pearson bound at level (1 − c) / 2,
i.e. the matching end of the two-sided c interval (:func:`clopper_pearson`). Each fails with probability at most
(1 − c) / 2, so by the union bound both hold at once, and ε ≥ ε_lb, with probability at least c.

The confidence holds only when the counted decisions are independent trials and the threshold was fixed before they
were seen. :func:`epsilon_lower_bound_from_scores` breaks the second (it picks the best threshold on the data it
counts), and pooling a LiRA audit's predictions over targets × examples breaks the first (they share shadow models
and examples), so its figure is NOT a valid bound and acadp prints it nowhere: it only ranks thresholds. The bound a
LiRA row reports is :func:`acadp.lira.bounds.per_target_epsilon_lower_bound` on one member and one non-member
decision per target model, with the threshold chosen on other targets (:mod:`acadp.lira.target_bound`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


class Interval(NamedTuple):
    """A closed interval ``[lower, upper]``."""

    lower: float
    upper: float


@dataclass(frozen=True)
class EpsilonBound:
    """The best ε lower bound over thresholds, and the operating point (member iff prediction ≥ threshold) giving it."""

    epsilon: float
    threshold: float
    true_positives: int
    false_positives: int
    n_members: int
    n_non_members: int


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")


def _check_counts(successes: np.ndarray, trials: int, what: str) -> None:
    if trials < 1:
        raise ValueError(f"{what}: the number of trials must be at least 1, got {trials}")
    if np.any(successes < 0) or np.any(successes > trials):
        raise ValueError(f"{what}: counts must lie in [0, {trials}]")


def _cp_lower(successes: np.ndarray, trials: int, alpha: float) -> np.ndarray:
    """One-sided Clopper–Pearson lower bound at level ``alpha`` (0 when there are no successes)."""
    from scipy.stats import beta  # a second to import: only where a bound is computed, never to load settings

    k = np.asarray(successes, dtype=np.float64)
    bound = beta.ppf(alpha, np.maximum(k, 1.0), trials - k + 1.0)
    return np.where(k == 0, 0.0, bound)


def _cp_upper(successes: np.ndarray, trials: int, alpha: float) -> np.ndarray:
    """One-sided Clopper–Pearson upper bound at level ``alpha`` (1 when every trial succeeded)."""
    from scipy.stats import beta

    k = np.asarray(successes, dtype=np.float64)
    bound = beta.ppf(1.0 - alpha, k + 1.0, np.maximum(trials - k, 1.0))
    return np.where(k == trials, 1.0, bound)


def clopper_pearson(successes: int, trials: int, *, confidence: float = 0.95) -> Interval:
    """The two-sided Clopper–Pearson (exact binomial) interval for a success probability.

    Each end is the one-sided bound at level (1 − confidence) / 2: e.g. 0 successes of n give
    ``[0, 1 − ((1 − confidence) / 2) ** (1 / n)]``.
    """
    _check_confidence(confidence)
    _check_counts(np.asarray(successes), trials, "clopper_pearson")
    alpha = (1.0 - confidence) / 2.0
    return Interval(
        float(_cp_lower(np.asarray(successes), trials, alpha)), float(_cp_upper(np.asarray(successes), trials, alpha))
    )


def _epsilon_from_counts(
    true_positives: np.ndarray,
    *,
    n_members: int,
    false_positives: np.ndarray,
    n_non_members: int,
    delta: float,
    confidence: float,
) -> np.ndarray:
    """Vectorised ε lower bound over arrays of counts (same shape); see the module docstring."""
    alpha = (1.0 - confidence) / 2.0
    tpr_low = _cp_lower(true_positives, n_members, alpha)
    fpr_high = _cp_upper(false_positives, n_non_members, alpha)  # > 0 for n_non_members ≥ 1
    numerator_tp = tpr_low - delta
    numerator_tn = 1.0 - fpr_high - delta
    miss_rate = 1.0 - tpr_low  # > 0: tpr_low ≤ alpha ** (1 / n_members) < 1
    with np.errstate(divide="ignore", invalid="ignore"):
        from_tpr = np.where(numerator_tp > 0, np.log(numerator_tp / fpr_high), 0.0)
        from_tnr = np.where(numerator_tn > 0, np.log(numerator_tn / miss_rate), 0.0)
    return np.maximum(np.maximum(from_tpr, from_tnr), 0.0)


def epsilon_from_counts(
    true_positives: np.ndarray,
    *,
    n_members: int,
    false_positives: np.ndarray,
    n_non_members: int,
    delta: float,
    confidence: float = 0.95,
) -> np.ndarray:
    """:func:`epsilon_lower_bound` elementwise over integer arrays of counts (same shape), e.g. one per threshold."""
    _check_delta(delta)
    _check_confidence(confidence)
    _check_counts(np.asarray(true_positives), n_members, "true_positives")
    _check_counts(np.asarray(false_positives), n_non_members, "false_positives")
    return _epsilon_from_counts(
        np.asarray(true_positives),
        n_members=n_members,
        false_positives=np.asarray(false_positives),
        n_non_members=n_non_members,
        delta=delta,
        confidence=confidence,
    )


def _check_delta(delta: float) -> None:
    if not 0.0 <= delta < 1.0:
        raise ValueError(f"delta must lie in [0, 1), got {delta}")


def epsilon_lower_bound(
    *,
    true_positives: int,
    n_members: int,
    false_positives: int,
    n_non_members: int,
    delta: float,
    confidence: float = 0.95,
) -> float:
    """ε lower bound, holding with probability ≥ ``confidence``, from one attack operating point.

    ``true_positives`` of ``n_members`` members and ``false_positives`` of ``n_non_members`` non-members were flagged
    as members; ``delta`` is the δ the training claims. Returns ≥ 0 (0 = no evidence against any ε). Valid only for
    independent decisions and a threshold fixed before they were seen (module docstring).
    """
    bound = epsilon_from_counts(
        np.asarray(true_positives),
        n_members=n_members,
        false_positives=np.asarray(false_positives),
        n_non_members=n_non_members,
        delta=delta,
        confidence=confidence,
    )
    return float(bound)


def epsilon_lower_bound_from_scores(
    predictions: np.ndarray, members: np.ndarray, *, delta: float, confidence: float = 0.95
) -> EpsilonBound:
    """The largest :func:`epsilon_lower_bound` over all thresholds "member iff prediction ≥ threshold".

    Optimistic, not a bound at ``confidence``: the threshold is chosen on the counts it is evaluated on (see the
    module docstring). Use it to rank thresholds, never to report ε.

    Args:
        predictions: ``(n,)`` attack predictions, higher = member.
        members: ``(n,)`` bool true membership; needs at least one member and one non-member.
        delta: the δ the training claims.
        confidence: the confidence of the Clopper–Pearson bounds at each threshold (not of the maximum).
    """
    _check_delta(delta)
    _check_confidence(confidence)
    predictions = np.asarray(predictions, dtype=np.float64)
    members = np.asarray(members)
    if predictions.ndim != 1 or members.shape != predictions.shape or members.dtype != np.bool_:
        raise ValueError(
            f"predictions must be (n,) and members (n,) bool; got {predictions.shape} and {members.shape} "
            f"{members.dtype}"
        )
    n_members, n_non_members = int(members.sum()), int((~members).sum())
    if n_members == 0 or n_non_members == 0:
        raise ValueError(
            f"an ε bound needs members and non-members; got {n_members} members and {n_non_members} non-members"
        )
    thresholds = np.unique(predictions)  # ascending
    # count flagged (prediction ≥ threshold) examples of each kind at every threshold
    tp = n_members - np.searchsorted(np.sort(predictions[members]), thresholds, side="left")
    fp = n_non_members - np.searchsorted(np.sort(predictions[~members]), thresholds, side="left")
    bounds = _epsilon_from_counts(
        tp, n_members=n_members, false_positives=fp, n_non_members=n_non_members, delta=delta, confidence=confidence
    )
    best = int(np.argmax(bounds))
    return EpsilonBound(
        epsilon=float(bounds[best]),
        threshold=float(thresholds[best]),
        true_positives=int(tp[best]),
        false_positives=int(fp[best]),
        n_members=n_members,
        n_non_members=n_non_members,
    )
