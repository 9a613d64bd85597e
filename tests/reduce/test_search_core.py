"""The critical-mass search core on a simulated S(alpha): a known logistic curve in log alpha plus seed noise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from acadp.reduce.critical_mass import first_crossing
from acadp.reduce.search_core import SearchSettings, assess, propose

CENTRE, SCALE = 0.04, 0.2  # S(alpha) = logistic((log alpha − log CENTRE) / SCALE)
SEEDS = 5


def true_curve(alpha: float) -> float:
    return 1.0 / (1.0 + math.exp(-(math.log(alpha) - math.log(CENTRE)) / SCALE))


def true_alpha_star(threshold: float) -> float:
    return CENTRE * math.exp(SCALE * math.log(threshold / (1 - threshold)))


def simulate(alpha: float, *, noise: float = 0.01) -> list[float]:
    """Success of every seed at ``alpha`` (deterministic per alpha, so reruns agree)."""
    rng = np.random.default_rng(int(alpha * 1e9) % 2**32)
    return [float(np.clip(true_curve(alpha) + noise * rng.standard_normal(), 0.0, 1.0)) for _ in range(SEEDS)]


def settings(**changes: object) -> SearchSettings:
    values: dict = dict(low=0.002, high=0.3, thresholds=(0.5, 0.9), tolerance=0.1, budget=60, n_seeds=SEEDS)
    values.update(changes)
    return SearchSettings(**values)


def run_search(search: SearchSettings, results: dict[float, list[float]], *, curve=simulate) -> list[float]:
    """Run the search sequentially (one alpha at a time) from ``results``; returns the alphas it ran, in order."""
    ran = []
    while proposals := propose(search, results):
        alpha = proposals[0]
        assert alpha not in results, "an alpha was proposed twice"
        results[alpha] = curve(alpha)
        ran.append(alpha)
    return ran


def alpha_star(results: dict[float, list[float]], threshold: float) -> float:
    alphas = np.array(sorted(results))
    curve = np.array([[np.mean(results[a]) for a in alphas]])
    return float(first_crossing(alphas, curve, threshold, log=True)[0])


def test_the_search_finds_alpha_star_within_the_tolerance_using_at_most_the_budget() -> None:
    search = settings()
    results: dict[float, list[float]] = {}
    run_search(search, results)
    report = assess(search, results)
    assert report.done and report.trials_used <= search.budget
    for bracket in report.brackets:
        assert bracket.state == "found", bracket
        assert bracket.width <= search.tolerance
        star = alpha_star(results, bracket.threshold)
        assert abs(math.log(star / true_alpha_star(bracket.threshold))) <= search.tolerance


def test_the_search_needs_far_fewer_trials_than_a_dense_grid_of_the_same_resolution() -> None:
    search = settings(budget=1000)
    results: dict[float, list[float]] = {}
    run_search(search, results)
    dense = math.ceil(math.log(search.high / search.low) / search.tolerance) + 1
    assert len(results) <= dense / 3


def test_concurrent_proposals_are_distinct_and_inside_the_current_brackets() -> None:
    search = settings(budget=200)
    results = {a: simulate(a) for a in (0.002, 0.3, 0.02, 0.08)}
    report = assess(search, results)
    proposals = propose(search, results, slots=4)
    assert len(proposals) == 4 and len(set(proposals)) == 4
    brackets = [(b.low, b.high) for b in report.brackets if b.state == "searching"]
    assert all(any(low < a < high for low, high in brackets) for a in proposals)
    assert not set(proposals) & set(results)


def test_a_bracket_waiting_on_a_running_alpha_gets_no_new_point_while_another_bracket_does() -> None:
    search = settings(budget=200)
    results = {a: simulate(a) for a in (0.002, 0.3, 0.02, 0.05)}
    brackets = {b.threshold: (b.low, b.high) for b in assess(search, results).brackets}
    assert brackets == {0.5: (0.02, 0.05), 0.9: (0.05, 0.3)}
    running = [0.03]  # inside the S* = 0.5 bracket: its outcome decides where that bracket goes
    more = propose(search, results, pending=running, slots=2)
    assert len(more) == 2 and all(0.05 < a < 0.3 for a in more), more  # only the S* = 0.9 bracket is split
    assert propose(search, results, pending=[*running, *more], slots=2) == []  # both wait: nothing spent blindly
    # once the running alpha completes, its bracket is split again, inside the bracket it left
    results[0.03] = simulate(0.03)
    assert next(b for b in assess(search, results).brackets if b.threshold == 0.5).low == 0.03
    (after,) = propose(search, results, pending=more, slots=1)
    assert 0.03 < after < 0.05


def test_before_the_ends_complete_the_search_waits_for_them() -> None:
    search = settings()
    assert propose(search, {}, slots=2) == [0.002, 0.3]
    assert propose(search, {}, pending=[0.002, 0.3], slots=1) == []
    # with more free slots than ends, one call splits the range too
    third = propose(search, {}, slots=3)[2]
    assert third == pytest.approx(math.sqrt(0.002 * 0.3), rel=1e-5)


def test_a_resumed_search_ends_with_the_same_alphas_and_no_trial_run_twice() -> None:
    search = settings()
    uninterrupted: dict[float, list[float]] = {}
    order = run_search(search, uninterrupted)
    # the interruption: only the first half of the results reached the store; the search is rebuilt from them
    half = {a: uninterrupted[a] for a in order[: len(order) // 2]}
    rerun = run_search(search, dict(half))
    assert not set(rerun) & set(half)
    assert order[len(order) // 2 :] == rerun
    resumed = {**half, **{a: simulate(a) for a in rerun}}
    for threshold in search.thresholds:
        assert alpha_star(resumed, threshold) == alpha_star(uninterrupted, threshold)


def test_a_partly_completed_alpha_is_finished_not_replaced() -> None:
    search = settings()
    results = {0.002: simulate(0.002), 0.3: simulate(0.3)[:2]}  # 0.3 has 2 of 5 seeds
    report = assess(search, results)
    assert not report.done and report.trials_used == 2 * SEEDS
    assert all(b.state == "searching" and (b.low, b.high) == (0.002, 0.3) for b in report.brackets)


def test_a_threshold_never_reached_by_high_and_one_reached_at_low_are_reported() -> None:
    flat = settings(thresholds=(0.05, 0.99), low=0.03, high=0.05)
    results: dict[float, list[float]] = {}
    run_search(flat, results)
    report = assess(flat, results)
    states = {b.threshold: b.state for b in report.brackets}
    assert states == {0.05: "reached already at low", 0.99: "not reached by high"}
    assert report.done and report.trials_used == 2 * SEEDS
    assert "not reached by high (0.05)" in report.brackets[1].describe()


def test_a_non_monotone_curve_is_reported_at_its_first_crossing() -> None:
    def bump(alpha: float) -> list[float]:  # crosses 0.5 near 0.01, falls below it again beyond 0.05
        return [0.8 if 0.01 <= alpha <= 0.05 else (0.2 if alpha > 0.05 else 0.0)] * SEEDS

    search = settings(thresholds=(0.5,), budget=100)
    results = {a: bump(a) for a in (0.002, 0.3, 0.02)}
    run_search(search, results, curve=bump)
    (bracket,) = assess(search, results).brackets
    assert bracket.state == "found" and bracket.non_monotone
    assert bracket.low < 0.01 <= bracket.high
    assert "non-monotone" in bracket.describe()


def test_a_spent_budget_ends_the_search_and_says_so() -> None:
    search = settings(budget=4 * SEEDS)
    results: dict[float, list[float]] = {}
    run_search(search, results)
    report = assess(search, results)
    assert report.trials_used <= search.budget and report.done
    assert {b.state for b in report.brackets} == {"budget spent"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (dict(low=0.3, high=0.1), "low, high"),
        (dict(thresholds=(0.5, 1.2)), "thresholds"),
        (dict(thresholds=(0.0,)), "thresholds"),
        (dict(tolerance=0.0), "tolerance"),
        (dict(budget=2 * SEEDS), "budget"),
    ],
)
def test_bad_settings_are_refused_with_one_line_naming_the_field(changes: dict, field: str) -> None:
    with pytest.raises(ValueError) as error:
        settings(**changes)
    message = str(error.value)
    assert message.startswith(field + ":") and "\n" not in message
