"""alpha*(S*) of every seed on its own: the per-seed values paired contrasts compare (:mod:`acadp.reduce.contrasts`).

One row per (setting, arm, metric, S*, seed), for every seed the arm planned (completed or not). The ``method``
column says how each value was read:

* ``first crossing (log)`` / ``first crossing (linear)`` — a grid (or a bisection search, which runs every seed at
  each chosen alpha): the seed's own curve S(alpha) over the alphas it completed, read with the first-crossing rule
  and the interpolation of the critical-mass table (:func:`acadp.reduce.critical_mass.first_crossing`; ``auto`` is
  resolved on the whole sweep's alpha grid, exactly as there).
* ``logistic (common slope)`` — a dose-response search (interpolation ``logistic``: a few trials per seed, no curve
  per seed): one logistic fit in log alpha per (setting, arm, metric) with a slope common to all seeds and one
  intercept per seed, S = sigmoid(slope · log alpha + b_seed), fitted by scikit-learn to every completed trial at
  alpha > 0 in the binomial quasi-likelihood form of :mod:`acadp.reduce.dose_response` (a row labelled 1 with weight
  S, one labelled 0 with weight 1 − S; log alpha centred on the arm's mean so that the light ridge penalty barely
  touches the intercepts). Seed s's alpha* is read off its own curve by :meth:`LogisticFit.alpha_star`, within the
  alphas the arm ran: above the largest → not reached (``inf``), below the smallest → that alpha. The common slope
  lets a seed that ran only a few alphas be read anywhere in the arm's range.
* ``logistic: no increasing fit`` — the common fit has no positive slope (fewer than two distinct alphas, S at one
  extreme everywhere, or S flat or falling): as :mod:`acadp.reduce.dose_response` reads that case, a seed's alpha*
  is its smallest alpha when its mean S there reaches S*, else not reached.

Nothing is dropped silently: a seed without a usable trial (none completed; for the logistic fit, none at
alpha > 0) has alpha* NaN and a ``note`` saying so, and a seed that misses some of the arm's alphas says how many.

Collapse: ``crossing_alpha`` is the first alpha at or above the seed's alpha* that the seed ran — the trial whose
success reached S*. ``collapsed`` is true when that trial's model collapsed: the grid point (arm, alpha) is flagged by
:func:`acadp.reduce.curves.collapse_flags` (seed means), or the trial itself meets the same rule (its clean accuracy
more than :data:`acadp.reduce.curves.COLLAPSE_MARGIN` below the arm's seed-mean accuracy at alpha = 0, or its base
rate at least the smallest S*). Its "success" is then the model's failure, not the collective's doing.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from acadp.reduce.collect import with_arm_columns
from acadp.reduce.critical_mass import Interpolation, first_crossing, metrics_present, resolve_interpolation
from acadp.reduce.curves import COLLAPSE_MARGIN, collapse_flags, group_keys
from acadp.reduce.dose_response import INVERSE_PENALTY, REACH_TOLERANCE, LogisticFit

SEED_ALPHA_COLUMNS: tuple[str, ...] = (
    "arm_kind", "metric", "threshold", "seed", "alpha_star", "reached", "method", "crossing_alpha", "collapsed", "note",
)  # fmt: skip
METHODS: dict[str, str] = {
    "log": "first crossing (log)",
    "linear": "first crossing (linear)",
    "logistic": "logistic (common slope)",
    "flat": "logistic: no increasing fit",
}


@dataclass(frozen=True)
class CommonSlopeFit:
    """S = sigmoid(slope · log alpha + intercepts[seed]) for every seed of one arm, fitted on [alpha_min, alpha_max]."""

    slope: float
    intercepts: dict[Hashable, float]
    alpha_min: float
    alpha_max: float

    def curve(self, seed: Hashable) -> LogisticFit:
        """Seed ``seed``'s own logistic curve, read within the arm's alphas (:meth:`LogisticFit.alpha_star`)."""
        return LogisticFit(
            slope=self.slope, intercept=self.intercepts[seed], alpha_min=self.alpha_min, alpha_max=self.alpha_max
        )


def fit_common_slope(alphas: np.ndarray, success: np.ndarray, seeds: np.ndarray) -> CommonSlopeFit | None:
    """The common-slope logistic fit of ``success`` on log ``alphas`` with one intercept per seed (module docstring).

    Args:
        alphas, success, seeds: (n_trials,) each; trials at alpha <= 0 or with a non-finite S are left out, S is
            clipped to [0, 1].

    Returns:
        The fit, or None when there is nothing to fit a slope to: fewer than two distinct alphas, or S at one
        extreme (all 0 or all 1) in every trial.
    """
    x, s, by = np.asarray(alphas, float), np.asarray(success, float), np.asarray(seeds)
    keep = (x > 0) & np.isfinite(s)
    x, s, by = x[keep], np.clip(s[keep], 0.0, 1.0), by[keep]
    if np.unique(x).size < 2 or s.sum() <= 0 or (1.0 - s).sum() <= 0:
        return None
    unique, index = np.unique(by, return_inverse=True)
    log_alpha = np.log(x)
    centre = float(log_alpha.mean())
    design = np.zeros((x.size, 1 + unique.size))  # (n_trials, slope + one intercept column per seed)
    design[:, 0] = log_alpha - centre
    design[np.arange(x.size), 1 + index] = 1.0
    from sklearn.exceptions import ConvergenceWarning  # deferred: most reductions never fit a curve
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(C=INVERSE_PENALTY, fit_intercept=False, max_iter=5000).fit(
            np.concatenate([design, design]),
            np.concatenate([np.ones_like(s), np.zeros_like(s)]),
            sample_weight=np.concatenate([s, 1.0 - s]),
        )
    coefficients = model.coef_[0]
    slope = float(coefficients[0])
    intercepts = {_plain(seed): float(b - slope * centre) for seed, b in zip(unique, coefficients[1:], strict=True)}
    return CommonSlopeFit(slope=slope, intercepts=intercepts, alpha_min=float(x.min()), alpha_max=float(x.max()))


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python scalar it holds (dict keys of seeds, table cells)."""
    return value.item() if isinstance(value, np.generic) else value


@dataclass(frozen=True)
class _SeedPoints:
    """One seed's completed trials of one arm and metric, sorted by alpha (one mean value per alpha)."""

    alphas: np.ndarray
    values: np.ndarray
    n_missing: int  # alphas the arm ran that this seed has no completed trial at


def _crossing(points: _SeedPoints, star: float) -> float:
    """The first alpha of the seed at or above ``star`` (NaN when ``star`` is not a reached value)."""
    if not math.isfinite(star):
        return math.nan
    above = points.alphas[points.alphas >= star * (1 - 1e-9)]
    return float(above[0]) if above.size else math.nan


def _grid_stars(points: _SeedPoints, thresholds: Sequence[float], *, log: bool) -> list[tuple[float, str]]:
    return [
        (
            float(first_crossing(points.alphas, points.values[None, :], t, log=log)[0]),
            METHODS["log" if log else "linear"],
        )
        for t in thresholds
    ]


def _logistic_stars(
    fit: CommonSlopeFit | None, seed: Hashable, points: _SeedPoints, thresholds: Sequence[float]
) -> list[tuple[float, str]]:
    if fit is not None and fit.slope > 0:
        curve = fit.curve(seed)
        return [(curve.alpha_star(t), METHODS["logistic"]) for t in thresholds]
    at_low = float(points.values[0])  # mean S at the seed's smallest alpha
    low = float(points.alphas[0])
    return [(low if at_low >= t - REACH_TOLERANCE else math.inf, METHODS["flat"]) for t in thresholds]


def _seed_points(done: pd.DataFrame, metric: str, n_alphas: int, *, positive: bool) -> dict[Hashable, _SeedPoints]:
    """Seed → its completed points of ``metric`` (alpha > 0 only when ``positive``)."""
    usable = done[done["alpha"] > 0] if positive else done
    out = {}
    for seed, rows in usable.groupby("seed", sort=True):
        per_alpha = rows.groupby("alpha", sort=True)[metric].mean()
        out[_plain(seed)] = _SeedPoints(
            alphas=per_alpha.index.to_numpy(float),
            values=per_alpha.to_numpy(float),
            n_missing=n_alphas - len(per_alpha),
        )
    return out


def _seed_rows(
    block: pd.DataFrame,
    metric: str,
    thresholds: Sequence[float],
    *,
    method: str,
    collapsed: dict[tuple[Hashable, float], bool],
) -> list[dict]:
    """One group's rows for ``metric``: every planned seed × every threshold."""
    done = block[(block["status"] == "completed") & block[metric].notna()]
    logistic = method == "logistic"
    arm_alphas = block["alpha"][block["alpha"] > 0] if logistic else block["alpha"]
    points = _seed_points(done, metric, int(arm_alphas.nunique()), positive=logistic)
    fit = None
    if logistic and points:
        fitted = done[done["alpha"] > 0]
        fit = fit_common_slope(*(fitted[c].to_numpy() for c in ("alpha", metric, "seed")))
    rows = []
    for seed in sorted(_plain(s) for s in block["seed"].unique()):
        seed_points = points.get(seed)
        if seed_points is None:
            why = "no completed trial at α > 0" if logistic else "no completed trial"
            for threshold in thresholds:
                rows.append(_row(metric, threshold, seed=seed, star=math.nan, method="", crossing=math.nan, note=why))
            continue
        if logistic:
            stars = _logistic_stars(fit, seed, seed_points, thresholds)
        else:
            stars = _grid_stars(seed_points, thresholds, log=method == "log")
        missing = seed_points.n_missing
        note = f"{missing} of {missing + seed_points.alphas.size} alphas missing" if missing else ""
        for threshold, (star, how) in zip(thresholds, stars, strict=True):
            crossing = _crossing(seed_points, star)
            flag = bool(collapsed.get((seed, crossing), False))
            rows.append(
                _row(metric, threshold, seed=seed, star=star, method=how, crossing=crossing, collapsed=flag, note=note)
            )
    return rows


def _row(
    metric: str,
    threshold: float,
    *,
    seed: Hashable,
    star: float,
    method: str,
    crossing: float,
    note: str,
    collapsed: bool = False,
) -> dict:
    return {
        "metric": metric, "threshold": float(threshold), "seed": seed, "alpha_star": float(star),
        "reached": bool(np.isfinite(star)), "method": method, "crossing_alpha": crossing, "collapsed": collapsed,
        "note": note,
    }  # fmt: skip


def trial_collapse(frame: pd.DataFrame, *, thresholds: Sequence[float]) -> pd.Series:
    """Per trial (aligned with ``frame``'s rows): whether its model collapsed (module docstring; False for trials
    that are not completed)."""
    frame = with_arm_columns(frame)
    keys = group_keys(frame)
    completed = frame["status"] == "completed"
    accuracy = frame.get("test_accuracy", pd.Series(np.nan, index=frame.index)).where(completed).astype(float)
    base_rate = frame.get("base_rate", pd.Series(np.nan, index=frame.index)).where(completed).astype(float)
    at_zero = frame[completed & (frame["alpha"] == 0.0)].assign(reference=accuracy)
    reference = at_zero.groupby(keys, dropna=False)["reference"].mean().rename("reference").reset_index()
    work = frame[keys].assign(alpha=frame["alpha"], row=np.arange(len(frame)))
    work = work.merge(reference, on=keys, how="left")
    work = work.merge(collapse_flags(frame, thresholds=thresholds), on=[*keys, "alpha"], how="left")
    work = work.sort_values("row")
    drop = work["reference"].to_numpy(float) - accuracy.to_numpy(float)
    with np.errstate(invalid="ignore"):
        own = (drop > COLLAPSE_MARGIN) | (base_rate.to_numpy(float) >= min(thresholds))
    arm_level = work["collapsed"].fillna(False).to_numpy(bool)
    return pd.Series((own | arm_level) & completed.to_numpy(bool), index=frame.index, name="collapsed")


def seed_alpha_table(
    frame: pd.DataFrame,
    *,
    thresholds: Sequence[float] = (0.5, 0.9),
    interpolation: Interpolation = "auto",
    lift: bool = False,
) -> pd.DataFrame:
    """alpha*(S*) per (setting, arm, metric, S*, seed) (module docstring).

    Args:
        frame: the trials table (:func:`acadp.reduce.collect.trials_frame`), all statuses.
        thresholds: the S* values.
        interpolation: as :func:`acadp.reduce.critical_mass.critical_mass_table` (``logistic``: the common-slope fit).
        lift: also alpha* on lift.

    Returns:
        The curve keys (:func:`acadp.reduce.curves.group_keys`) followed by :data:`SEED_ALPHA_COLUMNS`; ``alpha_star``
        is ``inf`` when the seed does not reach S*, NaN (with a note) when it has no usable trial.
    """
    frame = with_arm_columns(frame)
    keys = group_keys(frame)
    method = resolve_interpolation(interpolation, frame["alpha"].to_numpy(dtype=float))
    flags = trial_collapse(frame, thresholds=thresholds) if len(frame) else pd.Series(dtype=bool)
    rows: list[dict] = []
    for metric in metrics_present(frame, lift=lift):
        for key, block in frame.groupby(keys, dropna=False, sort=True):
            values = key if isinstance(key, tuple) else (key,)
            setting = dict(zip(keys, (None if _is_nan(v) else _plain(v) for v in values), strict=True))
            setting["arm_kind"] = str(block["arm_kind"].iloc[0])
            collapsed = {
                (_plain(s), float(a)): bool(c)
                for s, a, c in zip(block["seed"], block["alpha"], flags.loc[block.index], strict=True)
            }
            for row in _seed_rows(block, metric, thresholds, method=method, collapsed=collapsed):
                rows.append(setting | row)
    table = pd.DataFrame(rows, columns=[*keys, *SEED_ALPHA_COLUMNS])
    for name in keys:
        table[name] = table[name].astype(frame.dtypes[name])
    return table.astype({"threshold": "float64", "alpha_star": "float64", "crossing_alpha": "float64"})


def _is_nan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)
