"""Model registry: ``cnn`` (tanh CNN for 28×28 digits), ``resnet18_gn`` (ResNet-18 with GroupNorm), ``mlp``.

Every model normalises its input internally (a fixed, non-trainable affine layer), so signals are planted in pixel
space and the collective's transform never depends on normalisation constants. No model uses BatchNorm (which mixes
examples and breaks per-example privacy) or in-place activations (which would overwrite layer outputs the
per-sample-gradient engine reads).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from acadp.config.base import FrozenModel
from acadp.config.models import CNNParams, MLPParams, ModelParams, ResNet18GNParams
from acadp.registry import Registry

__all__ = [
    "MODELS",
    "CNNParams",
    "MLPParams",
    "ModelInputs",
    "ModelParams",
    "ResNet18GNParams",
    "build_model",
    "count_parameters",
]


@dataclass(frozen=True)
class ModelInputs:
    """What a model builder needs to know about the data."""

    input_shape: tuple[int, ...]  # one example: (channels, height, width) or (n_features,)
    n_classes: int
    channel_mean: tuple[float, ...] = ()
    channel_std: tuple[float, ...] = ()


ModelBuilder = Callable[[FrozenModel, ModelInputs], nn.Module]
MODELS: Registry[ModelBuilder] = Registry("model")


class Normalize(nn.Module):
    """(x - mean) / std per channel with fixed constants (buffers, not parameters)."""

    mean: torch.Tensor
    std: torch.Tensor

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def _normalizer(inputs: ModelInputs) -> nn.Module:
    if inputs.channel_mean and inputs.channel_std:
        return Normalize(inputs.channel_mean, inputs.channel_std)
    return nn.Identity()


@MODELS.register("cnn")
def build_cnn(params: FrozenModel, inputs: ModelInputs) -> nn.Module:
    """conv(16, 8×8, stride 2) → tanh → maxpool(2, 1) → conv(32, 4×4, stride 2) → tanh → maxpool(2, 1) → fc 32 → fc."""
    if len(inputs.input_shape) != 3:
        raise ValueError(f"model 'cnn' needs image inputs (channels, height, width), got {inputs.input_shape}")
    channels = inputs.input_shape[0]
    features = nn.Sequential(
        nn.Conv2d(channels, 16, kernel_size=8, stride=2, padding=3),
        nn.Tanh(),
        nn.MaxPool2d(2, 1),
        nn.Conv2d(16, 32, kernel_size=4, stride=2),
        nn.Tanh(),
        nn.MaxPool2d(2, 1),
        nn.Flatten(),
    )
    with torch.no_grad():
        flat = features(torch.zeros(1, *inputs.input_shape)).shape[1]
    return nn.Sequential(_normalizer(inputs), features, nn.Linear(flat, 32), nn.Tanh(), nn.Linear(32, inputs.n_classes))


def _out_of_place_basic_block() -> type[nn.Module]:
    """torchvision's ResNet BasicBlock with the residual addition and ReLU done out of place.

    torchvision adds the shortcut with ``out += identity``, which overwrites the GroupNorm output that per-sample
    gradient engines read; the arithmetic is otherwise identical.
    """
    from torchvision.models.resnet import BasicBlock

    class OutOfPlaceBasicBlock(BasicBlock):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            identity = x if self.downsample is None else self.downsample(x)
            out = torch.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            return torch.relu(out + identity)

    return OutOfPlaceBasicBlock


@MODELS.register("resnet18_gn")
def build_resnet18_gn(params: FrozenModel, inputs: ModelInputs) -> nn.Module:
    """ResNet-18 (He et al. 2016) with GroupNorm(``groups``) and a CIFAR stem, as used for DP on CIFAR-10."""
    assert isinstance(params, ResNet18GNParams)
    from torchvision.models.resnet import ResNet

    if len(inputs.input_shape) != 3:
        raise ValueError(f"model 'resnet18_gn' needs image inputs, got {inputs.input_shape}")
    groups = params.groups
    net = ResNet(
        _out_of_place_basic_block(),
        [2, 2, 2, 2],
        num_classes=inputs.n_classes,
        norm_layer=lambda width: nn.GroupNorm(min(groups, width), width),
    )
    net.conv1 = nn.Conv2d(inputs.input_shape[0], 64, kernel_size=3, stride=1, padding=1, bias=False)
    net.maxpool = nn.Identity()
    for module in net.modules():
        if isinstance(module, nn.ReLU):
            module.inplace = False
    return nn.Sequential(_normalizer(inputs), net)


@MODELS.register("mlp")
def build_mlp(params: FrozenModel, inputs: ModelInputs) -> nn.Module:
    """Linear → activation blocks of widths ``hidden`` → linear classifier."""
    assert isinstance(params, MLPParams)
    if len(inputs.input_shape) != 1:
        raise ValueError(f"model 'mlp' needs flat tabular inputs (n_features,), got {inputs.input_shape}")
    activation = {"relu": nn.ReLU, "tanh": nn.Tanh}[params.activation]
    layers: list[nn.Module] = []
    width = inputs.input_shape[0]
    for hidden in params.hidden:
        layers += [nn.Linear(width, hidden), activation()]
        width = hidden
    layers.append(nn.Linear(width, inputs.n_classes))
    return nn.Sequential(*layers)


def build_model(params: CNNParams | ResNet18GNParams | MLPParams, inputs: ModelInputs, *, seed: int) -> nn.Module:
    """Build the registered model ``params.name``, weights initialised from ``seed`` (global RNG untouched)."""
    builder = MODELS.get(params.name)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = builder(params, inputs)
    return model


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
