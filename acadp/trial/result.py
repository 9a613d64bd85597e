"""The record a finished trial leaves behind: flat metrics for tables, the full config and provenance for tracing."""

from __future__ import annotations

import math
from typing import Any

from pydantic import Field, field_validator

from acadp.config.base import FrozenModel, jsonable
from acadp.config.trial import TrialConfig


class EpochRecord(FrozenModel):
    """Metrics after one epoch. Test metrics and the ε spent so far are None on epochs that were not evaluated (see
    ``eval_every``; ε also without noise); ``clipped_fraction`` (share of per-example gradients whose norm exceeded
    C this epoch) is None without clipping."""

    epoch: int
    train_loss: float
    clipped_fraction: float | None = None
    test_accuracy: float | None = None
    success: float | None = None
    base_rate: float | None = None
    # datasets with groups: the lowest per-group test accuracy (evaluated epochs), Group-DRO's weights q per group
    worst_group_accuracy: float | None = None
    group_weights: list[float] | None = None
    epsilon_spent: float | None = None
    # the mechanism (acadp.trial.mechanism): mean per-example gradient norm at the epoch's end over a fixed probe of
    # the collective's examples and of the others (every arm), and the share of each group's gradients clipped during
    # the epoch (clipping arms)
    grad_norm_members: float | None = None
    grad_norm_others: float | None = None
    clipped_fraction_members: float | None = None
    clipped_fraction_others: float | None = None
    seconds: float


class TrialResult(FrozenModel):
    """A completed trial (``acadp trial --json`` prints :meth:`summary`; the store keeps :meth:`to_json`).

    ``success`` is S(alpha) = Pr[f(g(x)) = y*] over test points whose true label is not y*; ``success_all`` is the same
    rate over all test points. ``base_rate`` = Pr[f(x) = y*] on the same non-target points without the signal, and
    ``lift`` = success − base_rate: the part of the success that is the signal's doing.
    """

    trial_key: str
    label: str
    config: TrialConfig
    # flat copies of the grid coordinates, for tables
    dataset: str
    alpha: float
    epsilon: float
    delta: float
    clip: float | None
    arm: str = ""
    seed: int
    target_class: int
    # data and collective
    n_train: int
    n_test: int
    n_collective: int
    n_planted: int
    # text (token signal): ξ, the fraction of the clean training documents that already contain the token (Hardt et
    # al. 2023's uniqueness of the signal), and the fraction of signal-carrying test documents whose token survived
    # truncation to seq_len; NaN for other data
    xi: float = math.nan
    signal_visible: float = math.nan
    # metrics
    test_accuracy: float
    success: float
    success_all: float
    # the share of the collective's own (planted) training examples the final model predicts as y*
    member_success: float = math.nan
    base_rate: float = math.nan
    lift: float = math.nan
    # datasets with groups (groups are (y, a), named "<class>/<attribute>"): the lowest and every per-group clean test
    # accuracy, Group-DRO's final group weights q, and how many collective members fall in each group after planting
    worst_group_accuracy: float = math.nan
    group_accuracy: dict[str, float] = Field(default_factory=dict)
    group_weights: dict[str, float] = Field(default_factory=dict)
    collective_groups: dict[str, int] = Field(default_factory=dict)
    # share of per-example gradients clipped in the last epoch (None without clipping)
    clipped_fraction: float | None = None
    train_loss: float
    # privacy
    epsilon_spent: float
    noise_multiplier: float
    sample_rate: float
    steps: int
    accountant: str
    epochs: int
    # run
    seconds: float
    resumed_from_epoch: int = 0
    history: tuple[EpochRecord, ...] = ()
    provenance: dict[str, str] = Field(default_factory=dict)

    @field_validator(
        "test_accuracy",
        "success",
        "success_all",
        "member_success",
        "base_rate",
        "lift",
        "worst_group_accuracy",
        "train_loss",
        "xi",
        "signal_visible",
        mode="before",
    )
    @classmethod
    def _missing_is_nan(cls, value: Any) -> Any:
        """A rate with no examples to count is stored as null and read back as NaN."""
        return math.nan if value is None else value

    def summary(self) -> dict[str, Any]:
        """The flat JSON object of the command line: coordinates, metrics, privacy, timing (no history)."""
        fields = [
            "dataset", "arm", "alpha", "epsilon", "delta", "clip", "seed", "target_class", "n_train", "n_test",
            "n_collective", "n_planted", "xi", "signal_visible", "test_accuracy", "success", "success_all",
            "member_success", "base_rate",
            "lift", "worst_group_accuracy", "group_accuracy", "group_weights", "clipped_fraction", "train_loss",
            "epsilon_spent",
            "noise_multiplier", "sample_rate", "steps", "accountant", "epochs", "seconds", "trial_key",
        ]  # fmt: skip
        flat = {name: getattr(self, name) for name in fields}
        flat["arm_kind"] = self.config.arm_kind
        flat["strategy"] = self.config.strategy
        flat["model"] = self.config.model.name
        flat["signal"] = self.config.signal.name
        return dict(jsonable(flat))

    def to_json(self) -> dict[str, Any]:
        """Everything, as strict JSON (infinite values as ``"inf"``)."""
        return dict(jsonable(self.model_dump(mode="python")))

    @property
    def private(self) -> bool:
        return math.isfinite(self.epsilon)
