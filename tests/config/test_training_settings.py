"""``--set KEY=VALUE``: any training field from the command line, through the one configuration path."""

from __future__ import annotations

import pytest

from acadp.config.options import TrialOptions, build_trial_config, training_settings
from acadp.config.trial import TrainingConfig
from acadp.errors import SpecError


def test_every_training_field_can_be_set() -> None:
    settings = training_settings(
        ["momentum=0.9", "training.weight_decay=0.001", "lr_scaling=normalised", "augment=flip,shift"], epochs=3
    )
    assert settings == {
        "momentum": 0.9, "weight_decay": 0.001, "lr_scaling": "normalised", "augment": "flip,shift", "epochs": 3,
    }  # fmt: skip
    config = build_trial_config(TrialOptions(dataset="mnist5k", alpha=0.1, epsilon=8.0, training=settings))
    training = config.training
    assert (training.momentum, training.weight_decay, training.epochs) == (0.9, 0.001, 3)
    assert training.lr_scaling == "normalised" and training.augment == ("flip", "shift")


def test_unset_named_options_keep_the_preset() -> None:
    assert training_settings([], epochs=None, lr=None) == {}


@pytest.mark.parametrize(
    ("items", "named", "message"),
    [
        (["momentm=0.9"], {}, r"^--set momentm: not a training field; valid fields: epochs, batch_size"),
        (["epochs=3"], {"epochs": 4}, r"^--set epochs: given twice \(also as --epochs\); give it once$"),
        (["momentum"], {}, r"^--set: expected KEY=VALUE, got 'momentum'$"),
    ],
)
def test_bad_settings_are_one_line_naming_the_option(items: list[str], named: dict[str, int], message: str) -> None:
    with pytest.raises(SpecError, match=message) as error:
        training_settings(items, **named)
    assert "\n" not in str(error.value)


def test_a_value_out_of_range_names_the_field() -> None:
    with pytest.raises(SpecError, match=r"training\.momentum") as error:
        build_trial_config(
            TrialOptions(dataset="mnist5k", alpha=0.1, epsilon=8.0, training=training_settings(["momentum=1.5"]))
        )
    assert "\n" not in str(error.value)


def test_the_list_of_valid_fields_is_the_recipe_model() -> None:
    with pytest.raises(SpecError) as error:
        training_settings(["nope=1"])
    assert str(error.value).endswith(", ".join(TrainingConfig.model_fields))


def test_a_named_recipe_takes_the_recipe_options_given_with_it() -> None:
    """`acadp trial --recipe tuned --epochs 1` trains the tuned recipe for one epoch (the flag is not dropped)."""
    tuned = build_trial_config(TrialOptions(dataset="mnist5k", alpha=0.05, epsilon=float("inf"), recipe="tuned"))
    shortened = build_trial_config(
        TrialOptions(
            dataset="mnist5k", alpha=0.05, epsilon=float("inf"), recipe="tuned", training={"epochs": 1, "momentum": 0.5}
        )
    )
    assert tuned.training.epochs > 1 and shortened.training.epochs == 1 and shortened.training.momentum == 0.5
    assert shortened.training.model_copy(update={"epochs": tuned.training.epochs, "momentum": 0.9}) == tuned.training
    assert shortened.recipe == "tuned" and shortened.training.sampling == tuned.training.sampling == "shuffle"
