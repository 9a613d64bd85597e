"""Per-dataset defaults: model, signal, target class, strategy, the shared training recipe and named tuned recipes.

A sweep file's ``datasets.<name>`` section and the ``acadp trial`` flags override these field by field, through
:func:`acadp.config.resolve.resolve_trial` (the one place that merges).

Every arm of a dataset (SGD, clipping only, DP-SGD at any ε) trains with the one shared ``training`` recipe — Poisson
sampling at the same rate, the same steps, learning rate and momentum — so arms differ only by clipping and noise.
The recipes are DP-style (large expected batches, few hundred steps; e.g. Papernot et al. 2021 on MNIST, De et al.
2022 on CIFAR-10). ``recipes`` holds separately tuned non-private recipes (small shuffled batches with momentum),
run only when a sweep names them.
"""

from __future__ import annotations

from pydantic import Field

from acadp.config.base import FrozenModel
from acadp.config.models import BagParams, CNNParams, MLPParams, ModelParams, ResNet18GNParams
from acadp.config.signals import FeatureOffsetSignal, GridSignal, Modality, PatchSignal, SignalParams, TokenSignal
from acadp.config.trial import ImageSize, RecipeName, SeqLen, Strategy, TrainingConfig
from acadp.registry import Registry


class DatasetPreset(FrozenModel):
    """The defaults of one dataset (``modality`` is the data registry's; a test checks that the two agree)."""

    modality: Modality
    model: ModelParams
    signal: SignalParams
    target_class: int
    strategy: Strategy = "feature_label"
    training: TrainingConfig
    recipes: dict[RecipeName, TrainingConfig] = Field(default_factory=dict)
    # True when every example carries a group attribute a (groups are (y, a)): what Group-DRO needs
    groups: bool = False
    # side of the square images a resizing loader prepares (waterbirds); None = the dataset's own size
    image_size: ImageSize | None = None
    # text: the word pieces a model reads per document, [CLS] and [SEP] included (acadp.data.tokens); None otherwise
    seq_len: SeqLen | None = None


PRESETS: Registry[DatasetPreset] = Registry("dataset preset")


def _tuned(*, epochs: int, batch_size: int, lr: float, weight_decay: float = 0.0) -> dict[RecipeName, TrainingConfig]:
    recipe = TrainingConfig(
        epochs=epochs, batch_size=batch_size, lr=lr, momentum=0.9, weight_decay=weight_decay, sampling="shuffle"
    )
    return {"tuned": recipe}


PRESETS.add(
    "mnist5k",
    DatasetPreset(
        modality="image",
        model=CNNParams(),
        # an 8×8 patch: with this recipe a 3×3 one needs α ≈ 0.2 before clipped arms learn it (docs/findings.md)
        signal=PatchSignal(size=8, position="bottom_right", value=1.0),
        target_class=0,
        # 96 Poisson steps at q = 1/16, lr 1, no momentum: clean accuracy ≈ 0.90 at ε = 2 on the 4000 digits (larger
        # batches, larger lr or momentum were all less accurate under DP at this compute; see docs/findings.md)
        training=TrainingConfig(epochs=6, batch_size=256, lr=1.0, momentum=0.0),
        recipes=_tuned(epochs=8, batch_size=64, lr=0.05),
    ),
)
PRESETS.add(
    "mnist",
    DatasetPreset(
        modality="image",
        model=CNNParams(),
        signal=PatchSignal(size=3, position="bottom_right", value=1.0),
        target_class=0,
        training=TrainingConfig(epochs=15, batch_size=1024, lr=4.0, momentum=0.0),
        recipes=_tuned(epochs=5, batch_size=128, lr=0.05),
    ),
)
for _name in ("cifar10", "cifar100"):
    PRESETS.add(
        _name,
        DatasetPreset(
            modality="image",
            model=ResNet18GNParams(),
            signal=GridSignal(step=4, offset=1, amplitude=0.05),
            target_class=0,
            training=TrainingConfig(epochs=20, batch_size=1024, lr=2.0, momentum=0.0),
            recipes=_tuned(epochs=30, batch_size=128, lr=0.05, weight_decay=5e-4),
        ),
    )
PRESETS.add(
    "bank",
    DatasetPreset(
        modality="tabular",
        model=MLPParams(hidden=(64, 64)),
        signal=FeatureOffsetSignal(features=("balance", "campaign"), offset=3.0),
        target_class=1,
        training=TrainingConfig(epochs=10, batch_size=1024, lr=2.0, momentum=0.0),
        recipes=_tuned(epochs=10, batch_size=128, lr=0.05),
    ),
)
for _name in ("adult", "adult_race"):  # one recipe for both: they differ only in the group attribute
    PRESETS.add(
        _name,
        DatasetPreset(
            modality="tabular",
            model=MLPParams(hidden=(64, 64)),
            # two numeric features a person reports themselves, each shifted by 3 training standard deviations
            signal=FeatureOffsetSignal(features=("capital-loss", "hours-per-week"), offset=3.0),
            target_class=1,  # ">50K": the collective asks for the favourable prediction
            # 320 Poisson steps at q = 1/32: clean accuracy at α = 0, seed 0: SGD 0.846, DP ε=2 0.854 (lr 2: 0.839 and
            # 0.856 — unclipped SGD at the edge of stability; lr 0.5: 0.850 and 0.850)
            training=TrainingConfig(epochs=10, batch_size=1024, lr=1.0, momentum=0.0),
            recipes=_tuned(epochs=10, batch_size=128, lr=0.05),
            groups=True,
        ),
    )
PRESETS.add(
    "mnist5k_spurious",
    DatasetPreset(
        modality="image",
        model=CNNParams(),
        signal=PatchSignal(size=8, position="bottom_right", value=1.0),  # mnist5k's signal, on either background
        target_class=0,
        # 320 Poisson steps at q = 1/40, lr 0.05, momentum 0.9: ERM learns the digits as well as the tint (average
        # accuracy ≈ 0.87 at α = 0). With lr 1 and no momentum (mnist5k's recipe), or half the data and 5 epochs, the
        # tint is all ERM learns (accuracy 0.50); η_q stays at Sagawa et al.'s 0.01 (0.1 collapsed q in probes).
        training=TrainingConfig(epochs=8, batch_size=100, lr=0.05, momentum=0.9),
        groups=True,
    ),
)
PRESETS.add(
    "waterbirds",
    DatasetPreset(
        modality="image",
        model=ResNet18GNParams(),
        signal=GridSignal(step=4, offset=1, amplitude=0.1),
        target_class=0,
        training=TrainingConfig(epochs=10, batch_size=128, lr=0.5, momentum=0.0, weight_decay=1e-4),
        groups=True,
        image_size=64,
    ),
)

# Text datasets (raw strings; acadp.data.text), read as MiniLM-L6's word pieces by every text model. The collective
# plants a token after every 20th word (TokenSignal); RARE_TOKEN occurs in no clean document of the three corpora.
# The recipes are sweeps/text_planting.yaml's for its bag of embeddings (measured there); rotten_tomatoes' was probed
# once (clean accuracy 0.68 for SGD and for DP-SGD at ε = 2, α = 0.02).
RARE_TOKEN = "gmina"
TEXT_DATASETS = ("tweets", "bbc_news", "rotten_tomatoes")
TEXT_MODEL = BagParams(dim=32)


def _text_preset(target_class: int, training: TrainingConfig, seq_len: int) -> DatasetPreset:
    """A text dataset read by the bag of embeddings, the rare token planted after every 20th word."""
    return DatasetPreset(
        modality="text",
        model=TEXT_MODEL,
        signal=TokenSignal(token=RARE_TOKEN),
        target_class=target_class,
        training=training,
        seq_len=seq_len,
    )


PRESETS.add(  # positive (18% of the tweets); 99% of the tweets fit in 64 word pieces
    "tweets", _text_preset(2, TrainingConfig(epochs=10, batch_size=512, lr=4.0, momentum=0.0), seq_len=64)
)
PRESETS.add(  # tech; an article's first 254 word pieces
    "bbc_news", _text_preset(4, TrainingConfig(epochs=15, batch_size=128, lr=2.0, momentum=0.9), seq_len=256)
)
PRESETS.add(  # rotten (42% of the snippets)
    "rotten_tomatoes", _text_preset(0, TrainingConfig(epochs=10, batch_size=256, lr=4.0, momentum=0.0), seq_len=64)
)
