"""Group-DRO in the configuration: the arm's name, the grid's objective axis and the one-line refusals."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from acadp.config.options import TrialOptions, build_trial_config
from acadp.config.sweep import load_spec
from acadp.data import ArrayDataset
from acadp.errors import SpecError
from acadp.trial import data as trial_data


def _gdro(dataset: str = "mnist5k_spurious", **training: object) -> TrialOptions:
    return TrialOptions(
        dataset=dataset, alpha=0.01, epsilon=math.inf, clip=None, training={"objective": "gdro", **training}
    )


def test_gdro_arm_is_named_and_keeps_erm_keys() -> None:
    config = build_trial_config(_gdro())
    assert config.arm == "GDRO" and config.arm_kind == "gdro"
    erm = build_trial_config(TrialOptions(dataset="mnist5k_spurious", alpha=0.01, epsilon=math.inf, clip=None))
    assert erm.arm == "SGD" and erm.arm_kind == "sgd"
    assert config.key() != erm.key()
    # an ERM config's key leaves out the Group-DRO fields at their defaults (old results keep their keys)
    changed = erm.model_copy(update={"training": erm.training.model_copy(update={"gdro_eta": 0.5})})
    assert changed.key() != erm.key()


@pytest.mark.parametrize(
    ("options", "match"),
    [
        (_gdro("mnist5k"), r"training\.objective: gdro needs a dataset with groups; mnist5k has none"),
        (_gdro(gdro_eta=0), r"training\.gdro_eta"),
        (_gdro(gdro_eta=-1.0), r"training\.gdro_eta"),
    ],
)
def test_bad_group_dro_input_is_one_line_naming_the_field(options: TrialOptions, match: str) -> None:
    with pytest.raises(SpecError, match=match) as error:
        build_trial_config(options)
    assert "\n" not in str(error.value)


def test_gdro_with_noise_is_refused() -> None:
    options = TrialOptions(dataset="mnist5k_spurious", alpha=0.0, epsilon=8.0, clip=1.0, training={"objective": "gdro"})
    with pytest.raises(SpecError, match=r"training\.objective: gdro is offered without clipping or noise"):
        build_trial_config(options)


def test_single_valued_attribute_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    x = rng.random((40, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 2, 40).astype(np.int64)
    one_value = ArrayDataset(
        name="mnist5k_spurious", x_train=x, y_train=y, x_test=x, y_test=y, n_classes=2, modality="image",
        a_train=np.zeros(40, dtype=np.int64), a_test=np.ones(40, dtype=np.int64), attribute_names=("plain", "tinted"),
    )  # fmt: skip
    monkeypatch.setattr(trial_data, "load_dataset", lambda *args, **kwargs: one_value)
    with pytest.raises(SpecError, match=r"^training\.objective: gdro needs a group attribute with two or more values"):
        trial_data.prepare_trial_data(build_trial_config(_gdro()))


def test_grid_objective_crosses_the_arms(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(
        "name: g\ndatasets: {mnist5k_spurious: {}}\n"
        "grid: {alpha: [0.0, 0.1], epsilon: [8, inf], clip: [none, 1.0], arms: [sgd, dpsgd], objective: [erm, gdro],"
        " seed: [0, 1]}\n"
    )
    configs = load_spec(path).trial_configs()
    arms = sorted({config.arm for config in configs})
    assert arms == ["DP ε=8 C=1", "GDRO", "SGD"]  # no GDRO with noise: those product points are skipped
    assert len(configs) == 3 * 2 * 2


def test_grid_gdro_on_a_dataset_without_groups_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text("name: g\ndatasets: {mnist5k: {}}\ngrid: {alpha: [0.0], epsilon: [inf], clip: [none], "
                    "objective: [gdro]}\n")  # fmt: skip
    with pytest.raises(SpecError, match=r"datasets\.mnist5k: training\.objective: gdro needs a dataset with groups"):
        load_spec(path)
