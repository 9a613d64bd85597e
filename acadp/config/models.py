"""Model choices as configuration data (no torch here: configs and the command line load without it).

Each parameter model names the modality of the data it reads (``MODALITY``); a model on a dataset of another modality
is refused when a trial config is validated (:class:`acadp.config.trial.TrialConfig`).

The builders live in :mod:`acadp.models`.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from acadp.config.base import FrozenModel
from acadp.config.signals import Modality


class CNNParams(FrozenModel):
    """The DP-MNIST standard tanh CNN (Papernot et al. 2021, Opacus's MNIST example): ~26k parameters on 28×28."""

    # every field is hashed; a field added later only while it differs from its default (config.base.key_data)
    KEY_FIELDS: ClassVar[frozenset[str] | None] = frozenset({"name"})

    MODALITY: ClassVar[Modality] = "image"
    name: Literal["cnn"] = "cnn"


class ResNet18GNParams(FrozenModel):
    """torchvision's ResNet-18 with GroupNorm instead of BatchNorm and a CIFAR stem (3×3 conv, no max-pool)."""

    # every field is hashed; a field added later only while it differs from its default (config.base.key_data)
    KEY_FIELDS: ClassVar[frozenset[str] | None] = frozenset({"groups", "name"})

    MODALITY: ClassVar[Modality] = "image"
    name: Literal["resnet18_gn"] = "resnet18_gn"
    groups: Annotated[int, Field(ge=1, le=64)] = 32


class MLPParams(FrozenModel):
    """A fully connected network for tabular data."""

    # every field is hashed; a field added later only while it differs from its default (config.base.key_data)
    KEY_FIELDS: ClassVar[frozenset[str] | None] = frozenset({"activation", "hidden", "name"})

    MODALITY: ClassVar[Modality] = "tabular"
    name: Literal["mlp"] = "mlp"
    hidden: Annotated[tuple[int, ...], Field(min_length=1)] = (64, 64)
    activation: Literal["relu", "tanh"] = "relu"


class BagParams(FrozenModel):
    """A bag of embeddings (fastText-like; Joulin et al. 2017): the mean of the word-piece embeddings of a document's
    tokens (padding left out), then a linear classifier. Trained from scratch."""

    # every field is hashed; a field added later only while it differs from its default (config.base.key_data)
    KEY_FIELDS: ClassVar[frozenset[str] | None] = frozenset({"dim", "name"})

    MODALITY: ClassVar[Modality] = "text"
    name: Literal["bag"] = "bag"
    dim: Annotated[int, Field(ge=1, le=4096)] = 64


class TransformerParams(FrozenModel):
    """A small transformer encoder trained from scratch: token and learned position embeddings, ``layers`` pre-norm
    blocks of ``heads``-head self-attention and a ``hidden``-wide feed-forward, the mean of the last layer's outputs
    over the document's tokens (padding left out), a linear classifier."""

    # every field is hashed; a field added later only while it differs from its default (config.base.key_data)
    KEY_FIELDS: ClassVar[frozenset[str] | None] = frozenset({"dim", "dropout", "heads", "hidden", "layers", "name"})

    MODALITY: ClassVar[Modality] = "text"
    name: Literal["transformer"] = "transformer"
    dim: Annotated[int, Field(ge=2, le=4096)] = 64
    layers: Annotated[int, Field(ge=1, le=24)] = 2
    heads: Annotated[int, Field(ge=1, le=64)] = 4
    hidden: Annotated[int, Field(ge=1, le=16384)] = 128
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0

    @model_validator(mode="after")
    def _heads_divide_dim(self) -> TransformerParams:
        if self.dim % self.heads:
            raise ValueError(f"dim: {self.dim} is not a multiple of heads = {self.heads}; each head needs dim / heads")
        return self


# the pretrained MiniLM-L6 encoder (acadp.data.assets): 6 layers, 512 positions
MINILM_LAYERS = 6
MINILM_POSITIONS = 512


class MiniLMParams(FrozenModel):
    """The pretrained MiniLM-L6 encoder (sentence-transformers' all-MiniLM-L6-v2) with a linear classification head
    on the mean of its last layer's outputs over the document's tokens (its sentence pooling). ``freeze_embeddings``
    keeps the pretrained embeddings fixed; ``frozen_layers`` keeps the first that many of its 6 layers fixed (the
    embeddings too when above 0); ``dropout`` is the encoder's dropout probability (0.1 in its pretraining)."""

    # every field is hashed; a field added later only while it differs from its default (config.base.key_data)
    KEY_FIELDS: ClassVar[frozenset[str] | None] = frozenset({"dropout", "freeze_embeddings", "frozen_layers", "name"})

    MODALITY: ClassVar[Modality] = "text"
    # the model asset its pretrained weights come from (acadp.data.assets; `acadp data fetch minilm-l6`)
    ASSET: ClassVar[str] = "minilm-l6"
    name: Literal["minilm"] = "minilm"
    freeze_embeddings: bool = False
    frozen_layers: Annotated[int, Field(ge=0, le=MINILM_LAYERS)] = 0
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.1

    @property
    def embeddings_frozen(self) -> bool:
        """Whether the embeddings stay fixed: asked for, or below a frozen layer."""
        return self.freeze_embeddings or self.frozen_layers > 0


# every model's parameter model; the discriminated union below and the builder registry follow this tuple
MODEL_PARAMS: tuple[type[FrozenModel], ...] = (
    CNNParams, ResNet18GNParams, MLPParams, BagParams, TransformerParams, MiniLMParams,
)  # fmt: skip
ModelParams = Annotated[
    CNNParams | ResNet18GNParams | MLPParams | BagParams | TransformerParams | MiniLMParams,
    Field(discriminator="name"),
]


def model_names(modality: str | None = None) -> list[str]:
    """The names of every model (of one ``modality`` when given), sorted."""
    return sorted(
        model.model_fields["name"].default
        for model in MODEL_PARAMS
        if modality is None or modality == model.MODALITY  # type: ignore[attr-defined]
    )
