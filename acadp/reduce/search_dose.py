"""Dose-response critical-mass search for one arm: which (alpha, seed) to run next (pure; no Ray, no store).

The bisection search of :mod:`acadp.reduce.search_core` runs every seed at each alpha it chooses, so even one crossing
costs three alphas × all seeds. This design spends one trial per probe instead, as dose-finding designs do. It runs in
rounds: first the bracket's ends (one seed each), then, per round, one probe for every threshold still searching (the
least certain first), each at the alpha*(S*) of a logistic fit in log alpha over every trial of the earlier rounds
(:mod:`acadp.reduce.dose_response`), with the seeds in turn (the seed used least so far). Before a fit can place a
threshold (no increasing trend yet, or its alpha* beyond the alphas run), the probe bisects, in log alpha, the
empirical bracket: the largest alpha whose mean is below S* under the first alpha whose mean reaches it.

A threshold's search ends when its alpha* CI (percentile bootstrap over seeds, :data:`SEARCH_BOOT` resamples) is at
most ``tolerance`` wide in log alpha ("found"), when the budget (trials of the arm) cannot pay for another trial and
nothing runs ("budget spent"), when the mean at ``low`` already reaches S* or the mean at ``high`` does not and no
alpha did. A mean at ``high`` below S* after an alpha that reached it is reported as non-monotone.

A round depends only on the rounds before it, never on which trial finished first: :func:`replay` rebuilds the
search from the results store, so a search resumed after a crash, or run with any number of free slots, runs the
same points and ends with the same alpha* as an uninterrupted one. A round's probes run concurrently (with several
arms, their rounds fill the other slots). Replaying refits every round; a ``fits`` cache
(:mod:`acadp.reduce.search_fits`) hands back the states already fitted, bit for bit.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from acadp.reduce.dose_response import (
    CONFIDENCE,
    REACH_TOLERANCE,
    bootstrap_dose_response,
    dose_response_stars,
    percentile_interval,
)
from acadp.reduce.search_core import (
    SIGNIFICANT_DIGITS,
    BracketState,
    SearchReport,
    SearchSettings,
    ThresholdBracket,
)
from acadp.reduce.search_fits import FitCache, FitState, fit_code

Point = tuple[float, int]  # (alpha, seed)
SEARCH_BOOT = 100  # seed resamples behind a searching threshold's CI (the reducer's table uses reduce.n_boot)
BOOT_SEED = 0  # fixed, so that the same completed trials always give the same CI (and the same next probe)


def _in_range(settings: SearchSettings, points: Collection[Point]) -> set[Point]:
    return {p for p in points if settings.low <= p[0] <= settings.high}


def _means(completed: Mapping[Point, float]) -> dict[float, float]:
    by_alpha: dict[float, list[float]] = {}
    for (alpha, _), value in completed.items():
        by_alpha.setdefault(alpha, []).append(value)
    return {alpha: sum(values) / len(values) for alpha, values in sorted(by_alpha.items())}


Trials = tuple[tuple[float, int, float], ...]  # (alpha, seed, S) of completed trials, sorted


@functools.lru_cache(maxsize=512)
def _fit_state(thresholds: tuple[float, ...], trials: Trials) -> FitState:
    """(alpha* per threshold, (CI low, CI high) per threshold) of the completed ``trials``: (alpha, seed, S)."""
    alphas, seeds, values = (np.array([t[i] for t in trials]) for i in (0, 1, 2))
    stars = tuple(dose_response_stars(alphas, values, thresholds))
    boot = bootstrap_dose_response(
        alphas, values, seeds, thresholds, n_boot=SEARCH_BOOT, rng=np.random.default_rng(BOOT_SEED)
    )
    intervals = tuple(percentile_interval(boot[:, i], CONFIDENCE) for i in range(len(thresholds)))
    return stars, intervals


def fit_inputs(thresholds: tuple[float, ...], trials: Trials) -> dict[str, Any]:
    """Everything a fit state depends on, as JSON data (floats as ``float.hex``: exact): the cache's key
    (:mod:`acadp.reduce.search_fits`)."""
    return {
        "thresholds": [float(t).hex() for t in thresholds],
        "trials": [[float(alpha).hex(), int(seed), float(value).hex()] for alpha, seed, value in trials],
        "n_boot": SEARCH_BOOT,
        "boot_seed": BOOT_SEED,
        "confidence": float(CONFIDENCE).hex(),
        "code": fit_code(),
    }


def fit_state(thresholds: tuple[float, ...], trials: Trials, *, fits: FitCache | None = None) -> FitState:
    """:func:`_fit_state`, read from ``fits`` when it holds the state of exactly these inputs, else fitted (and
    saved there). Without a way to tell which code fitted a state (:func:`fit_code` None), nothing is cached."""
    if fits is None or fit_code() is None:
        return _fit_state(thresholds, trials)
    inputs = fit_inputs(thresholds, trials)
    cached = fits.load(inputs)
    if cached is not None:
        return cached
    state = _fit_state(thresholds, trials)
    fits.save(inputs, state)
    return state


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
    probed = any(low < alpha < high for alpha in means)  # two ends alone fix no crossing, however narrow the CI
    found = probed and width <= settings.tolerance
    state: BracketState = "found" if found else ("budget spent" if spent else "searching")
    return ThresholdBracket(threshold, ci_low, ci_high, state, non_monotone, estimate=star)


def assess_points(
    settings: SearchSettings,
    completed: Mapping[Point, float],
    *,
    pending: Collection[Point] = (),
    fits: FitCache | None = None,
) -> SearchReport:
    """Where a dose-response search stands. ``completed``: (alpha, seed) → success; ``pending``: points started
    and not complete; ``fits``: where fit states are kept (:func:`fit_state`). Trials used = every point started in
    [low, high]."""
    done = {p: v for p, v in completed.items() if settings.low <= p[0] <= settings.high}
    running = _in_range(settings, pending) - set(done)
    used = len(set(done) | running)
    means = _means(done)
    if settings.low not in means or settings.high not in means:
        brackets = tuple(ThresholdBracket(t, settings.low, settings.high, "searching") for t in settings.thresholds)
        return SearchReport(brackets=brackets, trials_used=used, done=False)
    trials = tuple(sorted((a, s, v) for (a, s), v in done.items()))
    stars, intervals = fit_state(tuple(settings.thresholds), trials, fits=fits)
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
    return _inside(settings, alpha)


def _inside(settings: SearchSettings, alpha: float) -> float:
    """``alpha`` rounded (readable trial keys), then clipped to [low, high]."""
    return min(max(_round(alpha), settings.low), settings.high)


def _free_seed(alpha: float, seeds: Collection[int], taken: set[Point]) -> int | None:
    """The seed used least so far (ties: the smallest) that has not run ``alpha``."""
    counts = Counter(seed for _, seed in taken)
    free = [s for s in sorted(seeds) if (alpha, s) not in taken]
    return min(free, key=lambda s: counts[s]) if free else None


def next_round(
    settings: SearchSettings,
    completed: Mapping[Point, float],
    seeds: Collection[int],
    *,
    fits: FitCache | None = None,
) -> list[Point]:
    """The points of the round that follows ``completed`` (the search's own trials so far); [] when the search is
    over (no threshold searching, the budget spent, or no seed left to run where a threshold would probe).

    The first round is the two ends (the first two seeds); every later round holds one probe per searching threshold,
    the widest CI first, each with the seed used least so far (counting the round's own probes) among those that
    have not run its alpha. Never exceeds the budget."""
    taken = set(completed)
    chosen: list[Point] = []

    def add(alpha: float) -> bool:
        seed = _free_seed(alpha, seeds, taken)
        if seed is None or len(taken) + 1 > settings.budget:
            return False
        chosen.append((alpha, seed))
        taken.add((alpha, seed))
        return True

    if not completed:
        for end in (settings.low, settings.high):
            add(end)
        return chosen
    means = _means(completed)
    report = assess_points(settings, completed, fits=fits)
    for bracket in sorted((b for b in report.brackets if b.state == "searching"), key=lambda b: -b.width):
        alpha = _probe_alpha(settings, bracket, means)
        step = math.exp(settings.tolerance / 2)  # where every seed has run the probe, move it by half the tolerance
        any(add(a) for a in (alpha, _inside(settings, alpha * step), _inside(settings, alpha / step)))
    return chosen


@dataclass(frozen=True)
class Replay:
    """A dose-response search replayed over the trials a store holds: the search's own completed points, in the
    order its rounds ran them, and the current round's points that have no result yet (``waiting``; empty once the
    search is over)."""

    completed: dict[Point, float]
    waiting: tuple[Point, ...]

    @property
    def trials_used(self) -> int:
        return len(self.completed) + len(self.waiting)

    def report(self, settings: SearchSettings, *, fits: FitCache | None = None) -> SearchReport:
        """Where the replayed search stands (:func:`assess_points` on its own points). Once no round follows, a
        threshold still "searching" (every seed has run where it would probe next) is reported as "no probe left"."""
        report = assess_points(settings, self.completed, pending=self.waiting, fits=fits)
        if self.waiting:
            return report
        brackets = tuple(
            dataclasses.replace(b, state="no probe left") if b.state == "searching" else b for b in report.brackets
        )
        return dataclasses.replace(report, brackets=brackets, done=True)


def replay(
    settings: SearchSettings,
    seeds: Collection[int],
    results: Mapping[Point, float],
    *,
    fits: FitCache | None = None,
) -> Replay:
    """Walk the search's rounds from the start, taking each point's result from ``results`` ((alpha, seed) →
    success of every completed trial of the arm), until a round holds a point without one.

    Each round is a function of the rounds before it only, so the search is the same however its trials were
    scheduled, interrupted or resumed: a resumed search finishes the round it stood in, then goes on exactly as an
    uninterrupted one. A point the store already holds (run by a grid or an earlier search) is reused, not re-run;
    results off the search's path do not steer it (the reducer's tables still use every trial)."""
    completed: dict[Point, float] = {}
    while points := next_round(settings, completed, seeds, fits=fits):
        missing = tuple(p for p in points if p not in results)
        completed.update({p: results[p] for p in points if p in results})
        if missing:
            return Replay(completed=completed, waiting=missing)
    return Replay(completed=completed, waiting=())
