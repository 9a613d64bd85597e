"""Arms: columns, ordering, named recipes as arms (not settings), base rate and lift, and the collapse flag."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from acadp.reduce.collect import coerce_trials_frame, trials_frame
from acadp.reduce.curves import COLLAPSE_MARGIN, accuracy_by_epsilon, setting_keys, success_curves

from .builders import curve_frame, make_config, make_record

TUNED = {"epochs": 3, "batch_size": 128, "lr": 0.05, "sampling": "shuffle"}


def arm_records(alpha: float = 0.1) -> list:
    """One record per arm kind, deliberately out of order."""
    configs = [
        make_config(alpha=alpha, epsilon=math.inf, seed=0, recipe="tuned", training=TUNED),
        make_config(alpha=alpha, epsilon=math.inf, seed=0),
        make_config(alpha=alpha, epsilon=math.inf, seed=0, clip=1.0),
        make_config(alpha=alpha, epsilon=8.0, seed=0, clip=1.0),
        make_config(alpha=alpha, epsilon=1.0, seed=0, clip=2.0),
        make_config(alpha=alpha, epsilon=1.0, seed=0, clip=1.0),
        make_config(alpha=alpha, epsilon=math.inf, seed=0, clip=0.5),
    ]
    return [make_record(config, success=0.5) for config in configs]


def test_new_columns_are_collected() -> None:
    frame = trials_frame(arm_records())
    tuned = frame[frame["recipe"] == "tuned"].iloc[0]
    assert tuned["arm"] == "SGD [tuned]" and tuned["training_sampling"] == "shuffle"
    dp = frame[frame["arm"] == "DP ε=8 C=1"].iloc[0]
    assert dp["recipe"] == "" and dp["arm_kind"] == "dpsgd" and dp["training_sampling"] == "poisson"
    assert dp["base_rate"] == pytest.approx(0.05) and dp["lift"] == pytest.approx(0.45)
    assert dp["clipped_fraction"] == pytest.approx(0.4)
    assert math.isnan(frame[frame["arm"] == "SGD"].iloc[0]["clipped_fraction"])  # no clipping


def test_old_store_without_the_new_columns_stays_readable() -> None:
    frame = trials_frame(arm_records())
    shared = frame[frame["recipe"] == ""]  # an old store has no named recipes
    old = shared.drop(columns=["arm", "recipe", "base_rate", "lift", "clipped_fraction", "training_sampling",
                               "training_lr_scaling"])  # fmt: skip
    back = coerce_trials_frame(old)
    assert back["recipe"].eq("").all() and back["training_sampling"].eq("poisson").all()
    assert back["base_rate"].isna().all() and back["lift"].isna().all()
    assert set(back["arm"]) == {"SGD", "clip C=1", "DP ε=8 C=1", "DP ε=1 C=2", "DP ε=1 C=1", "clip C=0.5"}
    curves = success_curves(back)
    assert curves["base_rate_mean"].isna().all() and len(curves) == 6


def test_arms_sort_strongest_privacy_first() -> None:
    curves = success_curves(trials_frame(arm_records()))
    assert curves["arm"].tolist() == [
        "DP ε=1 C=1", "DP ε=1 C=2", "DP ε=8 C=1", "clip C=0.5", "clip C=1", "SGD", "SGD [tuned]",
    ]  # fmt: skip


def test_tuned_recipe_is_an_arm_not_a_setting() -> None:
    frame = trials_frame(arm_records())
    assert setting_keys(frame) == ["dataset"]
    curves = success_curves(frame)
    assert len(curves) == 7 and curves["n_seeds"].eq(1).all()


def test_a_varying_shared_recipe_field_still_splits_settings() -> None:
    records = [
        *arm_records(),
        make_record(make_config(alpha=0.1, epsilon=8.0, seed=0, strategy="feature_only"), success=0.1),
    ]
    assert setting_keys(trials_frame(records)) == ["dataset", "strategy"]


def test_base_rate_and_lift_are_summarised_like_success() -> None:
    records = [
        make_record(make_config(alpha=0.1, epsilon=8.0, seed=seed), success=s, base_rate=b)
        for seed, (s, b) in enumerate(((0.6, 0.1), (0.8, 0.2), (0.7, 0.0)))
    ]
    row = success_curves(trials_frame(records)).iloc[0]
    assert row["base_rate_mean"] == pytest.approx(0.1) and row["base_rate_std"] == pytest.approx(0.1)
    assert row["lift_mean"] == pytest.approx(0.6) and row["lift_std"] == pytest.approx(0.1)
    assert row["base_rate_ci_low"] < 0.1 < row["base_rate_ci_high"]


def _collapse_frame(accuracy_drop: float, base_rate: float) -> pd.DataFrame:
    frame = curve_frame({(a, s): 0.3 + a for a in (0.0, 0.05, 0.1) for s in (0, 1)})
    frame["base_rate"] = 0.05
    at_01 = frame["alpha"] == 0.1
    frame.loc[at_01, "test_accuracy"] = 0.9 - accuracy_drop
    frame.loc[at_01, "base_rate"] = base_rate
    return frame


@pytest.mark.parametrize(
    ("drop", "base_rate", "expected"),
    [
        (COLLAPSE_MARGIN + 0.05, 0.05, True),  # accuracy far below the arm's alpha = 0 accuracy
        (COLLAPSE_MARGIN - 0.05, 0.05, False),  # a small drop is not a collapse
        (0.0, 0.5, True),  # base rate reaches the smallest S* (0.5)
        (0.0, 0.49, False),
    ],
)
def test_collapse_flag(drop: float, base_rate: float, expected: bool) -> None:
    frame = _collapse_frame(drop, base_rate)
    curves = success_curves(frame, thresholds=(0.9, 0.5))
    assert curves["collapsed"].tolist() == [False, False, expected]
    assert accuracy_by_epsilon(frame, thresholds=(0.9, 0.5))["collapsed"].tolist() == [False, False, expected]


def test_collapse_flag_is_shown_in_the_tables() -> None:
    from acadp.reduce.tables import render_table

    curves = success_curves(_collapse_frame(0.5, 0.05))
    markdown = render_table("success_curves", curves).markdown
    assert "Collapsed" in markdown.splitlines()[0] and markdown.splitlines()[-1].endswith("| yes |")
