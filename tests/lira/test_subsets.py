"""Member subsets of a LiRA audit: all, collective, non-collective and the α = 0 placebo."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from acadp.collective import plant_collective
from acadp.config.lira import AuditConfig, LiraSettings
from acadp.config.options import TrialOptions, build_trial_config
from acadp.lira.subsets import member_subsets, placebo_members
from acadp.trial.data import prepare_trial_data

POOL = 200


def _audit(*, alpha: float, seed: int, placebo_alpha: float | None) -> AuditConfig:
    trial = build_trial_config(
        TrialOptions(dataset="mnist5k", alpha=alpha, epsilon=math.inf, seed=seed, n_train=POOL, n_test=50)
    )
    return AuditConfig(trial=trial, lira=LiraSettings(shadows=4, pool=POOL, placebo_alpha=placebo_alpha))


@pytest.mark.parametrize(("seed", "placebo_alpha"), [(0, 0.1), (3, 0.1), (3, 0.25)])
def test_placebo_is_the_collective_the_same_seed_draws_at_that_alpha(seed: int, placebo_alpha: float) -> None:
    placebo = placebo_members(_audit(alpha=0.0, seed=seed, placebo_alpha=placebo_alpha), n_pool=POOL)
    assert placebo is not None and placebo.dtype == np.bool_
    # the trial at that α, through the data stage the audits use (same pool, same seed)
    drawn = prepare_trial_data(_audit(alpha=placebo_alpha, seed=seed, placebo_alpha=None).trial).planted
    np.testing.assert_array_equal(placebo, drawn.members)
    assert placebo.sum() == round(placebo_alpha * POOL)
    # and the α = 0 pool leaves those examples as they are, where the α > 0 trial planted its signal on them
    pool = prepare_trial_data(_audit(alpha=0.0, seed=seed, placebo_alpha=placebo_alpha).trial).planted
    assert not pool.members.any()
    assert not np.array_equal(pool.x[placebo], drawn.x[placebo])
    np.testing.assert_array_equal(pool.x[~placebo], drawn.x[~placebo])


def test_placebo_matches_plant_collective_directly() -> None:
    y = np.arange(POOL) % 10
    x = np.zeros((POOL, 1, 28, 28), dtype=np.float32)
    trial = _audit(alpha=0.1, seed=5, placebo_alpha=None).trial
    planted = plant_collective(
        x=x, y=y, alpha=0.1, seed=5, strategy=trial.strategy, signal=trial.signal, target_class=trial.target_class
    )
    placebo = placebo_members(_audit(alpha=0.0, seed=5, placebo_alpha=0.1), n_pool=POOL)
    np.testing.assert_array_equal(placebo, planted.members)


def test_no_placebo_at_a_positive_alpha_or_without_a_placebo_alpha() -> None:
    assert placebo_members(_audit(alpha=0.1, seed=0, placebo_alpha=0.1), n_pool=POOL) is None
    assert placebo_members(_audit(alpha=0.0, seed=0, placebo_alpha=None), n_pool=POOL) is None


@pytest.mark.parametrize("value", [0.0, 1.0, -0.1, 1.5])
def test_placebo_alpha_must_lie_strictly_between_zero_and_one(value: float) -> None:
    with pytest.raises(ValidationError, match="placebo_alpha"):
        LiraSettings(placebo_alpha=value)
    assert LiraSettings().placebo_alpha is None


def test_the_scoring_settings_include_the_placebo_but_not_the_resources() -> None:
    base = LiraSettings()
    assert base.scoring() != LiraSettings(placebo_alpha=0.1).scoring()
    assert base.scoring() != LiraSettings(confidence=0.99).scoring()
    assert base.scoring() == LiraSettings(concurrent_shadows=8).scoring()


def test_member_subsets_in_table_order_without_empty_ones() -> None:
    collective = np.array([True, False, False, True])
    placebo = np.array([False, True, False, False])
    subsets = member_subsets(collective, placebo)
    assert list(subsets) == ["all", "collective", "non_collective", "placebo"]
    np.testing.assert_array_equal(subsets["non_collective"], ~collective)
    np.testing.assert_array_equal(subsets["placebo"], placebo)
    at_zero = member_subsets(np.zeros(4, dtype=bool))
    assert list(at_zero) == ["all", "non_collective"]
    with pytest.raises(ValueError, match="placebo"):
        member_subsets(collective, np.array([1, 0, 0, 0]))
