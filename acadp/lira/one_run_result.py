"""The stored result of a one-run audit (``one_run/<key>/result.json``). Free of torch, so that results load
without it."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from acadp.config.base import FrozenModel
from acadp.config.one_run import OneRunConfig
from acadp.lira.results import JsonFloat


class OneRunRegime(FrozenModel):
    """What the run did: examples trained on, the plan's size, q, σ, steps, ε spent at the trial's δ (inf:
    non-private), and accuracy on its own training examples and on the trial's clean test set."""

    n_train: Annotated[int, Field(ge=0)]
    n_plan: Annotated[int, Field(ge=1)]  # the examples q, steps and σ were computed for (the trial's n_train)
    sample_rate: float  # q
    noise_multiplier: float  # σ
    steps: Annotated[int, Field(ge=0)]
    epsilon_spent: JsonFloat
    train_accuracy: JsonFloat
    test_accuracy: JsonFloat


class OneRunResult(FrozenModel):
    """A finished one-run audit (``one_run/<key>/result.json``): the audited point, the guesses and the bound."""

    one_run_key: str
    label: str
    config: OneRunConfig
    dataset: str
    alpha: float
    epsilon: JsonFloat  # the claimed ε (the grid point's); inf: non-private
    delta: float  # the claimed δ, in the bound's 2·m·δ term
    clip: float | None
    seed: int
    canaries: Annotated[int, Field(ge=1)]
    canaries_included: Annotated[int, Field(ge=0)]
    canaries_in_collective: Annotated[int, Field(ge=0)]
    k_plus: Annotated[int, Field(ge=0)]
    k_minus: Annotated[int, Field(ge=0)]
    guesses: Annotated[int, Field(ge=0)]  # r = k₊ + k₋
    correct: Annotated[int, Field(ge=0)]  # v
    minimum_guesses: Annotated[int, Field(ge=1)]  # the fewest guesses that could show ε > 0 here
    confidence: float
    epsilon_lower_bound: float
    regime: OneRunRegime
    seconds: float
    provenance: dict[str, str] = Field(default_factory=dict)
