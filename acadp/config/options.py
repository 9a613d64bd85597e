"""Command-line values (``acadp trial``, ``acadp lira``) turned into a trial config through the one configuration path
(:func:`acadp.config.resolve.resolve_trial`), so the flags and the sweep file share defaults and limits."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from acadp.config.describe import describe
from acadp.config.resolve import DatasetOverrides, GridPoint, Shared, known_dataset, trial_payload, validate_trial
from acadp.config.signals import signal_names
from acadp.config.trial import DEFAULT_DELTA, TrainingConfig, TrialConfig
from acadp.errors import SpecError

# --clip's default: a norm of 1 for DP-SGD, no clipping without noise
AUTO_CLIP = 1.0


def parse_number(text: str, *, option: str) -> float:
    """A float from the command line; ``inf`` allowed. Raises :class:`SpecError` naming ``option``."""
    try:
        value = float(text)
    except ValueError:
        raise SpecError(f"{option}: {text!r} is not a number (use e.g. 8, 0.5 or inf)") from None
    if math.isnan(value):
        raise SpecError(f"{option}: NaN is not allowed")
    return value


def auto_clip(epsilon: float) -> float | None:
    """The default clipping norm: :data:`AUTO_CLIP` with a finite epsilon (DP-SGD), none without noise (SGD)."""
    return AUTO_CLIP if math.isfinite(epsilon) else None


def parse_clip(text: str | None, *, epsilon: float, option: str = "--clip") -> float | None:
    """``--clip``: a norm C, ``none`` (no clipping), or unset (see :func:`auto_clip`)."""
    if text is None:
        return auto_clip(epsilon)
    if text.strip().lower() == "none":
        return None
    value = parse_number(text, option=option)
    return None if math.isinf(value) else value


def parse_assignments(items: list[str], *, option: str) -> dict[str, Any]:
    """``["size=4", "features=[age, balance]"]`` → ``{"size": 4, "features": ["age", "balance"]}`` (YAML values)."""
    parsed: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise SpecError(f"{option}: expected KEY=VALUE, got {item!r}")
        try:
            parsed[key.strip()] = yaml.safe_load(raw)
        except yaml.YAMLError as error:
            raise SpecError(f"{option}: cannot read the value of {key!r}: {error}") from None
    return parsed


def training_settings(assignments: list[str], **named: Any) -> dict[str, Any]:
    """The training fields of a command line: ``--set KEY=VALUE`` items (``KEY`` a field of
    :class:`~acadp.config.trial.TrainingConfig`, optionally written ``training.KEY``) and the named options that are
    set (``named``, e.g. ``epochs``); unset ones keep the preset's. An unknown field is one line listing the valid
    ones."""
    settings = {
        key.removeprefix("training."): value for key, value in parse_assignments(assignments, option="--set").items()
    }
    unknown = [key for key in settings if key not in TrainingConfig.model_fields]
    if unknown:
        raise SpecError(
            f"--set {unknown[0]}: not a training field; valid fields: {', '.join(TrainingConfig.model_fields)}"
        )
    both = [key for key, value in named.items() if value is not None and key in settings]
    if both:
        raise SpecError(f"--set {both[0]}: given twice (also as --{both[0].replace('_', '-')}); give it once")
    return {**settings, **{key: value for key, value in named.items() if value is not None}}


@dataclass
class TrialOptions:
    """Command-line choices for one trial; None means "the dataset's preset"."""

    dataset: str
    alpha: float
    epsilon: float
    seed: int = 0
    # a norm C, None (no clipping), or "auto": AUTO_CLIP with a finite epsilon, no clipping without noise
    clip: float | Literal["auto"] | None = "auto"
    delta: float = DEFAULT_DELTA
    recipe: str | None = None
    target_class: int | None = None
    strategy: str | None = None
    model: str | None = None
    model_options: dict[str, Any] = field(default_factory=dict)
    signal: str | None = None
    signal_options: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    accountant: str = "prv"
    n_train: int | None = None
    n_test: int | None = None
    eval_every: int = 1
    seq_len: int | None = None


def _part(name: str | None, options: dict[str, Any]) -> dict[str, Any] | None:
    """A model/signal override: a new kind by name (its defaults), or option changes to the preset's kind."""
    if name is None and not options:
        return None
    return {**({"name": name} if name is not None else {}), **options}


def build_trial_config(options: TrialOptions) -> TrialConfig:
    """The validated trial config: preset of ``options.dataset`` overridden by every option that is set."""
    known_dataset(options.dataset)
    if options.signal is not None and options.signal not in signal_names():
        raise SpecError(f"--signal: unknown signal {options.signal!r}; valid signals: {', '.join(signal_names())}")
    data = {
        "model": _part(options.model, options.model_options),
        "signal": _part(options.signal, options.signal_options),
        "target_class": options.target_class,
        "strategy": options.strategy,
        "n_train": options.n_train,
        "n_test": options.n_test,
        "eval_every": options.eval_every,
        "seq_len": options.seq_len,
    }
    try:
        overrides = DatasetOverrides.model_validate(
            {**{k: v for k, v in data.items() if v is not None}, "training": options.training}
        )
        clip = auto_clip(options.epsilon) if options.clip == "auto" else options.clip
        point = GridPoint(
            alpha=options.alpha, epsilon=options.epsilon, clip=clip, seed=options.seed, recipe=options.recipe
        )
        shared = Shared.model_validate({"delta": options.delta, "accountant": options.accountant})
    except ValidationError as error:
        raise SpecError(describe(error, prefix="trial options")) from None
    try:
        payload = trial_payload(options.dataset, overrides, point, shared)
        if options.recipe is not None:  # a named recipe has its own fields; the ones given here change them too
            payload["training"] = {**payload["training"], **overrides.training.model_dump(exclude_none=True)}
        return validate_trial(payload)
    except SpecError as error:
        raise SpecError(f"trial options: {error}") from None
