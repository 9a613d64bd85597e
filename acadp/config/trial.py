"""The configuration of one trial — one (dataset, arm, alpha, seed) point with everything needed to rerun it.

A firm's learner is an *arm* of one training recipe, set by two independent privacy knobs (:mod:`acadp.config.arms`):

* noise — ``epsilon``: a finite target ε adds Gaussian noise calibrated by the accountant; ``inf`` adds none;
* clipping — ``clip``: a norm C clips every per-example gradient; None ("none") clips nothing.

(∞, none) is plain SGD, (∞, C) clipping only, (ε, C) DP-SGD; a finite ε without clipping has no sensitivity bound and
is refused. A separately tuned recipe is an explicitly named arm (``recipe``), never mixed in silently.

A :class:`TrialConfig` is frozen and validated; its :meth:`TrialConfig.key` is a content hash, so results are keyed by
what produced them and a sweep can tell which grid points are already complete.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from acadp.config.arms import ArmKind, arm_kind, arm_label, arm_problem, engine
from acadp.config.base import FrozenModel, key_data
from acadp.config.models import MINILM_POSITIONS, ModelParams, model_names
from acadp.config.pretrain import PretrainConfig
from acadp.config.signals import Modality, SignalParams, TokenSignal, signal_modality, signal_names

GradSampleMode = Literal["bookkeeping", "hooks", "functorch", "ew", "ghost"]
Accountant = Literal["prv", "rdp"]
# feature_label: members plant g(x) and relabel to y*; feature_only: members already labelled y* plant g(x); withhold:
# members take their points out of the firm's data (the control "collective removed": the firm trains on the rest)
Strategy = Literal["feature_label", "feature_only", "withhold"]
# poisson: each example joins a step's batch with probability q (what DP-SGD's accounting assumes; every arm of the
# shared recipe); shuffle: an epoch is a shuffled pass in fixed-size batches (a tuned non-private recipe only).
Sampling = Literal["poisson", "shuffle"]
# fixed: the step is lr · (clipped gradient mean); normalised: lr / C instead, so lr·C-scaled steps stay comparable
# across clipping norms (normalised DP-SGD, e.g. Bu et al. 2023 "automatic clipping"; De et al. 2022 scale lr with C).
LrScaling = Literal["fixed", "normalised"]
# flip: a random horizontal flip of each example with probability ½; shift: a random translation of each example by an
# integer offset in [-s, s] on each axis, zero fill (s = augment_shift); drawn per example per step
# (acadp.learners.augment)
Augmentation = Literal["flip", "shift"]
AUGMENTATIONS: tuple[Augmentation, ...] = ("flip", "shift")
# erm: minimise the mean loss; gdro: online Group-DRO (Sagawa et al. 2020, Algorithm 1) — minimise Σ_g q_g ℓ_g with
# group weights q updated by exponentiated gradient ascent on the group losses (needs a dataset with groups).
Objective = Literal["erm", "gdro"]

DEFAULT_DELTA = 1e-5

# Every limit is declared once, here; the sweep file's overrides and the command line reuse these types.
Epochs = Annotated[int, Field(ge=1, le=10_000)]
BatchSize = Annotated[int, Field(ge=1)]
LearningRate = Annotated[float, Field(gt=0)]
Momentum = Annotated[float, Field(ge=0, lt=1)]
WeightDecay = Annotated[float, Field(ge=0)]
Alpha = Annotated[float, Field(ge=0.0, lt=1.0)]
Epsilon = Annotated[float, Field(gt=0)]
ClipNorm = Annotated[float, Field(gt=0)]
Delta = Annotated[float, Field(gt=0, lt=1)]
Seed = Annotated[int, Field(ge=0)]
TargetClass = Annotated[int, Field(ge=0)]
TrainSize = Annotated[int, Field(ge=2)]
TestSize = Annotated[int, Field(ge=1)]
EvalEvery = Annotated[int, Field(ge=1)]
RecipeName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")]
GroupStepSize = Annotated[float, Field(gt=0)]
GroupAdjustment = Annotated[float, Field(ge=0)]
ImageSize = Annotated[int, Field(ge=8, le=512)]
AugmentShift = Annotated[int, Field(ge=1, le=8)]
# word pieces a text model reads per document, [CLS] and [SEP] included (longer documents are truncated)
SeqLen = Annotated[int, Field(ge=3, le=4096)]


def _clip_choice(value: Any) -> Any:
    """``none`` (or null, or inf) in a clip list means "no clipping"."""
    if value is None or (isinstance(value, str) and value.strip().lower() in {"none", "inf"}):
        return None
    if isinstance(value, float) and math.isinf(value):
        return None
    return value


ClipChoice = Annotated[ClipNorm | None, BeforeValidator(_clip_choice)]


def _augment_choice(value: Any) -> Any:
    """``none`` (or null, or an empty list) means no augmentation; a string may list several: ``flip,shift``."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list | tuple) and [str(v).lower() for v in value] == ["none"]:
        return ()
    return value


def _augment_set(value: tuple[Augmentation, ...]) -> tuple[Augmentation, ...]:
    """Each augmentation once, in the canonical order (so ``[shift, flip]`` and ``[flip, shift]`` are one recipe)."""
    if len(set(value)) != len(value):
        raise ValueError(f"each augmentation once, got {', '.join(value)}")
    return tuple(name for name in AUGMENTATIONS if name in value)


Augment = Annotated[tuple[Augmentation, ...], BeforeValidator(_augment_choice), AfterValidator(_augment_set)]


class TrainingConfig(FrozenModel):
    """A training recipe: the firm's optimisation, shared by every arm of a dataset unless a named recipe is asked for.

    ``batch_size`` is the expected batch size under Poisson sampling (q = 1 / ceil(n / batch_size), as Opacus).
    """

    # the fields hashed since the first stored results; later ones are hashed only when not at their default
    KEY_FIELDS: ClassVar[frozenset[str] | None] = frozenset(
        {"epochs", "batch_size", "lr", "momentum", "weight_decay", "grad_sample_mode"}
    )

    epochs: Epochs
    batch_size: BatchSize
    lr: LearningRate
    momentum: Momentum = 0.0
    weight_decay: WeightDecay = 0.0
    sampling: Sampling = "poisson"
    lr_scaling: LrScaling = "fixed"
    # Per-sample-gradient engine when clipping: 'bookkeeping' is acadp's own (one backward pass, no second pass;
    # tested equal to Opacus's 'hooks'); the others are Opacus's grad_sample_mode values. Unused without clipping.
    grad_sample_mode: GradSampleMode = "bookkeeping"
    # The training objective (``erm`` or ``gdro``); Group-DRO's step size η_q of the group weights and its group
    # adjustment C (the loss of group g is raised by C/√n_g before the weight update; Sagawa et al. 2020, §3.3).
    objective: Objective = "erm"
    gdro_eta: GroupStepSize = 0.01
    gdro_adjustment: GroupAdjustment = 0.0
    # Training augmentation of image batches (``flip``, ``shift``; none by default), applied per example per step to a
    # batch's inputs before the forward pass; ``augment_shift`` is the largest translation s in pixels of ``shift``.
    # LiRA's default queries are the original plus one view per augmentation used (acadp.config.lira).
    augment: Augment = ()
    augment_shift: AugmentShift = 2


class TrialConfig(FrozenModel):
    """One trial: the dataset, the collective (alpha, signal, strategy, target class), the arm and the recipe."""

    # every field is hashed; a field added later only while it differs from its default (config.base.key_data)
    KEY_FIELDS: ClassVar[frozenset[str] | None] = frozenset(
        {
            "accountant",
            "alpha",
            "clip",
            "dataset",
            "delta",
            "epsilon",
            "eval_every",
            "image_size",
            "model",
            "n_test",
            "n_train",
            "pretrain",
            "recipe",
            "seed",
            "seq_len",
            "signal",
            "strategy",
            "target_class",
            "training",
        }
    )

    dataset: str
    alpha: Alpha
    epsilon: Epsilon
    delta: Delta = DEFAULT_DELTA
    clip: ClipNorm | None = None
    seed: Seed
    target_class: TargetClass
    strategy: Strategy = "feature_label"
    signal: SignalParams
    model: ModelParams
    training: TrainingConfig
    accountant: Accountant = "prv"
    # The name of a separately tuned recipe (None: the dataset's shared recipe): an extra non-private arm, or the recipe
    # an arm kind trains with in place of the shared one (a sweep's datasets.<name>.arm_recipes)
    recipe: RecipeName | None = None
    # Use only the first n_train / n_test examples of a seeded permutation of the dataset's splits (smoke runs and
    # LiRA audit pools); None = all of them. The permutation is fixed per dataset, not per trial.
    n_train: TrainSize | None = None
    n_test: TestSize | None = None
    # Evaluate test accuracy and success every k epochs (and always after the last epoch).
    eval_every: EvalEvery = 1
    # Non-private pre-training on a public dataset before training (acadp.trial.pretrain); None = from scratch.
    pretrain: PretrainConfig | None = None
    # Side of the square images a resizing loader (waterbirds) prepares; None = the dataset's own size.
    image_size: ImageSize | None = None
    # Text: the word pieces a model reads per document ([CLS] and [SEP] included; the dataset preset's by default);
    # None for other data.
    seq_len: SeqLen | None = None

    @field_validator("epsilon")
    @classmethod
    def _epsilon_not_nan(cls, value: float) -> float:
        if math.isnan(value):
            raise ValueError("epsilon must be a number or inf, not NaN")
        return value

    @model_validator(mode="after")
    def _arm_exists(self) -> TrialConfig:
        training = self.training
        problem = arm_problem(
            epsilon=self.epsilon,
            clip=self.clip,
            recipe=self.recipe,
            sampling=training.sampling,
            objective=training.objective,
        )
        if problem is not None:
            raise ValueError(problem)
        if training.lr_scaling == "normalised" and self.clip is None:
            raise ValueError("training.lr_scaling: 'normalised' scales lr by 1/C and needs clipping (clip: C)")
        return self

    @model_validator(mode="after")
    def _fits_the_datasets_modality(self) -> TrialConfig:
        from acadp.config.presets import PRESETS  # the presets import this module: look them up when validating

        if self.dataset not in PRESETS:
            return self  # an unknown dataset is reported where it is named (sweep files, trial options)
        preset = PRESETS.get(self.dataset)
        modality, augment = preset.modality, self.training.augment
        if augment and modality != "image":
            raise ValueError(
                f"training.augment: [{', '.join(augment)}] augments images only, but {self.dataset} is {modality} "
                "data; use none (no augmentation)"
            )
        if self.training.objective == "gdro" and not preset.groups:
            grouped = [name for name in PRESETS.names() if PRESETS.get(name).groups]
            raise ValueError(
                f"training.objective: gdro needs a dataset with groups; {self.dataset} has none "
                f"(datasets with groups: {', '.join(grouped)})"
            )
        if modality != self.signal.MODALITY:
            fitting = [name for name in signal_names() if signal_modality(name) == modality]
            raise ValueError(
                f"signal.name: {self.signal.name!r} plants a signal in {self.signal.MODALITY} data, but "
                f"{self.dataset} is {modality} data; use {' or '.join(fitting) or 'another dataset'}"
            )
        if modality != self.model.MODALITY:
            raise ValueError(
                f"model.name: {self.model.name!r} reads {self.model.MODALITY} data, but {self.dataset} is {modality} "
                f"data; use {' or '.join(model_names(modality)) or 'another dataset'}"
            )
        if modality == "text" and self.pretrain is not None:
            raise ValueError(
                "pretrain: pre-training on another dataset is for image and tabular models; a text model that starts "
                "from pretrained weights is minilm (drop pretrain)"
            )
        problem = _sequence_problem(self, modality)
        if problem is not None:
            raise ValueError(problem)
        return self

    @property
    def private(self) -> bool:
        """True when the firm adds noise (finite epsilon): DP-SGD."""
        return math.isfinite(self.epsilon)

    @property
    def arm_kind(self) -> ArmKind:
        """The arm's kind: ``sgd`` (no clipping, no noise), ``clip`` (clipping only), ``dpsgd`` or ``gdro``."""
        return arm_kind(epsilon=self.epsilon, clip=self.clip, objective=self.training.objective)

    @property
    def engine(self) -> str:
        """The training engine of the arm (:func:`acadp.config.arms.engine`)."""
        return engine(sampling=self.training.sampling, objective=self.training.objective)

    @property
    def arm(self) -> str:
        """The arm's name (see :func:`arm_label`)."""
        return arm_label(epsilon=self.epsilon, clip=self.clip, recipe=self.recipe, objective=self.training.objective)

    def canonical(self) -> dict[str, Any]:
        """The config as plain JSON-safe data (infinite numbers as the string ``"inf"``). An unset ``pretrain`` is
        left out, so configs without pre-training keep the keys they had before the field existed."""
        data = dict(self.plain())
        if self.pretrain is None:
            del data["pretrain"]
        if self.image_size is None:
            del data["image_size"]
        if self.seq_len is None:
            del data["seq_len"]
        return data

    def key(self) -> str:
        """A 16-hex-digit content hash of the config: equal configs share results, any change makes a new trial.

        Unset optional fields (None) and fields added later that hold their first default are left out of the hash,
        so adding a feature to the schema does not change the keys of existing results."""
        text = json.dumps(key_data(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def label(self) -> str:
        """A short human-readable name, e.g. ``mnist5k DP ε=8 C=1 a=0.05 seed=0``."""
        return f"{self.dataset} {self.arm} a={self.alpha:g} seed={self.seed}"


def _sequence_problem(config: TrialConfig, modality: Modality) -> str | None:
    """Why ``config``'s sequence length does not fit its data, signal or model (None when it does)."""
    seq_len = config.seq_len
    if modality != "text":
        if seq_len is None:
            return None
        return f"seq_len: only text is read as a sequence of word pieces; {config.dataset} is {modality} data (drop it)"
    if seq_len is None:
        return f"seq_len: {config.dataset} is text; set the word pieces a model reads per document (e.g. 64)"
    signal = config.signal
    if isinstance(signal, TokenSignal) and seq_len < signal.shortest_sequence():
        return (
            f"seq_len: {seq_len} word pieces cannot hold the first planted token, which follows word {signal.every} "
            f"(signal.every), after [CLS] and before [SEP]; use seq_len >= {signal.shortest_sequence()} or a smaller "
            "signal.every"
        )
    if config.model.name == "minilm" and seq_len > MINILM_POSITIONS:
        return f"seq_len: minilm reads at most {MINILM_POSITIONS} word pieces (its position embeddings), got {seq_len}"
    return None
