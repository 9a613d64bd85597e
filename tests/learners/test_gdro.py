"""Online Group-DRO (acadp.learners.gdro): the step against hand-computed numbers, robustness on a synthetic problem
with a minority group, and bit-identical resume with the group weights."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from acadp.config.arms import engine
from acadp.config.trial import TrainingConfig
from acadp.errors import SpecError
from acadp.learners import LEARNERS, LearnerInputs
from acadp.learners.gdro import GroupDRORun, group_mean_losses, update_group_weights


def test_group_losses_and_weight_update_match_hand_computation() -> None:
    losses = torch.tensor([1.0, 3.0, 0.5])  # group 0: 1 and 3 (mean 2), group 1: 0.5, group 2 absent
    groups = torch.tensor([0, 0, 1])
    group_loss, present = group_mean_losses(losses, groups, 3)
    assert group_loss.tolist() == [2.0, 0.5, 0.0]
    assert present.tolist() == [True, True, False]
    q = torch.full((3,), 1 / 3, dtype=torch.float64)
    counts = torch.tensor([4, 1, 9])
    plain = update_group_weights(q, group_loss, present, eta=0.1, adjustment=0.0, group_counts=counts)
    # q_g ∝ (1/3)·exp(0.1·ℓ_g) for present groups, (1/3) for the absent one
    raw = [math.exp(0.2), math.exp(0.05), 1.0]
    assert plain.tolist() == pytest.approx([r / sum(raw) for r in raw], abs=1e-12)
    adjusted = update_group_weights(q, group_loss, present, eta=0.1, adjustment=1.0, group_counts=counts)
    # ℓ_g + C/√n_g: 2 + 1/2 and 0.5 + 1/1
    raw = [math.exp(0.25), math.exp(0.15), 1.0]
    assert adjusted.tolist() == pytest.approx([r / sum(raw) for r in raw], abs=1e-12)


def _inputs(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, groups: torch.Tensor, n_groups: int = 2, **training: object
) -> LearnerInputs:
    recipe = TrainingConfig.model_validate(
        {"epochs": 1, "batch_size": y.shape[0], "lr": 0.5, "objective": "gdro", "gdro_eta": 0.1, **training}
    )
    return LearnerInputs(
        model=model, x=x, y=y, training=recipe, seed=0, device=torch.device("cpu"), groups=groups, n_groups=n_groups
    )


def test_one_step_updates_weights_and_descends_the_robust_loss() -> None:
    torch.manual_seed(0)
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.5]])
    y = torch.tensor([0, 1, 1, 0])
    groups = torch.tensor([0, 0, 0, 1])
    model = nn.Linear(2, 2)
    reference = copy.deepcopy(model)
    run = LEARNERS.get("poisson_gdro")(_inputs(model, x, y, groups))
    assert isinstance(run, GroupDRORun)
    assert run.sample_rate == 1.0  # batch size = n: every example is in the one Poisson batch
    run.train_epoch()
    # by hand: ℓ_0 = mean loss of examples 0-2, ℓ_1 = loss of example 3, q ∝ ½·exp(0.1·ℓ_g), loss Σ q_g ℓ_g
    losses = F.cross_entropy(reference(x), y, reduction="none")
    l0, l1 = float(losses[:3].mean().detach()), float(losses[3].detach())
    q0 = math.exp(0.1 * l0) / (math.exp(0.1 * l0) + math.exp(0.1 * l1))
    assert run.group_weights() == pytest.approx([q0, 1 - q0], abs=1e-6)
    robust = q0 * losses[:3].mean() + (1 - q0) * losses[3]
    robust.backward()
    for param, before in zip(model.parameters(), reference.parameters(), strict=True):
        assert before.grad is not None
        torch.testing.assert_close(param.detach(), before.detach() - 0.5 * before.grad, rtol=1e-5, atol=1e-6)


Arrays = tuple[np.ndarray, np.ndarray, np.ndarray]


def _minority_problem(seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, Arrays]:
    """Feature 0 carries y with noise; feature 1 carries a spurious attribute a that equals y in 95% of training
    points. Returns x, y, groups (y·2 + a) of a training set and the test set's (x, y, groups) packed in a tuple."""
    rng = np.random.default_rng(seed)

    def draw(n: int, agree: float) -> Arrays:
        y = rng.integers(0, 2, n)
        a = np.where(rng.random(n) < agree, y, 1 - y)
        core = (2 * y - 1) * 1.0 + rng.normal(0, 1.0, n)
        spurious = (2 * a - 1) * 2.0 + rng.normal(0, 0.2, n)
        return np.stack([core, spurious], axis=1).astype(np.float32), y.astype(np.int64), (2 * y + a).astype(np.int64)

    x, y, g = draw(2000, 0.95)
    test = draw(4000, 0.5)
    return torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(g), test


def _worst_group_accuracy(model: nn.Module, test: Arrays) -> float:
    x, y, g = test
    with torch.no_grad():
        pred = model(torch.from_numpy(x)).argmax(1).numpy()
    return min(float((pred == y)[g == group].mean()) for group in range(4))


def test_group_dro_raises_worst_group_accuracy_over_erm_with_the_same_recipe() -> None:
    x, y, groups, test = _minority_problem(0)
    worst = {}
    for objective in ("erm", "gdro"):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
        recipe = TrainingConfig(epochs=20, batch_size=100, lr=0.2, objective=objective, gdro_eta=0.05)
        inputs = LearnerInputs(
            model=model, x=x, y=y, training=recipe, seed=0, device=torch.device("cpu"), groups=groups, n_groups=4
        )
        run = LEARNERS.get(engine(sampling=recipe.sampling, objective=recipe.objective))(inputs)
        for _ in range(recipe.epochs):
            run.train_epoch()
        worst[objective] = _worst_group_accuracy(model, test)
        if objective == "gdro":
            weights = run.group_weights()
            assert weights is not None
            assert weights[1] + weights[2] > weights[0] + weights[3]  # the minority groups (y ≠ a) weigh more
    assert worst["gdro"] > worst["erm"] + 0.1, worst


def test_resume_is_bit_identical_with_the_group_weights() -> None:
    x, y, groups, _ = _minority_problem(1)

    def fresh() -> GroupDRORun:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
        run = LEARNERS.get("poisson_gdro")(_inputs(model, x, y, groups, 4, batch_size=200, epochs=4))
        assert isinstance(run, GroupDRORun)
        return run

    straight = fresh()
    for _ in range(4):
        straight.train_epoch()
    first = fresh()
    first.train_epoch()
    first.train_epoch()
    state = copy.deepcopy(first.state_dict())
    assert "group_weights" in state["extra"]
    resumed = fresh()
    resumed.load_state_dict(state)
    assert resumed.group_weights() == first.group_weights()
    resumed.train_epoch()
    resumed.train_epoch()
    assert resumed.group_weights() == straight.group_weights()
    for a, b in zip(resumed.model.state_dict().values(), straight.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_group_dro_without_groups_is_refused() -> None:
    model = nn.Linear(2, 2)
    inputs = _inputs(model, torch.zeros(4, 2), torch.zeros(4, dtype=torch.long), torch.zeros(4, dtype=torch.long))
    with pytest.raises(SpecError, match=r"training\.objective"):
        GroupDRORun(LearnerInputs(**{**inputs.__dict__, "groups": None, "n_groups": 0}))
