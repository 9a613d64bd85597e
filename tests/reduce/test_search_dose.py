"""The dose-response critical-mass search on a simulated S(alpha): a known logistic curve in log alpha plus seed
noise, one trial per (alpha, seed)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from acadp.reduce.search_core import SearchReport, SearchSettings, settings_problem
from acadp.reduce.search_dose import Point, assess_points, next_round, replay

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


def run_search(
    search: SearchSettings, store: dict[Point, float], *, reverse: bool = False, **sim: object
) -> list[Point]:
    """Run the search over ``store`` (the results store: (alpha, seed) → success) round by round, each round's
    points completing in order (or in reverse); returns the points it ran, in order."""
    ran: list[Point] = []
    while waiting := replay(search, SEEDS, store).waiting:
        assert len(waiting) <= max(2, len(search.thresholds)) and len(set(waiting)) == len(waiting)
        for point in reversed(waiting) if reverse else waiting:
            assert point not in store, "a point was proposed twice"
            assert search.low <= point[0] <= search.high
            store[point] = simulate(point, **sim)  # type: ignore[arg-type]
            ran.append(point)
    return ran


def report(search: SearchSettings, store: dict[Point, float]) -> SearchReport:
    state = replay(search, SEEDS, store)
    return assess_points(search, state.completed, pending=state.waiting)


def test_the_search_finds_alpha_star_within_the_tolerance_using_at_most_the_budget() -> None:
    search = settings()
    store: dict[Point, float] = {}
    ran = run_search(search, store)
    final = report(search, store)
    assert final.done and final.trials_used == len(ran) <= search.budget
    assert ran[:2] == [(0.005, 0), (0.3, 1)]  # the ends first, seeds in turn
    for bracket in final.brackets:
        assert bracket.estimate is not None
        assert abs(math.log(bracket.estimate / true_alpha_star(bracket.threshold))) <= search.tolerance
        assert bracket.state in ("found", "budget spent")
        assert bracket.low <= bracket.estimate <= bracket.high  # the CI holds the estimate


def test_seeds_are_used_in_turn() -> None:
    ran = run_search(settings(budget=15), {})
    counts = np.bincount([seed for _, seed in ran], minlength=5)
    assert counts.max() - counts.min() <= 1


def test_a_round_probes_every_searching_threshold_at_once_inside_the_range() -> None:
    search = settings(budget=40)
    store = {p: simulate(p) for p in [(0.005, 0), (0.3, 1)]}
    (state,) = [replay(search, SEEDS, store)]
    assert len(state.waiting) == 2 and len({seed for _, seed in state.waiting}) == 2
    assert all(search.low < a < search.high for a, _ in state.waiting)
    near = [min(search.thresholds, key=lambda t: abs(math.log(a / true_alpha_star(t)))) for a, _ in state.waiting]
    assert set(near) == set(search.thresholds)  # one probe per threshold


def test_the_order_in_which_a_rounds_trials_complete_does_not_change_the_search() -> None:
    search = settings()
    in_order, reversed_order = {}, {}
    first = run_search(search, in_order)
    second = run_search(search, reversed_order, reverse=True)
    assert set(first) == set(second) and report(search, in_order) == report(search, reversed_order)


def test_before_the_ends_complete_the_search_waits_for_them() -> None:
    search = settings()
    assert next_round(search, {}, SEEDS) == [(0.005, 0), (0.3, 1)]
    assert replay(search, SEEDS, {(0.005, 0): 0.0}).waiting == ((0.3, 1),)


def test_a_resumed_search_runs_the_same_points_and_ends_with_the_same_alpha_star() -> None:
    search = settings()
    uninterrupted: dict[Point, float] = {}
    order = run_search(search, uninterrupted)
    for cut in range(1, len(order)):  # the interruption: only the first `cut` results reached the store
        resumed = {p: uninterrupted[p] for p in order[:cut]}
        rerun = run_search(search, resumed)
        assert not set(rerun) & set(order[:cut]) and sorted(rerun) == sorted(order[cut:])
        assert report(search, resumed) == report(search, uninterrupted)


def test_a_point_of_the_store_off_the_search_path_does_not_steer_it() -> None:
    search = settings()
    plain: dict[Point, float] = {}
    run_search(search, plain)
    with_grid = {(0.1, 3): simulate((0.1, 3)), (0.01, 4): simulate((0.01, 4))}  # e.g. a grid run before
    run_search(search, with_grid)
    assert report(search, with_grid) == report(search, plain)


def test_a_round_is_cut_to_the_budget() -> None:
    ends = {(0.005, 0): 0.01, (0.3, 1): 0.99}
    assert len(replay(settings(budget=4), SEEDS, ends).waiting) == 2  # one probe per threshold
    assert len(replay(settings(budget=3), SEEDS, ends).waiting) == 1


def test_a_threshold_never_reached_by_high_and_one_reached_at_low_are_reported() -> None:
    search = settings(thresholds=(0.05, 0.9), low=0.03, high=0.04)
    store: dict[Point, float] = {}
    run_search(search, store)
    reached_low, never = report(search, store).brackets
    assert reached_low.state == "reached already at low" and "reached already at low (0.03)" in reached_low.describe()
    assert never.state == "not reached by high" and "not reached by high (0.04)" in never.describe()
    assert len(store) == 2  # nothing to search between the ends


def test_a_crossing_that_uncrosses_is_reported_as_non_monotone() -> None:
    def bump(alpha: float) -> float:  # crosses 0.5 near 0.01, falls below it again beyond 0.05
        return 0.8 if 0.01 <= alpha <= 0.05 else (0.2 if alpha > 0.05 else 0.0)

    search = settings(thresholds=(0.5,), budget=10)
    store = {(0.005, 0): 0.0, (0.3, 1): 0.2, (0.02, 2): 0.8}  # a probe on the bump between the ends
    run_search(search, store, curve=bump, noise=0.0)
    (bracket,) = assess_points(search, store).brackets
    assert bracket.non_monotone and "non-monotone (S falls below S* again)" in bracket.describe()


def test_a_spent_budget_ends_the_search_and_says_so() -> None:
    search = settings(budget=5, tolerance=1e-3)
    store: dict[Point, float] = {}
    ran = run_search(search, store)
    final = report(search, store)
    assert len(ran) == 5 and final.done
    assert {b.state for b in final.brackets} == {"budget spent"}
    assert all(b.describe().startswith("budget spent: α* ≈ ") for b in final.brackets)


def test_the_two_ends_alone_never_count_as_found() -> None:
    search = settings(tolerance=10.0)  # any CI would do
    final = assess_points(search, {(0.005, 0): 0.0, (0.3, 1): 1.0})
    assert {b.state for b in final.brackets} == {"searching"} and not final.done


def test_a_search_with_no_seed_left_to_probe_ends_and_says_so() -> None:
    def steep(alpha: float) -> float:
        return 1.0 / (1.0 + math.exp(-20 * (math.log(alpha) - math.log(0.015))))

    search = settings(low=0.01, high=0.02, thresholds=(0.5,), tolerance=1e-7, budget=50, n_seeds=2)
    store: dict[Point, float] = {}
    while waiting := replay(search, (0, 1), store).waiting:
        store.update({point: steep(point[0]) for point in waiting})
    final = replay(search, (0, 1), store).report(search)
    assert len(store) < search.budget and final.done
    (bracket,) = final.brackets
    assert bracket.state == "no probe left" and bracket.estimate == pytest.approx(0.015, rel=1e-3)


def test_probes_stay_inside_a_bracket_whose_ends_have_more_digits_than_a_probe() -> None:
    search = settings(high=0.1234567, budget=30)
    store: dict[Point, float] = {}
    ran = run_search(search, store)  # asserts every point lies in [low, high]
    assert (0.1234567, 1) in ran


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"budget": 2}, "budget:"), ({"design": "grid"}, "design:"), ({"n_seeds": 1}, "design:")],
)
def test_bad_settings_are_refused_with_one_line_naming_the_field(changes: dict, field: str) -> None:
    values: dict = dict(
        low=0.005, high=0.3, thresholds=(0.5,), tolerance=0.1, budget=16, n_seeds=5, design="dose_response"
    )
    problem = settings_problem(**(values | changes))
    assert problem is not None and problem.startswith(field) and "\n" not in problem
    assert settings_problem(**(values | {"budget": 3})) is None  # the ends and one probe


def test_the_tables_search_column_replays_the_search_with_all_its_thresholds() -> None:
    import pandas as pd

    from acadp.reduce.critical_mass import critical_mass_table
    from acadp.reduce.search_table import SearchBounds, with_search_column

    search = settings()
    store: dict[Point, float] = {}
    ran = run_search(search, store)
    frame = pd.DataFrame(
        {
            "dataset": "d", "label": "d", "arm": "SGD", "epsilon": math.inf, "clip": np.nan, "status": "completed",
            "alpha": [a for a, _ in store], "seed": [s for _, s in store], "success": list(store.values()),
        }
    )  # fmt: skip
    bounds = SearchBounds(
        low=search.low, high=search.high, tolerance=search.tolerance, budget=search.budget, design="dose_response",
        seeds=tuple(SEEDS), thresholds=search.thresholds,
    )  # fmt: skip
    table = critical_mass_table(frame, thresholds=search.thresholds, n_boot=10, interpolation="logistic")
    column = with_search_column(table, frame, bounds)["search"].tolist()
    final = report(search, store)
    assert column == [f"{len(ran)} trials · {bracket.describe()}" for bracket in final.brackets]
    assert not any("searching" in text for text in column)
