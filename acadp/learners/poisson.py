"""``poisson``: the engine of every arm of the shared recipe — Poisson-sampled steps with optional per-example
clipping to C and optional Gaussian noise σ·C (Abadi et al. 2016). No clipping and no noise is plain SGD on Poisson
batches; clipping without noise isolates the clipping bias (the B(α, C) term of Solanki et al. 2025); both is DP-SGD.

Opacus does the privacy bookkeeping: σ comes from :mod:`acadp.learners.noise` for the planned number of steps,
batches from Opacus's Poisson sampler (``UniformWithReplacementSampler``) and an Opacus accountant (``prv`` by default,
``rdp`` selectable) tracks the privacy spent. Conventions follow Opacus's ``make_private``: sample rate
q = 1 / ceil(n / batch_size), the summed (clipped, noisy) gradient is divided by the expected batch size int(n·q).

Per-example gradients (needed only to clip) come from one of two engines:

* ``bookkeeping`` (default): :mod:`acadp.learners.bookkeeping`, one forward and one partial backward pass;
* ``hooks``, ``functorch``, ``ew``, ``ghost``: Opacus's ``PrivacyEngine.make_private`` with that ``grad_sample_mode``.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from opacus import PrivacyEngine
from opacus.accountants import create_accountant
from opacus.utils.uniform_sampler import UniformWithReplacementSampler
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from acadp.errors import SpecError
from acadp.learners.base import (
    LEARNERS,
    EpochStats,
    LearnerInputs,
    PrivacyReport,
    TrainingRun,
    make_optimizer,
)
from acadp.learners.bookkeeping import BookkeepingClipper
from acadp.learners.noise import NoiseSetting, noise_multiplier_for, quiet_accounting
from acadp.seeding import torch_generator


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

    def noise_setting(self, *, epsilon: float, delta: float, accountant: str) -> NoiseSetting:
        """The σ-determining setting of a DP run with this plan."""
        return NoiseSetting.model_validate(
            {"epsilon": epsilon, "delta": delta, "sample_rate": self.sample_rate, "steps": self.planned_steps,
             "accountant": accountant}
        )  # fmt: skip


class PoissonRun(TrainingRun):
    """What every Poisson engine shares: the sampling plan, σ (0 without a privacy target), the privacy report."""

    def __init__(self, inputs: LearnerInputs) -> None:
        super().__init__(inputs)
        if inputs.privacy is not None and inputs.clip is None:
            raise SpecError("DP-SGD needs a clipping norm C: noise is calibrated to it (set clip)")
        self.clip = inputs.clip
        self.plan = SamplingPlan.for_training(
            n=inputs.plan_examples or inputs.y.shape[0],
            batch_size=inputs.training.batch_size,
            epochs=inputs.training.epochs,
        )
        self.sample_rate = self.plan.sample_rate
        self.expected_batch_size = self.plan.expected_batch_size
        self.noise_multiplier = self._noise_multiplier(inputs)

    def _noise_multiplier(self, inputs: LearnerInputs) -> float:
        if inputs.privacy is None:
            return 0.0
        if inputs.noise_multiplier is not None:
            return inputs.noise_multiplier
        target = inputs.privacy
        setting = self.plan.noise_setting(epsilon=target.epsilon, delta=target.delta, accountant=target.accountant)
        return noise_multiplier_for(setting)

    @property
    @abstractmethod
    def accountant_history(self) -> list[tuple[float, float, int]]:
        """(σ, q, steps) entries of the accountant (every step, noisy or not)."""

    def privacy_report(self) -> PrivacyReport:
        history = self.accountant_history
        steps = sum(entry[2] for entry in history)
        target = self.inputs.privacy
        if target is None:  # no noise: no finite guarantee, whatever the clipping
            spent, delta, accountant_name = math.inf, 0.0, "none"
        else:
            accountant = create_accountant(target.accountant)
            accountant.history = list(history)
            with quiet_accounting(target.accountant):
                spent = accountant.get_epsilon(delta=target.delta) if steps else 0.0
            delta, accountant_name = target.delta, target.accountant
        return PrivacyReport(
            epsilon_spent=float(spent),
            delta=delta,
            noise_multiplier=self.noise_multiplier,
            sample_rate=self.sample_rate,
            steps=steps,
            accountant=accountant_name,
            clip=self.clip,
        )


class ClippingTally:
    """Counts an epoch's clipped per-example gradients, in all and apart for the collective's examples (``members``,
    (n,) bool over the training set) and the others."""

    def __init__(self, members: torch.Tensor | None) -> None:
        self.members = members
        self.seen = self.clipped = 0
        self.seen_members = self.clipped_members = 0

    def add(self, indices: torch.Tensor, clipped: torch.Tensor) -> None:
        """A step's batch ``indices`` (batch,) and which of its gradients were clipped (batch,) bool."""
        self.seen += int(indices.numel())
        self.clipped += int(clipped.sum())
        if self.members is not None:
            in_collective = self.members[indices]
            self.seen_members += int(in_collective.sum())
            self.clipped_members += int((clipped & in_collective).sum())

    def fractions(self) -> dict[str, float | None]:
        """``clipped_fraction`` and, when members were given, ``clipped_fraction_members``/``_others``."""
        others_seen, others_clipped = self.seen - self.seen_members, self.clipped - self.clipped_members
        counted = self.members is not None
        return {
            "clipped_fraction": self.clipped / max(self.seen, 1),
            "clipped_fraction_members": self.clipped_members / self.seen_members
            if counted and self.seen_members
            else None,
            "clipped_fraction_others": others_clipped / others_seen if counted and others_seen else None,
        }


@LEARNERS.register("poisson")
def make_poisson_run(inputs: LearnerInputs) -> TrainingRun:
    """The Poisson-sampled run: acadp's engine, or Opacus's ``grad_sample_mode`` when clipping through Opacus."""
    if inputs.training.grad_sample_mode == "bookkeeping" or inputs.clip is None:
        return BookkeepingRun(inputs)
    return OpacusRun(inputs)


class BookkeepingRun(PoissonRun):
    """Poisson steps with acadp's one-backward-pass clipping engine (or a plain backward pass without clipping)."""

    def __init__(self, inputs: LearnerInputs) -> None:
        super().__init__(inputs)
        self.optimizer = make_optimizer(self.model, inputs.training, clip=self.clip)
        self.clipper = None if self.clip is None else BookkeepingClipper(self.model, max_grad_norm=self.clip)
        self.history: list[tuple[float, float, int]] = []
        self.sampler_generator = torch_generator(inputs.seed, "poisson")
        self.noise_generator = torch_generator(inputs.seed, "noise", inputs.device)
        self.sampler = UniformWithReplacementSampler(
            num_samples=inputs.y.shape[0],
            sample_rate=self.sample_rate,
            generator=self.sampler_generator,
            steps=self.plan.steps_per_epoch,
        )

    @property
    def accountant_history(self) -> list[tuple[float, float, int]]:
        return list(self.history)

    def train_epoch(self) -> EpochStats:
        self.model.train()
        total_loss, examples = 0.0, 0
        tally = ClippingTally(self.inputs.members) if self.clip is not None else None
        for indices in self.sampler:
            batch = torch.as_tensor(indices, dtype=torch.long, device=self.inputs.y.device)
            loss_sum, clipped = self._step(batch)
            total_loss += loss_sum
            examples += len(indices)
            if tally is not None and clipped is not None:
                tally.add(batch, clipped)
        self.epochs_done += 1
        return EpochStats(
            train_loss=total_loss / max(examples, 1),
            steps=self.plan.steps_per_epoch,
            examples=examples,
            **({"clipped_fraction": None} if tally is None else tally.fractions()),
        )

    def _batch(self, indices: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The Poisson batch ``indices`` as trained on: (inputs, augmented when asked for; labels)."""
        return self.augment(self.inputs.x[indices]), self.inputs.y[indices]

    def _gradient_sums(
        self, indices: torch.Tensor
    ) -> tuple[dict[torch.Tensor, torch.Tensor], float, torch.Tensor | None]:
        """Σ over the batch of (clipped) per-example gradients, Σ loss, and which gradients were clipped ((batch,)
        bool; None without clipping)."""
        x, y = self._batch(indices)
        if self.clipper is not None:
            batch = self.clipper.clipped_sum(x, y)
            assert self.clip is not None
            return batch.grads, float(batch.loss_sum), batch.norms > self.clip
        loss = F.cross_entropy(self.model(x), y, reduction="sum")
        params = [p for p in self.model.parameters() if p.requires_grad]
        grads = torch.autograd.grad(loss, params)
        return dict(zip(params, grads, strict=True)), float(loss.detach()), None

    def _step(self, indices: torch.Tensor) -> tuple[float, torch.Tensor | None]:
        """One step on the Poisson batch ``indices`` (possibly empty): (Σ loss, which gradients were clipped)."""
        params = [p for p in self.model.parameters() if p.requires_grad]
        grads, loss_sum, clipped = self._gradient_sums(indices) if indices.numel() else ({}, 0.0, None)
        std = self.noise_multiplier * (self.clip or 0.0)
        for param in params:
            summed = grads.get(param)
            if std > 0:
                noisy = torch.normal(0.0, std, param.shape, generator=self.noise_generator, device=param.device)
                if summed is not None:
                    noisy.add_(summed)
            else:
                noisy = summed.clone() if summed is not None else torch.zeros_like(param)
            param.grad = noisy.div_(self.expected_batch_size).to(param.dtype)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self._account_step()
        return loss_sum, clipped

    def _account_step(self) -> None:
        """One (σ, q) step in the accountant's history format, merged into the last entry like Opacus does."""
        if self.history and self.history[-1][:2] == (self.noise_multiplier, self.sample_rate):
            sigma, q, steps = self.history[-1]
            self.history[-1] = (sigma, q, steps + 1)
        else:
            self.history.append((self.noise_multiplier, self.sample_rate, 1))

    def _extra_state(self) -> dict[str, Any]:
        return {
            "optimizer": self.optimizer.state_dict(),
            "sampler_generator": self.sampler_generator.get_state(),
            "noise_generator": self.noise_generator.get_state(),
            "accountant_history": [list(entry) for entry in self.history],
        }

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.sampler_generator.set_state(state["sampler_generator"])
        self.noise_generator.set_state(state["noise_generator"])
        self.history = [(float(s), float(q), int(k)) for s, q, k in state["accountant_history"]]


class OpacusRun(PoissonRun):
    """Clipped (and, with a privacy target, noisy) steps through Opacus's ``PrivacyEngine.make_private`` with one of
    its per-sample-gradient modes."""

    def __init__(self, inputs: LearnerInputs) -> None:
        super().__init__(inputs)
        if inputs.plan_examples not in (None, inputs.y.shape[0]):
            raise SpecError("training.grad_sample_mode: a sampling plan fixed in advance needs 'bookkeeping'")
        mode = inputs.training.grad_sample_mode
        on_cpu = inputs.device.type == "cpu"
        # Opacus draws Poisson batches and noise from one generator; on a GPU its CPU sampler and device noise cannot
        # share one, so there the global RNGs (seeded per trial, saved in checkpoints) are used instead.
        self.generator = torch_generator(inputs.seed, "opacus") if on_cpu else None
        self.engine = PrivacyEngine(accountant=inputs.privacy.accountant if inputs.privacy else "prv")
        loader = DataLoader(TensorDataset(inputs.x, inputs.y), batch_size=inputs.training.batch_size)
        criterion = nn.CrossEntropyLoss()
        wrapped = self.engine.make_private(
            module=self.model,
            optimizer=make_optimizer(self.model, inputs.training, clip=self.clip),
            data_loader=loader,
            criterion=criterion,
            noise_multiplier=self.noise_multiplier,
            max_grad_norm=self.clip,
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
            loss = self.criterion(self.private_model(self.augment(x)), y)
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
