"""``training.augment`` in configuration: off by default and then out of the key (stored results keep theirs), one
recipe whatever the order it is written in, images only, and settable from a sweep file and the command line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from acadp.config.base import jsonable
from acadp.config.options import TrialOptions, build_trial_config
from acadp.config.presets import PRESETS
from acadp.config.sweep import load_spec
from acadp.config.trial import TrialConfig
from acadp.errors import SpecError


def trial(dataset: str = "mnist5k", **training: object) -> TrialConfig:
    return build_trial_config(TrialOptions(dataset=dataset, alpha=0.1, epsilon=8.0, training=dict(training)))


def test_no_preset_augments() -> None:
    assert all(PRESETS.get(name).training.augment == () for name in PRESETS.names())
    assert trial().training.augment == ()


def test_the_key_of_an_unaugmented_trial_is_the_hash_without_the_augment_fields() -> None:
    config = trial()
    data = jsonable(config.model_dump(exclude_none=True))
    for name in ("sampling", "lr_scaling", "objective", "gdro_eta", "gdro_adjustment", "augment", "augment_shift"):
        del data["training"][name]
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    assert config.key() == hashlib.sha256(text.encode()).hexdigest()[:16]
    assert trial(augment="none").key() == trial(augment=[]).key() == trial(augment_shift=2).key() == config.key()


def test_augmentation_is_keyed_and_its_order_is_not() -> None:
    plain, flips = trial(), trial(augment=["flip"])
    assert flips.key() != plain.key()
    both = trial(augment="shift,flip")
    assert both.training.augment == ("flip", "shift")
    assert both.key() == trial(augment=["flip", "shift"]).key() != flips.key()
    assert trial(augment=["shift"], augment_shift=3).key() != trial(augment=["shift"]).key()


@pytest.mark.parametrize(
    ("augment", "message"),
    [(["flip", "flip"], "each augmentation once"), (["rotate"], "'flip' or 'shift'")],
)
def test_bad_augmentations_are_refused_naming_the_field(augment: list[str], message: str) -> None:
    with pytest.raises(SpecError, match=message) as caught:
        trial(augment=augment)
    assert "training.augment" in str(caught.value) and "\n" not in str(caught.value)


def test_augmenting_tabular_data_is_refused_in_one_line() -> None:
    with pytest.raises(SpecError) as caught:
        trial("bank", augment="flip")
    assert str(caught.value) == (
        "trial options: training.augment: [flip] augments images only, but bank is tabular data; "
        "use none (no augmentation)"
    )
    assert trial("bank", augment="none").training.augment == ()


def sweep(tmp_path: Path, datasets: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(f"name: aug\ndatasets: {datasets}\ngrid: {{alpha: [0.1], epsilon: [inf], clip: [none]}}\n")
    return path


def test_a_sweep_file_augments_one_dataset_through_its_training_overrides(tmp_path: Path) -> None:
    spec = load_spec(sweep(tmp_path, "{mnist5k: {training: {augment: [flip]}}, cifar10: {}}"))
    augments = {config.dataset: config.training.augment for config in spec.trial_configs()}
    assert augments == {"mnist5k": ("flip",), "cifar10": ()}


def test_a_sweep_file_augmenting_tabular_data_is_refused_naming_the_dataset(tmp_path: Path) -> None:
    path = sweep(tmp_path, "{bank: {training: {augment: [shift]}}}")
    with pytest.raises(SpecError, match=r"datasets\.bank: training\.augment: \[shift\] augments images only"):
        load_spec(path)


def test_the_trial_command_takes_augment_flags() -> None:
    from typer.testing import CliRunner

    from acadp.cli.main import app

    result = CliRunner().invoke(app, ["trial", "--dataset", "bank", "--epsilon", "inf", "--set", "augment=flip"])
    assert isinstance(result.exception, SpecError)
    assert "training.augment: [flip] augments images only" in str(result.exception)
