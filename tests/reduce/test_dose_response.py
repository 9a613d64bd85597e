"""alpha* off a logistic fit in log alpha (acadp.reduce.dose_response) and the critical-mass table read that way."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from acadp.reduce.critical_mass import critical_mass_table, interpolate_critical_mass
from acadp.reduce.dose_response import bootstrap_dose_response, dose_response_stars, fit_logistic
from acadp.reduce.plots import plot_success_curves
from acadp.reduce.report import compute_tables, sweep_figures

CENTRE, SLOPE = 0.04, 4.0  # S = sigmoid(SLOPE · (log alpha − log CENTRE))


def curve(alpha: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-SLOPE * (np.log(alpha) - math.log(CENTRE))))


def truth(threshold: float) -> float:
    return CENTRE * math.exp(math.log(threshold / (1 - threshold)) / SLOPE)


def test_the_fit_recovers_a_known_curve() -> None:
    alphas = np.geomspace(0.01, 0.2, 9)
    fit = fit_logistic(alphas, curve(alphas))
    assert fit is not None and fit.slope == pytest.approx(SLOPE, rel=1e-3)
    for threshold in (0.5, 0.9):
        assert fit.alpha_star(threshold) == pytest.approx(truth(threshold), rel=1e-3)


def test_no_extrapolation_and_no_alpha_star_without_an_increasing_trend() -> None:
    alphas = np.geomspace(0.01, 0.05, 5)
    below, above = dose_response_stars(alphas, curve(alphas), [0.999, 0.001])
    assert below == math.inf  # the fit would cross above the largest alpha run: not reached
    assert above == pytest.approx(0.01)  # reached already at the smallest alpha run
    # no increasing trend: reached at the smallest alpha run if S is there already, else not reached
    smallest = float(alphas.min())
    assert dose_response_stars(alphas, curve(alphas)[::-1], [0.5, 0.9]) == [smallest, math.inf]
    assert dose_response_stars(alphas, np.full(5, 0.7), [0.5, 0.9]) == [smallest, math.inf]
    assert dose_response_stars(alphas, np.ones(5), [0.9]) == [smallest]  # S = 1 everywhere: reached at once
    assert fit_logistic([0.02, 0.02], [0.1, 0.9]) is None  # one alpha: no slope
    assert fit_logistic([0.01, 0.02], [0.0, 0.0]) is None  # S = 0 everywhere: nothing crosses


def test_alpha_zero_never_enters_the_fit() -> None:
    alphas = np.geomspace(0.01, 0.2, 9)
    with_zero = dose_response_stars([0.0, *alphas], [0.7, *curve(alphas)], [0.5])
    assert with_zero == pytest.approx(dose_response_stars(alphas, curve(alphas), [0.5]))


def test_the_bootstrap_resamples_seeds_and_refits() -> None:
    rng = np.random.default_rng(0)
    alphas = np.repeat(np.geomspace(0.01, 0.2, 6), 4)
    seeds = np.tile(np.arange(4), 6)
    success = np.clip(curve(alphas * np.exp(0.1 * rng.standard_normal(alphas.size))), 0, 1)
    stars = bootstrap_dose_response(alphas, success, seeds, [0.5], n_boot=50, rng=np.random.default_rng(1))
    assert stars.shape == (50, 1) and np.all(np.isfinite(stars))
    assert np.unique(stars).size > 1  # resamples differ
    low, high = np.percentile(stars, [2.5, 97.5])
    assert low <= dose_response_stars(alphas, success, [0.5])[0] <= high


def trials(rows: list[tuple[float, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "dataset": "d", "label": "d", "arm": "SGD", "epsilon": math.inf, "clip": np.nan, "status": "completed",
            "alpha": [r[0] for r in rows], "seed": [r[1] for r in rows], "success": [r[2] for r in rows],
            "base_rate": 0.0, "lift": [r[2] for r in rows],
        }
    )  # fmt: skip


def test_the_table_reads_alpha_star_off_the_fit_with_one_seed_per_alpha() -> None:
    alphas = np.geomspace(0.005, 0.2, 10)
    rows = [(float(a), i % 5, float(s)) for i, (a, s) in enumerate(zip(alphas, curve(alphas), strict=True))]
    table = critical_mass_table(trials(rows), thresholds=(0.5, 0.9), n_boot=50, interpolation="logistic", lift=True)
    success = table[table["metric"] == "success"].set_index("threshold")
    assert set(table["metric"]) == {"success", "lift"} and set(table["interpolation"]) == {"logistic"}
    for threshold in (0.5, 0.9):
        row = success.loc[threshold]
        assert row["alpha_star"] == pytest.approx(truth(threshold), rel=1e-3)
        assert row["ci_low"] <= row["alpha_star"] <= row["ci_high"] and row["reached"]
        assert row["n_seeds"] == 5 and row["alphas_bootstrap"] == 10
    # the seed-mean rule on the same one-seed-per-alpha data reads the same crossing less exactly: the fit is used
    linear = interpolate_critical_mass(alphas, curve(alphas), threshold=0.9, interpolation="log")
    assert abs(linear - truth(0.9)) > abs(success.loc[0.9, "alpha_star"] - truth(0.9))


def test_the_table_says_when_nothing_can_be_fitted_and_keeps_alpha_zero_out() -> None:
    table = critical_mass_table(
        trials([(0.0, 0, 0.01), (0.02, 0, 0.0), (0.02, 1, 0.0)]), thresholds=(0.5,), n_boot=10,
        interpolation="logistic",
    )  # fmt: skip
    (row,) = table.to_dict("records")
    assert row["alpha_star"] == math.inf and not row["reached"]
    assert "nothing to fit" in row["note"] and "1 trials at alpha = 0 not in the fit" in row["note"]


def test_interpolating_a_mean_curve_refuses_logistic() -> None:
    with pytest.raises(ValueError, match="logistic"):
        interpolate_critical_mass(np.array([0.01, 0.02]), np.array([0.1, 0.9]), threshold=0.5, interpolation="logistic")


def test_a_resample_missing_the_seed_that_ran_an_end_still_reads_alpha_star_within_the_design_range() -> None:
    # one seed ran the top end; the crossing lies above every alpha the other seeds ran
    alphas = np.array([0.01, 0.03, 0.035, 0.038, 0.2])
    seeds = np.array([0, 1, 2, 3, 4])
    stars = bootstrap_dose_response(alphas, curve(alphas), seeds, [0.5], n_boot=200, rng=np.random.default_rng(0))
    assert np.all(np.isfinite(stars))  # resamples without seed 4 (about a third) still reach S* at 0.04 < 0.2


def test_a_dose_response_sweep_draws_every_trial_and_each_arms_fitted_curve() -> None:
    alphas = np.geomspace(0.005, 0.2, 10)
    frame = trials([(float(a), i % 5, float(s)) for i, (a, s) in enumerate(zip(alphas, curve(alphas), strict=True))])
    frame["test_accuracy"], frame["key"] = 0.9, [f"k{i}" for i in range(len(frame))]
    tables = compute_tables(frame, lira_rows=None, thresholds=(0.5,), n_boot=10, interpolation="logistic")
    names = [figure.name for figure in sweep_figures(frame, tables, None, interpolation="logistic")]
    assert any(name.startswith("success_curves") for name in names)

    fit = fit_logistic(alphas, curve(alphas))
    assert fit is not None
    figure = plot_success_curves(tables["success_curves"], title="t", fits={"SGD": fit})
    lines = {line.get_label(): line for line in figure.axes[0].get_lines()}
    x, y = (np.asarray(v, dtype=float) for v in lines["SGD (logistic fit)"].get_data())
    assert x.min() == pytest.approx(0.005) and x.max() == pytest.approx(0.2)
    assert np.allclose(y, curve(x), atol=1e-3)  # the line is the fitted curve, here the true one
    points = [line for line in figure.axes[0].get_lines() if line.get_linestyle() == "None"]
    assert points and len(points[0].get_xdata()) == 10  # every trial's alpha as a point


def test_one_seed_gives_a_zero_width_ci_and_says_so() -> None:
    alphas = np.geomspace(0.005, 0.2, 6)
    rows = [(float(a), 0, float(v)) for a, v in zip(alphas, curve(alphas), strict=True)]
    table = critical_mass_table(trials(rows), thresholds=(0.5,), n_boot=20, interpolation="logistic")
    (row,) = table.to_dict("records")
    assert row["ci_low"] == row["ci_high"] == row["alpha_star"] and "1 seed: CI has zero width" in row["note"]
