"""One trial end to end: data → collective → learner → metrics, checkpointed after every epoch.

A trial interrupted after epoch k and resumed from its checkpoint ends with bit-identical metrics to an uninterrupted
run on the same device and thread count (every RNG, the optimizer and the accountant are in the checkpoint).
Nothing here imports Ray or MLflow; the sweep wraps :func:`run_trial` and passes callbacks.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from acadp.collective import PlantedData, apply_signal, plant_collective
from acadp.config.trial import TrialConfig
from acadp.data import ArrayDataset, load_dataset
from acadp.errors import CheckpointError, SpecError
from acadp.learners import LEARNERS, EpochStats, LearnerInputs, PrivacyTarget, TrainingRun, engine_name
from acadp.learners.dpsgd import SamplingPlan
from acadp.learners.noise import NoiseSetting, NoiseTable
from acadp.models import ModelInputs, build_model
from acadp.runtime import pin_malloc_thresholds
from acadp.seeding import derive_seed, numpy_rng
from acadp.store.layout import CheckpointLayout
from acadp.store.provenance import provenance
from acadp.store.results import ResultsStore
from acadp.trial.pretrain import apply_pretrained, pretrained_state
from acadp.trial.result import EpochRecord, TrialResult

CHECKPOINT_FORMAT = 1
EVAL_BATCH = 1024


@dataclass(frozen=True)
class TrialData:
    """Arrays of one trial. ``x_success`` holds g(x) of the test points whose true label is not y*."""

    dataset: ArrayDataset
    planted: PlantedData
    x_test: np.ndarray
    y_test: np.ndarray
    x_signal: np.ndarray  # g(x) for every test point, (n_test, ...)
    not_target: np.ndarray  # (n_test,) bool: true label != y*
    data_dir: Path | None = None  # where the dataset was read from; pre-trained weights are cached there too
    groups: GroupData | None = None  # datasets with groups only


@dataclass(frozen=True)
class GroupData:
    """Groups (y, a) of a dataset with a group attribute, as ids y · n_attributes + a. ``train`` (n_train,) uses the
    *planted* labels — a collective member keeps its attribute a, so its group is (y*, a) — and ``test`` (n_test,)
    the true labels. ``names[g]`` is group g's name, ``<class>/<attribute>``."""

    train: np.ndarray
    test: np.ndarray
    names: tuple[str, ...]

    @property
    def n_groups(self) -> int:
        return len(self.names)


def group_data(
    dataset: ArrayDataset, *, planted_y: np.ndarray, y_test: np.ndarray, train: np.ndarray, test: np.ndarray
) -> GroupData | None:
    """The groups of the trial's training (after planting) and test examples; None for a dataset without groups."""
    if dataset.a_train is None or dataset.a_test is None:
        return None
    k = dataset.n_attributes
    classes = dataset.class_names or tuple(str(c) for c in range(dataset.n_classes))
    names = tuple(f"{classes[c]}/{dataset.attribute_names[a]}" for c in range(dataset.n_classes) for a in range(k))
    return GroupData(train=planted_y * k + dataset.a_train[train], test=y_test * k + dataset.a_test[test], names=names)


def _check_groups(config: TrialConfig, dataset: ArrayDataset, groups: GroupData | None) -> None:
    """Group-DRO needs groups and an attribute that takes at least two values in the training data."""
    if config.training.objective != "gdro":
        return
    if groups is None:
        raise SpecError(f"training.objective: gdro needs a dataset with groups; {config.dataset} has none")
    values = np.unique(groups.train % dataset.n_attributes)
    if values.size < 2:
        raise SpecError(
            f"training.objective: gdro needs a group attribute with two or more values; in {config.dataset}'s "
            f"training data it takes the single value {dataset.attribute_names[int(values[0])]!r}"
        )


def _subsample(n: int, limit: int | None, stream: str) -> np.ndarray:
    if limit is None or limit >= n:
        return np.arange(n)
    return np.sort(numpy_rng(0, stream).permutation(n)[:limit])


def prepare_trial_data(config: TrialConfig, *, data_dir: Path | None = None, download: bool = True) -> TrialData:
    """Load the dataset, apply ``n_train``/``n_test``, plant the collective and build the signal-carrying test set."""
    dataset = load_dataset(config.dataset, data_dir=data_dir, download=download, image_size=config.image_size)
    if config.target_class >= dataset.n_classes:
        raise SpecError(
            f"target_class {config.target_class} does not exist in {config.dataset} "
            f"({dataset.n_classes} classes: 0..{dataset.n_classes - 1})"
        )
    train = _subsample(dataset.y_train.shape[0], config.n_train, f"{config.dataset}/train")
    test = _subsample(dataset.y_test.shape[0], config.n_test, f"{config.dataset}/test")
    planted = plant_collective(
        x=dataset.x_train[train],
        y=dataset.y_train[train],
        alpha=config.alpha,
        seed=config.seed,
        strategy=config.strategy,
        signal=config.signal,
        target_class=config.target_class,
        feature_names=dataset.feature_names,
    )
    x_test, y_test = dataset.x_test[test], dataset.y_test[test]
    groups = group_data(dataset, planted_y=planted.y, y_test=y_test, train=train, test=test)
    _check_groups(config, dataset, groups)
    return TrialData(
        dataset=dataset,
        planted=planted,
        x_test=x_test,
        y_test=y_test,
        x_signal=apply_signal(config.signal, x_test, dataset.feature_names),
        not_target=y_test != config.target_class,
        data_dir=data_dir,
        groups=groups,
    )


@torch.no_grad()
def predict(model: torch.nn.Module, x: np.ndarray, device: torch.device) -> np.ndarray:
    """Predicted classes (n,) of ``x`` (n, ...), evaluated in batches."""
    model.eval()
    out = [
        model(torch.from_numpy(x[start : start + EVAL_BATCH]).to(device)).argmax(1).cpu().numpy()
        for start in range(0, x.shape[0], EVAL_BATCH)
    ]
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


@dataclass(frozen=True)
class Evaluation:
    """Test accuracy on clean points; success S = Pr[f(g(x)) = y*] over non-target points (and over all points);
    base rate = Pr[f(x) = y*] over the same non-target points without the signal; lift = S − base rate."""

    test_accuracy: float
    success: float
    success_all: float
    base_rate: float
    # datasets with groups: clean test accuracy per group name (groups without test points left out)
    group_accuracy: dict[str, float] = field(default_factory=dict)

    @property
    def lift(self) -> float:
        return self.success - self.base_rate

    @property
    def worst_group_accuracy(self) -> float:
        """The lowest per-group clean test accuracy; NaN without groups."""
        return min(self.group_accuracy.values()) if self.group_accuracy else float("nan")


def _rate(hits: np.ndarray) -> float:
    """The mean of a boolean array; NaN when it is empty (a rate with nothing to count)."""
    return float(np.mean(hits)) if hits.size else float("nan")


def success_metrics(
    *,
    clean_pred: np.ndarray,
    signal_pred: np.ndarray,
    y_test: np.ndarray,
    target_class: int,
    groups: GroupData | None = None,
) -> Evaluation:
    """The metrics of predictions ``clean_pred`` on x and ``signal_pred`` on g(x), both (n_test,), given true labels
    (and, with ``groups``, the clean accuracy of every group with test points)."""
    not_target = y_test != target_class
    hits = signal_pred == target_class
    correct = clean_pred == y_test
    return Evaluation(
        test_accuracy=_rate(correct),
        success=_rate(hits[not_target]),
        success_all=_rate(hits),
        base_rate=_rate(clean_pred[not_target] == target_class),
        group_accuracy={} if groups is None else group_accuracy(correct, groups.test, groups.names),
    )


def group_accuracy(correct: np.ndarray, groups: np.ndarray, names: tuple[str, ...]) -> dict[str, float]:
    """Accuracy per group: ``correct`` (n,) bool, ``groups`` (n,) ids into ``names``; groups with no points left out."""
    return {name: _rate(correct[groups == g]) for g, name in enumerate(names) if (groups == g).any()}


def evaluate(model: torch.nn.Module, data: TrialData, *, target_class: int, device: torch.device) -> Evaluation:
    """Evaluate ``model`` on the trial's clean and signal-carrying test sets."""
    return success_metrics(
        clean_pred=predict(model, data.x_test, device),
        signal_pred=predict(model, data.x_signal, device),
        y_test=data.y_test,
        target_class=target_class,
        groups=data.groups,
    )


class TrialCheckpoint:
    """The epoch checkpoint of one trial in the folder ``rel`` of a results store (:class:`CheckpointLayout`): the
    state (tensors only), then the meta file."""

    def __init__(self, store: ResultsStore, rel: str) -> None:
        self.store, self.rel, self.paths = store, rel, CheckpointLayout(rel)

    def load(self, config: TrialConfig) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """(state, meta) of the last finished epoch, or None when the trial has not checkpointed yet."""
        if not self.store.exists(self.paths.meta):
            return None
        meta = self.store.read_json(self.paths.meta)
        if meta.get("trial_key") != config.key() or meta.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(
                f"checkpoint {self.store.path(self.rel)} belongs to trial {meta.get('trial_key')}, not {config.key()}; "
                "delete it to start this trial afresh"
            )
        raw = self.store.read_bytes(self.paths.state)
        try:
            state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
        except Exception as error:  # torch raises several types for a damaged file
            raise CheckpointError(f"checkpoint {self.store.path(self.rel)} cannot be read ({error})") from error
        return state, meta

    def save(self, state: dict[str, Any], meta: dict[str, Any]) -> None:
        """Write the state, then the meta file: a checkpoint without a matching meta.json is never used."""
        buffer = io.BytesIO()
        torch.save(state, buffer)
        self.store.write_bytes(self.paths.state, buffer.getvalue())
        self.store.write_json(self.paths.meta, meta)


EpochCallback = Callable[[EpochRecord, TrainingRun], None]


def resolve_device(device: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; otherwise the named device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def noise_setting_of(config: TrialConfig, *, n_train: int) -> NoiseSetting:
    """The σ-determining setting of a DP trial trained on ``n_train`` examples."""
    plan = SamplingPlan.for_training(n=n_train, batch_size=config.training.batch_size, epochs=config.training.epochs)
    return plan.noise_setting(epsilon=config.epsilon, delta=config.delta, accountant=config.accountant)


def build_training_run(
    config: TrialConfig,
    data: TrialData,
    device: torch.device,
    *,
    seed: int | None = None,
    noise: NoiseTable | None = None,
) -> TrainingRun:
    """The model and its learner, ready to train on the planted data. Initialisation, batches and noise come from
    ``seed`` (default: the trial seed; LiRA shadows train the same planted data with seeds of their own). σ is taken
    from ``noise`` when it holds this trial's setting (a sweep's driver computes each setting once)."""
    seed = config.seed if seed is None else seed
    torch.manual_seed(derive_seed(seed, "torch-global"))
    dataset = data.dataset
    model = build_model(
        config.model,
        ModelInputs(
            input_shape=dataset.input_shape,
            n_classes=dataset.n_classes,
            channel_mean=dataset.channel_mean,
            channel_std=dataset.channel_std,
        ),
        seed=derive_seed(seed, "model-init"),
    ).to(device)
    if config.pretrain is not None:  # start from public pre-trained weights (trained once, then cached)
        state = pretrained_state(config, data_dir=data.data_dir, device=device, input_shape=dataset.input_shape)
        apply_pretrained(model, state, finetune=config.pretrain.finetune)
    privacy = (
        PrivacyTarget(epsilon=config.epsilon, delta=config.delta, accountant=config.accountant)
        if config.private
        else None
    )
    groups = data.groups
    return LEARNERS.get(engine_name(config.training))(
        LearnerInputs(
            model=model,
            x=torch.from_numpy(data.planted.x).to(device),
            y=torch.from_numpy(data.planted.y).to(device),
            training=config.training,
            seed=seed,
            device=device,
            clip=config.clip,
            privacy=privacy,
            noise_multiplier=_known_noise_multiplier(config, noise, n_train=int(data.planted.y.shape[0])),
            groups=None if groups is None else torch.from_numpy(groups.train).to(device),
            n_groups=0 if groups is None else groups.n_groups,
        )
    )


def _known_noise_multiplier(config: TrialConfig, noise: NoiseTable | None, *, n_train: int) -> float | None:
    if noise is None or not config.private:
        return None
    return noise.lookup(noise_setting_of(config, n_train=n_train))


def _epoch_record(
    run: TrainingRun, config: TrialConfig, data: TrialData, *, stats: EpochStats, seconds: float, device: torch.device
) -> tuple[EpochRecord, Evaluation | None]:
    """The epoch's record; test metrics and ε spent only on evaluated epochs (every ``eval_every``, and the last)."""
    epoch = run.epochs_done
    due = epoch % config.eval_every == 0 or epoch == config.training.epochs
    evaluation = evaluate(run.model, data, target_class=config.target_class, device=device) if due else None
    record = EpochRecord(
        epoch=epoch,
        train_loss=stats.train_loss,
        clipped_fraction=stats.clipped_fraction,
        test_accuracy=None if evaluation is None else evaluation.test_accuracy,
        success=None if evaluation is None else evaluation.success,
        base_rate=None if evaluation is None else evaluation.base_rate,
        worst_group_accuracy=None if evaluation is None or data.groups is None else evaluation.worst_group_accuracy,
        group_weights=run.group_weights(),
        epsilon_spent=run.privacy_report().epsilon_spent if due and config.private else None,
        seconds=seconds,
    )
    return record, evaluation


def run_trial(
    config: TrialConfig,
    *,
    data: TrialData | None = None,
    data_dir: Path | None = None,
    download: bool = True,
    checkpoint: TrialCheckpoint | None = None,
    device: str = "auto",
    threads: int | None = None,
    on_epoch: EpochCallback | None = None,
    noise: NoiseTable | None = None,
) -> TrialResult:
    """Train and evaluate one trial, resuming from ``checkpoint`` if it holds finished epochs.

    ``on_epoch(record, run)`` is called after every epoch, once the epoch's checkpoint is written. ``noise`` holds
    σ values computed elsewhere (see :func:`build_training_run`).
    """
    started = time.perf_counter()
    pin_malloc_thresholds()
    if threads is not None:
        torch.set_num_threads(threads)
    dev = resolve_device(device)
    data = data or prepare_trial_data(config, data_dir=data_dir, download=download)
    run = build_training_run(config, data, dev, noise=noise)
    history, previous_seconds = _restore(run, config, checkpoint)
    resumed_from = run.epochs_done
    evaluation = None
    while run.epochs_done < config.training.epochs:
        epoch_start = time.perf_counter()
        stats = run.train_epoch()
        record, evaluation = _epoch_record(
            run, config, data, stats=stats, seconds=time.perf_counter() - epoch_start, device=dev
        )
        history.append(record)
        if checkpoint is not None:
            seconds = previous_seconds + time.perf_counter() - started
            checkpoint.save(run.state_dict(), _checkpoint_meta(config, run, history, seconds=seconds))
        if on_epoch is not None:
            on_epoch(record, run)
    if evaluation is None:  # resumed after the last epoch's checkpoint: evaluate the restored model
        evaluation = evaluate(run.model, data, target_class=config.target_class, device=dev)
    seconds = previous_seconds + time.perf_counter() - started
    return _result(
        config, data=data, run=run, evaluation=evaluation, history=history, seconds=seconds, resumed_from=resumed_from
    )


def _restore(
    run: TrainingRun, config: TrialConfig, checkpoint: TrialCheckpoint | None
) -> tuple[list[EpochRecord], float]:
    """Load ``checkpoint`` into ``run`` if it holds finished epochs: (epoch history so far, seconds spent so far)."""
    loaded = checkpoint.load(config) if checkpoint is not None else None
    if loaded is None:
        return [], 0.0
    state, meta = loaded
    run.load_state_dict(state)
    return [EpochRecord.model_validate(item) for item in meta["history"]], float(meta["seconds"])


def _checkpoint_meta(
    config: TrialConfig, run: TrainingRun, history: list[EpochRecord], *, seconds: float
) -> dict[str, Any]:
    return {
        "format": CHECKPOINT_FORMAT,
        "trial_key": config.key(),
        "epochs_done": run.epochs_done,
        "history": [item.plain() for item in history],
        "seconds": seconds,
    }


def _result(
    config: TrialConfig,
    *,
    data: TrialData,
    run: TrainingRun,
    evaluation: Evaluation,
    history: list[EpochRecord],
    seconds: float,
    resumed_from: int,
) -> TrialResult:
    privacy = run.privacy_report()
    groups = data.groups
    weights = run.group_weights()
    return TrialResult(
        trial_key=config.key(),
        label=config.label(),
        config=config,
        dataset=config.dataset,
        alpha=config.alpha,
        epsilon=config.epsilon,
        delta=config.delta,
        clip=config.clip,
        arm=config.arm,
        seed=config.seed,
        target_class=config.target_class,
        n_train=int(data.planted.y.shape[0]),
        n_test=int(data.y_test.shape[0]),
        n_collective=int(data.planted.members.sum()),
        n_planted=int(data.planted.planted.sum()),
        test_accuracy=evaluation.test_accuracy,
        success=evaluation.success,
        success_all=evaluation.success_all,
        base_rate=evaluation.base_rate,
        lift=evaluation.lift,
        worst_group_accuracy=evaluation.worst_group_accuracy,
        group_accuracy=evaluation.group_accuracy,
        group_weights={} if groups is None or weights is None else dict(zip(groups.names, weights, strict=True)),
        collective_groups={} if groups is None else _collective_groups(groups, data.planted.members),
        clipped_fraction=history[-1].clipped_fraction if history else None,
        train_loss=history[-1].train_loss if history else float("nan"),
        epsilon_spent=privacy.epsilon_spent,
        noise_multiplier=privacy.noise_multiplier,
        sample_rate=privacy.sample_rate,
        steps=privacy.steps,
        accountant=privacy.accountant,
        epochs=run.epochs_done,
        seconds=seconds,
        resumed_from_epoch=resumed_from,
        history=tuple(history),
        provenance=provenance(),
    )


def _collective_groups(groups: GroupData, members: np.ndarray) -> dict[str, int]:
    """How many collective members fall in each group after planting (groups without members left out)."""
    counts = np.bincount(groups.train[members], minlength=groups.n_groups)
    return {name: int(count) for name, count in zip(groups.names, counts, strict=True) if count}
