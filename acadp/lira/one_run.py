"""A one-run privacy audit of a grid point (Steinke, Nasr & Jagielski 2023, "Privacy Auditing with One (1) Training
Run"): m canaries, each included with probability 1/2 in one training run, guesses on the extreme scores, and the
paper's ε lower bound (:mod:`acadp.lira.bounds`). No shadow models.

What the audit does, for the audited trial's config (its dataset, collective, arm and recipe):

* **Canaries** are m ordinary training examples of the trial — "input-space" canaries in the paper's black-box
  setting, with the labels they are trained with (a collective member's planted input and relabelled class). They
  are drawn uniformly without replacement from the whole planted training set, collective members included, from
  the audit seed (stream ``one-run-canaries``): the DP guarantee covers every training example alike, and the result
  records how many canaries are collective members.
* **Inclusion**: each canary is in the training set independently with probability 1/2 (audit seed, stream
  ``one-run-inclusion``); the examples that are not canaries are always in it. The training set therefore has
  n_train − m + (included canaries) examples.
* **One run** with the trial's own learner and recipe (clipping, noise, lr, epochs, batch size), initialised and
  sampled from the audit seed (stream ``one-run-training``). The Poisson sampling plan — sample rate
  q = 1 / ceil(n_train / batch), steps = epochs · ceil(n_train / batch), the gradient normaliser (the expected batch)
  and hence σ — is fixed in advance at the audited trial's full ``n_train`` (as if every canary were included), so
  it does not depend on which canaries were drawn in. These are exactly the grid trial's q, σ and steps, so the run
  claims the grid point's (ε, δ), and DP-SGD with q, σ, steps and C fixed is (ε, δ)-DP with respect to adding or
  removing one example, which is what Theorem 3.1 needs. The cost: with about m/2 canaries left out, batches are on
  average a fraction (m/2)/n_train smaller than the normaliser assumes (a slightly smaller effective step size).
  Only acadp's ``bookkeeping`` engine supports a fixed plan; clipped arms with an Opacus ``grad_sample_mode`` are
  refused.
* **Scores**: the trained model's logit-scaled confidence in each canary's label (:mod:`acadp.lira.scores`) on the
  original input. Any score computed from the trained model keeps the bound valid; a better one only tightens it.
* **Guesses**: "included" on the ``k_plus`` highest scores, "excluded" on the ``k_minus`` lowest, abstain on the rest
  (:func:`acadp.lira.bounds.one_run_guesses`). k₊ and k₋ are settings, fixed before the run as the bound requires;
  choosing them after seeing the scores (e.g. the best of several) voids the stated confidence.
* **Bound**: :func:`acadp.lira.bounds.one_run_epsilon_lower_bound` at the audit's confidence with the trial's δ.

For a non-private arm (ε = inf) nothing is claimed; the bound is still computed at the trial's δ.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from typing import Annotated

import numpy as np
import torch
from pydantic import Field, model_validator

from acadp.collective import PlantedData
from acadp.config.base import FrozenModel
from acadp.config.trial import TrialConfig
from acadp.learners.base import TrainingRun
from acadp.lira.bounds import minimum_guesses, one_run_epsilon_lower_bound, one_run_guesses
from acadp.lira.results import JsonFloat
from acadp.lira.scores import logit_scaled_confidence
from acadp.lira.shadow import query_logits
from acadp.seeding import derive_seed, numpy_rng
from acadp.trial.data import TrialData
from acadp.trial.metrics import evaluate
from acadp.trial.run import build_training_run


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


@dataclasses.dataclass(frozen=True)
class CanaryDraw:
    """The canaries: ``indices`` (m,) int64 ascending into the trial's training set, ``included`` (m,) bool."""

    indices: np.ndarray
    included: np.ndarray

    def training_mask(self, n_train: int) -> np.ndarray:
        """(n_train,) bool: the examples the run trains on (every non-canary and the included canaries)."""
        mask = np.ones(n_train, dtype=bool)
        mask[self.indices[~self.included]] = False
        return mask


def draw_canaries(*, n_train: int, canaries: int, seed: int) -> CanaryDraw:
    """m = ``canaries`` distinct training examples, uniformly (stream ``one-run-canaries`` of ``seed``), each
    included independently with probability 1/2 (stream ``one-run-inclusion``). Canaries are in index order, which
    does not depend on inclusion (score ties are broken by position)."""
    if not 1 <= canaries <= n_train:
        raise ValueError(f"canaries must lie in [1, {n_train}], got {canaries}")
    indices = np.sort(numpy_rng(seed, "one-run-canaries").choice(n_train, size=canaries, replace=False))
    included = numpy_rng(seed, "one-run-inclusion").integers(0, 2, size=canaries).astype(bool)
    return CanaryDraw(indices=indices.astype(np.int64), included=included)


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


@dataclasses.dataclass(frozen=True)
class OneRunOutcome:
    """A finished audit: its ``result``, the canary ``draw`` and the canaries' ``scores`` (m,) float64."""

    result: OneRunResult
    draw: CanaryDraw
    scores: np.ndarray


def _subset(data: TrialData, mask: np.ndarray) -> TrialData:
    """``data`` with only the training examples ``mask`` (n_train,) bool marks (groups too, where there are any)."""
    p = data.planted
    planted = PlantedData(x=p.x[mask], y=p.y[mask], members=p.members[mask], planted=p.planted[mask])
    groups = None if data.groups is None else dataclasses.replace(data.groups, train=data.groups.train[mask])
    return dataclasses.replace(data, planted=planted, groups=groups)


def _train(config: OneRunConfig, data: TrialData, mask: np.ndarray, device: torch.device) -> TrainingRun:
    """The one training run on the examples ``mask`` keeps, its plan fixed at the trial's full training set."""
    trial = config.trial
    seed = derive_seed(config.one_run.seed, "one-run-training")
    run = build_training_run(trial, _subset(data, mask), device, seed=seed, plan_examples=int(mask.size))
    while run.epochs_done < trial.training.epochs:
        run.train_epoch()
    return run


def run_one_run_audit(
    config: OneRunConfig, data: TrialData, *, device: torch.device, provenance: dict[str, str] | None = None
) -> OneRunOutcome:
    """Draw the canaries, train once, score the canaries, guess and bound (module docstring). ``data`` is the audited
    trial's (:func:`acadp.trial.data.prepare_trial_data`). Raises ValueError on settings :func:`settings_problem` or
    :func:`canary_problem` refuses."""
    started = time.perf_counter()
    planted, n_train = data.planted, int(data.planted.y.shape[0])
    problem = settings_problem(config) or canary_problem(config, n_train=n_train)
    if problem is not None:
        raise ValueError(problem)
    settings, trial = config.one_run, config.trial
    draw = draw_canaries(n_train=n_train, canaries=settings.canaries, seed=settings.seed)
    mask = draw.training_mask(n_train)
    run = _train(config, data, mask, device)
    logits = query_logits(run.model, [planted.x], device)  # (n_train, 1, n_classes)
    scores = logit_scaled_confidence(logits[draw.indices], planted.y[draw.indices])[:, 0]
    correct, made = one_run_guesses(scores, draw.included, settings.k_plus, settings.k_minus)
    bound = one_run_epsilon_lower_bound(
        correct, made, settings.canaries, delta=trial.delta, confidence=settings.confidence
    )
    privacy = run.privacy_report()
    regime = OneRunRegime(
        n_train=int(mask.sum()), n_plan=n_train, sample_rate=privacy.sample_rate,
        noise_multiplier=privacy.noise_multiplier, steps=privacy.steps, epsilon_spent=privacy.epsilon_spent,
        train_accuracy=float(np.mean(logits[mask, 0].argmax(axis=-1) == planted.y[mask])),
        test_accuracy=evaluate(run.model, data, target_class=trial.target_class, device=device).test_accuracy,
    )  # fmt: skip
    result = OneRunResult(
        one_run_key=config.key(), label=config.label(), config=config, dataset=trial.dataset, alpha=trial.alpha,
        epsilon=trial.epsilon, delta=trial.delta, clip=trial.clip, seed=trial.seed, canaries=settings.canaries,
        canaries_included=int(draw.included.sum()),
        canaries_in_collective=int(planted.members[draw.indices].sum()), k_plus=settings.k_plus,
        k_minus=settings.k_minus, guesses=made, correct=correct,
        minimum_guesses=minimum_guesses(canaries=settings.canaries, delta=trial.delta,
                                        confidence=settings.confidence),
        confidence=settings.confidence, epsilon_lower_bound=bound, regime=regime,
        seconds=time.perf_counter() - started, provenance=provenance or {},
    )  # fmt: skip
    return OneRunOutcome(result=result, draw=draw, scores=scores)
