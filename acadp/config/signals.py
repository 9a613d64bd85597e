"""Signal choices as configuration data: the parameters of each signal g(x) (the planting itself is in
:mod:`acadp.collective`).

Each parameter model names the data modality its signal applies to (``MODALITY``); a signal on a dataset of another
modality is refused when a trial config is resolved (:mod:`acadp.config.resolve`).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from acadp.config.base import FrozenModel

Modality = Literal["image", "tabular", "text"]


class PatchSignal(FrozenModel):
    """A ``size`` × ``size`` block of pixels set to ``value`` (all channels) in a corner or the centre (MNIST)."""

    # every field is hashed; a field added later only while it differs from its default (config.base.key_data)
    KEY_FIELDS: ClassVar[frozenset[str] | None] = frozenset({"margin", "name", "position", "size", "value"})

    MODALITY: ClassVar[Modality] = "image"
    name: Literal["patch"] = "patch"
    size: Annotated[int, Field(ge=1, le=64)] = 3
    position: Literal["bottom_right", "bottom_left", "top_right", "top_left", "center"] = "bottom_right"
    margin: Annotated[int, Field(ge=0)] = 0
    value: Annotated[float, Field(ge=0.0, le=1.0)] = 1.0


class GridSignal(FrozenModel):
    """Every ``step``-th pixel (rows, columns, from ``offset``) shifted by ``amplitude``, clipped to [0, 1] (CIFAR)."""

    # every field is hashed; a field added later only while it differs from its default (config.base.key_data)
    KEY_FIELDS: ClassVar[frozenset[str] | None] = frozenset({"amplitude", "name", "offset", "step"})

    MODALITY: ClassVar[Modality] = "image"
    name: Literal["grid"] = "grid"
    step: Annotated[int, Field(ge=2, le=64)] = 4
    offset: Annotated[int, Field(ge=0)] = 0
    amplitude: Annotated[float, Field(ge=-1.0, le=1.0)] = 0.05

    @model_validator(mode="after")
    def _nonzero_amplitude(self) -> GridSignal:
        if self.amplitude == 0.0:
            raise ValueError("amplitude must be non-zero: a zero shift plants no signal")
        return self


class FeatureOffsetSignal(FrozenModel):
    """Chosen standardised features shifted by ``offset`` (in units of the training standard deviation; tabular)."""

    # every field is hashed; a field added later only while it differs from its default (config.base.key_data)
    KEY_FIELDS: ClassVar[frozenset[str] | None] = frozenset({"features", "name", "offset"})

    MODALITY: ClassVar[Modality] = "tabular"
    name: Literal["feature_offset"] = "feature_offset"
    features: Annotated[tuple[str, ...], Field(min_length=1)]
    offset: float = 3.0

    @model_validator(mode="after")
    def _nonzero_offset(self) -> FeatureOffsetSignal:
        if self.offset == 0.0:
            raise ValueError("offset must be non-zero: a zero shift plants no signal")
        return self


# Hardt et al. 2023 plant their character at regular word intervals through a resume; acadp's default interval
DEFAULT_TOKEN_EVERY = 20
# A WordPiece sequence opens with [CLS] and closes with [SEP]: the words of a document fill the other positions
SPECIAL_POSITIONS = 2


class TokenSignal(FrozenModel):
    """A vocabulary token inserted after every ``every``-th word of a document's raw text (text; Hardt et al. 2023).

    A word is a run of non-white-space characters; a document of fewer than ``every`` words gets the token once, after
    its last word. ``token`` must be one entry of the WordPiece vocabulary every text model reads (MiniLM-L6's,
    uncased): that is checked against the vocabulary when the data is prepared (acadp.data.tokens)."""

    # every field is hashed; a field added later only while it differs from its default (config.base.key_data)
    KEY_FIELDS: ClassVar[frozenset[str] | None] = frozenset({"every", "name", "token"})

    MODALITY: ClassVar[Modality] = "text"
    name: Literal["token"] = "token"
    token: Annotated[str, Field(min_length=1, max_length=100)]
    every: Annotated[int, Field(ge=1)] = DEFAULT_TOKEN_EVERY

    @field_validator("token")
    @classmethod
    def _one_word(cls, value: str) -> str:
        if value != value.strip() or any(character.isspace() for character in value):
            raise ValueError(f"{value!r} holds white space; a vocabulary token is one word piece, e.g. 'zx'")
        return value

    def shortest_sequence(self) -> int:
        """The fewest positions a token sequence needs to hold the first planted token: [CLS], ``every`` words of
        one word piece each, the token, [SEP]."""
        return self.every + 1 + SPECIAL_POSITIONS


# every signal's parameter model; the discriminated union below and the planting registry follow this tuple
SIGNAL_MODELS: tuple[type[FrozenModel], ...] = (PatchSignal, GridSignal, FeatureOffsetSignal, TokenSignal)
SignalParams = Annotated[PatchSignal | GridSignal | FeatureOffsetSignal | TokenSignal, Field(discriminator="name")]


def signal_names() -> list[str]:
    """The names of every signal, sorted."""
    return sorted(model.model_fields["name"].default for model in SIGNAL_MODELS)


def signal_modality(name: str) -> Modality:
    """The modality the signal ``name`` applies to; an unknown name raises ``ValueError`` listing the valid ones."""
    for model in SIGNAL_MODELS:
        if model.model_fields["name"].default == name:
            modality: Modality = model.MODALITY  # type: ignore[attr-defined]
            return modality
    raise ValueError(f"unknown signal {name!r}; valid signals: {', '.join(signal_names())}")
