"""alpha* of every seed: first crossing on its own curve, the common-slope logistic fit, collapse at the crossing."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from acadp.reduce.critical_mass import critical_mass_table
from acadp.reduce.seed_alpha import fit_common_slope, seed_alpha_table, trial_collapse

NAN = math.nan


def arm_frame(
    success: dict[int, list[float]],
    *,
    alphas: tuple[float, ...] = (0.0, 0.01, 0.02, 0.04),
    accuracy: dict[tuple[int, float], float] | None = None,
    epsilon: float = 2.0,
    clip: float = 1.0,
) -> pd.DataFrame:
    """A trials table of one arm: {seed: S per alpha} (NaN = pending); test accuracy 0.9 unless ``accuracy`` says."""
    rows = []
    for seed, values in success.items():
        for alpha, value in zip(alphas, values, strict=True):
            done = not math.isnan(value)
            rows.append({
                "dataset": "toy", "epsilon": epsilon, "clip": clip, "alpha": alpha, "seed": seed,
                "status": "completed" if done else "pending", "success": value,
                "test_accuracy": (accuracy or {}).get((seed, alpha), 0.9) if done else NAN,
                "base_rate": 0.0 if done else NAN,
            })  # fmt: skip
    return pd.DataFrame(rows)


CURVES = {
    0: [0.0, 0.2, 0.6, 0.9],  # S* = 0.5 between 0.01 and 0.02 (f = 0.75); S* = 0.9 exactly at 0.04
    1: [0.0, 0.5, 0.7, 0.8],  # S* = 0.5 reached at 0.01 (from alpha = 0: linear); 0.9 never
    2: [NAN, NAN, NAN, NAN],  # nothing completed
    3: [0.0, 0.2, NAN, 0.9],  # 0.02 missing: S* = 0.5 between 0.01 and 0.04 (f = 3/7)
}


def stars(table: pd.DataFrame, threshold: float) -> list[float]:
    return table[table["threshold"] == threshold].sort_values("seed")["alpha_star"].tolist()


@pytest.mark.parametrize(
    ("interpolation", "expected_half", "method"),
    [
        ("linear", [0.0175, 0.01, NAN, 0.01 + 3 / 7 * 0.03], "first crossing (linear)"),
        ("auto", [0.01 * 2**0.75, 0.01, NAN, 0.01 * 4 ** (3 / 7)], "first crossing (log)"),  # 0.01, 0.02, 0.04: log
    ],
)
def test_each_seed_is_read_off_its_own_curve(interpolation: str, expected_half: list[float], method: str) -> None:
    table = seed_alpha_table(arm_frame(CURVES), thresholds=(0.5, 0.9), interpolation=interpolation)  # type: ignore[arg-type]
    assert stars(table, 0.5) == pytest.approx(expected_half, nan_ok=True)
    assert stars(table, 0.9) == pytest.approx([0.04, math.inf, NAN, 0.04], nan_ok=True)
    by_seed = table[table["threshold"] == 0.5].set_index("seed")
    assert by_seed.loc[2, "note"] == "no completed trial" and by_seed.loc[2, "method"] == ""
    assert by_seed.loc[3, "note"] == "1 of 4 alphas missing"
    assert set(by_seed.loc[[0, 1, 3], "method"]) == {method}
    assert by_seed["arm"].eq("DP ε=2 C=1").all() and by_seed.loc[1, "reached"]
    assert table[table["threshold"] == 0.9].set_index("seed").loc[1, "reached"] == False  # noqa: E712


def test_a_single_seed_matches_the_critical_mass_table() -> None:
    frame = arm_frame({0: CURVES[0]})
    per_seed = seed_alpha_table(frame, thresholds=(0.3, 0.5, 0.9))
    table = critical_mass_table(frame, thresholds=(0.3, 0.5, 0.9), n_boot=10)
    assert per_seed["alpha_star"].tolist() == pytest.approx(table["alpha_star"].tolist())


def test_the_crossing_trial_of_a_collapsed_model_is_flagged() -> None:
    # seed 0 reaches S* = 0.5 at alpha = 0.02 with a model at 0.5 accuracy (the arm's alpha = 0 accuracy is 0.9)
    frame = arm_frame({0: CURVES[0], 1: CURVES[1]}, accuracy={(0, 0.02): 0.5})
    table = seed_alpha_table(frame, thresholds=(0.5, 0.9)).set_index(["seed", "threshold"])
    assert table.loc[(0, 0.5), "crossing_alpha"] == 0.02 and table.loc[(0, 0.5), "collapsed"]
    assert table.loc[(0, 0.9), "crossing_alpha"] == 0.04 and not table.loc[(0, 0.9), "collapsed"]
    assert table.loc[(1, 0.5), "crossing_alpha"] == 0.01 and not table.loc[(1, 0.5), "collapsed"]
    assert math.isnan(table.loc[(1, 0.9), "crossing_alpha"]) and not table.loc[(1, 0.9), "collapsed"]


def test_one_seed_collapsing_is_flagged_even_when_the_seed_mean_is_not() -> None:
    # five seeds; seed 4 drops to 0.75 at alpha = 0.02 (0.15 below 0.9): the seed mean drops only 0.03
    frame = arm_frame({s: CURVES[0] for s in range(5)}, accuracy={(4, 0.02): 0.75})
    flags = trial_collapse(frame, thresholds=(0.5,))
    collapsed = frame[flags.to_numpy()]
    assert collapsed[["seed", "alpha"]].values.tolist() == [[4, 0.02]]
    base_rate = frame.assign(base_rate=np.where(frame["alpha"] == 0.04, 0.6, 0.0))  # the model's default answer
    assert trial_collapse(base_rate, thresholds=(0.5, 0.9))[frame["alpha"] == 0.04].all()


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


SLOPE = 3.0
MIDPOINTS = {0: 0.02, 1: 0.03, 2: 0.05}  # alpha*(0.5) of each seed


def logistic_frame() -> pd.DataFrame:
    """Each seed runs a few alphas of its own in [0.005, 0.2] with S exactly on its logistic curve."""
    runs = {0: (0.005, 0.01, 0.04), 1: (0.01, 0.02, 0.08, 0.2), 2: (0.03, 0.2)}
    rows = []
    for seed, alphas in runs.items():
        for alpha in alphas:
            s = float(sigmoid(SLOPE * (np.log(alpha) - np.log(MIDPOINTS[seed]))))
            rows.append({"dataset": "toy", "epsilon": 2.0, "clip": 1.0, "alpha": alpha, "seed": seed,
                         "status": "completed", "success": s, "test_accuracy": 0.9, "base_rate": 0.0})  # fmt: skip
    rows.append({"dataset": "toy", "epsilon": 2.0, "clip": 1.0, "alpha": 0.0, "seed": 3, "status": "completed",
                 "success": 0.0, "test_accuracy": 0.9, "base_rate": 0.0})  # fmt: skip
    return pd.DataFrame(rows)


def test_the_common_slope_fit_recovers_each_seeds_curve() -> None:
    frame = logistic_frame()
    fit = fit_common_slope(*(frame[c].to_numpy() for c in ("alpha", "success", "seed")))
    assert fit is not None and fit.slope == pytest.approx(SLOPE, rel=1e-3)
    assert (fit.alpha_min, fit.alpha_max) == (0.005, 0.2)
    for seed, midpoint in MIDPOINTS.items():
        assert fit.intercepts[seed] == pytest.approx(-SLOPE * np.log(midpoint), rel=1e-3)


def test_logistic_alpha_star_per_seed_without_extrapolation() -> None:
    table = seed_alpha_table(logistic_frame(), thresholds=(0.01, 0.5, 0.9, 0.99), interpolation="logistic")
    logit = {t: math.log(t / (1 - t)) for t in (0.01, 0.5, 0.9, 0.99)}
    for seed, midpoint in MIDPOINTS.items():
        rows = table[table["seed"] == seed].set_index("threshold")
        expected = {t: midpoint * math.exp(logit[t] / SLOPE) for t in logit}
        for threshold, on_curve in expected.items():
            value = on_curve
            if on_curve > 0.2:
                value = math.inf  # beyond the largest alpha the arm ran: not reached
            elif on_curve < 0.005:
                value = 0.005  # below the smallest: reached there already
            assert rows.loc[threshold, "alpha_star"] == pytest.approx(value, rel=2e-3), (seed, threshold)
        assert rows["method"].eq("logistic (common slope)").all()
    assert table[table["seed"] == 2].set_index("threshold").loc[0.99, "alpha_star"] == math.inf
    assert table[table["seed"] == 0].set_index("threshold").loc[0.01, "alpha_star"] == 0.005
    only_zero = table[table["seed"] == 3]
    assert only_zero["alpha_star"].isna().all() and only_zero["note"].eq("no completed trial at α > 0").all()


def test_without_an_increasing_fit_a_seed_is_read_at_its_smallest_alpha() -> None:
    falling = arm_frame({0: [NAN, 0.9, 0.8, 0.7], 1: [NAN, 0.4, 0.3, 0.2]})
    table = seed_alpha_table(falling, thresholds=(0.5,), interpolation="logistic").set_index("seed")
    assert table["method"].eq("logistic: no increasing fit").all()
    assert table.loc[0, "alpha_star"] == 0.01 and table.loc[1, "alpha_star"] == math.inf
