"""Pre-training settings as configuration data (the training itself is in :mod:`acadp.trial.pretrain`)."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from acadp.config.base import FrozenModel
from acadp.data import DATASETS

# Bump when the file layout or the pre-training procedure changes: older cached weights are then ignored.
PRETRAIN_FORMAT = 1
PRETRAINED_SUBDIR = "pretrained"

Finetune = Literal["all", "head"]


class PretrainConfig(FrozenModel):
    """Non-private pre-training on a public dataset before the trial's (private) training."""

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
        if value not in DATASETS:
            raise ValueError(f"unknown dataset {value!r}; valid datasets: {', '.join(DATASETS.names())}")
        return value

    def cache_key(self, model: FrozenModel) -> str:
        """16 hex digits naming the pre-trained weights of ``model``: these settings except ``finetune``, the
        dataset's preparation version and the cache format."""
        payload = {
            "format": PRETRAIN_FORMAT,
            "pretrain": weight_settings(self),
            "dataset_version": DATASETS.get(self.dataset).version,
            "model": model.plain(),
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def weight_settings(pretrain: PretrainConfig) -> dict[str, Any]:
    """The settings that determine the pre-trained weights, as plain JSON data."""
    data: dict[str, Any] = pretrain.plain()
    data.pop("finetune")
    return data
