"""Per-dataset defaults: model, signal, target class, strategy and training hyper-parameters, private and not.

A sweep file's ``datasets.<name>`` section and the ``acadp trial`` flags override these field by field. DP-SGD gets
its own defaults (large batches, a larger learning rate, no momentum: the usual DP-SGD regime, e.g. Papernot et al.
2021 on MNIST; De et al. 2022 on CIFAR-10), plain SGD small batches with momentum.
"""

from __future__ import annotations

from typing import Any

from acadp.collective import FeatureOffsetSignal, GridSignal, PatchSignal, SignalParams
from acadp.config.base import FrozenModel
from acadp.config.models import CNNParams, MLPParams, ModelParams, ResNet18GNParams
from acadp.config.trial import Strategy, TrainingConfig
from acadp.registry import Registry


class DatasetPreset(FrozenModel):
    """The defaults of one dataset."""

    model: ModelParams
    signal: SignalParams
    target_class: int
    strategy: Strategy = "feature_label"
    private: TrainingConfig
    non_private: TrainingConfig

    def training(self, *, private: bool) -> TrainingConfig:
        """The private or non-private training defaults."""
        return self.private if private else self.non_private


PRESETS: Registry[DatasetPreset] = Registry("dataset preset")

_MNIST_PRIVATE = TrainingConfig(epochs=10, batch_size=1000, lr=4.0, momentum=0.0)

PRESETS.add(
    "mnist5k",
    DatasetPreset(
        model=CNNParams(),
        signal=PatchSignal(size=3, position="bottom_right", value=1.0),
        target_class=0,
        private=_MNIST_PRIVATE,
        non_private=TrainingConfig(epochs=8, batch_size=64, lr=0.05, momentum=0.9),
    ),
)
PRESETS.add(
    "mnist",
    DatasetPreset(
        model=CNNParams(),
        signal=PatchSignal(size=3, position="bottom_right", value=1.0),
        target_class=0,
        private=TrainingConfig(epochs=15, batch_size=1024, lr=4.0, momentum=0.0),
        non_private=TrainingConfig(epochs=5, batch_size=128, lr=0.05, momentum=0.9),
    ),
)
_CIFAR_PRIVATE = TrainingConfig(epochs=20, batch_size=1024, lr=2.0, momentum=0.0)
_CIFAR_NON_PRIVATE = TrainingConfig(epochs=30, batch_size=128, lr=0.05, momentum=0.9, weight_decay=5e-4)
for _name in ("cifar10", "cifar100"):
    PRESETS.add(
        _name,
        DatasetPreset(
            model=ResNet18GNParams(),
            signal=GridSignal(step=4, offset=1, amplitude=0.05),
            target_class=0,
            private=_CIFAR_PRIVATE,
            non_private=_CIFAR_NON_PRIVATE,
        ),
    )
PRESETS.add(
    "bank",
    DatasetPreset(
        model=MLPParams(hidden=(64, 64)),
        signal=FeatureOffsetSignal(features=("balance", "campaign"), offset=3.0),
        target_class=1,
        private=TrainingConfig(epochs=10, batch_size=1024, lr=2.0, momentum=0.0),
        non_private=TrainingConfig(epochs=10, batch_size=128, lr=0.05, momentum=0.9),
    ),
)


def preset_dict(dataset: str) -> dict[str, Any]:
    """The preset of ``dataset`` as plain data (for merging with user overrides before validation)."""
    return PRESETS.get(dataset).model_dump(mode="python")
