"""Critical-mass search for one arm: which alpha values to run next to bracket alpha*(S*) (pure; no Ray, no store).

The search starts with the bracket's ends ``low`` and ``high``, then narrows, for every threshold S* at once, the
bracket [a_lo, a_hi] of completed alphas around the first crossing of the seed-mean curve (mean(a_lo) < S* <=
mean(a_hi)): it splits the bracket in log alpha at its midpoint (bisection), or, once both ends have informative means
(neither 0 nor 1), at the crossing interpolated in log alpha, moved ``tolerance / 2`` towards the midpoint so that the
next point lands on the other side of alpha* and closes the bracket (kept within the bracket's middle half). Each
alpha runs every seed; several thresholds share the trials. A threshold's search ends when its bracket's width
log(a_hi / a_lo) is at most ``tolerance``, when the per-arm ``budget`` of trials cannot pay for another alpha, or when
the threshold is already reached at ``low`` or not reached at ``high``. Concurrency never spends trials blindly: free
slots split a bracket into several parts at once, but a bracket whose outcome waits on a running alpha gets no new
point until that alpha completes (measured on the quickstart, such early points mostly fell outside the next bracket).

Everything is a function of the completed results (and the alphas started but not complete), so a resumed search
derives its state from the results store and proposes the same alphas an uninterrupted one would.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

REACH_TOLERANCE = 1e-12  # as acadp.reduce.critical_mass: a mean equal to S* up to rounding reaches it
SIGNIFICANT_DIGITS = 6  # proposed alphas are rounded, so that their trial keys stay readable
INTERPOLATION_RANGE = (0.25, 0.75)  # an interpolated point stays within the bracket's middle half (in log alpha)
ALPHAS_PER_STEP = 3  # the ends plus one bisection point: the least budget (in alphas) a search can use

BracketState = Literal[
    "searching", "found", "budget spent", "not reached by high", "reached already at low", "no probe left"
]
Design = Literal["bisection", "dose_response"]
LEAST_DOSE_TRIALS = 3  # a dose-response search: the two ends and one probe, one seed each


@dataclass(frozen=True)
class SearchSettings:
    """One arm's search: the bracket [low, high] (0 < low < high < 1), thresholds S* in (0, 1], the tolerance
    (width in log alpha), the budget (trials of the arm, every seed counted) and the number of seeds per alpha."""

    low: float
    high: float
    thresholds: tuple[float, ...]
    tolerance: float
    budget: int
    n_seeds: int
    design: Design = "bisection"

    def __post_init__(self) -> None:
        problem = settings_problem(
            low=self.low, high=self.high, thresholds=self.thresholds, tolerance=self.tolerance,
            budget=self.budget, n_seeds=self.n_seeds, design=self.design,
        )  # fmt: skip
        if problem is not None:
            raise ValueError(problem)


def least_budget(design: Design, n_seeds: int) -> int:
    """Trials one step of the search needs: the two ends and one point between them (every seed of each for a
    bisection, one seed each for a dose-response search)."""
    return ALPHAS_PER_STEP * n_seeds if design == "bisection" else LEAST_DOSE_TRIALS


def settings_problem(
    *,
    low: float,
    high: float,
    thresholds: Sequence[float],
    tolerance: float,
    budget: int,
    n_seeds: int,
    design: Design = "bisection",
) -> str | None:
    """What is wrong with a search's settings, as one line starting with the field's name; None when nothing is."""
    known = design in ("bisection", "dose_response")
    least = least_budget(design, n_seeds)
    step = f"{ALPHAS_PER_STEP} alphas × {n_seeds} seeds" if design == "bisection" else "3 alphas × 1 seed"
    problems = (
        (not 0 < low < high < 1, f"low, high: the bracket needs 0 < low < high < 1, got low {low:g}, high {high:g}"),
        (not thresholds or any(not 0 < t <= 1 for t in thresholds),
         f"thresholds: every S* must lie in (0, 1], got {list(thresholds)}"),
        (not tolerance > 0, f"tolerance: the bracket width in log alpha must be > 0, got {tolerance:g}"),
        (not known, f"design: must be bisection or dose_response, got {design!r}"),
        (design == "dose_response" and n_seeds < 2,
         f"design: dose_response needs at least 2 seeds (its CI is a bootstrap over seeds), got {n_seeds}"),
        (known and budget < least,
         f"budget: {budget} trials per arm is below one {design.replace('_', '-')} step ({step} = {least})"),
    )  # fmt: skip
    return next((message for failed, message in problems if failed), None)


@dataclass(frozen=True)
class ThresholdBracket:
    """Where the search stands for one threshold: the bracket [low, high] of completed alphas around the first
    crossing (low == high at an end of the range), its state, and whether the curve drops below S* again later."""

    threshold: float
    low: float
    high: float
    state: BracketState
    non_monotone: bool = False
    estimate: float | None = None  # a dose-response search: the fit's alpha*; low, high: its bootstrap CI

    @property
    def width(self) -> float:
        """log(high / low): the bracket's width in log alpha (``inf`` when ``high`` is: a CI not reached above)."""
        return math.log(self.high / self.low) if math.isfinite(self.high) else math.inf

    def describe(self) -> str:
        """E.g. ``found: α* in [0.031, 0.034]`` or ``not reached by high (0.2)``, ``; non-monotone`` appended."""
        if self.state == "not reached by high":
            text = f"not reached by high ({self.high:.4g})"
        elif self.state == "reached already at low":
            text = f"reached already at low ({self.low:.4g})"
        elif self.estimate is not None:
            text = f"{self.state}: α* ≈ {self.estimate:.4g} [{self.low:.4g}, {self.high:.4g}]"
        else:
            text = f"{self.state}: α* in [{self.low:.4g}, {self.high:.4g}]"
        return text + ("; non-monotone (S falls below S* again)" if self.non_monotone else "")


@dataclass(frozen=True)
class SearchReport:
    """One arm's search: a bracket per threshold, the trials used (every seed of every alpha started in [low, high])
    and whether the search is over (no threshold searching, no alpha incomplete)."""

    brackets: tuple[ThresholdBracket, ...]
    trials_used: int
    done: bool


def _means(settings: SearchSettings, results: Mapping[float, Sequence[float]]) -> dict[float, float]:
    """Seed-mean success of every alpha in [low, high] whose seeds are all complete."""
    return {
        alpha: sum(values) / len(values)
        for alpha, values in results.items()
        if settings.low <= alpha <= settings.high and len(values) >= settings.n_seeds
    }


def _bracket(settings: SearchSettings, means: Mapping[float, float], threshold: float) -> ThresholdBracket:
    low, high = settings.low, settings.high
    if low not in means or high not in means:
        return ThresholdBracket(threshold, low, high, "searching")
    alphas = sorted(means)
    reached = [a for a in alphas if means[a] >= threshold - REACH_TOLERANCE]
    if not reached:
        return ThresholdBracket(threshold, high, high, "not reached by high")
    first = reached[0]
    non_monotone = any(means[a] < threshold - REACH_TOLERANCE for a in alphas if a > first)
    if first == low:
        return ThresholdBracket(threshold, low, low, "reached already at low", non_monotone)
    below = max(a for a in alphas if a < first)
    state: BracketState = "found" if math.log(first / below) <= settings.tolerance else "searching"
    return ThresholdBracket(threshold, below, first, state, non_monotone)


def _started(
    results: Mapping[float, Sequence[float]], pending: Collection[float], settings: SearchSettings
) -> set[float]:
    return {a for a in (*results, *pending) if settings.low <= a <= settings.high}


def assess(
    settings: SearchSettings, results: Mapping[float, Sequence[float]], *, pending: Collection[float] = ()
) -> SearchReport:
    """Where the search stands. ``results``: alpha → success of each completed seed (an alpha with fewer than
    ``n_seeds`` values is still running); ``pending``: alphas started with no completed seed yet."""
    means = _means(settings, results)
    started = _started(results, pending, settings)
    used = len(started) * settings.n_seeds
    can_pay = used + settings.n_seeds <= settings.budget
    brackets = []
    for threshold in settings.thresholds:
        bracket = _bracket(settings, means, threshold)
        inside = any(bracket.low < a < bracket.high and a not in means for a in started)
        if bracket.state == "searching" and not can_pay and not inside and bracket.low in means:
            bracket = ThresholdBracket(threshold, bracket.low, bracket.high, "budget spent", bracket.non_monotone)
        brackets.append(bracket)
    incomplete = any(a not in means for a in started)
    done = not incomplete and all(b.state != "searching" for b in brackets)
    return SearchReport(brackets=tuple(brackets), trials_used=used, done=done)


def _round(alpha: float) -> float:
    return float(f"{alpha:.{SIGNIFICANT_DIGITS}g}")


def _interpolated(bracket: ThresholdBracket, means: Mapping[float, float], tolerance: float) -> float | None:
    """The crossing interpolated in log alpha, moved tolerance/2 towards the midpoint; None when an end's mean is
    saturated (0 or 1: no slope to interpolate) or missing."""
    m_lo, m_hi = means.get(bracket.low), means.get(bracket.high)
    if m_lo is None or m_hi is None or m_lo <= 0 or m_hi >= 1 or m_hi <= m_lo:
        return None
    width = bracket.width
    fraction = (bracket.threshold - m_lo) / (m_hi - m_lo)
    shift = 0.5 * tolerance / width
    fraction = fraction + shift if fraction < 0.5 else fraction - shift
    fraction = min(max(fraction, INTERPOLATION_RANGE[0]), INTERPOLATION_RANGE[1])
    return bracket.low * math.exp(fraction * width)


def _candidate(
    bracket: ThresholdBracket, means: Mapping[float, float], taken: set[float], tolerance: float
) -> tuple[float, float] | None:
    """(width of the interval it splits, next alpha) for one threshold's bracket; None when nothing is left to split.
    A bracket holding started alphas is split at the log-midpoint of its widest part."""
    points = sorted({bracket.low, bracket.high, *(a for a in taken if bracket.low < a < bracket.high)})
    gaps = [(math.log(b / a), a, b) for a, b in itertools.pairwise(points)]
    width, a, b = max(gaps)
    if width <= tolerance:
        return None
    alpha = _interpolated(bracket, means, tolerance) if len(points) == 2 else None
    alpha = _round(math.sqrt(a * b) if alpha is None else alpha)
    return (width, alpha) if a < alpha < b and alpha not in taken else None


def propose(
    settings: SearchSettings,
    results: Mapping[float, Sequence[float]],
    *,
    pending: Collection[float] = (),
    slots: int = 1,
) -> list[float]:
    """Up to ``slots`` new alphas to run (each with every seed), in order; [] when nothing is worth running now.

    ``results`` and ``pending`` as in :func:`assess`. The ends come first; then each slot splits the widest part of
    a searching threshold's bracket, counting alphas proposed in this call as taken (k slots: k points inside the
    bracket), so concurrent proposals never repeat an alpha and stay inside the current brackets. A bracket holding
    (or ending at) an alpha started earlier and still incomplete gets no new point until that outcome is known: the
    pending result moves the bracket, and a point chosen before it would mostly land outside. Never exceeds the
    budget."""
    means = _means(settings, results)
    taken = _started(results, pending, settings)
    unresolved = taken - set(means)  # started before this call, not complete: their outcome is still unknown
    proposals: list[float] = []
    for end in (settings.low, settings.high):
        if end not in taken and len(proposals) < slots:
            proposals.append(end)
            taken.add(end)
    while len(proposals) < slots and (len(taken) + 1) * settings.n_seeds <= settings.budget:
        report = assess(settings, {a: v for a, v in results.items() if a in means}, pending=())
        candidates = [
            found
            for bracket in report.brackets
            if bracket.state == "searching"
            and not any(bracket.low <= a <= bracket.high for a in unresolved)
            and (found := _candidate(bracket, means, taken, settings.tolerance)) is not None
        ]
        if not candidates:
            break
        _, alpha = max(candidates, key=lambda c: c[0])  # the widest interval first; ties: the first threshold
        proposals.append(alpha)
        taken.add(alpha)
    return proposals
