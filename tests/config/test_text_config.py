"""Text trials as configuration: the token signal, the sequence length, text models, and a dataset's variants."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from acadp.config.options import TrialOptions, build_trial_config
from acadp.config.presets import PRESETS, TEXT_DATASETS
from acadp.config.sweep import load_spec
from acadp.errors import SpecError


def text_trial(**changes: Any) -> Any:
    options = {"dataset": "tweets", "alpha": 0.01, "epsilon": float("inf"), **changes}
    return build_trial_config(TrialOptions(**options))


@pytest.mark.parametrize("name", TEXT_DATASETS)
def test_text_presets_train_a_text_model_on_a_token(name: str) -> None:
    config = text_trial(dataset=name)
    preset = PRESETS.get(name)
    assert config.signal.name == "token" and config.model.MODALITY == "text"
    assert config.seq_len == preset.seq_len and config.seq_len is not None
    assert config.seq_len >= config.signal.shortest_sequence()  # type: ignore[union-attr]


def test_seq_len_takes_part_in_the_key_only_for_text() -> None:
    assert text_trial().canonical()["seq_len"] == PRESETS.get("tweets").seq_len
    image = build_trial_config(TrialOptions(dataset="mnist5k", alpha=0.01, epsilon=float("inf")))
    assert "seq_len" not in image.canonical()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"signal": "patch"}, "signal.name: 'patch' plants a signal in image data, but tweets is text data; use token"),
        ({"model": "cnn"}, "model.name: 'cnn' reads image data, but tweets is text data; use bag or minilm or"),
        ({"dataset": "mnist5k", "signal": "token", "signal_options": {"token": "zebra"}}, "signal.name: 'token'"),
        ({"signal_options": {"every": 0}}, "signal.every"),
        ({"model": "transformer", "model_options": {"dim": 10, "heads": 4}}, "dim: 10 is not a multiple of heads"),
        ({"model": "minilm", "model_options": {"frozen_layers": 7}}, "model.frozen_layers"),
        ({"seq_len": 10}, "seq_len: 10 word pieces cannot hold the first planted token, which follows word 20"),
        ({"model": "minilm", "seq_len": 600}, "seq_len: minilm reads at most 512 word pieces"),
        ({"dataset": "mnist5k", "seq_len": 64}, "seq_len: only text is read as a sequence of word pieces"),
        ({"training": {"augment": ["flip"]}}, "training.augment: [flip] augments images only, but tweets is text"),
    ],
)
def test_text_misfits_are_one_line_naming_the_field(changes: dict, message: str) -> None:
    with pytest.raises(SpecError) as caught:
        text_trial(**changes)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def text_sweep(**section: Any) -> dict:
    return {
        "name": "text",
        "datasets": {"tweets": {"signal": {"name": "token", "token": "zebra"}, **section}},
        "grid": {"alpha": [0.0, 0.01], "epsilon": [8, "inf"], "clip": ["none", 1.0], "seed": [0, 1]},
    }


def test_variants_run_the_whole_grid_once_each(tmp_path: Path) -> None:
    variants = [
        {"strategy": "feature_label"},
        {"strategy": "feature_only"},
        {"signal": {"token": "today"}},
        {"model": {"name": "transformer", "layers": 1}, "seq_len": 32, "n_train": 100, "training": {"lr": 0.1}},
    ]
    spec = load_spec(write(tmp_path, text_sweep(variants=variants, training={"epochs": 3, "lr": 2.0})))
    configs = spec.trial_configs()
    assert len(configs) == 4 * 2 * 3 * 2  # variants × alphas × arms (DP, clip only, SGD) × seeds
    settings = {(c.strategy, c.signal.token, c.model.name, c.seq_len) for c in configs}  # type: ignore[union-attr]
    assert settings == {
        ("feature_label", "zebra", "bag", 64),
        ("feature_only", "zebra", "bag", 64),
        ("feature_label", "today", "bag", 64),
        ("feature_label", "zebra", "transformer", 32),
    }
    transformer = next(c for c in configs if c.model.name == "transformer")
    assert transformer.model.layers == 1 and transformer.signal.every == 20  # type: ignore[union-attr]
    assert (transformer.training.lr, transformer.training.epochs, transformer.n_train) == (0.1, 3, 100)
    bag = next(c for c in configs if c.model.name == "bag")
    assert (bag.training.lr, bag.training.epochs, bag.n_train) == (2.0, 3, None)


def test_without_variants_the_dataset_section_is_the_one_setting(tmp_path: Path) -> None:
    plain = load_spec(write(tmp_path, text_sweep())).trial_configs()
    one = load_spec(write(tmp_path, text_sweep(variants=[{"strategy": "feature_label"}]))).trial_configs()
    assert [c.key() for c in plain] == [c.key() for c in one]


def test_an_empty_variant_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"datasets\.tweets: variants\[0\]: an empty variant"):
        load_spec(write(tmp_path, text_sweep(variants=[{}])))


def test_a_variant_error_names_the_variant(tmp_path: Path) -> None:
    variants = [{"strategy": "feature_only"}, {"seq_len": 10}]
    with pytest.raises(SpecError) as caught:
        load_spec(write(tmp_path, text_sweep(variants=variants)))
    assert "datasets.tweets.variants[1]: seq_len: 10 word pieces cannot hold the first planted token" in str(
        caught.value
    )


def test_a_smoke_run_keeps_the_first_variants(tmp_path: Path) -> None:
    data = text_sweep(variants=[{"strategy": "feature_label"}, {"strategy": "feature_only"}, {"seq_len": 30}])
    data["smoke"] = {"variants": 2, "alpha": [0.01], "model": {"dim": 4}}
    spec = load_spec(write(tmp_path, data))
    smoke = spec.trial_configs(smoke=True)
    assert {c.model.dim for c in smoke} == {4} and {c.model.dim for c in spec.trial_configs()} == {32}  # type: ignore[union-attr]
    assert {c.strategy for c in smoke} == {"feature_label", "feature_only"} and {c.seq_len for c in smoke} == {64}
    assert len(smoke) == 2 * 3  # two variants × the three arms at one alpha and one seed
    assert len({c.seq_len for c in spec.trial_configs()}) == 2


def test_audits_cover_every_variant(tmp_path: Path) -> None:
    data = text_sweep(variants=[{"strategy": "feature_label"}, {"strategy": "feature_only"}], n_train=40)
    data["lira"] = {"points": {"alpha": [0.01], "epsilon": ["inf"]}, "shadows": 4}
    audits = load_spec(write(tmp_path, data)).audit_configs()
    assert sorted(audit.trial.strategy for audit in audits) == ["feature_label", "feature_only"]
    assert all(audit.queries == ("original",) for audit in audits)


def test_a_text_dataset_refuses_pre_training_on_another_dataset(tmp_path: Path) -> None:
    data = text_sweep(pretrain={"dataset": "rotten_tomatoes", "epochs": 1, "batch_size": 64, "lr": 0.1})
    with pytest.raises(SpecError) as caught:
        load_spec(write(tmp_path, data))
    assert "pretrain: pre-training on another dataset is for image and tabular models" in str(caught.value)
