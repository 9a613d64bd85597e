"""The book-keeping engine computes the same clipped gradient sums as Opacus's default hooks (noise 0)."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from opacus import GradSampleModule
from opacus.optimizers import DPOptimizer
from torch import nn

from acadp.errors import UnsupportedLayerError
from acadp.learners import bookkeeping
from acadp.learners.bookkeeping import BookkeepingClipper
from acadp.models import CNNParams, MLPParams, ModelInputs, ResNet18GNParams, build_model


def opacus_clipped_sum(model: nn.Module, x: torch.Tensor, y: torch.Tensor, clip: float) -> list[torch.Tensor]:
    """Σ_i clip(∇_i) per parameter, computed by Opacus's hooks mode with noise multiplier 0."""
    wrapped = GradSampleModule(copy.deepcopy(model), batch_first=True, loss_reduction="sum")
    optimizer = DPOptimizer(
        torch.optim.SGD(wrapped.parameters(), lr=1.0),
        noise_multiplier=0.0,
        max_grad_norm=clip,
        expected_batch_size=len(y),
        loss_reduction="sum",
    )
    F.cross_entropy(wrapped(x), y, reduction="sum").backward()
    optimizer.clip_and_accumulate()
    return [p.summed_grad for p in wrapped.parameters()]


def ours(model: nn.Module, x: torch.Tensor, y: torch.Tensor, clip: float) -> list[torch.Tensor]:
    batch = BookkeepingClipper(model, max_grad_norm=clip).clipped_sum(x, y)
    return [batch.grads[p] for p in model.parameters()]


class ConvGroupNormNet(nn.Module):
    """Conv layers on both sides of the engine's materialise/ghost-norm switch, GroupNorm, LayerNorm, Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.norm1 = nn.GroupNorm(4, 8)
        self.conv2 = nn.Conv2d(8, 32, 3, stride=2, padding=1, bias=False)  # 4×4 positions: ghost norm is cheaper
        self.norm2 = nn.LayerNorm([32, 2, 2])
        self.head = nn.Linear(128, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.tanh(self.norm1(self.conv1(x)))
        x = F.max_pool2d(self.conv2(x), 2)
        return self.head(torch.relu(self.norm2(x)).flatten(1))


CASES = {
    "cnn": (lambda: build_model(CNNParams(), ModelInputs((1, 28, 28), 10, (0.13,), (0.31,)), seed=0), (1, 28, 28), 10),
    "mlp": (lambda: build_model(MLPParams(hidden=(16, 8)), ModelInputs((12,), 3), seed=0), (12,), 3),
    "conv_norms": (ConvGroupNormNet, (3, 8, 8), 5),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("clip", [0.05, 1.0, 1e4])
@pytest.mark.parametrize("conv_path", ["materialise", "ghost"])
def test_clipped_sums_equal_opacus_hooks(
    case: str, clip: float, conv_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if conv_path == "ghost":  # force the ghost norm wherever it is the cheaper one (conv_norms' second conv)
        monkeypatch.setattr(bookkeeping, "MATERIALIZE_LIMIT", 0)
    make, shape, classes = CASES[case]
    torch.manual_seed(0)
    model = make()
    x, y = torch.randn(24, *shape), torch.randint(0, classes, (24,))
    expected = opacus_clipped_sum(model, x, y, clip)
    for mine, theirs in zip(ours(model, x, y, clip), expected, strict=True):
        torch.testing.assert_close(mine, theirs, rtol=2e-4, atol=1e-6)


def test_resnet18_gn_matches_opacus_hooks_on_a_small_batch() -> None:
    model = build_model(ResNet18GNParams(groups=8), ModelInputs((3, 16, 16), 4, (0.5,) * 3, (0.25,) * 3), seed=0)
    x, y = torch.rand(3, 3, 16, 16), torch.tensor([0, 1, 3])
    for mine, theirs in zip(ours(model, x, y, 1.0), opacus_clipped_sum(model, x, y, 1.0), strict=True):
        torch.testing.assert_close(mine, theirs, rtol=1e-3, atol=1e-6)


def test_norms_are_per_example_gradient_norms() -> None:
    model = build_model(MLPParams(hidden=(6,)), ModelInputs((4,), 2), seed=0)
    x, y = torch.randn(5, 4), torch.randint(0, 2, (5,))
    batch = BookkeepingClipper(model, max_grad_norm=1.0).clipped_sum(x, y)
    for i in range(5):
        model.zero_grad()
        F.cross_entropy(model(x[i : i + 1]), y[i : i + 1]).backward()
        norm = torch.sqrt(sum(p.grad.pow(2).sum() for p in model.parameters()))
        torch.testing.assert_close(batch.norms[i], norm, rtol=1e-5, atol=1e-7)


def test_unsupported_layers_are_named() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(2 * 26 * 26, 2))
    with pytest.raises(
        UnsupportedLayerError, match=r"BatchNorm2d.*supported: Conv2d, Embedding, GroupNorm, LayerNorm, Linear"
    ):
        BookkeepingClipper(model, max_grad_norm=1.0)


def test_in_place_modification_of_a_recorded_output_is_detected() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(inplace=True), nn.Linear(4, 2))
    clipper = BookkeepingClipper(model, max_grad_norm=1.0)
    with pytest.raises(UnsupportedLayerError, match="in place"):
        clipper.clipped_sum(torch.randn(4, 3), torch.tensor([0, 1, 0, 1]))
