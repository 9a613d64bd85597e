"""Seed-aggregated curves: success S(alpha) and test accuracy per (dataset, epsilon, C, alpha).

Every grid point of the trials table appears in the output, also those without any completed seed: they have
``n_seeds = 0`` and NaN statistics, so plots show them as gaps and tables as "missing" rather than dropping them.
Non-private points have ``epsilon = inf`` and ``clip = NaN``; grouping keeps NaN keys (``dropna=False``).

Confidence interval: the two-sided 95% Student-t interval of the seed mean, ``mean ± t_{0.975, n-1} · std / sqrt(n)``
with the sample standard deviation (ddof = 1), clipped to [0, 1] (both metrics are rates). With a single seed the
standard deviation and the interval are undefined and are NaN (tables print "n/a (1 seed)").

A sweep that varies more than (dataset, alpha, epsilon, C, seed) — e.g. two strategies or two models — is never
averaged across those settings: every other config column that takes more than one value among the private trials,
or among the non-private trials, of a dataset is added to the grouping keys (see :func:`setting_keys`). Columns that
differ only *between* the regimes — DP-SGD's own learning rate or batch size — belong to the learner, not to a
separate setting, so private and non-private curves stay in one figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

# The coordinates every table is grouped by (in this order), with alpha last for curves.
BASE_KEYS: tuple[str, ...] = ("dataset", "epsilon", "clip")
# Config columns that, when they vary within a sweep, define separate settings that must not be averaged together.
VARIANT_COLUMNS: tuple[str, ...] = (
    "strategy", "target_class", "delta", "accountant", "model", "model_params", "signal", "signal_params",
    "training_epochs", "training_batch_size", "training_lr", "training_momentum", "training_weight_decay",
    "training_grad_sample_mode", "n_train_limit", "n_test_limit", "eval_every",
)  # fmt: skip
CONFIDENCE = 0.95
SUMMARY_COLUMNS: tuple[str, ...] = ("n_trials", "n_seeds", "n_failed", "mean", "std", "ci_low", "ci_high")


def setting_keys(frame: pd.DataFrame) -> list[str]:
    """``dataset`` plus every :data:`VARIANT_COLUMNS` column present in ``frame`` that takes more than one value
    within one (dataset, private or not) group."""
    if frame.empty or "epsilon" not in frame.columns:
        return ["dataset"]
    regimes = frame.groupby(["dataset", np.isfinite(frame["epsilon"].to_numpy(dtype=float))], dropna=False)
    varying = [
        name for name in VARIANT_COLUMNS if name in frame.columns and (regimes[name].nunique(dropna=False) > 1).any()
    ]
    return ["dataset", *varying]


def group_keys(frame: pd.DataFrame) -> list[str]:
    """The keys of one curve: :func:`setting_keys` followed by ``epsilon`` and ``clip``."""
    return [*setting_keys(frame), "epsilon", "clip"]


def t_interval(mean: np.ndarray, std: np.ndarray, n: np.ndarray, confidence: float = CONFIDENCE) -> np.ndarray:
    """Student-t confidence intervals of seed means, clipped to [0, 1].

    Args:
        mean, std, n: (k,) seed means, sample standard deviations (ddof = 1) and seed counts.
        confidence: two-sided coverage, e.g. 0.95.

    Returns:
        (k, 2) array of [low, high]; NaN where ``n < 2``.
    """
    n = np.asarray(n, dtype=float)
    usable = n >= 2
    dof = np.where(usable, n - 1, 1.0)
    quantile = stats.t.ppf(0.5 + confidence / 2, dof)
    half = np.where(usable, quantile * np.asarray(std, dtype=float) / np.sqrt(np.maximum(n, 1.0)), np.nan)
    low = np.clip(np.asarray(mean, dtype=float) - half, 0.0, 1.0)
    high = np.clip(np.asarray(mean, dtype=float) + half, 0.0, 1.0)
    return np.stack([low, high], axis=1)


def seed_summary(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per-(setting, epsilon, clip, alpha) statistics of ``metric`` over the completed seeds.

    Args:
        frame: the trials table (:func:`acadp.reduce.collect.trials_frame`), one row per trial; ``metric`` is NaN
            for trials that are not completed.
        metric: a metric column, e.g. ``"success"`` or ``"test_accuracy"``.

    Returns:
        One row per grid point, sorted by the keys (NaN clip last), with the key columns, ``alpha`` and
        :data:`SUMMARY_COLUMNS`: ``n_trials`` (grid points = seeds planned), ``n_seeds`` (completed), ``n_failed``,
        ``mean``, ``std`` (ddof = 1), ``ci_low``/``ci_high`` (95% t-interval; NaN for fewer than two seeds).
    """
    keys = [*group_keys(frame), "alpha"]
    completed = frame["status"] == "completed"
    work = frame[keys].copy()
    work["value"] = frame[metric].where(completed).astype("float64")
    work["failed"] = (frame["status"] == "failed").astype("int64")
    grouped = work.groupby(keys, dropna=False, sort=True)
    out = grouped.agg(
        n_trials=("value", "size"),
        n_seeds=("value", "count"),
        n_failed=("failed", "sum"),
        mean=("value", "mean"),
        std=("value", "std"),
    ).reset_index()
    interval = t_interval(out["mean"].to_numpy(), out["std"].to_numpy(), out["n_seeds"].to_numpy())
    out["ci_low"], out["ci_high"] = interval[:, 0], interval[:, 1]
    out = out.astype({"n_trials": "int64", "n_seeds": "int64", "n_failed": "int64"})
    return out.sort_values(keys, na_position="last", kind="stable").reset_index(drop=True)


def success_curves(frame: pd.DataFrame) -> pd.DataFrame:
    """S(alpha) per (dataset, epsilon, clip, alpha) over seeds: see :func:`seed_summary` with ``metric="success"``."""
    return seed_summary(frame, "success")


def accuracy_by_epsilon(frame: pd.DataFrame) -> pd.DataFrame:
    """Test accuracy per (dataset, epsilon, clip, alpha) over seeds: :func:`seed_summary` of ``test_accuracy``."""
    return seed_summary(frame, "test_accuracy")
