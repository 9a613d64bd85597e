"""alpha*(S*): hand-computed curves, the bootstrap, and the per-group table on partial sweeps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acadp.reduce.critical_mass import (
    BootstrapCI,
    bootstrap_critical_mass,
    critical_mass_table,
    first_crossing,
    interpolate_critical_mass,
    is_log_spaced,
    percentile_interval,
    resolve_interpolation,
)

from .builders import curve_frame

ALPHAS = np.array([0.01, 0.02, 0.05, 0.1])


@pytest.mark.parametrize(
    ("curve", "threshold", "expected"),
    [
        # monotone: crosses 0.9 between 0.05 (0.8) and 0.1 (1.0) at a quarter... (0.9-0.8)/(1.0-0.8) = 0.5 of the step
        ([0.1, 0.4, 0.8, 1.0], 0.9, 0.05 + 0.5 * 0.05),
        # monotone, S* = 0.5: between 0.02 (0.4) and 0.05 (0.8): 0.02 + 0.25 * 0.03
        ([0.1, 0.4, 0.8, 1.0], 0.5, 0.02 + 0.25 * 0.03),
        # reaching exactly at a grid point: alpha* is that grid alpha
        ([0.1, 0.4, 0.9, 1.0], 0.9, 0.05),
        # reaching at the first alpha: alpha* is the first alpha
        ([0.95, 0.97, 0.99, 1.0], 0.9, 0.01),
        # non-monotone: the first crossing counts, the later dip does not move alpha*
        ([0.2, 0.95, 0.5, 1.0], 0.9, 0.01 + (0.7 / 0.75) * 0.01),
    ],
)
def test_interpolate_critical_mass_hand_computed(curve: list[float], threshold: float, expected: float) -> None:
    assert interpolate_critical_mass(ALPHAS, np.array(curve), threshold=threshold) == pytest.approx(expected)


@pytest.mark.parametrize("curve", [[0.3, 0.3, 0.3, 0.3], [0.1, 0.5, 0.85, 0.89]])
def test_never_reaching_is_inf_not_nan(curve: list[float]) -> None:
    alpha_star = interpolate_critical_mass(ALPHAS, np.array(curve), threshold=0.9)
    assert alpha_star == math.inf


def test_flat_curve_at_threshold_reaches_at_first_alpha() -> None:
    assert interpolate_critical_mass(ALPHAS, np.full(4, 0.9), threshold=0.9) == 0.01


def test_seed_mean_equal_to_threshold_up_to_rounding_reaches() -> None:
    seeds = np.array([[0.1, 0.9], [0.1, 0.9], [0.1, 0.9]])
    mean = (seeds * (1 / 3)).sum(axis=0)  # 0.8999999999999999: a float miss of exactly 0.9
    assert interpolate_critical_mass(np.array([0.1, 0.2]), mean, threshold=0.9) == pytest.approx(0.2)


def test_empty_grid_is_not_reached() -> None:
    assert interpolate_critical_mass(np.empty(0), np.empty(0), threshold=0.5) == math.inf


@pytest.mark.parametrize(
    ("alphas", "curve"),
    [
        ([0.02, 0.01], [0.1, 0.2]),  # unsorted
        ([0.01, 0.01], [0.1, 0.2]),  # duplicate alpha
        ([0.01, 0.02], [0.1, math.nan]),  # missing value: caller must drop it
        ([0.01, 0.02, 0.03], [0.1, 0.2]),  # length mismatch
    ],
)
def test_invalid_curves_are_refused(alphas: list[float], curve: list[float]) -> None:
    with pytest.raises(ValueError):
        interpolate_critical_mass(np.array(alphas), np.array(curve), threshold=0.5)


@given(
    curve=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12),
    threshold=st.floats(0.0, 1.0),
)
@settings(max_examples=200, deadline=None)
def test_alpha_star_lies_on_the_grid_span_and_matches_a_loop(curve: list[float], threshold: float) -> None:
    alphas = np.linspace(0.01, 0.3, len(curve))
    alpha_star = interpolate_critical_mass(alphas, np.array(curve), threshold=threshold)
    first = next((i for i, value in enumerate(curve) if value >= threshold - 1e-12), None)
    if first is None:
        assert alpha_star == math.inf
    elif first == 0:
        assert alpha_star == alphas[0]
    else:
        assert alphas[first - 1] <= alpha_star <= alphas[first]


def test_first_crossing_vectorised_equals_scalar() -> None:
    rng = np.random.default_rng(3)
    curves = np.sort(rng.uniform(0, 1, size=(50, 4)), axis=1)
    stars = first_crossing(ALPHAS, curves, 0.6)
    expected = [interpolate_critical_mass(ALPHAS, row, threshold=0.6) for row in curves]
    np.testing.assert_allclose(stars, expected)


def test_bootstrap_degenerate_with_identical_seeds() -> None:
    success = np.tile([0.1, 0.4, 0.8, 1.0], (5, 1))
    ci = bootstrap_critical_mass(success, ALPHAS, threshold=0.9, n_boot=200, seed=0)
    assert ci.low == pytest.approx(0.075) and ci.high == pytest.approx(0.075)
    assert ci.frac_reached == 1.0 and ci.n_boot == 200


def test_bootstrap_interval_contains_point_estimate() -> None:
    rng = np.random.default_rng(0)
    success = np.clip(np.array([0.1, 0.4, 0.8, 1.0]) + rng.normal(0, 0.05, size=(8, 4)), 0, 1)
    point = interpolate_critical_mass(ALPHAS, success.mean(axis=0), threshold=0.6)
    ci = bootstrap_critical_mass(success, ALPHAS, threshold=0.6, n_boot=2000, seed=1)
    assert ci.low < point < ci.high
    assert ci.frac_reached == 1.0


def test_bootstrap_upper_bound_not_reached_when_some_resamples_miss() -> None:
    # two seeds reach 0.9 (at 0.05), two never do; a resample's mean reaches 0.9 only at the last alpha and only with
    # >= 3 draws of reaching seeds: P(Binomial(4, 1/2) >= 3) = 5/16
    success = np.array([[0.1, 0.5, 0.9, 1.0], [0.1, 0.5, 0.9, 1.0], [0.1, 0.3, 0.5, 0.6], [0.1, 0.3, 0.5, 0.6]])
    ci = bootstrap_critical_mass(success, ALPHAS, threshold=0.9, n_boot=1000, seed=0)
    assert math.isfinite(ci.low)
    assert ci.high == math.inf
    assert ci.frac_reached == pytest.approx(5 / 16, abs=0.05)
    assert interpolate_critical_mass(ALPHAS, success.mean(axis=0), threshold=0.9) == math.inf


def test_bootstrap_is_seed_deterministic() -> None:
    success = np.random.default_rng(2).uniform(0, 1, size=(6, 4)).cumsum(axis=1) / 3
    first = bootstrap_critical_mass(success, ALPHAS, threshold=0.5, n_boot=300, seed=7)
    again = bootstrap_critical_mass(success, ALPHAS, threshold=0.5, n_boot=300, seed=7)
    assert first == again
    assert isinstance(first, BootstrapCI)


def test_bootstrap_refuses_missing_values_and_bad_n_boot() -> None:
    with pytest.raises(ValueError, match="finite"):
        bootstrap_critical_mass(np.array([[0.1, math.nan]]), ALPHAS[:2], threshold=0.5)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_critical_mass(np.array([[0.1, 0.2]]), ALPHAS[:2], threshold=0.5, n_boot=0)


def test_percentile_interval_matches_numpy_when_finite_and_handles_inf() -> None:
    values = np.random.default_rng(0).normal(size=101)
    assert percentile_interval(values) == pytest.approx(tuple(np.percentile(values, [2.5, 97.5])))
    with_inf = np.concatenate([np.linspace(0, 1, 90), np.full(10, math.inf)])
    low, high = percentile_interval(with_inf)
    assert math.isfinite(low) and high == math.inf


# ------------------------------------------------------------------------------------------------------- the table


def test_table_one_seed_gives_zero_width_interval_and_says_so() -> None:
    frame = curve_frame({(0.01, 0): 0.2, (0.02, 0): 0.6, (0.05, 0): 1.0})
    row = critical_mass_table(frame, thresholds=(0.5,), n_boot=50, interpolation="linear").iloc[0]
    assert row["alpha_star"] == pytest.approx(0.01 + 0.75 * 0.01)
    assert row["ci_low"] == row["ci_high"] == pytest.approx(row["alpha_star"])
    assert row["n_seeds"] == 1 and "1 seed" in row["note"]


def test_table_not_reached_is_explicit() -> None:
    frame = curve_frame({(a, s): 0.3 for a in (0.01, 0.02) for s in (0, 1)})
    row = critical_mass_table(frame, thresholds=(0.9,), n_boot=50).iloc[0]
    assert row["alpha_star"] == math.inf and not row["reached"]
    assert row["ci_low"] == math.inf and row["ci_high"] == math.inf and row["frac_reached"] == 0.0


def test_table_partial_sweep_uses_available_seeds_for_point_and_complete_alphas_for_ci() -> None:
    values = {(0.01, 0): 0.2, (0.01, 1): 0.4, (0.02, 0): 0.8, (0.02, 1): math.nan, (0.05, 0): 1.0, (0.05, 1): 0.9}
    row = critical_mass_table(curve_frame(values), thresholds=(0.5,), n_boot=200, interpolation="linear").iloc[0]
    # point estimate on the means (0.3, 0.8, 0.95): crossing 0.5 between 0.01 and 0.02 at 0.4 of the step
    assert row["alpha_star"] == pytest.approx(0.014)
    # the bootstrap sees only alphas 0.01 and 0.05 (seed 1 is missing at 0.02)
    assert row["alphas_available"] == 3 and row["alphas_bootstrap"] == 2 and row["alphas_total"] == 3
    assert "CI on 2 of 3 alphas" in row["note"]
    assert 0.01 < row["ci_low"] <= row["ci_high"] < 0.05


def test_table_group_without_completed_trials_is_reported_not_dropped() -> None:
    pending = curve_frame({(0.01, 0): math.nan, (0.02, 0): math.nan}, epsilon=1.0)
    done = curve_frame({(0.01, 0): 0.2, (0.02, 0): 0.9}, epsilon=math.inf, clip=math.nan)
    import pandas as pd

    table = critical_mass_table(pd.concat([pending, done], ignore_index=True), thresholds=(0.5, 0.9), n_boot=20)
    assert list(table["epsilon"]) == [1.0, 1.0, math.inf, math.inf]
    empty = table[table["epsilon"] == 1.0]
    assert empty["note"].eq("no completed trials").all() and (~empty["reached"]).all()
    assert empty["n_seeds"].eq(0).all()
    assert table["clip"].isna().tolist() == [False, False, True, True]


def test_table_ci_of_a_group_does_not_depend_on_other_groups() -> None:
    import pandas as pd

    rng = np.random.default_rng(0)
    group = curve_frame({(a, s): float(rng.uniform(0, 1)) for a in (0.01, 0.02, 0.05) for s in range(4)})
    other = curve_frame({(0.01, 0): 0.5}, epsilon=2.0)
    alone = critical_mass_table(group, n_boot=100)
    together = critical_mass_table(pd.concat([other, group], ignore_index=True), n_boot=100)
    np.testing.assert_array_equal(
        alone[["ci_low", "ci_high"]], together[together["epsilon"] == 8.0][["ci_low", "ci_high"]]
    )


def test_table_refuses_bad_thresholds() -> None:
    with pytest.raises(ValueError, match="thresholds"):
        critical_mass_table(curve_frame({(0.01, 0): 0.5}), thresholds=(1.5,))


# ------------------------------------------------------------------------------------------ log-alpha interpolation


def test_log_interpolation_hand_computed() -> None:
    # crossing 0.5 between 0.02 (0.4) and 0.04 (0.8) at f = 0.25 of the step in log alpha: 0.02 * 2**0.25
    alphas, curve = np.array([0.01, 0.02, 0.04]), np.array([0.2, 0.4, 0.8])
    expected = math.exp(math.log(0.02) + 0.25 * (math.log(0.04) - math.log(0.02)))
    assert expected == pytest.approx(0.02 * 2**0.25)
    assert interpolate_critical_mass(alphas, curve, threshold=0.5, interpolation="log") == pytest.approx(expected)
    assert interpolate_critical_mass(alphas, curve, threshold=0.5, interpolation="auto") == pytest.approx(expected)
    linear = interpolate_critical_mass(alphas, curve, threshold=0.5, interpolation="linear")
    assert linear == pytest.approx(0.025)


def test_log_interpolation_never_takes_the_log_of_zero() -> None:
    # crossing between alpha = 0 (0.0) and 0.01 (1.0): linear even in log mode
    alphas, curve = np.array([0.0, 0.01, 0.02, 0.04]), np.array([0.0, 1.0, 1.0, 1.0])
    assert interpolate_critical_mass(alphas, curve, threshold=0.5, interpolation="log") == pytest.approx(0.005)


@pytest.mark.parametrize(
    ("alphas", "log_spaced"),
    [
        ([0.0, 0.01, 0.02, 0.04, 0.08], True),  # doubling, with alpha = 0
        ([0.0, 0.02, 0.05, 0.1, 0.2], True),  # 1-2-5
        ([0.1, 0.2, 0.3, 0.4], False),  # evenly spaced
        ([0.0, 0.01, 0.02], False),  # two positive alphas: undecidable, linear
    ],
)
def test_auto_interpolation_detects_log_spaced_grids(alphas: list[float], log_spaced: bool) -> None:
    assert is_log_spaced(np.array(alphas)) is log_spaced
    assert resolve_interpolation("auto", np.array(alphas)) == ("log" if log_spaced else "linear")


def test_table_reports_interpolation_and_lift_rows() -> None:
    frame = curve_frame({(a, s): v for a, v in ((0.01, 0.2), (0.02, 0.4), (0.04, 0.8)) for s in (0, 1)})
    frame["lift"] = frame["success"] - 0.1
    table = critical_mass_table(frame, thresholds=(0.5,), n_boot=50, lift=True)
    assert table["metric"].tolist() == ["success", "lift"] and table["interpolation"].eq("log").all()
    assert table["alpha_star"].tolist() == pytest.approx([0.02 * 2**0.25, 0.02 * 2**0.5])
    no_lift = critical_mass_table(frame, thresholds=(0.5,), n_boot=50, interpolation="linear")
    assert no_lift["metric"].tolist() == ["success"] and no_lift["alpha_star"].tolist() == pytest.approx([0.025])
