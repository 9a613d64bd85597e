"""The settings and the result of a one-run audit (:mod:`acadp.lira.one_run` runs it): the ``one_run:`` section of a
sweep file, one audit's config and key, the checks that refuse settings which can give no ε bound — before any data is
read or model trained — and the stored result. Free of torch, so that sweep files and results load without it."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from pydantic import Field, model_validator

from acadp.config.base import FrozenModel
from acadp.config.trial import TrialConfig
from acadp.lira.bounds import minimum_guesses
from acadp.lira.results import JsonFloat
from acadp.lira.settings import LiraPoints


class OneRunSettings(FrozenModel):
    """How to audit one grid point with one training run. Without ``k_plus``/``k_minus``, each is m // 10."""

    canaries: Annotated[int, Field(ge=1)] = 1000  # m
    # guesses "included" on the k₊ highest scores and "excluded" on the k₋ lowest (filled in when not given)
    k_plus: Annotated[int, Field(ge=0)]
    k_minus: Annotated[int, Field(ge=0)]
    confidence: Annotated[float, Field(gt=0, lt=1)] = 0.95  # the bound holds with this probability
    seed: Annotated[int, Field(ge=0)] = 0  # canaries, inclusion, and the run's initialisation, batches and noise

    @model_validator(mode="before")
    @classmethod
    def _default_guesses(cls, data: object) -> object:
        if isinstance(data, dict):
            canaries = data.get("canaries", 1000)
            default = canaries // 10 if isinstance(canaries, int) else None
            data = {**data, **{k: default for k in ("k_plus", "k_minus") if data.get(k) is None}}
        return data

    @property
    def guesses(self) -> int:
        """r = k₊ + k₋, the number of guesses."""
        return self.k_plus + self.k_minus


class OneRunSmoke(FrozenModel):
    """How ``--smoke`` shrinks one-run audits (the smoke run's training sets are small)."""

    canaries: Annotated[int, Field(ge=1)] = 200
    k_plus: Annotated[int, Field(ge=0)] = 20
    k_minus: Annotated[int, Field(ge=0)] = 20


class OneRunSection(OneRunSettings):
    """The ``one_run:`` section of a sweep file: the grid points to audit with one training run each, and the
    settings (canaries, k₊, k₋, confidence, seed) every one of them uses."""

    points: LiraPoints
    smoke: OneRunSmoke = OneRunSmoke()

    def settings(self, *, smoke: bool) -> OneRunSettings:
        """The audit settings, shrunk for smoke runs."""
        data = self.model_dump(exclude={"points", "smoke"})
        if smoke:
            data.update(self.smoke.model_dump())
        return OneRunSettings.model_validate(data)


class OneRunConfig(FrozenModel):
    """One one-run audit: the audited trial config and the settings."""

    trial: TrialConfig
    one_run: OneRunSettings

    def key(self) -> str:
        """Content hash of the audited trial and every setting (its folder ``one_run/<key>/``)."""
        text = json.dumps({"trial": self.trial.key(), "one_run": self.one_run.model_dump()}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def label(self) -> str:
        return f"one-run audit {self.trial.label()} ({self.one_run.canaries} canaries)"


def settings_problem(config: OneRunConfig) -> str | None:
    """Why ``config`` cannot give an ε bound, found before any data is read (one line naming the field), or None:
    more guesses than canaries; a canary count or guess count with which even all-correct guesses show no ε > 0 at
    the confidence and the trial's δ; a clipped arm on an engine that cannot fix its sampling plan."""
    settings, delta = config.one_run, config.trial.delta
    m, r = settings.canaries, settings.guesses
    if r > m:
        return f"one_run.k_plus: k_plus + k_minus = {r} guesses exceed one_run.canaries = {m} (one guess per canary)"
    try:
        least = minimum_guesses(canaries=m, delta=delta, confidence=settings.confidence)
    except ValueError as error:
        return f"one_run.canaries: {error}"
    if r < least:
        return (
            f"one_run.k_plus: k_plus + k_minus = {r} guesses cannot show ε > 0 at confidence {settings.confidence:g} "
            f"with {m} canaries and delta {delta:g}, even all correct; make at least {least}"
        )
    if config.trial.clip is not None and config.trial.training.grad_sample_mode != "bookkeeping":
        return (
            f"training.grad_sample_mode: the one-run audit fixes the sampling plan in advance, which only "
            f"'bookkeeping' supports (the audited arm uses {config.trial.training.grad_sample_mode!r})"
        )
    return None


def canary_problem(config: OneRunConfig, *, n_train: int) -> str | None:
    """Why the trial's ``n_train`` training examples cannot hold the canaries (naming ``one_run.canaries``), or None."""
    m = config.one_run.canaries
    if m > n_train:
        return f"one_run.canaries: {m} canaries exceed the {n_train} training examples of {config.trial.label()}"
    return None


def one_run_problem(config: OneRunConfig) -> str | None:
    """Why ``config`` is refused before anything is created (settings, then the canaries against the trial's
    training set, which needs the dataset read), or None."""
    problem = settings_problem(config)
    if problem is not None:
        return problem
    if config.trial.n_train is not None:
        return canary_problem(config, n_train=config.trial.n_train)
    return None


class OneRunRegime(FrozenModel):
    """What the run did: examples trained on, the plan's size, q, σ, steps, ε spent at the trial's δ (inf:
    non-private), and accuracy on its own training examples and on the trial's clean test set."""

    n_train: Annotated[int, Field(ge=0)]
    n_plan: Annotated[int, Field(ge=1)]  # the examples q, steps and σ were computed for (the trial's n_train)
    sample_rate: float  # q
    noise_multiplier: float  # σ
    steps: Annotated[int, Field(ge=0)]
    epsilon_spent: JsonFloat
    train_accuracy: JsonFloat
    test_accuracy: JsonFloat


class OneRunResult(FrozenModel):
    """A finished one-run audit (``one_run/<key>/result.json``): the audited point, the guesses and the bound."""

    one_run_key: str
    label: str
    config: OneRunConfig
    dataset: str
    alpha: float
    epsilon: JsonFloat  # the claimed ε (the grid point's); inf: non-private
    delta: float  # the claimed δ, in the bound's 2·m·δ term
    clip: float | None
    seed: int
    canaries: Annotated[int, Field(ge=1)]
    canaries_included: Annotated[int, Field(ge=0)]
    canaries_in_collective: Annotated[int, Field(ge=0)]
    k_plus: Annotated[int, Field(ge=0)]
    k_minus: Annotated[int, Field(ge=0)]
    guesses: Annotated[int, Field(ge=0)]  # r = k₊ + k₋
    correct: Annotated[int, Field(ge=0)]  # v
    minimum_guesses: Annotated[int, Field(ge=1)]  # the fewest guesses that could show ε > 0 here
    confidence: float
    epsilon_lower_bound: float
    regime: OneRunRegime
    seconds: float
    provenance: dict[str, str] = Field(default_factory=dict)
