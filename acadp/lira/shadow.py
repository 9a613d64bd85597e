"""Shadow models of a LiRA audit: the audit pool, one shadow's training, and its logits on every query.

The pool is the audited trial's training set with the collective already planted (same seed, strategy and signal);
shadow ``i`` trains on the pool rows its keep row marks, with the audited trial's learner settings and a seed of its
own, and is then queried on every pool example (the original and, for images, the horizontal mirror). Its
:class:`~acadp.lira.results.ShadowStats` record the regime it trained in (accuracy; σ, q, steps and ε spent as the
learner reports them, as for a trial).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from acadp.collective import PlantedData
from acadp.errors import SpecError
from acadp.lira.results import ShadowStats
from acadp.lira.settings import AuditConfig
from acadp.seeding import derive_seed
from acadp.trial.data import TrialData, prepare_trial_data
from acadp.trial.metrics import EVAL_BATCH, evaluate
from acadp.trial.run import build_training_run


def prepare_pool(audit: AuditConfig, *, data_dir: Path | None = None) -> TrialData:
    """The audited trial's data: ``planted`` is the pool every shadow draws its half from."""
    data = prepare_trial_data(audit.trial, data_dir=data_dir)
    if "mirror" in audit.lira.queries and data.dataset.modality != "image":
        raise SpecError(f"lira.queries: 'mirror' needs images, but {audit.trial.dataset} is tabular; use [original]")
    return data


def query_views(x: np.ndarray, queries: tuple[str, ...]) -> list[np.ndarray]:
    """The inputs each model is queried with: ``x`` itself and its horizontal mirror (flip of the width axis)."""
    views = {"original": x, "mirror": np.ascontiguousarray(x[..., ::-1]) if x.ndim == 4 else x}
    return [views[name] for name in queries]


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


def shadow_seed(audit: AuditConfig, index: int) -> int:
    """The training seed of shadow ``index`` (initialisation, batches, noise)."""
    return derive_seed(audit.lira.seed, f"lira-shadow-{index}")


@dataclasses.dataclass(frozen=True)
class ShadowOutcome:
    """A trained shadow: its ``logits`` (n_pool, n_queries, n_classes) float32 on every pool query, and ``stats``."""

    logits: np.ndarray
    stats: ShadowStats


def train_accuracy(logits: np.ndarray, labels: np.ndarray, keep_row: np.ndarray) -> float:
    """Accuracy on the shadow's own training examples, from its ``logits`` (n_pool, n_queries, n_classes) on the
    original query (query 0) and the pool ``labels`` (n_pool,) as trained; ``keep_row`` (n_pool,) bool."""
    predicted = logits[keep_row, 0].argmax(axis=-1)
    return float(np.mean(predicted == labels[keep_row])) if keep_row.any() else float("nan")


def train_shadow(
    audit: AuditConfig, pool: TrialData, *, index: int, keep_row: np.ndarray, device: torch.device
) -> ShadowOutcome:
    """Train shadow ``index`` on ``pool.planted[keep_row]``; return its logits on every pool query and what its
    training did (accuracy, and σ, q, steps and ε spent from the learner's own privacy report)."""
    planted = pool.planted
    subset = PlantedData(
        x=planted.x[keep_row],
        y=planted.y[keep_row],
        members=planted.members[keep_row],
        planted=planted.planted[keep_row],
    )
    run = build_training_run(
        audit.trial, dataclasses.replace(pool, planted=subset), device, seed=shadow_seed(audit, index)
    )
    while run.epochs_done < audit.trial.training.epochs:
        run.train_epoch()
    logits = query_logits(run.model, query_views(planted.x, audit.lira.queries), device)
    evaluation = evaluate(run.model, pool, target_class=audit.trial.target_class, device=device)
    privacy = run.privacy_report()
    stats = ShadowStats(
        n_train=int(keep_row.sum()), train_accuracy=train_accuracy(logits, planted.y, keep_row),
        test_accuracy=evaluation.test_accuracy, noise_multiplier=privacy.noise_multiplier,
        sample_rate=privacy.sample_rate, steps=privacy.steps, epsilon_spent=privacy.epsilon_spent,
    )  # fmt: skip
    return ShadowOutcome(logits=logits, stats=stats)
