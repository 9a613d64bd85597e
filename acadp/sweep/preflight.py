"""Checks run by the driver before a sweep creates anything: the data is there (and prepared into the cache once),
every trial's target class, signal and model fit its dataset, and every private trial has a feasible σ.

All problems are collected and reported together, so one fix-and-rerun cycle suffices; nothing is lost because
nothing was started.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from acadp.collective import apply_signal
from acadp.config.signals import TokenSignal
from acadp.config.trial import TrialConfig
from acadp.data import ArrayDataset, load_dataset
from acadp.data.assets import asset_folder
from acadp.data.tokens import clean_token_ids, wordpieces
from acadp.errors import AcadpError, SpecError
from acadp.learners.noise import NoiseEntry, NoiseSetting, NoiseTable, noise_multiplier_for
from acadp.models import ModelInputs, build_model
from acadp.sweep.plan import SweepPlan
from acadp.trial.run import noise_setting_of


@dataclass(frozen=True)
class Preflight:
    """What the checks computed and the trials can reuse: σ for every distinct private setting."""

    noise: NoiseTable


def _check_pretrain(config: TrialConfig, dataset: ArrayDataset, data_dir: Path | None, *, download: bool) -> None:
    """The public pre-training dataset is there (prepared into the cache now) and has the trial's input shape."""
    if config.pretrain is None:
        return
    public = load_dataset(config.pretrain.dataset, data_dir=data_dir, download=download)
    if public.input_shape != dataset.input_shape:
        raise SpecError(
            f"pretrain.dataset: {config.pretrain.dataset} has inputs of shape {public.input_shape}, but "
            f"{config.dataset} has {dataset.input_shape}; pre-train on a dataset of the same input shape"
        )


def _check_fit(config: TrialConfig, dataset: ArrayDataset, data_dir: Path | None, *, download: bool) -> None:
    if config.target_class >= dataset.n_classes:
        raise SpecError(
            f"target_class {config.target_class} does not exist ({dataset.n_classes} classes: "
            f"0..{dataset.n_classes - 1})"
        )
    try:
        apply_signal(config.signal, dataset.x_train[:2], dataset.feature_names)
        inputs = ModelInputs(dataset.input_shape, dataset.n_classes, dataset.channel_mean, dataset.channel_std)
        if dataset.modality == "text":
            inputs = _text_inputs(config, inputs, data_dir, download=download)
        build_model(config.model, inputs, seed=0)
    except ValueError as error:
        raise SpecError(str(error)) from None


def _text_inputs(config: TrialConfig, inputs: ModelInputs, data_dir: Path | None, *, download: bool) -> ModelInputs:
    """A text trial's model inputs; the token is checked against the vocabulary, the clean documents are tokenised
    into the cache once (every trial reads them), and a pretrained model's weights are fetched."""
    pieces = wordpieces(data_dir, download=download)
    if isinstance(config.signal, TokenSignal):
        pieces.token_id(config.signal.token)
    assert config.seq_len is not None  # TrialConfig requires it for text
    clean_token_ids(config.dataset, seq_len=config.seq_len, data_dir=data_dir, download=download)
    asset = getattr(config.model, "ASSET", None)
    return replace(
        inputs,
        input_shape=(config.seq_len,),
        vocab_size=pieces.vocab_size,
        pad_id=pieces.pad_id,
        pretrained=None if asset is None else asset_folder(asset, data_dir, download=download),
    )


def preflight(plan: SweepPlan) -> Preflight:
    """Run the checks over every grid point; raise one :class:`SpecError` listing every problem."""
    problems: dict[str, None] = {}
    datasets: dict[str, ArrayDataset] = {}
    for name in plan.spec.datasets:
        try:
            datasets[name] = load_dataset(name, data_dir=plan.data_dir, download=plan.spec.download)
        except AcadpError as error:
            problems[f"datasets.{name}: {error}"] = None
    sigmas: dict[NoiseSetting, float] = {}
    checked: set[str] = set()
    for config in plan.configs:
        dataset = datasets.get(config.dataset)
        if dataset is None:
            continue
        shape_key = (
            f"{config.dataset}|{config.target_class}|{config.signal}|{config.model}|{config.pretrain}|{config.seq_len}"
        )
        try:
            if shape_key not in checked:
                checked.add(shape_key)
                _check_fit(config, dataset, plan.data_dir, download=plan.spec.download)
                _check_pretrain(config, dataset, plan.data_dir, download=plan.spec.download)
            if config.private:
                n_train = min(config.n_train or dataset.y_train.shape[0], dataset.y_train.shape[0])
                setting = noise_setting_of(config, n_train=n_train)
                if setting not in sigmas:
                    sigmas[setting] = noise_multiplier_for(setting)
        except AcadpError as error:
            problems[f"datasets.{config.dataset}: {error}"] = None
    if problems:
        raise SpecError(f"{plan.spec_path}: " + "; ".join(problems))
    entries = tuple(NoiseEntry(setting=setting, noise_multiplier=sigma) for setting, sigma in sigmas.items())
    return Preflight(noise=NoiseTable(entries=entries))
