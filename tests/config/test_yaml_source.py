"""Sweep files that say what cannot be meant: a key given twice, and training keys that change no trial of the grid.

Each is refused in one line naming the key and the line it is on (the line numbers here are found in the text, not
typed in)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from acadp.config.sweep import load_spec
from acadp.config.yaml_source import read_yaml
from acadp.errors import SpecError

QUICKSTART = Path(__file__).resolve().parents[2] / "sweeps" / "quickstart.yaml"


def line_of(text: str, needle: str, *, start: int = 1) -> int:
    """The 1-based number of the first line at or after ``start`` that contains ``needle``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if number >= start and needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the text")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def refusal(path: Path) -> str:
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    return message


def test_a_second_seed_in_the_quickstart_grid_is_refused_instead_of_shrinking_the_grid(tmp_path: Path) -> None:
    original = QUICKSTART.read_text()
    assert len(load_spec(QUICKSTART).trial_configs()) == 160
    text = original.replace("  seed: [0, 1, 2, 3, 4]\n", "  seed: [0, 1, 2, 3, 4]\n  seed: [0]\n", 1)
    path = tmp_path / "quickstart.yaml"
    path.write_text(text)
    first = line_of(text, "  seed: [0, 1, 2, 3, 4]")
    message = refusal(path)
    assert f"line {first + 1}: grid.seed is given twice (first on line {first})" in message


def test_a_key_given_twice_in_a_flow_mapping_is_refused_with_its_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        name: twice
        datasets:
          mnist5k:
            training: {lr: 1.0, epochs: 2, lr: 0.5}
        grid: {alpha: [0.0, 0.1], epsilon: [inf]}
        """,
    )
    line = line_of(path.read_text(), "training:")
    assert f"line {line}: datasets.mnist5k.training.lr is given twice (first on line {line})" in refusal(path)


def test_equal_keys_in_different_mappings_and_overridden_merged_keys_are_allowed() -> None:
    text = "a: &base {k: 1, j: 2}\nb:\n  <<: *base\n  k: 3\nc: {k: 4}\n"
    source = read_yaml(text, source="x.yaml")
    assert source.data == {"a": {"k": 1, "j": 2}, "b": {"k": 3, "j": 2}, "c": {"k": 4}}
    assert source.line_of(("b", "k")) == 4 and source.line_of(("c", "k")) == 5


def test_every_key_has_its_line_and_list_items_their_index() -> None:
    text = "grid:\n  alpha: [0.1]\n  seed: [0]\nlist:\n  - name: x\n  - name: y\n    lr: 2\n"
    source = read_yaml(text, source="x.yaml")
    assert source.line_of(("grid",)) == 1 and source.line_of(("grid", "seed")) == 3
    assert source.line_of(("list", 1, "lr")) == 7 and source.line_of(("list", 0, "lr")) is None
    assert read_yaml("", source="empty.yaml").data is None


SWEEP = """
name: effect
datasets:
  {dataset}:
    training: {{epochs: 2, {training}}}
    recipes: [{recipes}]
grid:
  alpha: [0.0, 0.1]
  epsilon: [{epsilon}]
  clip: [{clip}]
  objective: [{objective}]
  seed: [0]
"""


def sweep(
    tmp_path: Path, *, training: str, recipes: str = "", epsilon: str = "inf", clip: str = "none",
    objective: str = "erm", dataset: str = "mnist5k",
) -> Path:  # fmt: skip
    text = SWEEP.format(
        dataset=dataset, training=training, recipes=recipes, epsilon=epsilon, clip=clip, objective=objective
    )
    return write(tmp_path, text)


@pytest.mark.parametrize(
    ("training", "key", "expected"),
    [
        ("lr_scaling: normalised", "lr_scaling", "'normalised' steps clipped arms with lr / C, but no arm here clips"),
        ("gdro_eta: 0.1", "gdro_eta", "no arm here trains with objective gdro"),
        ("gdro_adjustment: 1.0", "gdro_adjustment", "no arm here trains with objective gdro"),
        ("augment: [flip], augment_shift: 3", "augment_shift", "no arm here augments with shift"),
    ],
)
def test_a_training_key_that_changes_no_trial_is_refused_with_its_line(
    tmp_path: Path, training: str, key: str, expected: str
) -> None:
    path = sweep(tmp_path, training=training)
    line = line_of(path.read_text(), "training:")
    message = refusal(path)
    assert f"{path}: line {line}: datasets.mnist5k.training.{key}: " in message and expected in message


@pytest.mark.parametrize(
    "settings",
    [
        {"training": "lr_scaling: normalised", "clip": "none, 1.0"},  # the clipped arm steps with lr / C
        {"training": "lr_scaling: normalised", "clip": "1.0", "epsilon": "8"},  # DP-SGD clips
        {"training": "augment: [flip, shift], augment_shift: 3"},
        {"training": "gdro_eta: 0.1, gdro_adjustment: 1.0", "objective": "erm, gdro", "dataset": "mnist5k_spurious"},
    ],
)
def test_the_same_keys_where_some_trial_uses_them_load(tmp_path: Path, settings: dict[str, str]) -> None:
    assert load_spec(sweep(tmp_path, **settings)).trial_configs()


def test_a_named_recipe_with_normalised_lr_is_refused_since_recipes_never_clip(tmp_path: Path) -> None:
    path = sweep(tmp_path, training="lr: 1.0", recipes="{name: fast, lr: 2.0, lr_scaling: normalised}", clip="none, 1")
    line = line_of(path.read_text(), "recipes:")
    assert f"line {line}: datasets.mnist5k.recipes[0].lr_scaling: 'normalised'" in refusal(path)


def test_every_setting_without_effect_is_named_on_the_one_line(tmp_path: Path) -> None:
    path = sweep(tmp_path, training="lr_scaling: normalised, gdro_eta: 0.1, augment_shift: 4")
    message = refusal(path)
    for key in ("lr_scaling", "gdro_eta", "augment_shift"):
        assert f"datasets.mnist5k.training.{key}: " in message
    assert message.count("; remove it") == 3
