"""``dpsgd``: DP-SGD (Abadi et al. 2016) with Poisson sampling, per-example clipping to C and Gaussian noise σ·C.

Opacus does the privacy bookkeeping: the noise multiplier σ comes from ``opacus.accountants.utils.
get_noise_multiplier`` for the planned number of steps, batches come from Opacus's Poisson sampler
(``UniformWithReplacementSampler``) and an Opacus accountant (``prv`` by default, ``rdp`` selectable) tracks the
privacy spent. Conventions follow Opacus's ``make_private``: sample rate q = 1 / ceil(n / batch_size), the summed
noisy gradient is divided by the expected batch size int(n·q).

Per-example gradients come from one of two engines:

* ``bookkeeping`` (default): :mod:`acadp.learners.bookkeeping`, one forward and one partial backward pass;
* ``hooks``, ``functorch``, ``ew``, ``ghost``: Opacus's ``PrivacyEngine.make_private`` with that ``grad_sample_mode``.

σ is computed from an explicit step count (epochs × steps per epoch) rather than with ``make_private_with_epsilon``,
whose ``int(epochs / sample_rate)`` can round the step count down by one and so under-noise by a hair.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from abc import abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from opacus import PrivacyEngine
from opacus.accountants import create_accountant
from opacus.accountants.utils import get_noise_multiplier
from opacus.utils.uniform_sampler import UniformWithReplacementSampler
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from acadp.errors import PrivacyInfeasibleError, SpecError
from acadp.learners.base import (
    LEARNERS,
    EpochStats,
    LearnerInputs,
    PrivacyReport,
    PrivacyTarget,
    TrainingRun,
    make_optimizer,
)
from acadp.learners.bookkeeping import BookkeepingClipper
from acadp.seeding import torch_generator

# Relative precision of the σ search: the epsilon actually spent lies within 1% below the target.
EPSILON_RELATIVE_TOLERANCE = 0.01


@contextlib.contextmanager
def _quiet_accounting(accountant: str, *, searching: bool = False) -> Iterator[None]:
    """Silence accountant warnings that say nothing about the result.

    * The PRV accountant bounds its domain with an internal RDP computation whose "Optimal order is the largest
      alpha" warning says nothing about the PRV result.
    * During the σ search, RDP evaluates many σ far from the answer; that warning then concerns those, not the result.
    * At sample rate 1 (full batches) the PRV code takes log(1 - q) = log 0 on a branch it then discards.
    """
    with warnings.catch_warnings(), np.errstate(divide="ignore"):
        if accountant == "prv" or searching:
            warnings.filterwarnings("ignore", message="Optimal order is the largest alpha")
        yield


SigmaKey = tuple[float, float, float, int, str]
# σ searches take seconds with the PRV accountant; trials of one sweep share a handful of (ε, δ, q, steps) settings.
_SIGMA_CACHE: dict[SigmaKey, float] = {}


def remember_noise_multipliers(known: dict[SigmaKey, float]) -> None:
    """Seed this process's σ cache with values computed elsewhere by :func:`noise_multiplier_for` (the driver)."""
    _SIGMA_CACHE.update(known)


def noise_multiplier_for(*, epsilon: float, delta: float, sample_rate: float, steps: int, accountant: str) -> float:
    """The smallest σ (to 1% in epsilon) whose ``steps`` Poisson-subsampled Gaussian steps at rate ``sample_rate``
    spend at most (epsilon, delta) under ``accountant``. Raises :class:`PrivacyInfeasibleError` when none exists."""
    key = (epsilon, delta, sample_rate, steps, accountant)
    if key not in _SIGMA_CACHE:
        _SIGMA_CACHE[key] = _search_noise_multiplier(*key)
    return _SIGMA_CACHE[key]


def _search_noise_multiplier(epsilon: float, delta: float, sample_rate: float, steps: int, accountant: str) -> float:
    try:
        with _quiet_accounting(accountant, searching=True):
            sigma = get_noise_multiplier(
                target_epsilon=epsilon,
                target_delta=delta,
                sample_rate=sample_rate,
                steps=steps,
                accountant=accountant,
                epsilon_tolerance=EPSILON_RELATIVE_TOLERANCE * epsilon,
            )
    except (ValueError, ArithmeticError) as error:
        raise PrivacyInfeasibleError(
            f"no noise multiplier reaches epsilon={epsilon:g} at delta={delta:g} with sample rate q={sample_rate:.4g} "
            f"over {steps} steps under the {accountant} accountant ({error}); raise epsilon or delta, or plan "
            "fewer steps (epochs, batch size)"
        ) from error
    return float(sigma)


@dataclass(frozen=True)
class SamplingPlan:
    """Poisson sampling as Opacus's ``make_private`` sets it up for ``n`` examples and a batch size."""

    steps_per_epoch: int
    sample_rate: float
    expected_batch_size: int
    planned_steps: int

    @classmethod
    def for_training(cls, *, n: int, batch_size: int, epochs: int) -> SamplingPlan:
        steps_per_epoch = math.ceil(n / batch_size)
        sample_rate = 1.0 / steps_per_epoch
        return cls(
            steps_per_epoch=steps_per_epoch,
            sample_rate=sample_rate,
            expected_batch_size=max(1, int(n * sample_rate)),
            planned_steps=epochs * steps_per_epoch,
        )


class DPSGDRun(TrainingRun):
    """What every DP-SGD engine shares: the sampling plan, σ, and the privacy report."""

    def __init__(self, inputs: LearnerInputs) -> None:
        super().__init__(inputs)
        if inputs.privacy is None:
            raise SpecError("dpsgd needs a privacy target (finite epsilon, delta, clip)")
        self.target: PrivacyTarget = inputs.privacy
        plan = SamplingPlan.for_training(
            n=inputs.y.shape[0], batch_size=inputs.training.batch_size, epochs=inputs.training.epochs
        )
        self.steps_per_epoch = plan.steps_per_epoch
        self.sample_rate = plan.sample_rate
        self.expected_batch_size = plan.expected_batch_size
        self.planned_steps = plan.planned_steps
        self.noise_multiplier = noise_multiplier_for(
            epsilon=self.target.epsilon,
            delta=self.target.delta,
            sample_rate=self.sample_rate,
            steps=self.planned_steps,
            accountant=self.target.accountant,
        )

    @property
    @abstractmethod
    def accountant_history(self) -> list[tuple[float, float, int]]:
        """(σ, q, steps) entries of the accountant."""

    def privacy_report(self) -> PrivacyReport:
        accountant = create_accountant(self.target.accountant)
        accountant.history = list(self.accountant_history)
        steps = sum(entry[2] for entry in accountant.history)
        with _quiet_accounting(self.target.accountant):
            spent = accountant.get_epsilon(delta=self.target.delta) if steps else 0.0
        return PrivacyReport(
            epsilon_spent=float(spent),
            delta=self.target.delta,
            noise_multiplier=self.noise_multiplier,
            sample_rate=self.sample_rate,
            steps=steps,
            accountant=self.target.accountant,
            clip=self.target.clip,
        )


@LEARNERS.register("dpsgd")
def make_dpsgd_run(inputs: LearnerInputs) -> TrainingRun:
    """The DP-SGD run for ``inputs.training.grad_sample_mode``."""
    if inputs.training.grad_sample_mode == "bookkeeping":
        return BookkeepingDPSGDRun(inputs)
    return OpacusDPSGDRun(inputs)


class BookkeepingDPSGDRun(DPSGDRun):
    """DP-SGD with acadp's one-backward-pass clipping engine."""

    def __init__(self, inputs: LearnerInputs) -> None:
        super().__init__(inputs)
        self.optimizer = make_optimizer(self.model, inputs.training)
        self.clipper = BookkeepingClipper(self.model, max_grad_norm=self.target.clip)
        self.accountant = create_accountant(self.target.accountant)
        self.sampler_generator = torch_generator(inputs.seed, "poisson")
        self.noise_generator = torch_generator(inputs.seed, "noise", inputs.device)
        self.sampler = UniformWithReplacementSampler(
            num_samples=inputs.y.shape[0],
            sample_rate=self.sample_rate,
            generator=self.sampler_generator,
            steps=self.steps_per_epoch,
        )

    @property
    def accountant_history(self) -> list[tuple[float, float, int]]:
        return list(self.accountant.history)

    def train_epoch(self) -> EpochStats:
        self.model.train()
        total_loss, examples, clipped = 0.0, 0, 0
        for indices in self.sampler:
            loss_sum, norms = self._step(torch.as_tensor(indices, dtype=torch.long, device=self.inputs.y.device))
            total_loss += loss_sum
            examples += len(indices)
            clipped += int((norms > self.target.clip).sum())
        self.epochs_done += 1
        return EpochStats(
            train_loss=total_loss / max(examples, 1),
            steps=self.steps_per_epoch,
            examples=examples,
            clipped_fraction=clipped / max(examples, 1),
        )

    def _step(self, indices: torch.Tensor) -> tuple[float, torch.Tensor]:
        """One DP-SGD step on the Poisson batch ``indices`` (possibly empty): (Σ loss, per-example norms)."""
        params = [p for p in self.model.parameters() if p.requires_grad]
        if indices.numel():
            batch = self.clipper.clipped_sum(self.inputs.x[indices], self.inputs.y[indices])
            grads, loss_sum, norms = batch.grads, float(batch.loss_sum), batch.norms
        else:
            grads, loss_sum, norms = {}, 0.0, torch.zeros(0)
        std = self.noise_multiplier * self.target.clip
        for param in params:
            noisy = torch.normal(0.0, std, param.shape, generator=self.noise_generator, device=param.device)
            summed = grads.get(param)
            if summed is not None:
                noisy.add_(summed)
            param.grad = noisy.div_(self.expected_batch_size).to(param.dtype)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.accountant.step(noise_multiplier=self.noise_multiplier, sample_rate=self.sample_rate)
        return loss_sum, norms

    def _extra_state(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer.state_dict(),
            "sampler_generator": self.sampler_generator.get_state(),
            "noise_generator": self.noise_generator.get_state(),
            "accountant_history": [list(entry) for entry in self.accountant.history],
        }

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.sampler_generator.set_state(state["sampler_generator"])
        self.noise_generator.set_state(state["noise_generator"])
        self.accountant.history = [(float(s), float(q), int(k)) for s, q, k in state["accountant_history"]]


class OpacusDPSGDRun(DPSGDRun):
    """DP-SGD through Opacus's ``PrivacyEngine.make_private`` with one of its per-sample-gradient modes."""

    def __init__(self, inputs: LearnerInputs) -> None:
        super().__init__(inputs)
        mode = inputs.training.grad_sample_mode
        on_cpu = inputs.device.type == "cpu"
        # Opacus draws Poisson batches and noise from one generator; on a GPU its CPU sampler and device noise cannot
        # share one, so there the global RNGs (seeded per trial, saved in checkpoints) are used instead.
        self.generator = torch_generator(inputs.seed, "opacus") if on_cpu else None
        self.engine = PrivacyEngine(accountant=self.target.accountant)
        loader = DataLoader(TensorDataset(inputs.x, inputs.y), batch_size=inputs.training.batch_size)
        criterion = nn.CrossEntropyLoss()
        wrapped = self.engine.make_private(
            module=self.model,
            optimizer=make_optimizer(self.model, inputs.training),
            data_loader=loader,
            criterion=criterion,
            noise_multiplier=self.noise_multiplier,
            max_grad_norm=self.target.clip,
            poisson_sampling=True,
            noise_generator=self.generator,
            grad_sample_mode=mode,
        )
        if mode == "ghost":
            self.private_model, self.optimizer, self.criterion, self.loader = wrapped
        else:
            self.private_model, self.optimizer, self.loader = wrapped
            self.criterion = criterion

    @property
    def accountant_history(self) -> list[tuple[float, float, int]]:
        return list(self.engine.accountant.history)

    def train_epoch(self) -> EpochStats:
        self.private_model.train()
        total_loss, examples = 0.0, 0
        for x, y in self.loader:
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.criterion(self.private_model(x), y)
            loss.backward()
            self.optimizer.step()
            total_loss += float(loss.detach()) * len(y)
            examples += len(y)
        self.epochs_done += 1
        return EpochStats(train_loss=total_loss / max(examples, 1), steps=len(self.loader), examples=examples)

    def _extra_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "optimizer": self.optimizer.original_optimizer.state_dict(),
            "accountant_history": [list(entry) for entry in self.engine.accountant.history],
        }
        if self.generator is not None:
            state["generator"] = self.generator.get_state()
        elif torch.cuda.is_available():
            state["cuda_rng"] = torch.cuda.get_rng_state_all()
        return state

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.optimizer.original_optimizer.load_state_dict(state["optimizer"])
        self.engine.accountant.history = [(float(s), float(q), int(k)) for s, q, k in state["accountant_history"]]
        if self.generator is not None:
            self.generator.set_state(state["generator"])
        elif "cuda_rng" in state:
            torch.cuda.set_rng_state_all(state["cuda_rng"])
