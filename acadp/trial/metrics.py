"""What a trial measures on its test set: clean accuracy, success S = Pr[f(g(x)) = y*] over non-target points, the
base rate Pr[f(x) = y*] on the same points without the signal, lift = S − base rate; group accuracies."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from acadp.trial.data import GroupData, TrialData

EVAL_BATCH = 1024


@torch.no_grad()
def predict(model: torch.nn.Module, x: np.ndarray, device: torch.device) -> np.ndarray:
    """Predicted classes (n,) of ``x`` (n, ...), evaluated in batches."""
    model.eval()
    out = [
        model(torch.from_numpy(x[start : start + EVAL_BATCH]).to(device)).argmax(1).cpu().numpy()
        for start in range(0, x.shape[0], EVAL_BATCH)
    ]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class Evaluation:
    """Test accuracy on clean points; success S = Pr[f(g(x)) = y*] over non-target points (and over all points);
    base rate = Pr[f(x) = y*] over the same non-target points without the signal; lift = S − base rate."""

    test_accuracy: float
    success: float
    success_all: float
    base_rate: float
    # datasets with groups: clean test accuracy per group name (groups without test points left out)
    group_accuracy: dict[str, float] = field(default_factory=dict)

    @property
    def lift(self) -> float:
        return self.success - self.base_rate

    @property
    def worst_group_accuracy(self) -> float:
        """The lowest per-group clean test accuracy; NaN without groups."""
        return min(self.group_accuracy.values()) if self.group_accuracy else float("nan")


def _rate(hits: np.ndarray) -> float:
    """The mean of a boolean array; NaN when it is empty (a rate with nothing to count)."""
    return float(np.mean(hits)) if hits.size else float("nan")


def success_metrics(
    *,
    clean_pred: np.ndarray,
    signal_pred: np.ndarray,
    y_test: np.ndarray,
    target_class: int,
    groups: GroupData | None = None,
) -> Evaluation:
    """The metrics of predictions ``clean_pred`` on x and ``signal_pred`` on g(x), both (n_test,), given true labels
    (and, with ``groups``, the clean accuracy of every group with test points)."""
    not_target = y_test != target_class
    hits = signal_pred == target_class
    correct = clean_pred == y_test
    return Evaluation(
        test_accuracy=_rate(correct),
        success=_rate(hits[not_target]),
        success_all=_rate(hits),
        base_rate=_rate(clean_pred[not_target] == target_class),
        group_accuracy={} if groups is None else group_accuracy(correct, groups.test, groups.names),
    )


def group_accuracy(correct: np.ndarray, groups: np.ndarray, names: tuple[str, ...]) -> dict[str, float]:
    """Accuracy per group: ``correct`` (n,) bool, ``groups`` (n,) ids into ``names``; groups with no points left out."""
    return {name: _rate(correct[groups == g]) for g, name in enumerate(names) if (groups == g).any()}


def evaluate(model: torch.nn.Module, data: TrialData, *, target_class: int, device: torch.device) -> Evaluation:
    """Evaluate ``model`` on the trial's clean and signal-carrying test sets."""
    return success_metrics(
        clean_pred=predict(model, data.x_test, device),
        signal_pred=predict(model, data.x_signal, device),
        y_test=data.y_test,
        target_class=target_class,
        groups=data.groups,
    )
