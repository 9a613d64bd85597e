"""Membership-inference metrics: ROC curve, AUC, TPR at a fixed low FPR, and their summary over target models.

Carlini et al. 2022 argue for reporting the TPR at low FPR (0.1%, 1%) next to the AUC: an attack is worrying when it
identifies *some* members with near certainty, which the AUC averages away.

Conventions:

* Predictions are "higher = more likely a member"; the positive class is ``members == True``.
* ``tpr_at_fpr`` is the largest TPR among operating points with FPR **≤** the target. The reference
  (``plot.py``: ``tpr[np.where(fpr < .001)[0][-1]]``) uses a strict ``<``; the two differ only when
  ``target_fpr * n_non_members`` is an integer, where ``≤`` admits exactly the allowed number of false positives.
* The ROC keeps every threshold (``drop_intermediate=False``), so no operating point is lost before ``tpr_at_fpr``.
* A metric is NaN when it is undefined: when the examples counted (e.g. a subset) are all members or all
  non-members, there is no ROC curve; and the TPR at FPR f is undefined with fewer than 1/f non-members (the only
  operating point with FPR ≤ f is then FPR 0, so "TPR at 0.1 % FPR" on 50 non-members would be a TPR at FPR 0).
  ``summarize`` averages each metric over the targets where it is defined and reports how many those were.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t
from sklearn import metrics as skm

from acadp.lira.attacks import AttackResult
from acadp.lira.results import min_non_members

LOW_FPRS = (0.001, 0.01)  # the paper's TPR@0.1%FPR and TPR@1%FPR


@dataclass(frozen=True)
class RocCurve:
    """A ROC curve: ``fpr``, ``tpr`` and ``thresholds`` are 1-D arrays of equal length, FPR non-decreasing."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray


def _as_pair(predictions: np.ndarray, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    predictions = np.asarray(predictions, dtype=np.float64)
    members = np.asarray(members)
    if predictions.ndim != 1 or members.shape != predictions.shape:
        raise ValueError(
            f"predictions and members must be 1-D of equal length, got {predictions.shape} and {members.shape}"
        )
    if members.dtype != np.bool_:
        raise ValueError(f"members must be a bool array, got dtype {members.dtype}")
    if not np.all(np.isfinite(predictions)):
        raise ValueError("predictions contain NaN or infinite values")
    return predictions, members


def has_both_classes(members: np.ndarray) -> bool:
    """Whether ``members`` (bool, 1-D) holds at least one member and one non-member, so a ROC curve exists."""
    return bool(np.any(members) and not np.all(members))


def roc(predictions: np.ndarray, members: np.ndarray) -> RocCurve:
    """The ROC curve of ``predictions`` ``(n,)`` (higher = member) against ``members`` ``(n,)`` bool.

    Raises ``ValueError`` if ``members`` is all True or all False (no ROC curve exists).
    """
    predictions, members = _as_pair(predictions, members)
    if not has_both_classes(members):
        raise ValueError(
            f"a ROC curve needs members and non-members; got {int(members.sum())} members of {members.size}"
        )
    fpr, tpr, thresholds = skm.roc_curve(members, predictions, drop_intermediate=False)
    return RocCurve(fpr=fpr, tpr=tpr, thresholds=thresholds)


def auc(predictions: np.ndarray, members: np.ndarray) -> float:
    """Area under the ROC curve of ``predictions`` ``(n,)`` vs ``members`` ``(n,)``; NaN if one class is absent."""
    predictions, members = _as_pair(predictions, members)
    if not has_both_classes(members):
        return float("nan")
    return float(skm.roc_auc_score(members, predictions))


def tpr_at_fpr(fpr: np.ndarray, tpr: np.ndarray, target_fpr: float) -> float:
    """The largest TPR among the points of a ROC curve whose FPR is ≤ ``target_fpr`` (see the module docstring).

    ``fpr`` and ``tpr`` are 1-D of equal length. If no point qualifies, 0.0: the classifier that flags nobody (FPR 0,
    TPR 0) is always available.
    """
    fpr = np.asarray(fpr, dtype=np.float64)
    tpr = np.asarray(tpr, dtype=np.float64)
    if fpr.ndim != 1 or fpr.shape != tpr.shape or fpr.size == 0:
        raise ValueError(f"fpr and tpr must be non-empty 1-D arrays of equal length, got {fpr.shape} and {tpr.shape}")
    if not 0.0 <= target_fpr <= 1.0:
        raise ValueError(f"target_fpr must lie in [0, 1], got {target_fpr}")
    allowed = fpr <= target_fpr
    return float(tpr[allowed].max()) if np.any(allowed) else 0.0


def metric_key(target_fpr: float) -> str:
    """The name of the TPR at ``target_fpr``: ``tpr_at_fpr_0.001`` for 0.1 %."""
    return f"tpr_at_fpr_{target_fpr:g}"


def target_metrics(
    predictions: np.ndarray, members: np.ndarray, *, low_fprs: Sequence[float] = LOW_FPRS
) -> dict[str, float]:
    """AUC and TPR at each of ``low_fprs`` for one target, and its counts ``n_members`` and ``n_non_members``.

    The AUC is NaN when only one class is present; the TPR at f also when there are fewer than
    :func:`min_non_members` (f) non-members.
    """
    predictions, members = _as_pair(predictions, members)
    n_members, n_non_members = int(members.sum()), int((~members).sum())
    counts = {"n_members": float(n_members), "n_non_members": float(n_non_members)}
    keys = ["auc", *(metric_key(f) for f in low_fprs)]
    if not has_both_classes(members):
        return {**dict.fromkeys(keys, float("nan")), **counts}
    curve = roc(predictions, members)
    tprs = [
        tpr_at_fpr(curve.fpr, curve.tpr, f) if n_non_members >= min_non_members(f) else float("nan") for f in low_fprs
    ]
    return {**dict(zip(keys, [float(skm.auc(curve.fpr, curve.tpr)), *tprs], strict=True)), **counts}


def t_interval(values: np.ndarray, *, level: float = 0.95) -> tuple[float, float]:
    """Student-t interval for the mean of ``values`` (1-D, finite): mean ± t_{(1+level)/2, n-1} · s / √n, ddof=1.

    (NaN, NaN) with fewer than two values.
    """
    if values.size < 2:
        return float("nan"), float("nan")
    half_width = (
        float(student_t.ppf((1.0 + level) / 2.0, values.size - 1)) * values.std(ddof=1) / math.sqrt(values.size)
    )
    return float(values.mean() - half_width), float(values.mean() + half_width)


def _subset_of(result: AttackResult, subset_mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    predictions, members = np.asarray(result.predictions), np.asarray(result.members)
    if subset_mask is None:
        return predictions, members
    mask = np.asarray(subset_mask)
    if mask.dtype != np.bool_ or mask.shape != members.shape:
        raise ValueError(f"subset_mask must be a bool array of shape {members.shape}, got {mask.dtype} {mask.shape}")
    return predictions[mask], members[mask]


def _over_targets(values: np.ndarray, key: str) -> dict[str, float]:
    """Mean, std (ddof=1) and count of the defined (non-NaN) ``values``, as ``<key>_mean``, ``_std``, ``_n_targets``."""
    defined = values[~np.isnan(values)]
    return {
        f"{key}_mean": float(defined.mean()) if defined.size else float("nan"),
        f"{key}_std": float(defined.std(ddof=1)) if defined.size >= 2 else float("nan"),
        f"{key}_n_targets": float(defined.size),
    }


def summarize(
    results: Sequence[AttackResult], *, subset_mask: np.ndarray | None = None, low_fprs: Sequence[float] = LOW_FPRS
) -> dict[str, float]:
    """AUC and TPR at each low FPR over target models: mean, std, how many targets they are defined for; a 95%
    Student-t interval over targets for the AUC; and each target's member and non-member counts.

    Args:
        results: one :class:`AttackResult` per target model (all over the same ``n_examples``).
        subset_mask: optional ``(n_examples,)`` bool; only those examples count (e.g. the collective's members, to
            compare with the non-members of the collective). Membership labels come from each target's keep row.
        low_fprs: the FPRs at which TPR is reported.

    Returns:
        For metric in ``auc`` and ``tpr_at_fpr_<f>`` (e.g. ``tpr_at_fpr_0.001``): ``<metric>_mean`` and ``_std``
        (ddof=1; NaN below 2 targets) over the targets where the metric is defined (:func:`target_metrics`) and
        ``<metric>_n_targets``, their number (everything NaN but the count when it is 0). ``auc_ci_low`` /
        ``auc_ci_high``: :func:`t_interval` of the defined targets' AUCs, clipped to [0, 1]. The t-interval treats
        the targets' AUCs as independent draws; they share shadows and examples, so it is approximate. Also
        ``n_targets`` (all targets), ``n_targets_defined`` (= ``auc_n_targets``), and ``n_members_mean``/``_min``,
        ``n_non_members_mean``/``_min`` over targets of their counts in the subset.
    """
    if not results:
        raise ValueError("summarize needs at least one AttackResult")
    per_target = [target_metrics(*_subset_of(r, subset_mask), low_fprs=low_fprs) for r in results]
    summary: dict[str, float] = {"n_targets": float(len(results))}
    for key in ("auc", *(metric_key(f) for f in low_fprs)):
        summary.update(_over_targets(np.array([m[key] for m in per_target]), key))
    summary["n_targets_defined"] = summary["auc_n_targets"]
    aucs = np.array([m["auc"] for m in per_target])
    low, high = t_interval(aucs[~np.isnan(aucs)])
    summary["auc_ci_low"], summary["auc_ci_high"] = float(np.clip(low, 0.0, 1.0)), float(np.clip(high, 0.0, 1.0))
    for count in ("n_members", "n_non_members"):
        values = np.array([m[count] for m in per_target])
        summary[f"{count}_mean"], summary[f"{count}_min"] = float(values.mean()), float(values.min())
    return summary
