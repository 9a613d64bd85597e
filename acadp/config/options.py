"""Build a :class:`TrialConfig` from a dataset preset plus command-line overrides (``acadp trial``, ``acadp lira``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from acadp.collective import SIGNALS
from acadp.config.describe import describe
from acadp.config.presets import PRESETS
from acadp.config.trial import DEFAULT_DELTA, TrialConfig
from acadp.errors import SpecError


def parse_number(text: str, *, option: str) -> float:
    """A float from the command line; ``inf`` allowed. Raises :class:`SpecError` naming ``option``."""
    try:
        value = float(text)
    except ValueError:
        raise SpecError(f"{option}: {text!r} is not a number (use e.g. 8, 0.5 or inf)") from None
    if math.isnan(value):
        raise SpecError(f"{option}: NaN is not allowed")
    return value


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


@dataclass
class TrialOptions:
    """Command-line choices for one trial; None means "the dataset's preset"."""

    dataset: str
    alpha: float
    epsilon: float
    seed: int = 0
    clip: float = 1.0
    delta: float = DEFAULT_DELTA
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


def _part(preset_part: dict[str, Any], name: str | None, options: dict[str, Any]) -> dict[str, Any]:
    """A model/signal section: the preset's when the name is unchanged, else the new kind's defaults; plus options."""
    base = dict(preset_part) if name in (None, preset_part["name"]) else {"name": name}
    return {**base, **options}


def build_trial_config(options: TrialOptions) -> TrialConfig:
    """The validated trial config: preset of ``options.dataset`` overridden by every option that is set."""
    preset = PRESETS.get(options.dataset)
    private = math.isfinite(options.epsilon)
    defaults = preset.model_dump(mode="python")
    if options.signal is not None:
        SIGNALS.get(options.signal)  # an unknown signal name lists the valid ones
    training = {**defaults["private" if private else "non_private"], **options.training}
    payload = {
        "dataset": options.dataset,
        "alpha": options.alpha,
        "epsilon": options.epsilon,
        "delta": options.delta,
        "clip": options.clip if private else None,
        "seed": options.seed,
        "target_class": defaults["target_class"] if options.target_class is None else options.target_class,
        "strategy": options.strategy or defaults["strategy"],
        "signal": _part(defaults["signal"], options.signal, options.signal_options),
        "model": _part(defaults["model"], options.model, options.model_options),
        "training": training,
        "accountant": options.accountant,
        "n_train": options.n_train,
        "n_test": options.n_test,
        "eval_every": options.eval_every,
    }
    try:
        return TrialConfig.model_validate(payload)
    except ValidationError as error:
        raise SpecError(describe(error, prefix="trial options")) from None
