"""``poisson_gdro``: online Group-DRO (Sagawa et al. 2020, "Distributionally Robust Neural Networks for Group Shifts",
Algorithm 1) on the Poisson engine's batches — the same sampler, recipe and step as the ERM arm, only the loss differs.

Per step, on the Poisson batch B: the group losses ℓ_g = mean loss of B's examples of group g; the group weights
q_g ← q_g · exp(η_q · (ℓ_g + C/√n_g)) for the groups present in B (absent groups keep their weight; n_g is the group's
size in the training data, C the group adjustment of the paper's §3.3, 0 by default), then q is normalised; the step
descends the robust loss Σ_g q_g ℓ_g with the updated weights. q starts uniform and is part of the checkpoint.

Group-DRO here runs without clipping and noise (the trial config refuses the combination): its weights are computed
from un-noised group losses, which DP-SGD's accounting does not cover.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from acadp.errors import SpecError
from acadp.learners.base import LEARNERS, LearnerInputs, TrainingRun
from acadp.learners.poisson import BookkeepingRun


def group_mean_losses(losses: torch.Tensor, groups: torch.Tensor, n_groups: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-group mean of ``losses`` (b,) for ``groups`` (b,) in [0, n_groups): (ℓ (n_groups,), present (n_groups,)
    bool). An absent group's mean is 0 (differentiable in ``losses``)."""
    counts = torch.bincount(groups, minlength=n_groups)
    sums = torch.zeros(n_groups, dtype=losses.dtype, device=losses.device).index_add(0, groups, losses)
    return sums / counts.clamp(min=1).to(losses.dtype), counts > 0


def update_group_weights(
    q: torch.Tensor,
    group_loss: torch.Tensor,
    present: torch.Tensor,
    *,
    eta: float,
    adjustment: float,
    group_counts: torch.Tensor,
) -> torch.Tensor:
    """q_g · exp(η (ℓ_g + C/√n_g)) for present groups, q_g for absent ones, normalised to sum 1 (all (n_groups,))."""
    adjusted = group_loss.detach().to(q.dtype) + adjustment / group_counts.clamp(min=1).to(q.dtype).sqrt()
    exponent = torch.where(present, eta * adjusted, torch.zeros_like(adjusted))
    # exp of (exponent − max) keeps the product finite; the shift cancels in the normalisation
    weights = q * torch.exp(exponent - exponent.max())
    return weights / weights.sum()


class GroupDRORun(BookkeepingRun):
    """Poisson-sampled Group-DRO steps; the robust loss replaces the mean loss of :class:`BookkeepingRun`."""

    def __init__(self, inputs: LearnerInputs) -> None:
        if inputs.groups is None or inputs.n_groups < 2:
            raise SpecError("training.objective: gdro needs a dataset with groups (every example's (y, a))")
        if inputs.clip is not None or inputs.privacy is not None:
            raise SpecError("training.objective: gdro runs without clipping and noise (epsilon inf, clip none)")
        super().__init__(inputs)
        self.groups = inputs.groups
        self.n_groups = inputs.n_groups
        self.group_counts = torch.bincount(inputs.groups, minlength=inputs.n_groups)
        self.q = torch.full((inputs.n_groups,), 1.0 / inputs.n_groups, dtype=torch.float64)

    def group_weights(self) -> list[float] | None:
        return [float(v) for v in self.q]

    def _gradient_sums(
        self, indices: torch.Tensor
    ) -> tuple[dict[torch.Tensor, torch.Tensor], float, torch.Tensor | None]:
        """The gradient of B̄ · Σ_g q_g ℓ_g (B̄ = expected batch size, which the step divides by) after the weight
        update, and Σ loss of the batch (for the epoch's mean training loss)."""
        (x, y), groups = self._batch(indices), self.groups[indices]
        losses = F.cross_entropy(self.model(x), y, reduction="none")
        group_loss, present = group_mean_losses(losses, groups, self.n_groups)
        training = self.inputs.training
        self.q = update_group_weights(
            self.q,
            group_loss,
            present,
            eta=training.gdro_eta,
            adjustment=training.gdro_adjustment,
            group_counts=self.group_counts,
        )
        robust = (group_loss * self.q.to(group_loss.dtype)).sum()
        params = [p for p in self.model.parameters() if p.requires_grad]
        grads = torch.autograd.grad(robust * self.expected_batch_size, params)
        return dict(zip(params, grads, strict=True)), float(losses.detach().sum()), None

    def _extra_state(self) -> dict[str, Any]:
        return {**super()._extra_state(), "group_weights": self.q.clone()}

    def _load_extra_state(self, state: dict[str, Any]) -> None:
        super()._load_extra_state(state)
        self.q = state["group_weights"].clone().to(torch.float64)


@LEARNERS.register("poisson_gdro")
def make_poisson_gdro_run(inputs: LearnerInputs) -> TrainingRun:
    """Online Group-DRO on Poisson batches."""
    return GroupDRORun(inputs)
