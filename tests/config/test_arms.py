"""Arms in configuration: the grid spells every arm, impossible arms are refused in one line, and a recipe reached
two ways is one trial."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest

from acadp.config.base import jsonable
from acadp.config.options import TrialOptions, build_trial_config
from acadp.config.sweep import load_spec
from acadp.errors import SpecError

GRID = """
name: arms
datasets:
  mnist5k:
    training: {epochs: 2, batch_size: 100, lr: 1.0}
    recipes: [{name: tuned}]
grid: {alpha: [0.0, 0.1], epsilon: [2, inf], clip: [none, 1.0], seed: [0]}
"""


def spec_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return path


def test_one_grid_asks_for_sgd_clipping_only_dp_and_a_named_recipe(tmp_path: Path) -> None:
    configs = load_spec(spec_file(tmp_path, GRID)).trial_configs()
    arms = sorted({config.arm for config in configs})
    assert arms == ["DP ε=2 C=1", "SGD", "SGD [tuned]", "clip C=1"]  # (2, none) is not an arm: skipped, not run
    assert len(configs) == 4 * 2
    shared = {config.training for config in configs if config.recipe is None}
    assert len(shared) == 1  # the three arms of the shared recipe differ only by clipping and noise
    tuned = next(config for config in configs if config.recipe == "tuned")
    assert tuned.training.sampling == "shuffle" and tuned.arm_kind == "sgd" and tuned.clip is None


def test_single_arms_are_named_by_their_knobs_beside_kinds(tmp_path: Path) -> None:
    text = GRID.replace(
        "grid: {alpha: [0.0, 0.1], epsilon: [2, inf], clip: [none, 1.0], seed: [0]}",
        "grid: {alpha: [0.0, 0.1], epsilon: [1, 2, 8, inf], clip: [none, 1.0, 10],\n"
        "       arms: [sgd, {epsilon: 1, clip: 1}, {epsilon: 2, clip: 10}, {epsilon: inf, clip: 10}], seed: [0]}",
    )
    arms = sorted({config.arm for config in load_spec(spec_file(tmp_path, text)).trial_configs()})
    assert arms == ["DP ε=1 C=1", "DP ε=2 C=10", "SGD", "SGD [tuned]", "clip C=10"]
    outside = text.replace("{epsilon: 2, clip: 10}", "{epsilon: 4, clip: 10}")
    with pytest.raises(SpecError, match=r"arms: \{epsilon: 4, clip: 10\} is not an arm of the grid") as error:
        load_spec(spec_file(tmp_path, outside))
    assert "\n" not in str(error.value)


def test_smoke_runs_every_arm(tmp_path: Path) -> None:
    smoke = load_spec(spec_file(tmp_path, GRID)).trial_configs(smoke=True)
    assert {config.arm for config in smoke} == {"DP ε=2 C=1", "SGD", "SGD [tuned]", "clip C=1"}


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (GRID.replace("clip: [none, 1.0]", "clip: [none]").replace("epsilon: [2, inf]", "epsilon: [2]"), "clip"),
        (GRID.replace("recipes: [{name: tuned}]", "recipes: [{name: tuned}, {name: tuned}]"), "recipes"),
        (GRID.replace("recipes: [{name: tuned}]", "recipes: [{name: tuned, lr: -1}]"), "recipes[0].lr"),
    ],
    ids=["finite-epsilon-never-clipped", "recipe-named-twice", "recipe-limits"],
)
def test_impossible_arms_are_refused_in_one_line(tmp_path: Path, text: str, field: str) -> None:
    with pytest.raises(SpecError) as error:
        load_spec(spec_file(tmp_path, text))
    message = str(error.value)
    assert "\n" not in message and field in message


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"epsilon": 8.0, "clip": None}, "clip"),
        ({"epsilon": math.inf, "clip": None, "training": {"lr_scaling": "normalised"}}, "lr_scaling"),
        ({"epsilon": 8.0, "recipe": "tuned"}, "recipe"),
        ({"epsilon": math.inf, "recipe": "nope"}, "valid recipes: tuned"),
    ],
)
def test_impossible_trial_options_are_refused(options: dict[str, object], field: str) -> None:
    with pytest.raises(SpecError, match=field):
        build_trial_config(TrialOptions(dataset="mnist5k", alpha=0.1, **options))  # type: ignore[arg-type]


def test_sgd_is_one_trial_whichever_way_it_is_reached(tmp_path: Path) -> None:
    """(inf, none) from the command line's defaults, from an explicit --clip none, and from a grid: one key."""
    by_default = build_trial_config(TrialOptions(dataset="mnist5k", alpha=0.1, epsilon=math.inf))
    explicit = build_trial_config(TrialOptions(dataset="mnist5k", alpha=0.1, epsilon=math.inf, clip=None))
    text = "name: x\ndatasets: {mnist5k: {}}\ngrid: {alpha: [0.1], epsilon: [inf], clip: [none]}\n"
    (from_grid,) = load_spec(spec_file(tmp_path, text)).trial_configs()
    assert by_default.key() == explicit.key() == from_grid.key()
    assert by_default.arm == "SGD" and by_default.arm_kind == "sgd"


def test_dp_keys_do_not_change_with_the_new_recipe_fields() -> None:
    """Fields added with the arms hold defaults that are left out of the key: an unchanged DP config keeps its key."""
    config = build_trial_config(TrialOptions(dataset="mnist5k", alpha=0.1, epsilon=8.0))
    without = config.model_dump(exclude_none=True)
    del without["training"]["sampling"], without["training"]["lr_scaling"]
    for name in ("objective", "gdro_eta", "gdro_adjustment"):  # Group-DRO fields at their defaults: not keyed
        del without["training"][name]
    for name in ("augment", "augment_shift"):  # no augmentation (the default): not keyed
        del without["training"][name]
    text = json.dumps(jsonable(without), sort_keys=True, separators=(",", ":"))
    assert config.key() == hashlib.sha256(text.encode()).hexdigest()[:16]
