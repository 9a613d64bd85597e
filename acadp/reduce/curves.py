"""Seed-aggregated curves: success S(alpha), base rate, lift and test accuracy per (setting, arm, alpha).

Every grid point of the trials table appears in the output, also those without any completed seed: they have
``n_seeds = 0`` and NaN statistics, so plots show them as gaps and tables as "missing" rather than dropping them.
Non-private points have ``epsilon = inf`` and ``clip = NaN``; grouping keeps NaN keys (``dropna=False``).

Confidence interval: the two-sided 95% Student-t interval of the seed mean, ``mean ± t_{0.975, n-1} · std / sqrt(n)``
with the sample standard deviation (ddof = 1), clipped to [0, 1] (both metrics are rates). With a single seed the
standard deviation and the interval are undefined and are NaN (tables print "n/a (1 seed)").

Curves are per (setting, arm). An arm is (recipe, epsilon, C): SGD, clipping only, DP-SGD, or a separately tuned named
recipe (``recipe`` non-empty, e.g. "SGD [tuned]"). Arms sort strongest privacy first (:data:`ARM_KEYS` with NaN last):
the shared recipe's DP arms by ascending epsilon then C, then its clip-only arms by ascending C, then SGD, then the
named recipes by name.

A sweep that varies more than (dataset, arm, alpha, seed) — e.g. two strategies or two models — is never averaged
across those settings: every other config column that takes more than one value within one (dataset, recipe, learner)
group is added to the grouping keys (see :func:`setting_keys`). Columns that differ only *between* arm kinds or
recipes — a tuned recipe's batch size, lr and shuffling, DP-SGD's own lr, clip-only's normalised lr scaling — belong to
the arm, not to a separate setting, so all arms of a dataset stay in one figure.

Collapse (the README's "base rate, lift": success that is the signal's doing): a grid point (arm, alpha) is
``collapsed`` when its seed-mean test accuracy is more than :data:`COLLAPSE_MARGIN` below the same arm's seed-mean
accuracy at alpha = 0 (not checked when the arm has no completed alpha = 0 point), or when its seed-mean base rate
reaches the smallest threshold S*: its "success" would then be the model's default answer, not the signal's doing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from acadp.reduce.collect import with_arm_columns

# One arm's keys, in its sort order (NaN clip = no clipping sorts after every C): see the module docstring.
ARM_KEYS: tuple[str, ...] = ("recipe", "epsilon", "clip", "arm")
# A point is collapsed when its clean accuracy is this far (absolute, fraction correct) below the arm's alpha = 0 one.
COLLAPSE_MARGIN = 0.1
DEFAULT_THRESHOLDS: tuple[float, ...] = (0.5, 0.9)
# Config columns that, when they vary within a sweep, define separate settings that must not be averaged together.
VARIANT_COLUMNS: tuple[str, ...] = (
    "strategy", "target_class", "delta", "accountant", "model", "model_params", "signal", "signal_params",
    "training_epochs", "training_batch_size", "training_lr", "training_momentum", "training_weight_decay",
    "training_grad_sample_mode", "training_sampling", "training_lr_scaling", "n_train_limit", "n_test_limit",
    "eval_every", "seq_len",
)  # fmt: skip
CONFIDENCE = 0.95
SUMMARY_COLUMNS: tuple[str, ...] = ("n_trials", "n_seeds", "n_failed", "mean", "std", "ci_low", "ci_high")


def setting_keys(frame: pd.DataFrame) -> list[str]:
    """``dataset`` plus every :data:`VARIANT_COLUMNS` column present in ``frame`` that takes more than one value
    within one (dataset, recipe, arm kind) group."""
    if frame.empty or "epsilon" not in frame.columns:
        return ["dataset"]
    work = with_arm_columns(frame)
    regimes = work.groupby(["dataset", "recipe", "arm_kind"], dropna=False)
    varying = [
        name for name in VARIANT_COLUMNS if name in work.columns and (regimes[name].nunique(dropna=False) > 1).any()
    ]
    return ["dataset", *varying]


def group_keys(frame: pd.DataFrame) -> list[str]:
    """The keys of one curve: :func:`setting_keys` followed by :data:`ARM_KEYS` (recipe, epsilon, clip, arm)."""
    return [*setting_keys(frame), *ARM_KEYS]


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
    frame = with_arm_columns(frame)
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


def _with_metric(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    return frame if metric in frame.columns else frame.assign(**{metric: np.nan})


def collapse_flags(frame: pd.DataFrame, *, thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """Per (setting, arm, alpha): ``collapsed`` (see the module docstring; :data:`COLLAPSE_MARGIN`, min S*).

    Returns:
        The curve keys, ``alpha`` and the bool column ``collapsed``, in :func:`seed_summary`'s order.
    """
    frame = with_arm_columns(frame)
    keys = group_keys(frame)
    accuracy = seed_summary(_with_metric(frame, "test_accuracy"), "test_accuracy")
    base_rate = seed_summary(_with_metric(frame, "base_rate"), "base_rate")["mean"].to_numpy(float)
    at_zero = accuracy[accuracy["alpha"] == 0.0][[*keys, "mean"]].rename(columns={"mean": "reference"})
    merged = accuracy.merge(at_zero, on=keys, how="left")  # left merge keeps accuracy's row order
    drop = (merged["reference"] - merged["mean"]).to_numpy(float)
    with np.errstate(invalid="ignore"):
        collapsed = (drop > COLLAPSE_MARGIN) | (base_rate >= min(thresholds))
    out = accuracy[[*keys, "alpha"]].copy()
    out["collapsed"] = collapsed
    return out


def _add_summary(out: pd.DataFrame, frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """``out`` with ``<metric>_mean``, ``_std``, ``_ci_low``, ``_ci_high`` (same rows and order as seed_summary)."""
    summary = seed_summary(_with_metric(frame, metric), metric)
    for name in ("mean", "std", "ci_low", "ci_high"):
        out[f"{metric}_{name}"] = summary[name].to_numpy(float)
    return out


def success_curves(frame: pd.DataFrame, *, thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """S(alpha) per (setting, arm, alpha) over seeds (:func:`seed_summary` of ``success``), with the base rate and
    the lift summarised the same way (``base_rate_mean``/``_std``/``_ci_low``/``_ci_high``, ``lift_...``) and the
    ``collapsed`` flag of :func:`collapse_flags`."""
    out = seed_summary(frame, "success")
    for metric in ("base_rate", "lift"):
        out = _add_summary(out, frame, metric)
    out["collapsed"] = collapse_flags(frame, thresholds=thresholds)["collapsed"].to_numpy(bool)
    return out


def accuracy_by_epsilon(frame: pd.DataFrame, *, thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """Test accuracy per (setting, arm, alpha) over seeds (:func:`seed_summary` of ``test_accuracy``), with the
    ``collapsed`` flag of :func:`collapse_flags`."""
    out = seed_summary(frame, "test_accuracy")
    out["collapsed"] = collapse_flags(frame, thresholds=thresholds)["collapsed"].to_numpy(bool)
    return out
