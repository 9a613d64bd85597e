"""The dose-response search's fit states kept in the results store: a search read through the cache makes the same
decisions and reports the same alpha* as one that refits every round, bit for bit, and a state recorded for other
trials (or other settings, or edited) is never used."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import pytest

from acadp.reduce.search_core import SearchSettings
from acadp.reduce.search_dose import Point, _fit_state, fit_inputs, fit_state, replay
from acadp.reduce.search_fits import StoredFits, digest_of
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore

SEEDS = range(4)
SETTINGS = SearchSettings(
    low=0.005, high=0.3, thresholds=(0.5, 0.9), tolerance=0.15, budget=14, n_seeds=4, design="dose_response"
)


def success(point: Point) -> float:
    """S of a trial: a logistic curve in log alpha around 0.05, moved per seed."""
    alpha, seed = point
    return 1.0 / (1.0 + math.exp(-(math.log(alpha) - math.log(0.05)) / 0.3 + 0.2 * (seed - 1.5)))


@functools.cache
def finished_search() -> dict[Point, float]:
    """Every trial an uncached search runs, with its result (computed once; not to be changed)."""
    results: dict[Point, float] = {}
    while waiting := replay(SETTINGS, SEEDS, results).waiting:
        results.update({point: success(point) for point in waiting})
    return results


@pytest.fixture(autouse=True)
def no_memory_cache() -> None:
    _fit_state.cache_clear()  # each test fits for real, or reads the store


def outcome(results: dict[Point, float], fits: StoredFits | None) -> tuple:
    state = replay(SETTINGS, SEEDS, results, fits=fits)
    return state.completed, state.waiting, state.report(SETTINGS, fits=fits)


def test_a_search_read_through_the_cache_decides_and_reports_exactly_as_one_that_refits(tmp_path: Path) -> None:
    results = finished_search()
    assert len(results) > 6  # several rounds of fits
    uncached = outcome(results, None)
    fits = StoredFits(ResultsStore(tmp_path))
    _fit_state.cache_clear()
    first = outcome(results, fits)  # fits every round and stores its state
    stored = ResultsStore(tmp_path).list_dir(LAYOUT.search_fits)
    assert len(stored) >= 3
    _fit_state.cache_clear()
    second = outcome(results, fits)  # reads every state back
    assert first == uncached and second == uncached  # points, their order, brackets, alpha* and CIs: equal floats
    assert ResultsStore(tmp_path).list_dir(LAYOUT.search_fits) == stored  # nothing refitted or rewritten
    stars = [b.estimate for b in second[2].brackets]
    assert all(star is not None and SETTINGS.low < star < SETTINGS.high for star in stars)


def test_a_cached_state_is_used_without_fitting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    results = finished_search()
    fits = StoredFits(ResultsStore(tmp_path))
    outcome(results, fits)

    def no_fit(*args: object) -> None:
        raise AssertionError("refitted a state the store holds")

    monkeypatch.setattr("acadp.reduce.search_dose._fit_state", no_fit)
    assert outcome(results, fits)[2].brackets  # every round's state came from the store


def trials_of(results: dict[Point, float]) -> tuple[tuple[float, int, float], ...]:
    return tuple(sorted((alpha, seed, value) for (alpha, seed), value in results.items()))


def test_a_state_recorded_for_other_trials_is_ignored_and_replaced(tmp_path: Path) -> None:
    results = finished_search()
    store, fits = ResultsStore(tmp_path), StoredFits(ResultsStore(tmp_path))
    thresholds = tuple(SETTINGS.thresholds)
    trials = trials_of(results)
    truth = fit_state(thresholds, trials)
    # a stale file under the name of these trials: written for the trials without the last one, with other numbers
    stale_inputs = fit_inputs(thresholds, trials[:-1])
    rel = LAYOUT.search_fit(digest_of(fit_inputs(thresholds, trials)))
    store.write_json(
        rel, {"inputs": stale_inputs, "state": {"stars": [(0.5).hex()] * 2, "intervals": [[(0.1).hex()] * 2] * 2}}
    )
    assert fits.load(fit_inputs(thresholds, trials)) is None
    assert fit_state(thresholds, trials, fits=fits) == truth
    assert fits.load(fit_inputs(thresholds, trials)) == truth  # the refitted state replaced it


@pytest.mark.parametrize("change", ["n_boot", "code", "a trial's success"])
def test_a_state_is_keyed_by_everything_it_depends_on(change: str) -> None:
    trials = trials_of(finished_search())
    inputs = fit_inputs((0.5, 0.9), trials)
    if change == "a trial's success":
        alpha, seed, value = trials[0]
        other = fit_inputs((0.5, 0.9), ((alpha, seed, math.nextafter(value, 1.0)), *trials[1:]))
    else:
        other = {**inputs, change: "other"}
    assert digest_of(other) != digest_of(inputs)


@pytest.mark.parametrize("content", ["{not json", json.dumps({"inputs": {}, "state": {}}), json.dumps([1, 2])])
def test_an_unreadable_state_is_refitted(tmp_path: Path, content: str) -> None:
    trials = trials_of(finished_search())
    fits = StoredFits(ResultsStore(tmp_path))
    inputs = fit_inputs((0.5, 0.9), trials)
    ResultsStore(tmp_path).write_bytes(LAYOUT.search_fit(digest_of(inputs)), content.encode())
    assert fits.load(inputs) is None
    assert fit_state((0.5, 0.9), trials, fits=fits) == _fit_state((0.5, 0.9), trials)


def test_a_store_that_cannot_be_written_still_gives_the_fitted_state(tmp_path: Path) -> None:
    trials = trials_of(finished_search())
    (tmp_path / "search").write_text("a file where the folder should be")  # every write under search/ fails
    fits = StoredFits(ResultsStore(tmp_path))
    assert fit_state((0.5, 0.9), trials, fits=fits) == _fit_state((0.5, 0.9), trials)


def test_without_the_fitting_code_to_hash_nothing_is_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trials = trials_of(finished_search())
    monkeypatch.setattr("acadp.reduce.search_dose.fit_code", lambda: None)
    assert fit_state((0.5, 0.9), trials, fits=StoredFits(ResultsStore(tmp_path))) == _fit_state((0.5, 0.9), trials)
    assert not (tmp_path / "search").exists()
