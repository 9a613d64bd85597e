"""Model registry: shapes, parameter counts, seeded initialisation, no BatchNorm and no in-place activations."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from acadp.errors import RegistryError
from acadp.models import MODELS, CNNParams, MLPParams, ModelInputs, ResNet18GNParams, build_model, count_parameters

MNIST = ModelInputs(input_shape=(1, 28, 28), n_classes=10, channel_mean=(0.1307,), channel_std=(0.3081,))
CIFAR = ModelInputs(input_shape=(3, 32, 32), n_classes=10, channel_mean=(0.5,) * 3, channel_std=(0.25,) * 3)


def test_cnn_is_the_26k_parameter_dp_mnist_network() -> None:
    model = build_model(CNNParams(), MNIST, seed=0)
    # conv 1→16 8×8: 1040, conv 16→32 4×4: 8224, fc 512→32: 16416, fc 32→10: 330
    assert count_parameters(model) == 26_010
    assert model(torch.zeros(5, 1, 28, 28)).shape == (5, 10)
    assert any(isinstance(m, nn.Tanh) for m in model.modules())


def test_initialisation_is_seeded_and_leaves_the_global_rng_alone() -> None:
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = build_model(CNNParams(), MNIST, seed=1)
    assert torch.equal(torch.rand(1), expected_next)
    second = build_model(CNNParams(), MNIST, seed=1)
    third = build_model(CNNParams(), MNIST, seed=2)
    for a, b, c in zip(first.parameters(), second.parameters(), third.parameters(), strict=True):
        assert torch.equal(a, b)
        assert not torch.equal(a, c)


def test_resnet18_gn_uses_group_norm_and_no_in_place_ops() -> None:
    model = build_model(ResNet18GNParams(groups=16), CIFAR, seed=0)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    norms = [m for m in model.modules() if isinstance(m, nn.GroupNorm)]
    assert norms and all(m.num_groups == 16 for m in norms)
    assert all(not m.inplace for m in model.modules() if isinstance(m, nn.ReLU))
    assert 11_000_000 < count_parameters(model) < 11_300_000
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_mlp_layers_follow_hidden_sizes() -> None:
    model = build_model(MLPParams(hidden=(8, 4), activation="tanh"), ModelInputs((5,), 2), seed=0)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(5, 8), (8, 4), (4, 2)]


def test_unknown_model_lists_the_valid_names() -> None:
    with pytest.raises(RegistryError, match="valid names: bag, cnn, minilm, mlp, resnet18_gn, transformer"):
        MODELS.get("vgg")


def test_cnn_refuses_tabular_inputs() -> None:
    with pytest.raises(ValueError, match="image inputs"):
        build_model(CNNParams(), ModelInputs((10,), 2), seed=0)
