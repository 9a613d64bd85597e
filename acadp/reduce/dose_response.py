"""alpha*(S*) read off a dose-response fit: a logistic curve in log alpha fitted to every (alpha, seed) trial.

A dose-response search (``alpha: {search: {design: dose_response}}``) runs one seed per probed alpha, so there is no
seed-mean curve to interpolate. Its alpha* comes instead from the classic dose-response model of bioassay (the ED50 of
a logistic regression on log dose, as in the up-and-down and Robbins-Monro designs): S(alpha) = sigmoid(slope ·
(log alpha) + intercept), fitted by scikit-learn's logistic regression to each trial's success S in [0, 1] as a
fractional label (each trial is one observation: a row labelled 1 with weight S and a row labelled 0 with weight
1 − S, the binomial quasi-likelihood), and alpha*(S*) = exp((logit S* − intercept) / slope).

No extrapolation: an alpha* above the largest alpha run is "not reached" (``inf``), one below the smallest alpha run
is that alpha (reached already there), as the first-crossing rule of :mod:`acadp.reduce.critical_mass` reads a grid.
Without an increasing fit (too few alphas, S at one extreme everywhere, or a slope <= 0: S flat or falling), alpha*
is the smallest alpha run when the mean S there already reaches S*, and ``inf`` otherwise. alpha = 0 never enters
the fit (log 0); S is clipped to [0, 1] (a negative lift reads as 0).

The CI is the percentile bootstrap over seeds: resample the seeds with replacement and refit on all trials of the
drawn seeds (a seed drawn twice counts twice). Each resample's alpha* is read within the range of alphas the whole
design ran: a search runs each end with one seed, so a resample that misses that seed would otherwise call every
alpha* beyond its own largest alpha "not reached". With one seed every resample is the data itself: the CI has zero
width.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from threadpoolctl import threadpool_limits

# inverse ridge strength: large enough to leave the fit unpenalised in practice, finite so that data separated at
# S in {0, 1} still gives a (steep) finite slope instead of a solver that does not converge
INVERSE_PENALTY = 1e4
LOGIT_CLIP = 1e-6  # S* = 1 is read at 1 − 1e-6 (logit 1 is infinite)
REACH_TOLERANCE = 1e-12  # as acadp.reduce.critical_mass: a mean equal to S* up to rounding reaches it
CONFIDENCE = 0.95  # of every bootstrap interval of alpha* (critical_mass's tables and the search's stopping rule)


@dataclass(frozen=True)
class LogisticFit:
    """S(alpha) = sigmoid(slope · log alpha + intercept), fitted on alphas in [alpha_min, alpha_max]."""

    slope: float
    intercept: float
    alpha_min: float
    alpha_max: float

    def alpha_star(self, threshold: float) -> float:
        """alpha*(S*) without extrapolation (module docstring); ``inf`` when not reached or no increasing trend."""
        if not self.slope > 0:
            return math.inf
        level = min(max(threshold, LOGIT_CLIP), 1 - LOGIT_CLIP)
        log_star = (math.log(level / (1 - level)) - self.intercept) / self.slope
        if log_star > math.log(self.alpha_max) + 1e-9:
            return math.inf
        return self.alpha_min if log_star <= math.log(self.alpha_min) else math.exp(log_star)


def fit_logistic(alphas: ArrayLike, success: ArrayLike) -> LogisticFit | None:
    """The logistic fit of ``success`` on log ``alphas`` (alpha > 0 only); None with fewer than two distinct
    positive alphas (nothing to fit a slope to)."""
    x = np.asarray(alphas, dtype=float)
    s = np.clip(np.asarray(success, dtype=float), 0.0, 1.0)
    keep = (x > 0) & np.isfinite(s)
    x, s = x[keep], s[keep]
    if np.unique(x).size < 2:
        return None
    log_alpha = np.log(x)
    features = np.concatenate([log_alpha, log_alpha])[:, None]
    labels = np.concatenate([np.ones_like(s), np.zeros_like(s)])
    weights = np.concatenate([s, 1.0 - s])
    if weights[labels == 1].sum() <= 0 or weights[labels == 0].sum() <= 0:
        return None  # every trial at S = 0 (or every one at 1): no crossing to place
    from sklearn.exceptions import ConvergenceWarning  # deferred: most reductions never fit a curve
    from sklearn.linear_model import LogisticRegression

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = LogisticRegression(C=INVERSE_PENALTY, max_iter=1000).fit(features, labels, sample_weight=weights)
    return LogisticFit(
        slope=float(model.coef_[0, 0]), intercept=float(model.intercept_[0]),
        alpha_min=float(x.min()), alpha_max=float(x.max()),
    )  # fmt: skip


def _positive(alphas: ArrayLike, success: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The trials the fit uses: alpha > 0, finite S, S clipped to [0, 1]."""
    x, s = np.asarray(alphas, dtype=float), np.asarray(success, dtype=float)
    keep = (x > 0) & np.isfinite(s)
    return x[keep], np.clip(s[keep], 0.0, 1.0)


def _read(
    fit: LogisticFit | None, x: np.ndarray, s: np.ndarray, thresholds: Sequence[float], *, low: float, high: float
) -> list[float]:
    """alpha* per threshold within [low, high]: off an increasing fit; without one (nothing to fit, or S flat or
    falling), ``low`` where the mean S at the smallest alpha of ``x`` already reaches S*, ``inf`` elsewhere."""
    if fit is not None and fit.slope > 0:
        within = dataclasses.replace(fit, alpha_min=low, alpha_max=high)
        return [within.alpha_star(t) for t in thresholds]
    at_low = float(np.mean(s[x == x.min()]))
    return [low if at_low >= t - REACH_TOLERANCE else math.inf for t in thresholds]


def dose_response_stars(alphas: ArrayLike, success: ArrayLike, thresholds: Sequence[float]) -> list[float]:
    """alpha*(S*) of the fit for every threshold (module docstring); ``inf`` for each without a trial at alpha > 0."""
    x, s = _positive(alphas, success)
    if x.size == 0:
        return [math.inf] * len(thresholds)
    return _read(fit_logistic(x, s), x, s, thresholds, low=float(x.min()), high=float(x.max()))


def bootstrap_dose_response(
    alphas: ArrayLike,
    success: ArrayLike,
    seeds: ArrayLike,
    thresholds: Sequence[float],
    *,
    n_boot: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """(n_boot, n_thresholds) alpha* of ``n_boot`` seed resamples (module docstring); ``inf`` = not reached."""
    x, s, by = np.asarray(alphas, float), np.asarray(success, float), np.asarray(seeds)
    keep = (x > 0) & np.isfinite(s)
    x, s, by = x[keep], np.clip(s[keep], 0.0, 1.0), by[keep]
    stars = np.full((n_boot, len(thresholds)), math.inf)
    if x.size == 0:
        return stars
    unique = np.unique(by)
    rows = {seed: np.flatnonzero(by == seed) for seed in unique}
    low, high = float(x.min()), float(x.max())  # each resample is read within the alphas the design ran
    with threadpool_limits(1):  # a fit of a few dozen rows only loses to BLAS threads (4× slower on a busy machine)
        for b in range(n_boot):
            drawn = rng.choice(unique, size=unique.size, replace=True)
            index = np.concatenate([rows[seed] for seed in drawn])
            stars[b] = _read(fit_logistic(x[index], s[index]), x[index], s[index], thresholds, low=low, high=high)
    return stars


def percentile_interval(values: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The central ``confidence`` percentile interval of ``values`` (which may hold ``inf``), numpy-linear style.

    A bound is ``inf`` when one of the two order statistics it interpolates between is ``inf``.
    """
    ordered = np.sort(np.asarray(values, dtype=float))
    bounds = []
    for quantile in ((1 - confidence) / 2, (1 + confidence) / 2):
        position = (ordered.shape[0] - 1) * quantile
        below, above = ordered[math.floor(position)], ordered[math.ceil(position)]
        if math.isinf(above):
            bounds.append(math.inf)
        else:
            bounds.append(float(below + (position - math.floor(position)) * (above - below)))
    return bounds[0], bounds[1]
