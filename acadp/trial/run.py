"""One trial end to end: data → collective → learner → metrics, checkpointed after every epoch.

A trial interrupted after epoch k and resumed from its checkpoint ends with bit-identical metrics to an uninterrupted
run on the same device and thread count (every RNG, the optimizer and the accountant are in the checkpoint).
Nothing here imports Ray or MLflow; the sweep wraps :func:`run_trial` and passes callbacks.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from acadp.config.trial import TrialConfig
from acadp.data.assets import asset_folder
from acadp.learners import LEARNERS, EpochStats, LearnerInputs, PrivacyTarget, TrainingRun
from acadp.learners.noise import NoiseSetting, NoiseTable
from acadp.learners.poisson import SamplingPlan
from acadp.models import ModelInputs, build_model
from acadp.runtime import pin_malloc_thresholds
from acadp.seeding import derive_seed
from acadp.store.provenance import numerical_environment, provenance
from acadp.trial.checkpoint import TrialCheckpoint
from acadp.trial.data import GroupData, TrialData, prepare_trial_data
from acadp.trial.faults import inject_fault
from acadp.trial.mechanism import GradientNorms, GradientProbe, member_success
from acadp.trial.metrics import Evaluation, evaluate
from acadp.trial.pretrain import apply_pretrained, pretrained_state
from acadp.trial.result import EpochRecord, TrialResult

EpochCallback = Callable[[EpochRecord, TrainingRun], None]


def device_for_gpus(gpus: float) -> str:
    """The device of a job granted ``gpus`` GPUs: ``cuda`` when it has some and CUDA is available, else ``cpu``."""
    return "cuda" if gpus > 0 and torch.cuda.is_available() else "cpu"


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
    plan_examples: int | None = None,
) -> TrainingRun:
    """The model and its learner, ready to train on the planted data. Initialisation, batches and noise come from
    ``seed`` (default: the trial seed; LiRA shadows train the same planted data with seeds of their own). σ is taken
    from ``noise`` when it holds this trial's setting (a sweep's driver computes each setting once).
    ``plan_examples`` fixes the Poisson sampling plan (q, steps, expected batch, σ) to that many examples whatever
    the planted data's size (the one-run audit; :class:`acadp.learners.base.LearnerInputs`)."""
    seed = config.seed if seed is None else seed
    torch.manual_seed(derive_seed(seed, "torch-global"))
    model = build_model(config.model, model_inputs(config, data), seed=derive_seed(seed, "model-init")).to(device)
    if config.pretrain is not None:  # start from public pre-trained weights (trained once, then cached)
        state = pretrained_state(config, data_dir=data.data_dir, device=device, input_shape=data.input_shape)
        apply_pretrained(model, state, finetune=config.pretrain.finetune)
    privacy = (
        PrivacyTarget(epsilon=config.epsilon, delta=config.delta, accountant=config.accountant)
        if config.private
        else None
    )
    groups = data.groups
    return LEARNERS.get(config.engine)(
        LearnerInputs(
            model=model,
            x=torch.from_numpy(data.planted.x).to(device),
            y=torch.from_numpy(data.planted.y).to(device),
            training=config.training,
            seed=seed,
            device=device,
            clip=config.clip,
            privacy=privacy,
            noise_multiplier=_known_noise_multiplier(
                config, noise, n_train=plan_examples or int(data.planted.y.shape[0])
            ),
            groups=None if groups is None else torch.from_numpy(groups.train).to(device),
            n_groups=0 if groups is None else groups.n_groups,
            plan_examples=plan_examples,
            members=torch.from_numpy(data.planted.planted).to(device),
        )
    )


def model_inputs(config: TrialConfig, data: TrialData, *, download: bool = True) -> ModelInputs:
    """What the model of ``config`` is built for: the data's input shape and classes, image normalisation constants,
    a text trial's vocabulary, and the folder of the pretrained weights a model starts from (its ``ASSET``, fetched
    when missing and ``download`` is set)."""
    dataset, text = data.dataset, data.text
    asset = getattr(config.model, "ASSET", None)
    return ModelInputs(
        input_shape=data.input_shape,
        n_classes=dataset.n_classes,
        channel_mean=dataset.channel_mean,
        channel_std=dataset.channel_std,
        vocab_size=0 if text is None else text.vocab_size,
        pad_id=0 if text is None else text.pad_id,
        pretrained=None if asset is None else asset_folder(asset, data.data_dir, download=download),
    )


def _known_noise_multiplier(config: TrialConfig, noise: NoiseTable | None, *, n_train: int) -> float | None:
    if noise is None or not config.private:
        return None
    return noise.lookup(noise_setting_of(config, n_train=n_train))


def _epoch_record(
    run: TrainingRun,
    config: TrialConfig,
    data: TrialData,
    *,
    stats: EpochStats,
    started: float,
    device: torch.device,
    probe: GradientProbe | None,
) -> tuple[EpochRecord, Evaluation | None]:
    """The epoch's record; test metrics and ε spent only on evaluated epochs (every ``eval_every``, and the last);
    the mechanism's gradient norms after every epoch (``probe``) and its clipped shares."""
    epoch = run.epochs_done
    due = epoch % config.eval_every == 0 or epoch == config.training.epochs
    evaluation = evaluate(run.model, data, target_class=config.target_class, device=device) if due else None
    norms = probe.measure() if probe is not None else GradientNorms(members=None, others=None)
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
        grad_norm_members=norms.members,
        grad_norm_others=norms.others,
        clipped_fraction_members=stats.clipped_fraction_members,
        clipped_fraction_others=stats.clipped_fraction_others,
        seconds=time.perf_counter() - started,
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
    # Opacus's engines hook every layer's forward and backward: a probe's extra backward pass would corrupt their
    # per-sample state, so the probe runs with acadp's engines only
    opacus = config.clip is not None and config.training.grad_sample_mode != "bookkeeping"
    probe = None if opacus else GradientProbe.for_model(run.model, data, seed=config.seed, device=dev)
    history, previous_seconds = _restore(run, config, checkpoint)
    resumed_from = run.epochs_done
    evaluation = None
    while run.epochs_done < config.training.epochs:
        inject_fault(config.key(), epochs_done=run.epochs_done)
        epoch_start = time.perf_counter()
        stats = run.train_epoch()
        record, evaluation = _epoch_record(run, config, data, stats=stats, started=epoch_start, device=dev, probe=probe)
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
        xi=math.nan if data.text is None else data.text.xi,
        signal_visible=math.nan if data.text is None else data.text.signal_visible,
        test_accuracy=evaluation.test_accuracy,
        success=evaluation.success,
        success_all=evaluation.success_all,
        member_success=member_success(run.model, data, target_class=config.target_class, device=run.inputs.device),
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
        provenance={
            **provenance(),
            **data.dataset.provenance(),
            "numerics": numerical_environment(device=str(run.inputs.device)),
        },
    )


def _collective_groups(groups: GroupData, members: np.ndarray) -> dict[str, int]:
    """How many collective members fall in each group after planting (groups without members left out)."""
    counts = np.bincount(groups.train[members], minlength=groups.n_groups)
    return {name: int(count) for name, count in zip(groups.names, counts, strict=True) if count}
