"""The dose-response critical-mass search on a simulated S(alpha): a known logistic curve in log alpha plus seed
noise, one trial per (alpha, seed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from acadp.reduce.search_core import SearchSettings, settings_problem
from acadp.reduce.search_dose import Point, assess_points, propose_points

CENTRE, SCALE = 0.05, 0.25  # S(alpha) = logistic((log alpha − log CENTRE) / SCALE)
SEEDS = range(5)


def true_alpha_star(threshold: float) -> float:
    return CENTRE * math.exp(SCALE * math.log(threshold / (1 - threshold)))


def logistic_curve(alpha: float) -> float:
    return 1.0 / (1.0 + math.exp(-(math.log(alpha) - math.log(CENTRE)) / SCALE))


def simulate(point: Point, *, noise: float = 0.05, curve=logistic_curve) -> float:
    """Success of one trial: the curve at alpha moved by a seed effect of ``noise`` (sd in log alpha), deterministic
    per (alpha, seed) so that reruns agree."""
    alpha, seed = point
    rng = np.random.default_rng([int(alpha * 1e9) % 2**32, seed])
    return curve(alpha * math.exp(noise * rng.standard_normal()))


def settings(**changes: object) -> SearchSettings:
    values: dict = dict(
        low=0.005, high=0.3, thresholds=(0.5, 0.9), tolerance=0.1, budget=16, n_seeds=5, design="dose_response"
    )
    values.update(changes)
    return SearchSettings(**values)


def run_search(search: SearchSettings, completed: dict[Point, float], *, slots: int = 1, **sim: object) -> list[Point]:
    """Run the search from ``completed`` with ``slots`` trials in flight (the oldest completes first); returns the
    points it ran, in order."""
    ran: list[Point] = []
    running: list[Point] = []
    while True:
        new = propose_points(search, completed, SEEDS, pending=running, slots=slots - len(running))
        for point in new:
            assert point not in completed and point not in running, "a point was proposed twice"
            assert search.low <= point[0] <= search.high
        running += new
        if not running:
            return ran
        point = running.pop(0)
        completed[point] = simulate(point, **sim)  # type: ignore[arg-type]
        ran.append(point)


def test_the_search_finds_alpha_star_within_the_tolerance_using_at_most_the_budget() -> None:
    search = settings()
    completed: dict[Point, float] = {}
    ran = run_search(search, completed)
    report = assess_points(search, completed)
    assert report.done and report.trials_used == len(ran) <= search.budget
    assert ran[:2] == [(0.005, 0), (0.3, 1)]  # the ends first, seeds in turn
    for bracket in report.brackets:
        assert bracket.estimate is not None
        assert abs(math.log(bracket.estimate / true_alpha_star(bracket.threshold))) <= search.tolerance
        assert bracket.state in ("found", "budget spent")
        assert bracket.low <= bracket.estimate <= bracket.high  # the CI holds the estimate


def test_seeds_are_used_in_turn() -> None:
    completed: dict[Point, float] = {}
    ran = run_search(settings(budget=15), completed)
    counts = np.bincount([seed for _, seed in ran], minlength=5)
    assert counts.max() - counts.min() <= 1


def test_concurrent_proposals_are_distinct_inside_the_range_and_go_to_different_thresholds() -> None:
    search = settings(budget=40)
    completed = {p: simulate(p) for p in [(0.005, 0), (0.3, 1), (0.05, 2), (0.08, 3)]}
    proposals = propose_points(search, completed, SEEDS, slots=3)
    assert len(proposals) == 3 and len(set(proposals)) == 3
    assert all(search.low <= a <= search.high for a, _ in proposals)
    near = [min(search.thresholds, key=lambda t: abs(math.log(a / true_alpha_star(t)))) for a, _ in proposals]
    assert set(near) == set(search.thresholds)  # the thresholds take turns
    # the same run with three slots in flight still ends within the budget with no point run twice
    ran = run_search(search, dict(completed), slots=3)
    assert len(ran) + len(completed) <= search.budget


def test_before_the_ends_complete_the_search_waits_for_them() -> None:
    search = settings()
    assert propose_points(search, {}, SEEDS, slots=3) == [(0.005, 0), (0.3, 1)]
    assert propose_points(search, {}, SEEDS, pending=[(0.005, 0), (0.3, 1)], slots=2) == []


def test_a_resumed_search_ends_with_the_same_points_and_alpha_star() -> None:
    search = settings()
    uninterrupted: dict[Point, float] = {}
    order = run_search(search, uninterrupted)
    # the interruption: only the first half of the results reached the store; the search is rebuilt from them
    half = {p: uninterrupted[p] for p in order[: len(order) // 2]}
    resumed = dict(half)
    rerun = run_search(search, resumed)
    assert not set(rerun) & set(half)
    assert order[len(order) // 2 :] == rerun
    assert assess_points(search, resumed) == assess_points(search, uninterrupted)


def test_a_point_still_running_after_an_interruption_counts_against_the_budget_and_is_not_proposed_again() -> None:
    search = settings(budget=3)
    completed = {(0.005, 0): 0.01, (0.3, 1): 0.99}
    report = assess_points(search, completed, pending=[(0.04, 2)])
    assert report.trials_used == 3 and not report.done
    assert propose_points(search, completed, SEEDS, pending=[(0.04, 2)]) == []


def test_a_threshold_never_reached_by_high_and_one_reached_at_low_are_reported() -> None:
    search = settings(thresholds=(0.05, 0.9), low=0.03, high=0.04)
    completed: dict[Point, float] = {}
    run_search(search, completed)
    reached_low, never = assess_points(search, completed).brackets
    assert reached_low.state == "reached already at low" and "reached already at low (0.03)" in reached_low.describe()
    assert never.state == "not reached by high" and "not reached by high (0.04)" in never.describe()
    assert len(completed) == 2  # nothing to search between the ends


def test_a_crossing_that_uncrosses_is_reported_as_non_monotone() -> None:
    def bump(alpha: float) -> float:  # crosses 0.5 near 0.01, falls below it again beyond 0.05
        return 0.8 if 0.01 <= alpha <= 0.05 else (0.2 if alpha > 0.05 else 0.0)

    search = settings(thresholds=(0.5,), budget=10)
    completed = {p: bump(p[0]) for p in [(0.005, 0), (0.3, 1), (0.02, 2)]}
    run_search(search, completed, curve=bump, noise=0.0)
    report = assess_points(search, completed)
    (bracket,) = report.brackets
    assert report.done and len(completed) <= search.budget
    assert bracket.non_monotone and "non-monotone (S falls below S* again)" in bracket.describe()


def test_a_spent_budget_ends_the_search_and_says_so() -> None:
    search = settings(budget=5, tolerance=1e-3)
    completed: dict[Point, float] = {}
    ran = run_search(search, completed)
    report = assess_points(search, completed)
    assert len(ran) == 5 and report.done
    assert {b.state for b in report.brackets} == {"budget spent"}
    assert all(b.describe().startswith("budget spent: α* ≈ ") for b in report.brackets)


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"budget": 2}, "budget:"), ({"design": "grid"}, "design:")],
)
def test_bad_settings_are_refused_with_one_line_naming_the_field(changes: dict, field: str) -> None:
    values: dict = dict(
        low=0.005, high=0.3, thresholds=(0.5,), tolerance=0.1, budget=16, n_seeds=5, design="dose_response"
    )
    problem = settings_problem(**(values | changes))
    assert problem is not None and problem.startswith(field) and "\n" not in problem
    assert settings_problem(**(values | {"budget": 3})) is None  # the ends and one probe
