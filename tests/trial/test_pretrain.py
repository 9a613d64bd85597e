"""Public pre-training (CIFAR-100) then (private) fine-tuning (CIFAR-10): cached once, copied all but the head, frozen
body under DP-SGD, input shapes checked, trial keys sensitive to every pre-training setting."""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from pydantic import ValidationError

import acadp.trial.pretrain
from acadp.config.trial import TrialConfig
from acadp.errors import CheckpointError, SpecError
from acadp.learners import TrainingRun
from acadp.models import MLPParams, ModelInputs, ResNet18GNParams, build_model
from acadp.trial.pretrain import (
    PretrainConfig,
    apply_pretrained,
    classifier_head,
    pretrain_cache_key,
    pretrained_path,
    pretrained_state,
    train_public_model,
)
from acadp.trial.result import EpochRecord
from acadp.trial.run import build_training_run, prepare_trial_data, run_trial

PRETRAIN: dict[str, Any] = {
    "dataset": "cifar100",
    "epochs": 1,
    "batch_size": 4,
    "lr": 0.05,
    "momentum": 0.9,
    "n_train": 8,
}
CPU = torch.device("cpu")
# Expected noise: RDP at sample rate 1 hits its largest order; Opacus reminds that its secure RNG is off.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Optimal order is the largest alpha:UserWarning"),
    pytest.mark.filterwarnings("ignore:Secure RNG turned off:UserWarning"),
]


def _dump(path: Path, obj: object) -> None:
    with open(path, "wb") as handle:
        pickle.dump(obj, handle, protocol=2)


def _rows(n: int, seed: int) -> np.ndarray:
    """(n, 3072) uint8 rows as in the original batches: 1024 red, 1024 green, 1024 blue values, each row-major."""
    return np.random.default_rng(seed).integers(0, 256, size=(n, 3072), dtype=np.uint8)


def write_tiny_cifar(data_dir: Path) -> None:
    """CIFAR-10 (5 training batches of 4 images, a test batch of 8) and CIFAR-100 (16 train, 4 test) in the
    original python-pickle format: dicts with bytes keys, uint8 b"data" (n, 3072) and lists of int labels."""
    ten = data_dir / "cifar-10-batches-py"
    ten.mkdir(parents=True)
    labels = np.random.default_rng(0).integers(0, 10, size=28).tolist()
    rows = _rows(28, seed=1)
    for i in range(5):
        part = slice(4 * i, 4 * i + 4)
        _dump(ten / f"data_batch_{i + 1}", {b"batch_label": b"training", b"labels": labels[part], b"data": rows[part]})
    _dump(ten / "test_batch", {b"batch_label": b"testing", b"labels": [0, 1, 2, 3, 4, 5, 6, 7], b"data": rows[20:]})
    hundred = data_dir / "cifar-100-python"
    hundred.mkdir(parents=True)
    fine = np.random.default_rng(2).integers(0, 100, size=20).tolist()
    rows = _rows(20, seed=3)
    for name, part in (("train", slice(0, 16)), ("test", slice(16, 20))):
        batch = {b"fine_labels": fine[part], b"coarse_labels": [0] * len(fine[part]), b"data": rows[part]}
        _dump(hundred / name, batch)


@pytest.fixture
def fresh_dir(tmp_path: Path) -> Path:
    """Tiny CIFAR files and no pre-trained weights yet."""
    write_tiny_cifar(tmp_path)
    return tmp_path


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny CIFAR files shared by this module's tests (datasets are then prepared, and weights pre-trained, once)."""
    root = tmp_path_factory.mktemp("data")
    write_tiny_cifar(root)
    return root


def config(epsilon: float = 8.0, *, pretrain: dict[str, Any] | None = PRETRAIN, **changes: Any) -> TrialConfig:
    """A CIFAR-10 trial on 8 training images, ResNet-18-GN, one epoch of one batch (sample rate 1: the RDP
    accountant finds σ in milliseconds there, where fractional rates take seconds)."""
    payload: dict[str, Any] = {
        "dataset": "cifar10",
        "alpha": 0.25,
        "epsilon": epsilon,
        "clip": 1.0 if math.isfinite(epsilon) else None,
        "seed": 0,
        "target_class": 0,
        "signal": {"name": "grid", "step": 4, "offset": 1, "amplitude": 0.05},
        "model": {"name": "resnet18_gn"},
        "training": {"epochs": 1, "batch_size": 8, "lr": 0.5, "grad_sample_mode": "bookkeeping"},
        "accountant": "rdp",
        "n_train": 8,
        "n_test": 4,
        "pretrain": pretrain,
        **changes,
    }
    return TrialConfig.model_validate(payload)


class CountingTrainer:
    """Wraps :func:`train_public_model`, counting the pre-trainings."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> acadp.trial.pretrain.PretrainedModel:
        self.calls += 1
        return train_public_model(*args, **kwargs)


@pytest.fixture
def trainer(monkeypatch: pytest.MonkeyPatch) -> CountingTrainer:
    counter = CountingTrainer()
    monkeypatch.setattr(acadp.trial.pretrain, "train_public_model", counter)
    return counter


def body(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Every tensor but the classifier head's (``1.fc`` in resnet18_gn)."""
    return {name: tensor for name, tensor in state.items() if not name.startswith("1.fc.")}


def test_pretraining_runs_once_and_later_trials_reuse_the_cache(fresh_dir: Path, trainer: CountingTrainer) -> None:
    data_dir = fresh_dir
    private = run_trial(config(8.0), data_dir=data_dir, threads=1, device="cpu")
    files = sorted((data_dir / "pretrained").glob("*.pt"))
    assert trainer.calls == 1 and len(files) == 1
    assert files[0] == pretrained_path(config(8.0), data_dir=data_dir.resolve())
    written = files[0].stat().st_mtime_ns
    assert 0 < private.epsilon_spent <= 8.0 and private.steps == 1 and 0 <= private.test_accuracy <= 1

    # non-private fine-tuning and head-only fine-tuning start from the same pre-trained weights
    public = run_trial(config(math.inf), data_dir=data_dir, threads=1, device="cpu")
    head = run_trial(config(8.0, pretrain={**PRETRAIN, "finetune": "head"}), data_dir=data_dir, threads=1, device="cpu")
    assert trainer.calls == 1 and sorted((data_dir / "pretrained").glob("*.pt")) == files
    assert files[0].stat().st_mtime_ns == written
    assert math.isinf(public.epsilon_spent) and head.epsilon_spent <= 8.0
    # a trial gets bit-identical results whether its weights were just pre-trained or read from the cache
    again = run_trial(config(8.0), data_dir=data_dir, threads=1, device="cpu")
    assert (again.train_loss, again.test_accuracy, again.success) == (
        private.train_loss,
        private.test_accuracy,
        private.success,
    )

    # another pre-training seed is other weights: trained and cached separately
    pretrained_state(config(pretrain={**PRETRAIN, "seed": 1}), data_dir=data_dir)
    assert trainer.calls == 2 and len(list((data_dir / "pretrained").glob("*.pt"))) == 2


def test_a_trial_model_starts_from_the_pretrained_body(data_dir: Path) -> None:
    trial = config(8.0)
    state = pretrained_state(trial, data_dir=data_dir)
    assert state["1.fc.weight"].shape == (100, 512)  # pre-trained with CIFAR-100's 100 classes
    run = build_training_run(trial, prepare_trial_data(trial, data_dir=data_dir), CPU)
    start = run.model.state_dict()
    for name, tensor in body(state).items():
        assert torch.equal(start[name], tensor), name
    assert start["1.fc.weight"].shape == (10, 512)
    # the same trial without pre-training starts elsewhere (same seed, random initialisation)
    scratch = build_training_run(config(8.0, pretrain=None), prepare_trial_data(trial, data_dir=data_dir), CPU)
    assert not torch.equal(scratch.model.state_dict()["1.conv1.weight"], state["1.conv1.weight"])


def resnet(n_classes: int, seed: int) -> torch.nn.Module:
    inputs = ModelInputs((3, 32, 32), n_classes, (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))
    return build_model(ResNet18GNParams(), inputs, seed=seed)


@pytest.mark.parametrize("finetune", ["all", "head"])
def test_apply_pretrained_copies_everything_but_the_head(finetune: Any) -> None:
    source, target = resnet(100, seed=1), resnet(10, seed=2)
    state = {name: tensor.clone() for name, tensor in source.state_dict().items()}
    head_before = {name: tensor.clone() for name, tensor in target.state_dict().items() if name.startswith("1.fc.")}
    assert classifier_head(target) == "1.fc"

    apply_pretrained(target, state, finetune=finetune)

    after = target.state_dict()
    for name, tensor in body(state).items():
        assert torch.equal(after[name], tensor), name
    for name, tensor in head_before.items():
        assert torch.equal(after[name], tensor), name
    trainable = {name for name, param in target.named_parameters() if param.requires_grad}
    everything = {name for name, _ in target.named_parameters()}
    assert trainable == ({"1.fc.weight", "1.fc.bias"} if finetune == "head" else everything)


def test_apply_pretrained_refuses_another_architecture() -> None:
    inputs = ModelInputs((8,), 2)
    narrow = build_model(MLPParams(hidden=(16, 16)), inputs, seed=0)
    wide = build_model(MLPParams(hidden=(32, 16)), inputs, seed=0)
    with pytest.raises(SpecError, match=r"pretrain: 0\.weight has shape \(16, 8\) .* another architecture"):
        apply_pretrained(wide, narrow.state_dict(), finetune="all")
    listing = (
        r"another architecture \(missing: 0\.mean, 0\.std, 1\.bn1\.bias, 1\.bn1\.weight, … \(64 in all\); unexpected"
    )
    with pytest.raises(SpecError, match=listing):
        apply_pretrained(resnet(10, seed=0), narrow.state_dict(), finetune="all")


@pytest.mark.parametrize("mode", ["bookkeeping", "hooks"])
def test_head_finetuning_leaves_the_body_unchanged_under_dpsgd(data_dir: Path, mode: str) -> None:
    trial = config(8.0, pretrain={**PRETRAIN, "finetune": "head"})
    trial = trial.model_copy(update={"training": trial.training.model_copy(update={"grad_sample_mode": mode})})
    runs: list[TrainingRun] = []

    def keep(record: EpochRecord, run: TrainingRun) -> None:
        runs.append(run)

    result = run_trial(trial, data_dir=data_dir, threads=1, device="cpu", on_epoch=keep)
    assert result.steps == 1 and result.noise_multiplier > 0
    state = pretrained_state(trial, data_dir=data_dir)
    start = build_training_run(trial, prepare_trial_data(trial, data_dir=data_dir), CPU).model.state_dict()
    trained = runs[-1].model.state_dict()
    for name, tensor in body(state).items():
        assert torch.equal(trained[name], tensor), name
    assert not torch.equal(trained["1.fc.weight"], start["1.fc.weight"])  # the head did train (and got noise)
    params = [p for group in runs[-1].optimizer.param_groups for p in group["params"]]  # type: ignore[attr-defined]
    assert len(params) == 2 and all(p.requires_grad for p in params)


@pytest.mark.parametrize(
    ("trial", "pretrain_dataset"),
    [("cifar10", "mnist5k"), ("mnist5k", "cifar100")],
)
def test_a_pretrain_dataset_with_another_input_shape_is_refused(
    data_dir: Path, trainer: CountingTrainer, trial: str, pretrain_dataset: str
) -> None:
    changes: dict[str, Any] = {"dataset": trial}
    if trial == "mnist5k":
        changes.update(model={"name": "cnn"}, signal={"name": "patch", "size": 3})
    bad = config(8.0, pretrain={**PRETRAIN, "dataset": pretrain_dataset}, **changes)
    with pytest.raises(SpecError, match=rf"pretrain\.dataset: '{pretrain_dataset}' has inputs of shape"):
        run_trial(bad, data_dir=data_dir, threads=1, device="cpu")
    assert trainer.calls == 0 and not pretrained_path(bad, data_dir=data_dir.resolve()).exists()


def test_a_damaged_cache_file_is_reported(tmp_path: Path) -> None:
    trial = config(8.0)
    path = pretrained_path(trial, data_dir=tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a torch file")
    with pytest.raises(CheckpointError, match=r"cannot be read \(UnpicklingError\): the file is damaged; delete it"):
        pretrained_state(trial, data_dir=tmp_path, input_shape=(3, 32, 32))


def test_the_trial_key_changes_with_every_pretrain_setting() -> None:
    variants = [
        None,
        PRETRAIN,
        {**PRETRAIN, "epochs": 2},
        {**PRETRAIN, "lr": 0.1},
        {**PRETRAIN, "batch_size": 16},
        {**PRETRAIN, "momentum": 0.0},
        {**PRETRAIN, "weight_decay": 5e-4},
        {**PRETRAIN, "seed": 1},
        {**PRETRAIN, "n_train": 100},
        {**PRETRAIN, "dataset": "cifar10"},
        {**PRETRAIN, "finetune": "head"},
    ]
    configs = [config(8.0, pretrain=variant) for variant in variants]
    assert len({trial.key() for trial in configs}) == len(variants)
    # fine-tuning mode changes the trial, not the pre-trained weights (one cache file for both)
    pretrain = PretrainConfig(**PRETRAIN)
    assert pretrain_cache_key(pretrain, ResNet18GNParams()) == pretrain_cache_key(
        PretrainConfig(**PRETRAIN, finetune="head"), ResNet18GNParams()
    )
    assert pretrain_cache_key(pretrain, ResNet18GNParams()) != pretrain_cache_key(pretrain, ResNet18GNParams(groups=16))
    # without pre-training the canonical form (and so the key) is what it was before the field existed
    assert "pretrain" not in configs[0].canonical() and "pretrain" in configs[1].canonical()
    for trial in configs:
        assert TrialConfig.model_validate(trial.canonical()) == trial


def test_pretrain_settings_are_validated() -> None:
    with pytest.raises(ValidationError, match=r"unknown dataset 'cifar1000'; valid datasets: .*cifar100"):
        PretrainConfig(**{**PRETRAIN, "dataset": "cifar1000"})
    with pytest.raises(ValidationError, match="finetune"):
        PretrainConfig(**{**PRETRAIN, "finetune": "body"})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        PretrainConfig(**{**PRETRAIN, "freeze": True})
