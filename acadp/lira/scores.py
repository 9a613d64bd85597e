"""LiRA's per-query score: the logit-scaled confidence of the true class.

Carlini et al. 2022, section 4 ("Membership Inference Attacks From First Principles"): the model's confidence in the
true label, p_y = softmax(z)_y, is mapped through log(p / (1 - p)), which makes the distribution of the score over
training runs close to Gaussian. Computed as log p_y - log(Σ_{y' ≠ y} p_{y'}), never as log(1 - p_y), because 1 - p_y
rounds to 0 for confident predictions.

The reference (tensorflow/privacy ``research/mi_lira_2021/score.py``) normalises exp(z - max z), then takes
log(p_y + 1e-45) - log(Σ_{y'≠y} p_{y'} + 1e-45); this saturates near ±103.6 once the logit gap passes ~100. We use the
algebraically identical and exact log-space form

    log p_y - log Σ_{y'≠y} p_{y'} = z_y - logsumexp_{y'≠y} z_{y'}

(the softmax normaliser cancels), evaluated with the max-subtraction trick. It agrees with the reference to rounding
wherever the reference does not saturate, and stays finite and strictly monotone in the logit gap beyond it.
"""

from __future__ import annotations

import numpy as np


def _validate(logits: np.ndarray, labels: np.ndarray) -> None:
    if logits.ndim < 3:
        raise ValueError(
            f"logits must have shape (..., n_examples, n_queries, n_classes), got shape {logits.shape}; add a "
            f"query axis of length 1 if each example was queried once"
        )
    n_examples, n_classes = logits.shape[-3], logits.shape[-1]
    if n_classes < 2:
        raise ValueError(f"logits need at least 2 classes on the last axis, got {n_classes}")
    if labels.shape != (n_examples,):
        raise ValueError(f"labels must have shape (n_examples,) = ({n_examples},), got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}), got values in [{labels.min()}, {labels.max()}]")
    if not np.all(np.isfinite(logits)):
        raise ValueError("logits contain NaN or infinite values; the model that produced them has diverged")


def logit_scaled_confidence(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The score log p_y − log Σ_{y'≠y} p_{y'} of every query, in float64.

    Args:
        logits: ``(..., n_examples, n_queries, n_classes)`` raw (pre-softmax) outputs; any leading axes (e.g.
            ``n_models``) are kept. ``n_queries`` counts the views of one example (original, mirror, ...).
        labels: ``(n_examples,)`` integer true labels, broadcast over the leading axes and the query axis.

    Returns:
        ``(..., n_examples, n_queries)`` float64 scores; finite for every finite input, large and positive for
        confident correct predictions, large and negative for confident wrong ones.

    Raises:
        ValueError: on a shape mismatch, fewer than 2 classes, labels out of range, or non-finite logits.
    """
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    _validate(logits, labels)
    z = logits.astype(np.float64)
    n_classes = z.shape[-1]
    is_label = labels[:, None, None] == np.arange(n_classes)  # (n_examples, 1, n_classes), broadcasts over the rest
    z_true = np.sum(np.where(is_label, z, 0.0), axis=-1)  # (..., n_examples, n_queries)
    z_others = np.where(is_label, -np.inf, z)
    z_max = np.max(z_others, axis=-1, keepdims=True)  # finite: at least one other class
    log_sum_others = z_max[..., 0] + np.log(np.sum(np.exp(z_others - z_max), axis=-1))
    return z_true - log_sum_others
