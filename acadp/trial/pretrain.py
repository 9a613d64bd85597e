"""Optional public pre-training: non-private SGD on a public dataset, then (private) fine-tuning on the trial's data.

Solanki et al. 2025 pre-train a ResNet-18 with GroupNorm on CIFAR-100 and privately fine-tune it on CIFAR-10. Here
pre-training builds the trial's model (``config.model``) with the public dataset's number of classes and trains it
with the ``sgd`` learner. Its weights are cached once per data directory:

    <data_dir>/pretrained/<16 hex digits>.pt    (hash of the pretrain settings except ``finetune``, and the model)

The file is written atomically (:func:`acadp.store.atomic.atomic_path`) under a file lock, like the prepared-dataset
cache (:mod:`acadp.data.cache`): concurrent trials pre-train once, and none reads a half-written file. It holds
tensors, numbers and strings only and is read with ``torch.load(weights_only=True)``.

Fine-tuning starts from every pre-trained tensor whose name and shape match the trial's model: all but the classifier
head when the class counts differ. The input normaliser's constants (public, published values) are among them, so
the pre-trained layers see inputs scaled as during pre-training.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from filelock import FileLock
from torch import nn

from acadp.config.base import FrozenModel
from acadp.config.pretrain import PRETRAIN_FORMAT, PRETRAINED_SUBDIR, Finetune, PretrainConfig, weight_settings
from acadp.config.trial import TrainingConfig, TrialConfig
from acadp.data import DATASETS, default_data_dir, load_dataset
from acadp.errors import CheckpointError, SpecError
from acadp.learners import LEARNERS, LearnerInputs
from acadp.models import ModelInputs, build_model
from acadp.seeding import derive_seed, numpy_rng
from acadp.store.atomic import atomic_path


@dataclass(frozen=True)
class PretrainedModel:
    """Weights after pre-training (tensor name → CPU tensor), the input shape they were trained on, and the mean
    training loss of every epoch."""

    state: dict[str, torch.Tensor]
    input_shape: tuple[int, ...]
    train_loss: tuple[float, ...]


def pretrain_cache_key(pretrain: PretrainConfig, model: FrozenModel) -> str:
    """16 hex digits naming the pre-trained weights of ``model``: the settings except ``finetune``, the dataset's
    preparation version and the cache format."""
    payload = {
        "format": PRETRAIN_FORMAT,
        "pretrain": weight_settings(pretrain),
        "dataset_version": DATASETS.get(pretrain.dataset).version,
        "model": model.plain(),
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _pretrain_of(config: TrialConfig) -> PretrainConfig:
    if config.pretrain is None:
        raise SpecError(f"trial {config.label()} has no pretrain section")
    return config.pretrain


def pretrained_path(config: TrialConfig, *, data_dir: Path) -> Path:
    """Where the pre-trained weights of ``config`` are cached under ``data_dir``."""
    return data_dir / PRETRAINED_SUBDIR / f"{pretrain_cache_key(_pretrain_of(config), config.model)}.pt"


def _check_input_shape(config: TrialConfig, pretrain_shape: tuple[int, ...], trial_shape: tuple[int, ...]) -> None:
    if tuple(pretrain_shape) != tuple(trial_shape):
        raise SpecError(
            f"pretrain.dataset: {_pretrain_of(config).dataset!r} has inputs of shape {tuple(pretrain_shape)}, but the "
            f"trial's dataset {config.dataset!r} has {tuple(trial_shape)}; pre-train on a dataset with the same input "
            "shape (e.g. cifar100 for cifar10)"
        )


def _subsample(n: int, limit: int | None, stream: str) -> np.ndarray:
    """Sorted indices of the first ``limit`` examples of a fixed seeded permutation (all of them for None)."""
    if limit is None or limit >= n:
        return np.arange(n)
    return np.sort(numpy_rng(0, stream).permutation(n)[:limit])


def train_public_model(config: TrialConfig, *, data_dir: Path, device: torch.device) -> PretrainedModel:
    """Pre-train ``config.model`` non-privately on ``config.pretrain.dataset`` (its training split, subsampled to
    ``pretrain.n_train``). The global torch RNG is left as it was, so a trial draws the same numbers whether its
    weights came from the cache or were trained here."""
    pretrain = _pretrain_of(config)
    dataset = load_dataset(pretrain.dataset, data_dir=data_dir)
    rows = _subsample(dataset.y_train.shape[0], pretrain.n_train, f"{pretrain.dataset}/train")
    inputs = ModelInputs(dataset.input_shape, dataset.n_classes, dataset.channel_mean, dataset.channel_std)
    model = build_model(config.model, inputs, seed=derive_seed(pretrain.seed, "pretrain-model-init")).to(device)
    training = TrainingConfig(
        epochs=pretrain.epochs,
        batch_size=pretrain.batch_size,
        lr=pretrain.lr,
        momentum=pretrain.momentum,
        weight_decay=pretrain.weight_decay,
        sampling="shuffle",  # public data: plain minibatch SGD over seeded shuffles
    )
    with torch.random.fork_rng(devices=[]):
        run = LEARNERS.get(training.sampling)(
            LearnerInputs(
                model=model,
                x=torch.from_numpy(dataset.x_train[rows]).to(device),
                y=torch.from_numpy(dataset.y_train[rows]).to(device),
                training=training,
                seed=derive_seed(pretrain.seed, "pretrain-sgd"),
                device=device,
            )
        )
        losses = tuple(run.train_epoch().train_loss for _ in range(pretrain.epochs))
    state = {name: tensor.detach().cpu().clone() for name, tensor in model.state_dict().items()}
    return PretrainedModel(state=state, input_shape=dataset.input_shape, train_loss=losses)


def pretrained_state(
    config: TrialConfig,
    *,
    data_dir: Path | None,
    device: torch.device | None = None,
    input_shape: tuple[int, ...] | None = None,
) -> dict[str, torch.Tensor]:
    """The pre-trained weights of ``config`` (tensor name → CPU tensor): read from the cache under ``data_dir``
    (default :func:`acadp.data.default_data_dir`), else trained once on ``device`` (default CPU) and cached.

    ``input_shape`` is the shape of one example of the trial's dataset (default: read from ``config.dataset``); a
    pretrain dataset of another shape raises :class:`SpecError` naming ``pretrain.dataset``.
    """
    root = (data_dir or default_data_dir()).expanduser().resolve()
    trial_shape = input_shape or load_dataset(config.dataset, data_dir=root).input_shape
    path = pretrained_path(config, data_dir=root)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path) + ".lock"):
            if not path.exists():  # not written by another process while we waited for the lock
                public = load_dataset(_pretrain_of(config).dataset, data_dir=root)
                _check_input_shape(config, public.input_shape, trial_shape)  # before training, not after
                trained = train_public_model(config, data_dir=root, device=device or torch.device("cpu"))
                _write(path, config, trained)
    payload = _read(path, config)
    _check_input_shape(config, tuple(payload["input_shape"]), trial_shape)
    return dict(payload["state"])


def _write(path: Path, config: TrialConfig, trained: PretrainedModel) -> None:
    pretrain = _pretrain_of(config)
    payload = {
        "format": PRETRAIN_FORMAT,
        "key": pretrain_cache_key(pretrain, config.model),
        "pretrain": weight_settings(pretrain),
        "model": config.model.plain(),
        "input_shape": list(trained.input_shape),
        "train_loss": list(trained.train_loss),
        "state": trained.state,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def _read(path: Path, config: TrialConfig) -> dict[str, Any]:
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a damaged file
        raise CheckpointError(
            f"pre-trained weights {path} cannot be read ({type(error).__name__}): the file is damaged; delete it to "
            "pre-train again"
        ) from error
    key = pretrain_cache_key(_pretrain_of(config), config.model)
    if not isinstance(payload, dict) or payload.get("format") != PRETRAIN_FORMAT or payload.get("key") != key:
        raise CheckpointError(f"{path} does not hold the pre-trained weights {key}; delete the file to pre-train again")
    return payload


def classifier_head(model: nn.Module) -> str:
    """Name of the model's final classifier: its last ``nn.Linear`` module (e.g. ``1.fc`` in ``resnet18_gn``)."""
    heads = [name for name, module in model.named_modules() if isinstance(module, nn.Linear)]
    if not heads:
        raise SpecError(f"pretrain: the model {type(model).__name__} has no linear classifier head to fine-tune")
    return heads[-1]


def _few(names: list[str], shown: int = 4) -> str:
    """``a, b, c, d, … (n in all)``: tensor names for an error message."""
    if not names:
        return "-"
    more = f", … ({len(names)} in all)" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def apply_pretrained(model: nn.Module, state: dict[str, torch.Tensor], *, finetune: Finetune) -> None:
    """Copy into ``model`` every tensor of ``state`` whose name and shape match (all but the classifier head when the
    class counts differ); with ``finetune="head"`` freeze every parameter but the head's (``requires_grad=False``).

    Raises :class:`SpecError` when ``state`` comes from another architecture: other tensor names, or another shape
    anywhere but in the head.
    """
    own = model.state_dict()
    head = classifier_head(model)
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    if missing or unexpected:
        raise SpecError(
            "pretrain: the pre-trained weights come from another architecture "
            f"(missing: {_few(missing)}; unexpected: {_few(unexpected)})"
        )
    in_head = {name for name in own if name.startswith(f"{head}.")}
    clash = [name for name in own if state[name].shape != own[name].shape and name not in in_head]
    if clash:
        name = clash[0]
        raise SpecError(
            f"pretrain: {name} has shape {tuple(state[name].shape)} in the pre-trained weights but "
            f"{tuple(own[name].shape)} in the model: another architecture"
        )
    model.load_state_dict({name: state[name] for name in own if state[name].shape == own[name].shape}, strict=False)
    if finetune == "head":
        for name, param in model.named_parameters():
            param.requires_grad_(name.startswith(f"{head}."))
