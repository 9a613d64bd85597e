"""Critical mass alpha*(S*): the smallest collective size whose seed-mean success reaches S*, with a bootstrap CI.

Definition (Hardt et al. 2023, Solanki et al. 2025; the README's "The science, precisely"): on the seed-mean curve
S(alpha) over the sorted alpha grid, find the *first* grid alpha whose mean is >= S*, and interpolate between it and
the previous grid alpha; if the first grid alpha already reaches S*, alpha* is that alpha.

Interpolation: ``linear`` in alpha, or ``log`` — linear in log alpha, alpha* = a0 · (a1 / a0)^f with f = (S* − S(a0)) /
(S(a1) − S(a0)); alpha = 0 never enters a logarithm, so a crossing between alpha = 0 and the first positive alpha is
always interpolated linearly. ``auto`` (the default) is ``log`` when the positive grid alphas are log-spaced
(:func:`is_log_spaced`: at least three positive alphas whose consecutive log-ratios log(a_{i+1}/a_i) differ by at most
a factor :data:`LOG_SPACING_SPREAD`, largest over smallest — true of 1-2-5 and doubling grids, false of evenly spaced
ones such as 0.1, 0.2, 0.3, 0.4) and ``linear`` otherwise. The table's ``interpolation`` column says which was used.
``logistic`` reads alpha* off a dose-response fit instead (:mod:`acadp.reduce.dose_response`: a logistic curve in
log alpha fitted to every completed (alpha > 0, seed) trial, no extrapolation beyond the alphas run), with the same
bootstrap over seeds refitting on each resample's trials; it is what a dose-response search, which runs one seed per
probed alpha, is read with.

Metric: alpha* is read on success S (test points whose true label is not y*; ``metric = "success"``), on
``success_all`` (the same over all test points, the papers' definition; rows only when the trials recorded it) and,
with ``lift`` on, on the lift curve S − base rate (``metric = "lift"``), the part of the success that is the signal's
doing (:func:`metrics_present`). A curve that never reaches S*
has alpha* = ``math.inf`` ("not reached") — never NaN. A non-monotone curve is read at its first crossing: a later dip
below S* does not move alpha*. A mean within :data:`REACH_TOLERANCE` of S* counts as reaching it, so that seed means
that equal S* up to float rounding (e.g. three seeds at exactly 0.9) are not read as misses.

Bootstrap: within one (setting, epsilon, C) group, resample the seeds with replacement ``n_boot`` times (all alphas
of a resample use the same seeds, keeping each seed's curve intact), recompute the mean curve and alpha* of each
resample, and report the percentile interval of the resampled alpha* values (numpy's linear percentile; a bound whose
order statistics include a resample that did not reach S* is ``inf``, "not reached") and the fraction of resamples
that reached S*. Resamples are drawn as multinomial seed counts, so all of them are one matrix product.

Partial sweeps: the point estimate uses, at every alpha with at least one completed seed, the mean over the seeds
available there (alphas with no completed seed are skipped). The bootstrap uses only the alphas at which *all* seeds of
the group are completed, so that every resample averages the same seeds at every alpha. The ``note`` column says when
either happens.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from acadp.reduce.collect import with_arm_columns
from acadp.reduce.curves import group_keys
from acadp.reduce.dose_response import (
    CONFIDENCE,
    bootstrap_dose_response,
    dose_response_stars,
    fit_logistic,
    percentile_interval,
)

REACH_TOLERANCE = 1e-12
# auto interpolation is log when max/min of the consecutive log-ratios of the positive alphas is at most this
LOG_SPACING_SPREAD = 1.5
Interpolation = Literal["auto", "log", "linear", "logistic"]
METRICS: tuple[str, ...] = ("success", "success_all", "lift")
CRITICAL_MASS_COLUMNS: tuple[str, ...] = (
    "metric", "threshold", "alpha_star", "reached", "ci_low", "ci_high", "frac_reached", "n_seeds", "n_boot",
    "alphas_total", "alphas_available", "alphas_bootstrap", "interpolation", "note",
)  # fmt: skip


@dataclass(frozen=True)
class BootstrapCI:
    """A percentile bootstrap interval of alpha*; a bound of ``inf`` means that percentile did not reach S*."""

    low: float
    high: float
    frac_reached: float  # fraction of resamples whose mean curve reached S*
    n_boot: int
    confidence: float


def _check_grid(alphas: np.ndarray, n_alphas: int) -> np.ndarray:
    grid = np.asarray(alphas, dtype=float)
    if grid.ndim != 1 or grid.shape[0] != n_alphas:
        raise ValueError(f"alphas must be a 1-D array of length {n_alphas}, got shape {grid.shape}")
    if not np.all(np.isfinite(grid)):
        raise ValueError("alphas must be finite numbers")
    if np.any(np.diff(grid) <= 0):
        raise ValueError("alphas must be sorted in strictly increasing order")
    return grid


def is_log_spaced(alphas: np.ndarray) -> bool:
    """Whether the positive values of ``alphas`` are log-spaced (see the module docstring; zeros are ignored)."""
    positive = np.unique(np.asarray(alphas, dtype=float))
    positive = positive[positive > 0]
    if positive.size < 3:
        return False
    log_ratios = np.diff(np.log(positive))
    return bool(log_ratios.max() <= LOG_SPACING_SPREAD * log_ratios.min())


def resolve_interpolation(interpolation: Interpolation, alphas: np.ndarray) -> Literal["log", "linear", "logistic"]:
    """``log``, ``linear`` or ``logistic``: ``auto`` becomes ``log`` exactly when :func:`is_log_spaced` holds for
    ``alphas``."""
    if interpolation == "auto":
        return "log" if is_log_spaced(alphas) else "linear"
    if interpolation not in ("log", "linear", "logistic"):
        raise ValueError(f"interpolation must be one of 'auto', 'log', 'linear', 'logistic', got {interpolation!r}")
    return interpolation


def _curve_interpolation(interpolation: Interpolation, alphas: np.ndarray) -> Literal["log", "linear"]:
    resolved = resolve_interpolation(interpolation, alphas)
    if resolved == "logistic":
        raise ValueError("interpolation 'logistic' fits every trial, not a mean curve: use critical_mass_table")
    return resolved


def first_crossing(alphas: np.ndarray, curves: np.ndarray, threshold: float, *, log: bool = False) -> np.ndarray:
    """alpha* of many curves at once (the module's first-crossing rule).

    Args:
        alphas: (n_alphas,) strictly increasing grid.
        curves: (n_curves, n_alphas) finite success values.
        threshold: S*.
        log: interpolate in log alpha (a step that starts at alpha = 0 stays linear).

    Returns:
        (n_curves,) alpha* per curve; ``inf`` where a curve never reaches ``threshold``.
    """
    n_curves, n_alphas = curves.shape
    if n_alphas == 0:
        return np.full(n_curves, math.inf)
    reached = curves >= threshold - REACH_TOLERANCE
    first = reached.argmax(axis=1)
    previous = np.maximum(first - 1, 0)
    rows = np.arange(n_curves)
    s0, s1 = curves[rows, previous], curves[rows, first]
    rise = s1 - s0
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(rise > 0, (threshold - s0) / rise, 1.0)
    fraction = np.clip(fraction, 0.0, 1.0)
    a0, a1 = alphas[previous], alphas[first]
    alpha_star = a0 + fraction * (a1 - a0)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            geometric = a0 * np.power(a1 / a0, fraction)
        alpha_star = np.where(a0 > 0, geometric, alpha_star)
    alpha_star = np.where(first == 0, alphas[0], alpha_star)
    return np.where(reached.any(axis=1), alpha_star, math.inf)


def interpolate_critical_mass(
    alphas: np.ndarray, mean_success: np.ndarray, *, threshold: float, interpolation: Interpolation = "linear"
) -> float:
    """alpha*(S*) of one seed-mean curve by interpolation at the first crossing.

    Args:
        alphas: (n_alphas,) strictly increasing collective sizes (fractions of the training data).
        mean_success: (n_alphas,) finite seed-mean success at each alpha.
        threshold: S*.
        interpolation: ``linear``, ``log`` (in log alpha) or ``auto`` (:func:`resolve_interpolation`).

    Returns:
        alpha*, or ``math.inf`` when the curve never reaches ``threshold`` (also for an empty grid).
    """
    values = np.asarray(mean_success, dtype=float)
    if values.ndim != 1:
        raise ValueError(f"mean_success must be 1-D, got shape {values.shape}")
    grid = _check_grid(alphas, values.shape[0])
    if not np.all(np.isfinite(values)):
        raise ValueError("mean_success must be finite; drop alphas without a completed seed first")
    log = _curve_interpolation(interpolation, grid) == "log"
    return float(first_crossing(grid, values[None, :], threshold, log=log)[0])


def bootstrap_means(success: np.ndarray, *, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Mean curves of ``n_boot`` seed resamples (with replacement).

    Args:
        success: (n_seeds, n_alphas) per-seed success, no NaN.
        n_boot: number of resamples (>= 1).
        rng: the generator the resamples are drawn from.

    Returns:
        (n_boot, n_alphas) resampled mean curves.
    """
    n_seeds = success.shape[0]
    counts = rng.multinomial(n_seeds, np.full(n_seeds, 1.0 / n_seeds), size=n_boot)  # (n_boot, n_seeds)
    return (counts @ success) / n_seeds


def _interval_from_means(
    alphas: np.ndarray, means: np.ndarray, threshold: float, confidence: float, *, log: bool = False
) -> BootstrapCI:
    stars = first_crossing(alphas, means, threshold, log=log)
    low, high = percentile_interval(stars, confidence)
    frac = float(np.mean(np.isfinite(stars)))
    return BootstrapCI(low=low, high=high, frac_reached=frac, n_boot=means.shape[0], confidence=confidence)


def bootstrap_critical_mass(
    success: np.ndarray,
    alphas: np.ndarray,
    *,
    threshold: float,
    n_boot: int = 1000,
    seed: int = 0,
    confidence: float = CONFIDENCE,
    interpolation: Interpolation = "linear",
) -> BootstrapCI:
    """Percentile bootstrap CI of alpha*(S*) over seeds (vectorised; see the module docstring).

    Args:
        success: (n_seeds, n_alphas) per-seed success S(alpha), no NaN.
        alphas: (n_alphas,) strictly increasing grid.
        threshold: S*.
        n_boot: number of seed resamples (>= 1).
        seed: seed of the resampling generator.
        confidence: two-sided coverage of the interval.
        interpolation: as :func:`interpolate_critical_mass`.
    """
    matrix = np.asarray(success, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] == 0:
        raise ValueError(f"success must be (n_seeds >= 1, n_alphas), got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise ValueError("success must be finite; keep only alphas where every seed is completed")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    grid = _check_grid(alphas, matrix.shape[1])
    means = bootstrap_means(matrix, n_boot=n_boot, rng=np.random.default_rng(seed))
    log = _curve_interpolation(interpolation, grid) == "log"
    return _interval_from_means(grid, means, threshold, confidence, log=log)


# --------------------------------------------------------------------------------------------------------- the table


def _hashable(key: Any) -> tuple[Hashable, ...]:
    """A group key usable in a dict: NaN (an unequal-to-itself float) becomes None."""
    values = [v.item() if isinstance(v, np.generic) else v for v in (key if isinstance(key, tuple) else (key,))]
    return tuple(None if isinstance(v, float) and math.isnan(v) else v for v in values)


def metrics_present(frame: pd.DataFrame, *, lift: bool) -> list[str]:
    """The metrics alpha* is read on, in :data:`METRICS` order: ``success`` always, ``success_all`` when some completed
    trial recorded it (stores from before it existed have none), ``lift`` when asked for."""
    completed = frame["status"] == "completed" if "status" in frame.columns else pd.Series(False, index=frame.index)
    has_all = "success_all" in frame.columns and bool(frame["success_all"][completed].notna().any())
    return [m for m in METRICS if m == "success" or (m == "success_all" and has_all) or (m == "lift" and lift)]


def _seed_matrices(
    frame: pd.DataFrame, keys: list[str], metric: str = "success"
) -> dict[tuple[Hashable, ...], pd.DataFrame]:
    """Per group: a (seed × alpha) frame of completed ``metric`` values, NaN where a seed is missing."""
    if metric not in frame.columns:
        return {}
    done = frame[(frame["status"] == "completed") & frame[metric].notna()]
    if done.empty:
        return {}
    per_point = done.groupby([*keys, "seed", "alpha"], dropna=False, sort=True)[metric].mean()
    wide = per_point.unstack("alpha").sort_index(axis=1)
    return {_hashable(key): block for key, block in wide.groupby(level=keys, dropna=False, sort=False)}


@dataclass(frozen=True)
class _GroupData:
    alphas: np.ndarray  # (n_alphas,) all alphas with at least one completed seed
    matrix: np.ndarray  # (n_seeds, n_alphas) success, NaN where missing
    alphas_total: int  # grid alphas of the group, completed or not
    log: bool = False  # interpolate in log alpha


def _notes(data: _GroupData, available: np.ndarray, complete: np.ndarray) -> str:
    n_seeds = data.matrix.shape[0]
    notes = []
    if n_seeds == 0:
        notes.append("no completed trials")
    elif n_seeds == 1:
        notes.append("1 seed: CI has zero width")
    if 0 < available.sum() < data.alphas_total:
        notes.append(f"{data.alphas_total - int(available.sum())} of {data.alphas_total} alphas missing")
    if n_seeds > 0 and complete.sum() == 0:
        notes.append("no alpha with all seeds: no CI")
    elif complete.sum() < available.sum():
        notes.append(f"CI on {int(complete.sum())} of {int(available.sum())} alphas (seeds missing)")
    return "; ".join(notes)


def _group_rows(data: _GroupData, thresholds: Sequence[float], n_boot: int, rng: np.random.Generator) -> list[dict]:
    have = ~np.isnan(data.matrix)
    available, complete = have.any(axis=0), have.all(axis=0) & have.any(axis=0)
    counts = np.maximum(have.sum(axis=0), 1)
    mean_curve = np.where(have, data.matrix, 0.0).sum(axis=0)[available] / counts[available]
    means = None
    if complete.any():
        means = bootstrap_means(data.matrix[:, complete], n_boot=n_boot, rng=rng)
    base = {
        "n_seeds": data.matrix.shape[0],
        "n_boot": n_boot if means is not None else 0,
        "alphas_total": data.alphas_total,
        "alphas_available": int(available.sum()),
        "alphas_bootstrap": int(complete.sum()),
        "interpolation": "log" if data.log else "linear",
        "note": _notes(data, available, complete),
    }
    rows = []
    for threshold in thresholds:
        star = (
            first_crossing(data.alphas[available], mean_curve[None, :], threshold, log=data.log)[0]
            if available.any()
            else np.nan
        )
        row = {"threshold": float(threshold), "alpha_star": float(star), "reached": bool(np.isfinite(star))}
        if means is None:
            row |= {"ci_low": np.nan, "ci_high": np.nan, "frac_reached": np.nan}
        else:
            ci = _interval_from_means(data.alphas[complete], means, threshold, CONFIDENCE, log=data.log)
            row |= {"ci_low": ci.low, "ci_high": ci.high, "frac_reached": ci.frac_reached}
        rows.append(base | row)
    return rows


def _check_thresholds(thresholds: Sequence[float], n_boot: int) -> None:
    bad = [t for t in thresholds if not 0.0 <= float(t) <= 1.0]
    if bad or not thresholds:
        raise ValueError(f"thresholds S* must be a non-empty list of success rates in [0, 1], got {list(thresholds)}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")


def critical_mass_table(
    frame: pd.DataFrame,
    *,
    thresholds: Sequence[float] = (0.5, 0.9),
    n_boot: int = 1000,
    seed: int = 0,
    interpolation: Interpolation = "auto",
    lift: bool = False,
) -> pd.DataFrame:
    """alpha*(S*) with bootstrap CIs per (setting, arm, metric, threshold).

    Args:
        frame: the trials table (:func:`acadp.reduce.collect.trials_frame`), all statuses.
        thresholds: the S* values to report.
        n_boot: seed resamples per group.
        seed: base seed; each group's generator is seeded from it and the group's key, so a group's CI does not
            change when other groups are added to the sweep.
        interpolation: ``auto``, ``log`` or ``linear`` (module docstring); ``auto`` is resolved on the whole sweep's
            alpha grid, so every arm of a sweep is read the same way.
        lift: also report alpha* on the lift curve (rows with ``metric = "lift"``); rows on ``success_all`` come
            whenever the trials recorded it.

    Returns:
        The group keys followed by :data:`CRITICAL_MASS_COLUMNS`: ``metric``, ``alpha_star`` (``inf`` = not reached;
        NaN only when the group has no completed trial, with a note), ``reached``, ``ci_low``/``ci_high`` (95%
        percentile bootstrap, ``inf`` = not reached), ``frac_reached``, ``n_seeds``, ``n_boot``, grid sizes,
        ``interpolation`` and ``note``.
    """
    _check_thresholds(thresholds, n_boot)
    frame = with_arm_columns(frame)
    keys = group_keys(frame)
    resolved = resolve_interpolation(interpolation, frame["alpha"].to_numpy(dtype=float))
    if resolved == "logistic":
        return _logistic_table(frame, keys, thresholds=thresholds, n_boot=n_boot, seed=seed, lift=lift)
    log = resolved == "log"
    rows: list[dict] = []
    for metric in metrics_present(frame, lift=lift):
        matrices = _seed_matrices(frame, keys, metric)
        for key, grid in frame.groupby(keys, dropna=False, sort=True)["alpha"]:
            hashable = _hashable(key)
            block = matrices.get(hashable)
            data = _GroupData(
                alphas=np.empty(0) if block is None else block.columns.to_numpy(dtype=float),
                matrix=np.empty((0, 0)) if block is None else block.to_numpy(dtype=float),
                alphas_total=int(grid.nunique()),
                log=log,
            )
            for row in _group_rows(data, thresholds, n_boot, _group_rng(seed, hashable, metric)):
                rows.append(dict(zip(keys, hashable, strict=True)) | {"metric": metric} | row)
    return _table(rows, keys, frame.dtypes)


def _group_rng(seed: int, hashable: tuple[Hashable, ...], metric: str) -> np.random.Generator:
    salt = hashable if metric == "success" else (*hashable, metric)
    return np.random.default_rng([seed, zlib.crc32(repr(salt).encode())])


def _logistic_rows(
    block: pd.DataFrame, metric: str, thresholds: Sequence[float], n_boot: int, rng: np.random.Generator
) -> list[dict]:
    """One group's rows read off the dose-response fit (:mod:`acadp.reduce.dose_response`)."""
    done = block[(block["status"] == "completed") & block[metric].notna()]
    fitted = done[done["alpha"] > 0]
    alphas, values, seeds = (fitted[c].to_numpy() for c in ("alpha", metric, "seed"))
    stars = dose_response_stars(alphas, values, thresholds)
    boot = bootstrap_dose_response(alphas, values, seeds, thresholds, n_boot=n_boot, rng=rng) if len(fitted) else None
    notes = []
    if done["seed"].nunique() == 1:
        notes.append("1 seed: CI has zero width")
    if fitted.empty:
        notes.append("no completed trials at alpha > 0")
    elif fit_logistic(alphas, values) is None:
        notes.append("fewer than two alphas, or S at one extreme everywhere: nothing to fit")
    if len(done) > len(fitted):
        notes.append(f"{len(done) - len(fitted)} trials at alpha = 0 not in the fit (log 0)")
    base = {
        "n_seeds": int(done["seed"].nunique()),
        "n_boot": n_boot if boot is not None else 0,
        "alphas_total": int(block["alpha"].nunique()),
        "alphas_available": int(done["alpha"].nunique()),
        "alphas_bootstrap": int(fitted["alpha"].nunique()),
        "interpolation": "logistic",
        "note": "; ".join(notes),
    }
    rows = []
    for index, threshold in enumerate(thresholds):
        star = stars[index] if not fitted.empty else np.nan
        row = {"threshold": float(threshold), "alpha_star": float(star), "reached": bool(np.isfinite(star))}
        if boot is None:
            row |= {"ci_low": np.nan, "ci_high": np.nan, "frac_reached": np.nan}
        else:
            low, high = percentile_interval(boot[:, index], CONFIDENCE)
            row |= {"ci_low": low, "ci_high": high, "frac_reached": float(np.mean(np.isfinite(boot[:, index])))}
        rows.append(base | row)
    return rows


def _logistic_table(
    frame: pd.DataFrame, keys: list[str], *, thresholds: Sequence[float], n_boot: int, seed: int, lift: bool
) -> pd.DataFrame:
    rows: list[dict] = []
    for metric in metrics_present(frame, lift=lift):
        if metric not in frame.columns:
            continue
        for key, block in frame.groupby(keys, dropna=False, sort=True):
            hashable = _hashable(key)
            for row in _logistic_rows(block, metric, thresholds, n_boot, _group_rng(seed, hashable, metric)):
                rows.append(dict(zip(keys, hashable, strict=True)) | {"metric": metric} | row)
    return _table(rows, keys, frame.dtypes)


def _table(rows: list[dict], keys: list[str], dtypes: pd.Series) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=[*keys, *CRITICAL_MASS_COLUMNS])
    for name in keys:
        table[name] = table[name].astype(dtypes[name])
    for name in ("threshold", "alpha_star", "ci_low", "ci_high", "frac_reached"):
        table[name] = table[name].astype("float64")
    for name in ("n_seeds", "n_boot", "alphas_total", "alphas_available", "alphas_bootstrap"):
        table[name] = table[name].astype("int64")
    table["reached"] = table["reached"].astype("bool")
    table["metric_rank"] = table["metric"].map({m: i for i, m in enumerate(METRICS)}).astype("float64")
    order = [*keys, "metric_rank", "threshold"]  # success, success_all, lift
    ordered = table.sort_values(order, na_position="last", kind="stable").drop(columns="metric_rank")
    return ordered.reset_index(drop=True)
