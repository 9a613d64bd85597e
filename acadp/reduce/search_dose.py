"""Dose-response critical-mass search for one arm: which (alpha, seed) to run next (pure; no Ray, no store).

The bisection search of :mod:`acadp.reduce.search_core` runs every seed at each alpha it chooses, so even one crossing
costs three alphas × all seeds. This design spends one trial per probe instead, as dose-finding designs do: it runs
the bracket's ends (one seed each), then probes, one seed at a time and with the seeds in turn (the seed used least so
far), at the alpha*(S*) of a logistic fit in log alpha over every completed trial (:mod:`acadp.reduce.dose_response`).
Probes go to the threshold whose alpha* is least certain (widest bootstrap CI over seeds); with several free slots
the thresholds take turns and a repeated alpha gets another seed. Before a fit can place a threshold (no increasing
trend yet, or its alpha* beyond the alphas run), the probe bisects, in log alpha, the empirical bracket: the largest
alpha whose mean is below S* under the first alpha whose mean reaches it.

A threshold's search ends when its alpha* CI (percentile bootstrap over seeds, :data:`SEARCH_BOOT` resamples) is at
most ``tolerance`` wide in log alpha ("found"), when the budget (trials of the arm) cannot pay for another trial and
nothing runs ("budget spent"), when the mean at ``low`` already reaches S* or the mean at ``high`` does not and no
alpha did. A mean at ``high`` below S* after an alpha that reached it is reported as non-monotone.

Everything is a function of the completed trials (and the points started but not complete), so a resumed search
derives its state from the results store and proposes what an uninterrupted one would.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Collection, Mapping

import numpy as np

from acadp.reduce.critical_mass import CONFIDENCE, REACH_TOLERANCE, percentile_interval
from acadp.reduce.dose_response import bootstrap_dose_response, fit_logistic
from acadp.reduce.search_core import (
    SIGNIFICANT_DIGITS,
    BracketState,
    SearchReport,
    SearchSettings,
    ThresholdBracket,
)

Point = tuple[float, int]  # (alpha, seed)
SEARCH_BOOT = 200  # seed resamples behind a searching threshold's CI (the reducer's table uses reduce.n_boot)
BOOT_SEED = 0  # fixed, so that the same completed trials always give the same CI (and the same next probe)


def _in_range(settings: SearchSettings, points: Collection[Point]) -> set[Point]:
    return {p for p in points if settings.low <= p[0] <= settings.high}


def _means(completed: Mapping[Point, float]) -> dict[float, float]:
    by_alpha: dict[float, list[float]] = {}
    for (alpha, _), value in completed.items():
        by_alpha.setdefault(alpha, []).append(value)
    return {alpha: sum(values) / len(values) for alpha, values in sorted(by_alpha.items())}


@functools.lru_cache(maxsize=512)
def _fit_state(
    thresholds: tuple[float, ...], trials: tuple[tuple[float, int, float], ...]
) -> tuple[tuple[float, ...], tuple[tuple[float, float], ...]]:
    """(alpha* per threshold, (CI low, CI high) per threshold) of the completed ``trials``: (alpha, seed, S)."""
    alphas, seeds, values = (np.array([t[i] for t in trials]) for i in (0, 1, 2))
    fit = fit_logistic(alphas, values)
    stars = tuple(math.inf if fit is None else fit.alpha_star(t) for t in thresholds)
    boot = bootstrap_dose_response(
        alphas, values, seeds, thresholds, n_boot=SEARCH_BOOT, rng=np.random.default_rng(BOOT_SEED)
    )
    intervals = tuple(percentile_interval(boot[:, i], CONFIDENCE) for i in range(len(thresholds)))
    return stars, intervals


def _empirical(means: Mapping[float, float], threshold: float) -> tuple[float, float] | None:
    """(largest alpha with mean < S* below the first alpha reaching S*, that alpha); None when no alpha reaches."""
    reached = [a for a, m in means.items() if m >= threshold - REACH_TOLERANCE]
    if not reached:
        return None
    below = [a for a in means if a < reached[0]]
    return (max(below), reached[0]) if below else None


def _bracket(
    settings: SearchSettings,
    means: Mapping[float, float],
    threshold: float,
    star: float,
    interval: tuple[float, float],
    *,
    can_pay: bool,
    running: bool,
) -> ThresholdBracket:
    low, high = settings.low, settings.high
    if means[low] >= threshold - REACH_TOLERANCE:
        return ThresholdBracket(threshold, low, low, "reached already at low")
    reached = any(m >= threshold - REACH_TOLERANCE for m in means.values())
    if not reached:
        return ThresholdBracket(threshold, high, high, "not reached by high")
    non_monotone = means[high] < threshold - REACH_TOLERANCE
    spent = not can_pay and not running
    if not math.isfinite(star):  # no fit places it yet: the empirical bracket
        a, b = _empirical(means, threshold) or (low, high)
        return ThresholdBracket(threshold, a, b, "budget spent" if spent else "searching", non_monotone)
    ci_low, ci_high = interval
    width = math.log(ci_high / ci_low) if math.isfinite(ci_high) and ci_low > 0 else math.inf
    state: BracketState = "found" if width <= settings.tolerance else ("budget spent" if spent else "searching")
    return ThresholdBracket(threshold, ci_low, ci_high, state, non_monotone, estimate=star)


def assess_points(
    settings: SearchSettings, completed: Mapping[Point, float], *, pending: Collection[Point] = ()
) -> SearchReport:
    """Where a dose-response search stands. ``completed``: (alpha, seed) → success; ``pending``: points started
    and not complete. Trials used = every point started in [low, high]."""
    done = {p: v for p, v in completed.items() if settings.low <= p[0] <= settings.high}
    running = _in_range(settings, pending) - set(done)
    used = len(set(done) | running)
    means = _means(done)
    if settings.low not in means or settings.high not in means:
        brackets = tuple(ThresholdBracket(t, settings.low, settings.high, "searching") for t in settings.thresholds)
        return SearchReport(brackets=brackets, trials_used=used, done=False)
    trials = tuple(sorted((a, s, v) for (a, s), v in done.items()))
    stars, intervals = _fit_state(tuple(settings.thresholds), trials)
    can_pay = used + 1 <= settings.budget
    brackets = tuple(
        _bracket(settings, means, t, star, interval, can_pay=can_pay, running=bool(running))
        for t, star, interval in zip(settings.thresholds, stars, intervals, strict=True)
    )
    over = not running and all(b.state != "searching" for b in brackets)
    return SearchReport(brackets=brackets, trials_used=used, done=over)


def _round(alpha: float) -> float:
    return float(f"{alpha:.{SIGNIFICANT_DIGITS}g}")


def _probe_alpha(settings: SearchSettings, bracket: ThresholdBracket, means: Mapping[float, float]) -> float:
    if bracket.estimate is not None:
        alpha = bracket.estimate
    else:
        a, b = _empirical(means, bracket.threshold) or (settings.low, settings.high)
        alpha = math.sqrt(a * b)
    return _round(min(max(alpha, settings.low), settings.high))


def _free_seed(alpha: float, seeds: Collection[int], taken: set[Point]) -> int | None:
    """The seed used least so far (ties: the smallest) that has not run ``alpha``."""
    counts = Counter(seed for _, seed in taken)
    free = [s for s in sorted(seeds) if (alpha, s) not in taken]
    return min(free, key=lambda s: counts[s]) if free else None


def propose_points(
    settings: SearchSettings,
    completed: Mapping[Point, float],
    seeds: Collection[int],
    *,
    pending: Collection[Point] = (),
    slots: int = 1,
) -> list[Point]:
    """Up to ``slots`` new (alpha, seed) points to run, in order; [] when nothing is worth running now (the ends
    are still running, or no threshold is searching). Never exceeds the budget; never repeats a point."""
    taken = _in_range(settings, {*completed, *pending})
    proposals: list[Point] = []

    def add(alpha: float) -> bool:
        seed = _free_seed(alpha, seeds, taken)
        if seed is None or len(taken) + 1 > settings.budget:
            return False
        proposals.append((alpha, seed))
        taken.add((alpha, seed))
        return True

    for end in (settings.low, settings.high):
        if len(proposals) < slots and not any(a == end for a, _ in taken):
            add(end)
    means = _means({p: v for p, v in completed.items() if p in taken})
    if settings.low not in means or settings.high not in means:
        return proposals  # the fit needs both ends
    report = assess_points(settings, completed)
    searching = sorted((b for b in report.brackets if b.state == "searching"), key=lambda b: -b.width)
    turn = 0
    while searching and len(proposals) < slots and len(taken) < settings.budget:
        bracket = searching[turn % len(searching)]
        alpha = _probe_alpha(settings, bracket, means)
        step = math.exp(settings.tolerance / 2)  # a probe every seed has run moves by half the tolerance
        nudges = (alpha, _round(min(alpha * step, settings.high)), _round(max(alpha / step, settings.low)))
        if not any(add(a) for a in nudges):
            searching.remove(bracket)  # every seed has run there: nothing new to learn for this threshold now
            continue
        turn += 1
    return proposals
