"""Shadow models of a LiRA audit: the audit pool, one shadow's training, and its logits on every query.

The pool is the audited trial's training set with the collective already planted (same seed, strategy and signal);
shadow ``i`` trains on the pool rows its keep row marks, with the audited trial's learner settings (its augmentation
included) and a seed of its own, and is then queried on every pool example: the original and the views of the
augmentations its training used (the horizontal mirror of ``flip``, the four translations by ±s of ``shift``;
:data:`acadp.config.lira.QUERY_VIEWS`) — and, when a variant of the audit asks, on the same views of g(x) of every
pool example (:func:`signal_inputs`). Its :class:`~acadp.lira.results.ShadowStats` record the regime it trained in
(accuracy; σ, q, steps and ε spent as the learner reports them, as for a trial).

Each audited seed has its own shadow set (:func:`stream_seed`): the keep matrix and the shadows' seeds of audits of
different seeds are independent draws, so intervals over audited seeds are over independent audits.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from acadp.collective import apply_signal
from acadp.config.lira import QUERY_VIEWS, AuditConfig, Query
from acadp.errors import SpecError
from acadp.lira.results import ShadowStats
from acadp.seeding import derive_seed
from acadp.trial.data import TrialData, prepare_trial_data, signal_training_ids
from acadp.trial.metrics import EVAL_BATCH, evaluate
from acadp.trial.run import build_training_run


def prepare_pool(audit: AuditConfig, *, data_dir: Path | None = None) -> TrialData:
    """The audited trial's data: ``planted`` is the pool every shadow draws its half from."""
    data = prepare_trial_data(audit.trial, data_dir=data_dir)
    available = int(data.dataset.y_train.shape[0])
    if audit.trial.n_train is not None and audit.trial.n_train > available:
        raise SpecError(
            f"lira.pool: the audit needs a pool of {audit.trial.n_train} training examples, but "
            f"{audit.trial.dataset} has {available}; use a smaller pool, or a smaller n_train for the audited trial "
            f"('matched' pools hold its training size / pkeep)"
        )
    return data


def shifted(x: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``x`` (n, channels, height, width) moved ``rows`` pixels down and ``cols`` right (negative: up, left), zero
    fill: the fixed-offset case of :func:`acadp.learners.augment.translate`."""
    height, width = x.shape[-2:]
    out = np.zeros_like(x)
    out[..., max(rows, 0) : height + min(rows, 0), max(cols, 0) : width + min(cols, 0)] = x[
        ..., max(-rows, 0) : height + min(-rows, 0), max(-cols, 0) : width + min(-cols, 0)
    ]
    return out


def query_views(x: np.ndarray, queries: tuple[Query, ...], *, shift: int) -> list[np.ndarray]:
    """The inputs each model is queried with (:data:`~acadp.config.lira.QUERY_VIEWS`), one (n, ...) array per query:
    ``x`` itself, its horizontal mirror (flip of the width axis), its translations by ``shift`` pixels (the training's
    ``augment_shift``). Views other than the original need images (n, channels, height, width)."""
    views = []
    for name in queries:
        view = QUERY_VIEWS[name]
        if view.augmentation is not None and x.ndim != 4:
            raise SpecError(f"lira.queries: {name!r} needs images (n, channels, height, width), got {x.shape}")
        out = np.ascontiguousarray(x[..., ::-1]) if view.flip else x
        rows, cols = view.direction
        views.append(shifted(out, rows * shift, cols * shift) if (rows, cols) != (0, 0) else out)
    return views


@torch.no_grad()
def query_logits(model: torch.nn.Module, views: list[np.ndarray], device: torch.device) -> np.ndarray:
    """Logits (n_examples, n_queries, n_classes) float32 of ``model`` on every view."""
    model.eval()
    per_view = []
    for x in views:
        parts = [
            model(torch.from_numpy(x[start : start + EVAL_BATCH]).to(device)).float().cpu().numpy()
            for start in range(0, x.shape[0], EVAL_BATCH)
        ]
        per_view.append(np.concatenate(parts))
    return np.stack(per_view, axis=1)


def stream_seed(audit: AuditConfig) -> int:
    """The seed of the audit's keep matrix, its shadows' training and its bound's decision pairs: ``lira.seed`` for
    audited seed 0 (the stream audits drew from before audited seeds were replicated), and one derived from it and
    the audited seed otherwise, so that every audited seed is an independent shadow set. An audit and its clean twin
    (the same point at α = 0) share it: the same keep matrix and the same shadow seeds."""
    seed = audit.trial.seed
    return audit.lira.seed if seed == 0 else derive_seed(audit.lira.seed, f"lira-audited-seed-{seed}")


def shadow_seed(audit: AuditConfig, index: int) -> int:
    """The training seed of shadow ``index`` (initialisation, batches, noise)."""
    return derive_seed(stream_seed(audit), f"lira-shadow-{index}")


def signal_inputs(audit: AuditConfig, pool: TrialData) -> np.ndarray:
    """g(x) of every pool example, (n_pool, ...): a planted example as the shadows trained on it (it carries the
    signal already), every other one with the audited trial's signal applied."""
    planted = pool.planted
    if pool.text is not None:  # text: planted in the raw documents, then tokenised, as the members' documents were
        signalled = signal_training_ids(audit.trial, pool)
    else:
        signalled = apply_signal(audit.trial.signal, planted.x, pool.dataset.feature_names)
    carries = planted.planted.reshape((-1,) + (1,) * (planted.x.ndim - 1))
    return np.where(carries, planted.x, signalled)


@dataclasses.dataclass(frozen=True)
class ShadowOutcome:
    """A trained shadow: its ``logits`` (n_pool, n_queries, n_classes) float32 on every pool query, the same on every
    query of g(x) (``signal_logits``; None unless the audit's variants ask), and ``stats``."""

    logits: np.ndarray
    stats: ShadowStats
    signal_logits: np.ndarray | None = None


def train_accuracy(logits: np.ndarray, labels: np.ndarray, keep_row: np.ndarray) -> float:
    """Accuracy on the shadow's own training examples, from its ``logits`` (n_pool, n_queries, n_classes) on the
    original query (query 0) and the pool ``labels`` (n_pool,) as trained; ``keep_row`` (n_pool,) bool."""
    predicted = logits[keep_row, 0].argmax(axis=-1)
    return float(np.mean(predicted == labels[keep_row])) if keep_row.any() else float("nan")


def train_shadow(
    audit: AuditConfig, pool: TrialData, *, index: int, keep_row: np.ndarray, device: torch.device
) -> ShadowOutcome:
    """Train shadow ``index`` on ``pool.planted[keep_row]``; return its logits on every pool query (and on g(x) when
    the audit's variants ask) and what its training did (accuracy, and σ, q, steps and ε spent from the learner's own
    privacy report)."""
    planted = pool.planted
    run = build_training_run(
        audit.trial, dataclasses.replace(pool, planted=planted.select(keep_row)), device, seed=shadow_seed(audit, index)
    )
    while run.epochs_done < audit.trial.training.epochs:
        run.train_epoch()
    shift = audit.trial.training.augment_shift
    logits = query_logits(run.model, query_views(planted.x, audit.queries, shift=shift), device)
    signal_logits = None
    if audit.lira.signal_view:
        signal_views = query_views(signal_inputs(audit, pool), audit.queries, shift=shift)
        signal_logits = query_logits(run.model, signal_views, device)
    evaluation = evaluate(run.model, pool, target_class=audit.trial.target_class, device=device)
    privacy = run.privacy_report()
    stats = ShadowStats(
        n_train=int(keep_row.sum()), train_accuracy=train_accuracy(logits, planted.y, keep_row),
        test_accuracy=evaluation.test_accuracy, noise_multiplier=privacy.noise_multiplier,
        sample_rate=privacy.sample_rate, steps=privacy.steps, epsilon_spent=privacy.epsilon_spent,
    )  # fmt: skip
    return ShadowOutcome(logits=logits, stats=stats, signal_logits=signal_logits)
