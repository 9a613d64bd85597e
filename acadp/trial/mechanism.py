"""Why clipping and noise move the critical mass: per-example gradient norms of the collective's examples and of the
others, measured the same way for every arm.

After every epoch a fixed probe — up to :data:`PROBE_SIZE` examples carrying the signal and as many others, drawn once
from the trial's seed — is put through the book-keeping engine (:mod:`acadp.learners.bookkeeping`) at the current
parameters, without a step: the mean per-example gradient norm of each group (what clipping to C would act on). The
clipping engines also count, during training, the share of each group's gradients they actually clipped
(:class:`acadp.learners.poisson.ClippingTally`). Neither touches the parameters or any random stream, so a trial's
results are the same with or without them. Arms that clip through Opacus's engines (``grad_sample_mode`` other than
``bookkeeping``) get no probe: Opacus hooks every layer, and an extra backward pass would corrupt its per-sample
state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from acadp.errors import UnsupportedLayerError
from acadp.learners.bookkeeping import BookkeepingClipper
from acadp.seeding import numpy_rng
from acadp.trial.data import TrialData

PROBE_SIZE = 256  # examples per group


@dataclass(frozen=True)
class GradientNorms:
    """Mean per-example gradient norm over the probe's collective examples and over its others (None: empty)."""

    members: float | None
    others: float | None


class GradientProbe:
    """The fixed probe of one trial (see the module docstring)."""

    def __init__(self, model: nn.Module, data: TrialData, *, seed: int, device: torch.device) -> None:
        planted = data.planted
        rng = numpy_rng(seed, "mechanism-probe")
        chosen = [
            np.sort(rng.choice(indices, size=min(PROBE_SIZE, indices.size), replace=False))
            for indices in (np.flatnonzero(planted.planted), np.flatnonzero(~planted.planted))
        ]
        self.groups = [
            (torch.from_numpy(planted.x[idx]).to(device), torch.from_numpy(planted.y[idx]).to(device)) for idx in chosen
        ]
        self.model = model
        self.engine = BookkeepingClipper(model, max_grad_norm=float("inf"))

    @classmethod
    def for_model(cls, model: nn.Module, data: TrialData, *, seed: int, device: torch.device) -> GradientProbe | None:
        """The probe, or None for a model with a layer the book-keeping engine cannot take apart."""
        try:
            return cls(model, data, seed=seed, device=device)
        except UnsupportedLayerError:
            return None

    def measure(self) -> GradientNorms:
        """Mean per-example gradient norms of the two groups at the model's current parameters (in evaluation mode:
        no dropout, so no random stream is drawn from)."""
        training = self.model.training
        self.model.eval()
        try:
            means = [float(self.engine.clipped_sum(x, y).norms.mean()) if y.numel() else None for x, y in self.groups]
        finally:
            self.model.train(training)
        return GradientNorms(members=means[0], others=means[1])


def member_success(model: nn.Module, data: TrialData, *, target_class: int, device: torch.device) -> float:
    """The share of the collective's own (planted) training examples the model predicts as y*; NaN without them."""
    from acadp.trial.metrics import predict

    planted = data.planted
    if not planted.planted.any():
        return float("nan")
    return float(np.mean(predict(model, planted.x[planted.planted], device) == target_class))
