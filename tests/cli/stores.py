"""Small sweep files and results stores written by hand in the real layout (:mod:`acadp.store.layout`), for the
commands that only read a store: ``sweep status`` and ``sweep plan``. Results are synthetic (no training)."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Any

import yaml

from acadp.config.trial import TrialConfig
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.sweep.plan import SweepPlan
from acadp.trial.result import TrialResult

GRID = """
    datasets:
      mnist5k:
        n_train: 300
        n_test: 150
        eval_every: 100
        training: {epochs: 3, batch_size: 75, lr: 2.0}
    grid:
      alpha: [0.0, 0.1, 0.2]
      epsilon: [8, inf]
      clip: [none, 1.0]
      seed: [0, 1]
    lira:
      points: {alpha: [0.1], epsilon: [inf]}
      shadows: 4
    reduce: {n_boot: 50}
    """
SEARCH = """
    datasets:
      mnist5k:
        n_train: 300
        n_test: 150
        eval_every: 100
        training: {epochs: 3, batch_size: 75, lr: 2.0}
    grid:
      alpha: {search: {low: 0.01, high: 0.3, thresholds: [0.5, 0.8], design: dose_response, tolerance: 0.2,
                       budget: 7}}
      epsilon: [inf]
      clip: [none, 1.0]
      seed: [0, 1, 2]
    reduce: {n_boot: 50}
    """


def sweep_file(folder: Path, *, name: str, search: bool = False, **overrides: Any) -> Path:
    """A sweep file ``<folder>/<name>.yaml``: a 24-point grid with one LiRA audit, or (``search``) a dose-response
    search of two arms; top-level ``overrides`` replace the file's sections."""
    spec: dict[str, Any] = yaml.safe_load(textwrap.dedent(SEARCH if search else GRID))
    spec.update(name=name, **overrides)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def curve(config: TrialConfig) -> float:
    """A synthetic success S(alpha): a logistic curve in log alpha (clipped arms later than SGD), exactly 0 at 0."""
    if config.alpha == 0:
        return 0.0
    middle = 0.05 if config.clip is None else 0.12
    return 1.0 / (1.0 + math.exp(-3.0 * (math.log(config.alpha) - math.log(middle)))) + 0.01 * config.seed


def result_of(config: TrialConfig, *, success: float, seconds: float = 2.0) -> TrialResult:
    """A completed trial's result with plausible fields (synthetic)."""
    private = math.isfinite(config.epsilon)
    return TrialResult(
        trial_key=config.key(), label=config.label(), config=config, dataset=config.dataset, alpha=config.alpha,
        epsilon=config.epsilon, delta=config.delta, clip=config.clip, arm=config.arm, seed=config.seed,
        target_class=config.target_class, n_train=300, n_test=150, n_collective=round(config.alpha * 300),
        n_planted=round(config.alpha * 300), test_accuracy=0.9, success=success, success_all=success * 0.9,
        base_rate=0.05, lift=success - 0.05, clipped_fraction=None if config.clip is None else 0.4, train_loss=0.3,
        epsilon_spent=config.epsilon if private else math.inf, noise_multiplier=1.1 if private else 0.0,
        sample_rate=0.25, steps=12, accountant=config.accountant, epochs=config.training.epochs, seconds=seconds,
    )  # fmt: skip


def complete(store: ResultsStore, config: TrialConfig, *, success: float | None = None, seconds: float = 2.0) -> float:
    """Write the trial's ``config.json`` and ``result.json`` (success: :func:`curve` unless given); its success."""
    paths = LAYOUT.trial(config.key())
    store.write_json(paths.config, config.canonical())
    value = curve(config) if success is None else success
    store.write_json(paths.result, result_of(config, success=value, seconds=seconds).to_json())
    return value


def run_search(plan: SweepPlan) -> None:
    """Complete every trial the plan's dose-response search runs, round after round, until it ends."""
    from acadp.reduce.search_dose import next_round
    from acadp.sweep.search import search_arms

    search, store = plan.spec.grid.search, plan.open_store()
    assert search is not None
    for arm in search_arms(search, plan.spec.trial_configs()):
        completed: dict[tuple[float, int], float] = {}
        while points := next_round(arm.settings, completed, arm.templates):
            for alpha, seed in points:
                completed[(alpha, seed)] = complete(store, arm.config_at(alpha, seed))


def interrupt(store: ResultsStore, config: TrialConfig, *, epochs_done: int) -> None:
    """A trial stopped after ``epochs_done`` checkpointed epochs by a driver that is gone."""
    paths = LAYOUT.trial(config.key())
    store.write_json(paths.config, config.canonical())
    store.write_json(paths.progress, {"epochs_done": epochs_done, "invocation": "gone", "updated_at": "2026-01-01"})


def fail(store: ResultsStore, config: TrialConfig, error: str) -> None:
    """A trial whose last attempt raised ``error`` (as the trainable records it)."""
    paths = LAYOUT.trial(config.key())
    store.write_json(paths.config, config.canonical())
    store.write_json(paths.error, {"error": error, "at": "2026-01-01T00:00:00Z", "invocation": "gone"})
