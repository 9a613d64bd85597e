"""The decomposition study's three sweep files: the CNN search, its dense-grid check and the ResNet-18 file for GPU
clusters share one recipe and one grid; the ResNet file trains (smoke-tested on a few digits)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from acadp.config.sweep import load_spec
from acadp.trial.run import run_trial

SWEEPS = Path(__file__).resolve().parents[2] / "sweeps"
SEARCH, GRID, RESNET = (
    load_spec(SWEEPS / name)
    for name in ("mnist_decomposition.yaml", "mnist_decomposition_grid.yaml", "mnist_decomposition_resnet.yaml")
)


def test_the_search_asks_the_issues_arms_with_ten_seeds_and_both_thresholds() -> None:
    arms = {config.arm for config in SEARCH.trial_configs()}
    assert arms == {
        "SGD [tuned]", "SGD", "SGD [matched]", "clip C=1", "clip C=10",
        "DP ε=1 C=1", "DP ε=2 C=1", "DP ε=8 C=1", "DP ε=2 C=10",
    }  # fmt: skip
    assert len(SEARCH.grid.seed) >= 10 and SEARCH.reduce.thresholds == [0.5, 0.9] and SEARCH.accountant == "rdp"
    search = SEARCH.grid.search
    assert search is not None and search.design == "dose_response" and (search.low, search.high) == (0.0005, 0.3)
    matched = next(c for c in SEARCH.trial_configs() if c.arm == "SGD [matched]")
    shared = next(c for c in SEARCH.trial_configs() if c.arm == "SGD")
    # the matched arm is the shared recipe with a lower learning rate, nothing else
    assert matched.training.model_copy(update={"lr": shared.training.lr}) == shared.training
    assert matched.training.lr < shared.training.lr
    assert {c.signal.size for c in SEARCH.trial_configs()} == {3}  # type: ignore[union-attr]


def test_the_dense_grid_runs_two_of_the_searchs_arms_with_the_same_recipes() -> None:
    search = {config.arm: config for config in SEARCH.trial_configs()}
    grid = {config.arm: config for config in GRID.trial_configs()}
    assert set(grid) == {"SGD [tuned]", "DP ε=2 C=1"}
    for arm, config in grid.items():
        assert config.training == search[arm].training and config.signal == search[arm].signal
        assert config.model == search[arm].model and config.accountant == search[arm].accountant


def test_the_resnet_file_is_the_cnn_file_with_another_model() -> None:
    def without_model(config: object) -> object:
        return config.model_copy(update={"model": None}).key()  # type: ignore[attr-defined]

    assert {c.model.name for c in RESNET.trial_configs()} == {"resnet18_gn"}
    assert {without_model(c) for c in RESNET.trial_configs()} == {without_model(c) for c in SEARCH.trial_configs()}
    assert RESNET.grid == SEARCH.grid and RESNET.reduce == SEARCH.reduce


@pytest.mark.filterwarnings("ignore:Optimal order is the largest alpha:UserWarning")
def test_the_resnet_files_dp_arm_trains_a_few_steps(tmp_path: Path) -> None:
    smoke = max((c for c in RESNET.trial_configs(smoke=True) if c.arm == "DP ε=2 C=1"), key=lambda c: c.alpha)
    tiny = smoke.model_copy(
        update={
            "n_train": 64,
            "n_test": 64,
            "training": smoke.training.model_copy(update={"epochs": 1, "batch_size": 16}),
        }
    )
    result = run_trial(tiny, threads=1)
    assert result.steps == 4 and result.noise_multiplier > 0 and 0 < result.epsilon_spent <= 2.0 + 1e-9
    assert math.isfinite(result.test_accuracy) and result.history[0].grad_norm_members is not None
