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
import time

import numpy as np
import torch

from acadp.config.one_run import OneRunConfig
from acadp.learners.base import TrainingRun
from acadp.lira.bounds import minimum_guesses, one_run_epsilon_lower_bound, one_run_guesses
from acadp.lira.one_run_checks import canary_problem, settings_problem
from acadp.lira.one_run_result import OneRunRegime, OneRunResult
from acadp.lira.scores import logit_scaled_confidence
from acadp.lira.shadow import query_logits
from acadp.seeding import derive_seed, numpy_rng
from acadp.trial.data import TrialData
from acadp.trial.metrics import evaluate
from acadp.trial.run import build_training_run


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


@dataclasses.dataclass(frozen=True)
class OneRunOutcome:
    """A finished audit: its ``result``, the canary ``draw`` and the canaries' ``scores`` (m,) float64."""

    result: OneRunResult
    draw: CanaryDraw
    scores: np.ndarray


def _subset(data: TrialData, mask: np.ndarray) -> TrialData:
    """``data`` with only the training examples ``mask`` (n_train,) bool marks (groups too, where there are any)."""
    planted = data.planted.select(mask)
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
