"""Builders of synthetic trial records, trials tables and LiRA rows for the reducer's tests."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import cast, get_args

import numpy as np
import pandas as pd

from acadp.config.trial import TrialConfig
from acadp.trial.record import TrialRecord, TrialStatus
from acadp.trial.result import TrialResult

TRAINING = {"epochs": 2, "batch_size": 64, "lr": 0.1}


def make_config(*, alpha: float, epsilon: float, seed: int, clip: float | None = None, **extra: object) -> TrialConfig:
    """A valid trial config; a finite epsilon gets clip 1.0 unless given."""
    if math.isfinite(epsilon) and clip is None:
        clip = 1.0
    fields = {
        "dataset": "mnist5k",
        "alpha": alpha,
        "epsilon": epsilon,
        "clip": clip,
        "seed": seed,
        "target_class": 0,
        "signal": {"name": "patch"},
        "model": {"name": "cnn"},
        "training": TRAINING,
    }
    return TrialConfig.model_validate(fields | extra)


def make_result(
    config: TrialConfig, *, success: float, test_accuracy: float = 0.95, base_rate: float = 0.05
) -> TrialResult:
    """A completed trial's result with plausible flat fields (``lift`` = success − base_rate)."""
    private = math.isfinite(config.epsilon)
    return TrialResult(
        trial_key=config.key(),
        label=config.label(),
        config=config,
        dataset=config.dataset,
        alpha=config.alpha,
        epsilon=config.epsilon,
        delta=config.delta,
        clip=config.clip,
        arm=config.arm,
        seed=config.seed,
        target_class=config.target_class,
        n_train=1000,
        n_test=200,
        n_collective=round(config.alpha * 1000),
        n_planted=round(config.alpha * 1000),
        test_accuracy=test_accuracy,
        success=success,
        success_all=success * 0.9,
        base_rate=base_rate,
        lift=success - base_rate,
        clipped_fraction=None if config.clip is None else 0.4,
        train_loss=0.3,
        epsilon_spent=config.epsilon if private else math.inf,
        noise_multiplier=1.1 if private else 0.0,
        sample_rate=0.064,
        steps=32,
        accountant=config.accountant,
        epochs=config.training.epochs,
        seconds=1.5,
    )


def make_record(
    config: TrialConfig,
    status: str = "completed",
    *,
    success: float = 0.5,
    error: str | None = None,
    test_accuracy: float = 0.95,
    base_rate: float = 0.05,
) -> TrialRecord:
    """A record of ``config`` in ``status`` (completed ones carry a result with ``success``)."""
    if status not in get_args(TrialStatus):
        raise ValueError(f"unknown status {status!r}")
    result = None
    if status == "completed":
        result = make_result(config, success=success, test_accuracy=test_accuracy, base_rate=base_rate)
    return TrialRecord(
        key=config.key(), config=config, status=cast(TrialStatus, status), result=result, error=error, epochs_done=0
    )


def success_model(alpha: float, epsilon: float, seed: int) -> float:
    """A smooth synthetic S(alpha): steeper for larger epsilon, with seed-dependent noise."""
    slope = 12.0 if math.isinf(epsilon) else 3.0 * epsilon
    noise = np.random.default_rng([seed, round(alpha * 1000)]).normal(0.0, 0.03)
    return float(np.clip(alpha * slope + noise, 0.0, 1.0))


def synthetic_records(
    *,
    alphas: Iterable[float] = (0.0, 0.02, 0.05, 0.1, 0.2),
    epsilons: Iterable[float] = (1.0, 4.0, math.inf),
    seeds: Iterable[int] = (0, 1, 2),
    status_of: Callable[[float, float, int], str] = lambda a, e, s: "completed",
) -> list[TrialRecord]:
    """Records of a full grid; ``status_of(alpha, epsilon, seed)`` picks each point's status."""
    records = []
    for epsilon in epsilons:
        for alpha in alphas:
            for seed in seeds:
                config = make_config(alpha=alpha, epsilon=epsilon, seed=seed)
                status = status_of(alpha, epsilon, seed)
                error = "RuntimeError: out of memory <GPU 0> & more" if status == "failed" else None
                records.append(make_record(config, status, success=success_model(alpha, epsilon, seed), error=error))
    return records


def curve_frame(success: dict[tuple[float, int], float], *, epsilon: float = 8.0, clip: float = 1.0) -> pd.DataFrame:
    """A minimal trials table of one (dataset, epsilon, clip) group from {(alpha, seed): success}; NaN = pending."""
    rows = [
        {
            "dataset": "toy",
            "epsilon": epsilon,
            "clip": clip,
            "alpha": alpha,
            "seed": seed,
            "status": "pending" if math.isnan(value) else "completed",
            "success": value,
            "test_accuracy": 0.9 if not math.isnan(value) else math.nan,
        }
        for (alpha, seed), value in success.items()
    ]
    return pd.DataFrame(rows)


def lira_row(**overrides: object) -> dict[str, object]:
    """One LiRA audit row (the schema of :data:`acadp.reduce.lira_tables.LIRA_COLUMNS`) with ``overrides``."""
    row: dict[str, object] = {
        "audit_key": "a", "dataset": "mnist", "alpha": 0.05, "epsilon": 8.0, "clip": 1.0, "attack": "online",
        "convention": "balanced", "subset": "all", "auc_mean": 0.61, "auc_std": 0.02, "auc_ci_low": 0.6,
        "auc_ci_high": 0.62, "tpr_at_0_1_fpr_mean": 0.0031, "tpr_at_0_1_fpr_std": 0.0004, "tpr_at_1_fpr_mean": 0.021,
        "tpr_at_1_fpr_std": 0.003, "n_members_mean": 2000.0, "n_non_members_mean": 2000.0, "n_shadows": 16,
        "epsilon_lower_bound": 0.4, "n_targets": 16.0, "n_targets_tpr_at_0_1_fpr": 16.0,
        "n_targets_tpr_at_1_fpr": 16.0, "n_members_min": 1950.0, "n_non_members_min": 1940.0, "n_examples": 4000.0,
        "epsilon_n_targets": 8.0, "status": "completed",
    }  # fmt: skip
    row.update(overrides)
    return row
