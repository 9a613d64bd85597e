"""From the shadows' logits to the audit's numbers: scores, leave-one-out attacks, metrics per member subset, ROC
curves and the empirical epsilon lower bound. Pure numpy.

Shapes: ``logits`` (n_models, n_examples, n_queries, n_classes); ``labels`` (n_examples,) the labels the models were
trained with; ``keep`` (n_models, n_examples) bool; ``collective`` (n_examples,) bool, the collective's members.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from acadp.lira.attacks import AttackResult, run_leave_one_out
from acadp.lira.epsilon import epsilon_lower_bound, epsilon_lower_bound_from_scores
from acadp.lira.metrics import roc, summarize
from acadp.lira.results import LiraRow
from acadp.lira.scores import logit_scaled_confidence

# FPR grid on which pooled ROC curves are stored (log-spaced, for log-log plots), from 1e-5 to 1
ROC_GRID = np.logspace(-5, 0, 200)


@dataclass(frozen=True)
class AuditReport:
    """Metrics rows (one per attack and non-empty subset) and, per attack, the pooled ROC curve on :data:`ROC_GRID`."""

    rows: tuple[LiraRow, ...]
    roc_curves: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def _pooled(results: Sequence[AttackResult], mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    predictions = np.concatenate([np.asarray(r.predictions)[mask] for r in results])
    members = np.concatenate([np.asarray(r.members)[mask] for r in results])
    return predictions, members


def pooled_roc(results: Sequence[AttackResult]) -> tuple[np.ndarray, np.ndarray]:
    """ROC of all targets' predictions pooled, as the highest TPR at FPR ≤ each point of :data:`ROC_GRID`."""
    predictions, members = _pooled(results, np.ones_like(np.asarray(results[0].members), dtype=bool))
    curve = roc(predictions, members)
    index = np.searchsorted(curve.fpr, ROC_GRID, side="right") - 1
    return ROC_GRID.copy(), curve.tpr[np.clip(index, 0, None)]


def _has_both(members: np.ndarray) -> bool:
    return bool(members.any() and not members.all())


def held_out_epsilon_bound(
    results: Sequence[AttackResult], mask: np.ndarray, *, delta: float, confidence: float
) -> float:
    """Empirical ε lower bound with the threshold chosen on half of the target models and the Clopper–Pearson bound
    computed on the other half (choosing and evaluating on the same predictions would overstate ε). NaN when a half
    lacks members or non-members."""
    choose, evaluate = results[0::2], results[1::2]
    choose_pred, choose_members = _pooled(choose, mask)
    eval_pred, eval_members = _pooled(evaluate, mask) if evaluate else (choose_pred[:0], choose_members[:0])
    if not (_has_both(choose_members) and _has_both(eval_members)):
        return float("nan")
    best = epsilon_lower_bound_from_scores(choose_pred, choose_members, delta=delta, confidence=confidence)
    flagged = eval_pred >= best.threshold
    return epsilon_lower_bound(
        true_positives=int((flagged & eval_members).sum()),
        n_members=int(eval_members.sum()),
        false_positives=int((flagged & ~eval_members).sum()),
        n_non_members=int((~eval_members).sum()),
        delta=delta,
        confidence=confidence,
    )


def _row(
    attack: str, subset: str, results: Sequence[AttackResult], mask: np.ndarray, *, delta: float, confidence: float
) -> LiraRow:
    summary = summarize(results, subset_mask=mask)
    return LiraRow(
        attack=attack,
        subset=subset,
        auc_mean=summary["auc_mean"],
        auc_std=summary["auc_std"],
        tpr_at_0_1_fpr_mean=summary["tpr_at_fpr_0.001_mean"],
        tpr_at_0_1_fpr_std=summary["tpr_at_fpr_0.001_std"],
        tpr_at_1_fpr_mean=summary["tpr_at_fpr_0.01_mean"],
        tpr_at_1_fpr_std=summary["tpr_at_fpr_0.01_std"],
        n_targets=int(summary["n_targets_defined"]),
        n_examples=int(mask.sum()),
        epsilon_lower_bound=held_out_epsilon_bound(results, mask, delta=delta, confidence=confidence),
    )


def score_audit(
    *,
    logits: np.ndarray,
    labels: np.ndarray,
    keep: np.ndarray,
    collective: np.ndarray,
    attacks: Sequence[str],
    delta: float,
    confidence: float = 0.95,
) -> AuditReport:
    """Run every attack leave-one-out over the models and summarise it over all examples, the collective's members
    and the other examples. ``delta`` is the δ the learner claims (used by the ε lower bound)."""
    scores = logit_scaled_confidence(logits, labels)  # (n_models, n_examples, n_queries)
    subsets = {
        "all": np.ones(labels.shape[0], dtype=bool),
        "collective": np.asarray(collective, dtype=bool),
        "non_collective": ~np.asarray(collective, dtype=bool),
    }
    rows: list[LiraRow] = []
    curves = {}
    for attack in attacks:
        results = run_leave_one_out(scores=scores, keep=keep, attack=attack)
        curves[attack] = pooled_roc(results)
        for subset, mask in subsets.items():
            if mask.any():
                rows.append(_row(attack, subset, results, mask, delta=delta, confidence=confidence))
    return AuditReport(rows=tuple(rows), roc_curves=curves)
