"""The configuration of one trial — one (dataset, alpha, epsilon, C, seed) point with everything needed to rerun it.

A :class:`TrialConfig` is frozen and validated; its :meth:`TrialConfig.key` is a content hash, so results are keyed by
what produced them and a sweep can tell which grid points are already complete.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from acadp.collective import SignalParams
from acadp.config.base import FrozenModel, jsonable
from acadp.config.models import ModelParams
from acadp.config.pretrain import PretrainConfig

GradSampleMode = Literal["bookkeeping", "hooks", "functorch", "ew", "ghost"]
Accountant = Literal["prv", "rdp"]
Strategy = Literal["feature_label", "feature_only"]

DEFAULT_DELTA = 1e-5


class TrainingConfig(FrozenModel):
    """Hyper-parameters of the firm's learner."""

    epochs: Annotated[int, Field(ge=1, le=10_000)]
    batch_size: Annotated[int, Field(ge=1)]
    lr: Annotated[float, Field(gt=0)]
    momentum: Annotated[float, Field(ge=0, lt=1)] = 0.0
    weight_decay: Annotated[float, Field(ge=0)] = 0.0
    # Per-sample-gradient engine for DP-SGD: 'bookkeeping' is acadp's own (one backward pass, no second pass; tested
    # equal to Opacus's 'hooks'); the others are Opacus's grad_sample_mode values. Ignored without privacy.
    grad_sample_mode: GradSampleMode = "bookkeeping"


def _finite_or_inf(value: float, field: str) -> float:
    if math.isnan(value):
        raise ValueError(f"{field} must be a number, not NaN")
    return value


class TrialConfig(FrozenModel):
    """One trial. ``epsilon = inf`` means non-private training (plain SGD: no clipping, no noise; ``clip`` is None)."""

    dataset: str
    alpha: Annotated[float, Field(ge=0.0, lt=1.0)]
    epsilon: Annotated[float, Field(gt=0)]
    delta: Annotated[float, Field(gt=0, lt=1)] = DEFAULT_DELTA
    clip: Annotated[float, Field(gt=0)] | None = None
    seed: Annotated[int, Field(ge=0)]
    target_class: Annotated[int, Field(ge=0)]
    strategy: Strategy = "feature_label"
    signal: SignalParams
    model: ModelParams
    training: TrainingConfig
    accountant: Accountant = "prv"
    # Use only the first n_train / n_test examples of a seeded permutation of the dataset's splits (smoke runs and
    # LiRA audit pools); None = all of them. The permutation is fixed per dataset, not per trial.
    n_train: Annotated[int, Field(ge=2)] | None = None
    n_test: Annotated[int, Field(ge=1)] | None = None
    # Evaluate test accuracy and success every k epochs (and always after the last epoch).
    eval_every: Annotated[int, Field(ge=1)] = 1
    # Non-private pre-training on a public dataset before training (acadp.trial.pretrain); None = from scratch.
    pretrain: PretrainConfig | None = None

    @field_validator("epsilon")
    @classmethod
    def _epsilon_not_nan(cls, value: float) -> float:
        return _finite_or_inf(value, "epsilon")

    @model_validator(mode="after")
    def _clip_matches_privacy(self) -> TrialConfig:
        if self.private and self.clip is None:
            raise ValueError("clip (the clipping norm C) is required when epsilon is finite")
        if not self.private and self.clip is not None:
            raise ValueError("clip must be empty when epsilon is inf: non-private training does not clip")
        return self

    @property
    def private(self) -> bool:
        """True when the firm trains with DP-SGD (finite epsilon)."""
        return math.isfinite(self.epsilon)

    @property
    def learner(self) -> str:
        """Name of the learner in :data:`acadp.learners.LEARNERS`."""
        return "dpsgd" if self.private else "sgd"

    def canonical(self) -> dict[str, Any]:
        """The config as plain JSON-safe data (infinite numbers as the string ``"inf"``). An unset ``pretrain`` is
        left out, so configs without pre-training keep the keys they had before the field existed."""
        data = dict(self.plain())
        if self.pretrain is None:
            del data["pretrain"]
        return data

    def key(self) -> str:
        """A 16-hex-digit content hash of the config: equal configs share results, any change makes a new trial.

        Unset optional fields (None) are left out of the hash, so adding a new optional feature to the schema does
        not change the keys of existing results."""
        text = json.dumps(jsonable(self.model_dump(exclude_none=True)), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def label(self) -> str:
        """A short human-readable name, e.g. ``mnist5k a=0.05 eps=8 C=1 seed=0``."""
        eps = "inf" if not self.private else f"{self.epsilon:g}"
        clip = "-" if self.clip is None else f"{self.clip:g}"
        return f"{self.dataset} a={self.alpha:g} eps={eps} C={clip} seed={self.seed}"
