"""The learner interface: a :class:`TrainingRun` trains a model on fixed arrays, one epoch at a time, and can be saved
and restored at any epoch boundary so that an interrupted run resumes bit-identically.

A learner knows nothing of trials, Ray or MLflow: it gets tensors, hyper-parameters and a seed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from acadp.config.base import FrozenModel
from acadp.config.trial import Accountant, TrainingConfig
from acadp.learners.augment import make_augmenter
from acadp.registry import Registry


class PrivacyReport(FrozenModel):
    """What the learner actually did for privacy. Non-private runs report epsilon_spent = inf and sigma = 0."""

    epsilon_spent: float
    delta: float
    noise_multiplier: float
    sample_rate: float
    steps: int
    accountant: str
    clip: float | None


@dataclass(frozen=True)
class PrivacyTarget:
    """The noise knob: the (epsilon, delta) guarantee DP-SGD must meet and the accountant that checks it."""

    epsilon: float
    delta: float
    accountant: Accountant


@dataclass(frozen=True)
class LearnerInputs:
    """Everything a learner gets: ``x`` (n, ...) float32 and ``y`` (n,) int64 on ``device``."""

    model: nn.Module
    x: torch.Tensor
    y: torch.Tensor
    training: TrainingConfig
    seed: int
    device: torch.device
    # the clipping knob: per-example gradients are clipped to this L2 norm C (None: no clipping)
    clip: float | None = None
    # the noise knob: None adds no noise
    privacy: PrivacyTarget | None = None
    # σ already computed for this run's (ε, δ, q, steps, accountant) (by a sweep's driver); None: compute it
    noise_multiplier: float | None = None
    # Group-DRO: the group (n,) int64 in [0, n_groups) of every example, group = y · n_attributes + a; None: no groups
    groups: torch.Tensor | None = None
    n_groups: int = 0
    # Poisson engines: the number of examples the sampling plan (q, steps per epoch, expected batch, hence σ) is
    # computed for, fixed before the data are known (the one-run audit); None: the training set's own size
    plan_examples: int | None = None
    # (n,) bool: the examples that carry the collective's signal; clipping engines count their clipped gradients
    # apart from the others' (EpochStats.clipped_fraction_members / _others). None: not counted
    members: torch.Tensor | None = None


@dataclass(frozen=True)
class EpochStats:
    """What one epoch did: mean training loss over the examples seen, steps taken, and (DP) fraction clipped."""

    train_loss: float
    steps: int
    examples: int
    clipped_fraction: float | None = None
    # clipping engines given LearnerInputs.members: the clipped share among the collective's examples seen this epoch
    # and among the others (None without clipping, without members, or when no such example was seen)
    clipped_fraction_members: float | None = None
    clipped_fraction_others: float | None = None


class TrainingRun(ABC):
    """A model in training. ``epochs_done`` counts finished epochs; state round-trips through ``state_dict``."""

    def __init__(self, inputs: LearnerInputs) -> None:
        self.inputs = inputs
        self.model = inputs.model
        self.epochs_done = 0
        # training.augment: random flips/shifts of every batch from the run's own (checkpointed) stream; None: none
        self.augmenter = make_augmenter(inputs.training, x=inputs.x, seed=inputs.seed)

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        """The batch ``x`` as the model trains on it: augmented per example when ``training.augment`` asks for it."""
        return x if self.augmenter is None else self.augmenter(x)

    @abstractmethod
    def train_epoch(self) -> EpochStats:
        """Train one more epoch."""

    @abstractmethod
    def privacy_report(self) -> PrivacyReport:
        """Privacy actually spent so far (epsilon = inf for non-private training)."""

    def group_weights(self) -> list[float] | None:
        """Group-DRO's current group weights q (one per group); None for a learner without them."""
        return None

    @abstractmethod
    def _extra_state(self) -> dict[str, Any]:
        """Learner-specific state (optimizer, generators, accountant history)."""

    @abstractmethod
    def _load_extra_state(self, state: dict[str, Any]) -> None:
        """Inverse of :meth:`_extra_state`."""

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue bit-identically: tensors, numbers, strings, lists and dicts only (so it
        loads with ``torch.load(weights_only=True)``)."""
        state = {
            "epochs_done": self.epochs_done,
            "model": self.model.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "extra": self._extra_state(),
        }
        if self.augmenter is not None:
            state["augment_rng"] = self.augmenter.get_state()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        torch.set_rng_state(state["torch_rng"])
        self._load_extra_state(state["extra"])
        if self.augmenter is not None:
            self.augmenter.set_state(state["augment_rng"])
        self.epochs_done = int(state["epochs_done"])


LearnerFactory = Callable[[LearnerInputs], TrainingRun]
LEARNERS: Registry[LearnerFactory] = Registry("learner")


def effective_lr(training: TrainingConfig, clip: float | None) -> float:
    """The step size: ``lr``, or ``lr / C`` with normalised clipping (so lr·C-scaled steps compare across C)."""
    if training.lr_scaling == "normalised" and clip is not None:
        return training.lr / clip
    return training.lr


def make_optimizer(model: nn.Module, training: TrainingConfig, *, clip: float | None = None) -> torch.optim.SGD:
    """Plain SGD with the configured (effective) learning rate, momentum and weight decay, over the trainable
    parameters only (frozen ones, e.g. the body when only the classifier head is fine-tuned, get neither updates nor
    weight decay)."""
    trainable = [param for param in model.parameters() if param.requires_grad]
    lr = effective_lr(training, clip)
    return torch.optim.SGD(trainable, lr=lr, momentum=training.momentum, weight_decay=training.weight_decay)
