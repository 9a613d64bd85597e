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
  non-members, there is no ROC curve. ``summarize`` then averages over the targets where it is defined and reports
  how many those were.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm

from acadp.lira.attacks import AttackResult

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


def _metric_key(target_fpr: float) -> str:
    return f"tpr_at_fpr_{target_fpr:g}"


def target_metrics(
    predictions: np.ndarray, members: np.ndarray, *, low_fprs: Sequence[float] = LOW_FPRS
) -> dict[str, float]:
    """AUC and TPR at each of ``low_fprs`` for one target; all NaN when only one class is present."""
    predictions, members = _as_pair(predictions, members)
    keys = ["auc", *(_metric_key(f) for f in low_fprs)]
    if not has_both_classes(members):
        return dict.fromkeys(keys, float("nan"))
    curve = roc(predictions, members)
    values = [float(skm.auc(curve.fpr, curve.tpr)), *(tpr_at_fpr(curve.fpr, curve.tpr, f) for f in low_fprs)]
    return dict(zip(keys, values, strict=True))


def summarize(
    results: Sequence[AttackResult], *, subset_mask: np.ndarray | None = None, low_fprs: Sequence[float] = LOW_FPRS
) -> dict[str, float]:
    """Mean and standard deviation over target models of AUC and TPR at each low FPR.

    Args:
        results: one :class:`AttackResult` per target model (all over the same ``n_examples``).
        subset_mask: optional ``(n_examples,)`` bool; only those examples count (e.g. the collective's members, to
            compare with the non-members of the collective). Membership labels come from each target's keep row.
        low_fprs: the FPRs at which TPR is reported.

    Returns:
        ``{"<metric>_mean", "<metric>_std"}`` for metric in ``auc`` and ``tpr_at_fpr_<f>`` (e.g.
        ``tpr_at_fpr_0.001``), plus ``n_targets`` (all) and ``n_targets_defined`` (those whose counted examples hold
        both members and non-members). Means are over the defined targets; std uses ddof=1 (NaN below 2 targets);
        everything is NaN when no target is defined.
    """
    if not results:
        raise ValueError("summarize needs at least one AttackResult")
    per_target = []
    for result in results:
        predictions, members = np.asarray(result.predictions), np.asarray(result.members)
        if subset_mask is not None:
            mask = np.asarray(subset_mask)
            if mask.dtype != np.bool_ or mask.shape != members.shape:
                raise ValueError(
                    f"subset_mask must be a bool array of shape {members.shape}, got {mask.dtype} {mask.shape}"
                )
            predictions, members = predictions[mask], members[mask]
        per_target.append(target_metrics(predictions, members, low_fprs=low_fprs))
    summary: dict[str, float] = {"n_targets": float(len(results))}
    defined = [m for m in per_target if not np.isnan(m["auc"])]
    summary["n_targets_defined"] = float(len(defined))
    for key in per_target[0]:
        values = np.array([m[key] for m in defined])
        summary[f"{key}_mean"] = float(values.mean()) if values.size else float("nan")
        summary[f"{key}_std"] = float(values.std(ddof=1)) if values.size >= 2 else float("nan")
    return summary
