"""Model choices as configuration data (no torch here: configs and the command line load without it).

The builders live in :mod:`acadp.models`.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from acadp.config.base import FrozenModel


class CNNParams(FrozenModel):
    """The DP-MNIST standard tanh CNN (Papernot et al. 2021, Opacus's MNIST example): ~26k parameters on 28×28."""

    # every field is hashed; a field added later only while it differs from its default (config.base.key_data)
    KEY_FIELDS: ClassVar[frozenset[str] | None] = frozenset({"name"})

    name: Literal["cnn"] = "cnn"


class ResNet18GNParams(FrozenModel):
    """torchvision's ResNet-18 with GroupNorm instead of BatchNorm and a CIFAR stem (3×3 conv, no max-pool)."""

    # every field is hashed; a field added later only while it differs from its default (config.base.key_data)
    KEY_FIELDS: ClassVar[frozenset[str] | None] = frozenset({"groups", "name"})

    name: Literal["resnet18_gn"] = "resnet18_gn"
    groups: Annotated[int, Field(ge=1, le=64)] = 32


class MLPParams(FrozenModel):
    """A fully connected network for tabular data."""

    # every field is hashed; a field added later only while it differs from its default (config.base.key_data)
    KEY_FIELDS: ClassVar[frozenset[str] | None] = frozenset({"activation", "hidden", "name"})

    name: Literal["mlp"] = "mlp"
    hidden: Annotated[tuple[int, ...], Field(min_length=1)] = (64, 64)
    activation: Literal["relu", "tanh"] = "relu"


ModelParams = Annotated[CNNParams | ResNet18GNParams | MLPParams, Field(discriminator="name")]
