"""Seed-aggregated curves: statistics, t-intervals, missing points and non-private (epsilon = inf, clip NaN) groups."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from acadp.reduce.collect import trials_frame
from acadp.reduce.curves import accuracy_by_epsilon, setting_keys, success_curves, t_interval

from .builders import curve_frame, make_config, make_record, synthetic_records


def test_mean_std_and_t_interval_match_a_hand_computation() -> None:
    frame = curve_frame({(0.05, 0): 0.5, (0.05, 1): 0.6, (0.05, 2): 0.7})
    row = success_curves(frame).iloc[0]
    half = stats.t.ppf(0.975, 2) * 0.1 / math.sqrt(3)
    assert row["n_seeds"] == 3 and row["n_trials"] == 3
    assert row["mean"] == pytest.approx(0.6) and row["std"] == pytest.approx(0.1)
    assert row["ci_low"] == pytest.approx(0.6 - half) and row["ci_high"] == pytest.approx(0.6 + half)


def test_one_seed_has_no_interval() -> None:
    row = success_curves(curve_frame({(0.05, 0): 0.5})).iloc[0]
    assert row["n_seeds"] == 1 and row["mean"] == 0.5
    assert math.isnan(row["std"]) and math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])


def test_interval_is_clipped_to_the_unit_range() -> None:
    interval = t_interval(np.array([0.98]), np.array([0.05]), np.array([3]))
    assert interval[0, 1] == 1.0 and 0 < interval[0, 0] < 0.98


def test_missing_points_are_kept_with_zero_seeds() -> None:
    frame = curve_frame({(0.01, 0): 0.2, (0.01, 1): 0.3, (0.02, 0): math.nan, (0.02, 1): math.nan})
    curves = success_curves(frame)
    assert curves["alpha"].tolist() == [0.01, 0.02]
    missing = curves.iloc[1]
    assert missing["n_seeds"] == 0 and missing["n_trials"] == 2 and math.isnan(missing["mean"])


def test_non_private_group_is_not_dropped_and_sorts_last() -> None:
    frame = trials_frame(synthetic_records(alphas=(0.05,), epsilons=(math.inf, 2.0), seeds=(0, 1)))
    curves = success_curves(frame)
    assert curves["epsilon"].tolist() == [2.0, math.inf]
    assert curves["clip"].tolist()[0] == 1.0 and math.isnan(curves["clip"].tolist()[1])
    assert curves["n_seeds"].tolist() == [2, 2]


def test_failed_trials_are_counted_but_not_averaged() -> None:
    statuses = {0: "completed", 1: "failed", 2: "running"}
    frame = trials_frame(synthetic_records(alphas=(0.1,), epsilons=(4.0,), status_of=lambda a, e, s: statuses[s]))
    row = success_curves(frame).iloc[0]
    assert (row["n_trials"], row["n_seeds"], row["n_failed"]) == (3, 1, 1)


def test_accuracy_is_summarised_like_success() -> None:
    frame = trials_frame(synthetic_records(alphas=(0.0, 0.1), epsilons=(1.0,), seeds=(0, 1)))
    accuracy = accuracy_by_epsilon(frame)
    assert accuracy["mean"].tolist() == pytest.approx([0.95, 0.95])
    assert accuracy["n_seeds"].tolist() == [2, 2]


def test_zero_completed_trials_give_all_missing_curves() -> None:
    frame = trials_frame(synthetic_records(status_of=lambda a, e, s: "pending"))
    curves = success_curves(frame)
    assert len(curves) == 15 and curves["n_seeds"].eq(0).all() and curves["mean"].isna().all()
    assert success_curves(frame.iloc[:0]).empty


def test_a_varying_config_field_splits_settings_instead_of_averaging() -> None:
    records = [
        make_record(make_config(alpha=0.1, epsilon=4.0, seed=0, strategy=strategy), success=value)
        for strategy, value in (("feature_label", 0.9), ("feature_only", 0.1))
    ]
    frame = trials_frame(records)
    assert setting_keys(frame) == ["dataset", "strategy"]
    curves = success_curves(frame)
    assert curves["mean"].tolist() == [0.9, 0.1] and curves["strategy"].tolist() == ["feature_label", "feature_only"]
    assert setting_keys(pd.concat([frame.iloc[:1]] * 2)) == ["dataset"]
