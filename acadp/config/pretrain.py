"""Pre-training settings as configuration data (the training itself is in :mod:`acadp.trial.pretrain`)."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, field_validator

from acadp.config.base import FrozenModel

# Bump when the file layout or the pre-training procedure changes: older cached weights are then ignored.
PRETRAIN_FORMAT = 1
PRETRAINED_SUBDIR = "pretrained"

Finetune = Literal["all", "head"]


class PretrainConfig(FrozenModel):
    """Non-private pre-training on a public dataset before the trial's (private) training."""

    # every field is hashed; a field added later only while it differs from its default (config.base.key_data)
    KEY_FIELDS: ClassVar[frozenset[str] | None] = frozenset(
        {"batch_size", "dataset", "epochs", "finetune", "lr", "momentum", "n_train", "seed", "weight_decay"}
    )

    dataset: str
    epochs: Annotated[int, Field(ge=1, le=10_000)]
    batch_size: Annotated[int, Field(ge=1)]
    lr: Annotated[float, Field(gt=0)]
    momentum: Annotated[float, Field(ge=0, lt=1)] = 0.0
    weight_decay: Annotated[float, Field(ge=0)] = 0.0
    seed: Annotated[int, Field(ge=0)] = 0
    # Pre-train on the first n_train examples of the dataset's fixed seeded permutation (smoke runs); None = all.
    n_train: Annotated[int, Field(ge=2)] | None = None
    # "all": fine-tune every weight; "head": freeze everything but the final classifier (a linear probe on public
    # features). Fine-tuning only: it does not change the pre-trained weights, nor their cache file.
    finetune: Finetune = "all"

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, value: str) -> str:
        from acadp.config.presets import PRESETS  # the presets import this module: look them up when validating

        if value not in PRESETS:
            raise ValueError(f"unknown dataset {value!r}; valid datasets: {', '.join(PRESETS.names())}")
        return value


def weight_settings(pretrain: PretrainConfig) -> dict[str, Any]:
    """The settings that determine the pre-trained weights, as plain JSON data."""
    data: dict[str, Any] = pretrain.plain()
    data.pop("finetune")
    return data
