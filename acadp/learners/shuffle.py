"""``shuffle``: minibatch SGD over seeded shuffles, no clipping, no noise — the engine of a separately tuned
non-private recipe (``sampling: shuffle``); the shared recipe's arms use :mod:`acadp.learners.poisson`."""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from acadp.learners.base import LEARNERS, EpochStats, LearnerInputs, PrivacyReport, TrainingRun, make_optimizer
from acadp.seeding import torch_generator


@LEARNERS.register("shuffle")
class ShuffleRun(TrainingRun):
    """Epochs are passes over a fresh seeded permutation in batches of ``batch_size`` (the last one may be smaller)."""

    def __init__(self, inputs: LearnerInputs) -> None:
        super().__init__(inputs)
        self.optimizer = make_optimizer(self.model, inputs.training, clip=inputs.clip)
        self.generator = torch_generator(inputs.seed, "shuffle")
        self.steps = 0

    def train_epoch(self) -> EpochStats:
        x, y, batch_size = self.inputs.x, self.inputs.y, self.inputs.training.batch_size
        order = torch.randperm(y.shape[0], generator=self.generator).to(y.device)
        self.model.train()
        total_loss, steps = 0.0, 0
        for start in range(0, y.shape[0], batch_size):
            batch = order[start : start + batch_size]
            self.optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(self.model(self.augment(x[batch])), y[batch])
            loss.backward()
            self.optimizer.step()
            total_loss += float(loss.detach()) * batch.shape[0]
            steps += 1
        self.steps += steps
        self.epochs_done += 1
        return EpochStats(train_loss=total_loss / y.shape[0], steps=steps, examples=y.shape[0])

    def privacy_report(self) -> PrivacyReport:
        n = self.inputs.y.shape[0]
        return PrivacyReport(
            epsilon_spent=math.inf,
            delta=0.0,
            noise_multiplier=0.0,
            sample_rate=min(1.0, self.inputs.training.batch_size / n),
            steps=self.steps,
            accountant="none",
            clip=None,
        )

    def _extra_state(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "generator": self.generator.get_state(), "steps": self.steps}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.steps = int(state["steps"])
