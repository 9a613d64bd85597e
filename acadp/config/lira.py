"""LiRA audit settings as configuration data: the ``lira:`` section of a sweep file, the ``acadp lira`` options and
one audit's config and key (the attack itself is in :mod:`acadp.lira`)."""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, Field, ValidationError, field_validator, model_validator

from acadp.config.base import FrozenModel
from acadp.config.presets import PRESETS
from acadp.config.trial import Augmentation, ClipChoice, Strategy, TrainingConfig, TrialConfig

Query = Literal["original", "mirror", "shift_up", "shift_down", "shift_left", "shift_right"]


@dataclass(frozen=True)
class QueryView:
    """One view a model is queried with: one fixed draw of a training augmentation (None: the example itself).
    ``flip`` mirrors the width axis; ``direction`` (rows, columns) is the translation in units of
    ``training.augment_shift`` pixels (rows down, columns right; zero fill)."""

    augmentation: Augmentation | None
    flip: bool = False
    direction: tuple[int, int] = (0, 0)


# Queries follow training augmentation (Carlini et al. 2022 query the augmentations training used): the original,
# the mirror of ``flip``, and the four one-axis translations by ±s of ``shift``; one name per view, in this order.
QUERY_VIEWS: dict[Query, QueryView] = {
    "original": QueryView(None),
    "mirror": QueryView("flip", flip=True),
    "shift_up": QueryView("shift", direction=(-1, 0)),
    "shift_down": QueryView("shift", direction=(1, 0)),
    "shift_left": QueryView("shift", direction=(0, -1)),
    "shift_right": QueryView("shift", direction=(0, 1)),
}
# the attacks of acadp.lira.attacks, by the names its registry uses (a test checks the two agree), and the words
# figures and captions use for them
ATTACK_LABELS: dict[str, str] = {
    "online": "online",
    "online_fixed_variance": "online, fixed variance",
    "offline": "offline",
    "offline_fixed_variance": "offline, fixed variance",
    "global_threshold": "global threshold",
}
ATTACK_NAMES = tuple(ATTACK_LABELS)
DEFAULT_ATTACKS = ("online", "online_fixed_variance", "offline", "global_threshold")


# The readings of "LiRA's AUC with a collective" an audit can report (Solanki et al. 2025 do not define it in the text
# we have): which label a query is scored on, which models the Gaussians are fitted on, and what is queried.
LabelScored = Literal["trained", "original"]
ShadowSet = Literal["collective", "clean"]
QuerySet = Literal["as_trained", "signal"]


class Variant(FrozenModel):
    """One reading of the audit (scored from the audit's own shadows, or those of its clean twin; never trained for).

    * ``label`` — the label each query is scored on: the label the model trained with (``trained``: y* for a member
      of a feature-label collective) or the example's ``original`` label;
    * ``shadows`` — the models the IN/OUT Gaussians are fitted on: the audited models themselves, trained with the
      collective (``collective``, leave-one-out as always), or the ``clean`` models, the same pool, keep matrix and
      training seeds with no collective (the α = 0 audit of the same point and seed, :meth:`AuditConfig.clean_twin`;
      the target's own twin left out);
    * ``queries`` — what every model is asked: each example as the audited models trained on it (``as_trained``: a
      member's planted input) or with the signal applied to every query (``signal``: g(x) for every example).
    """

    label: LabelScored = "trained"
    shadows: ShadowSet = "collective"
    queries: QuerySet = "as_trained"

    @property
    def name(self) -> str:
        """``label/shadows/queries``, e.g. ``trained/collective/as_trained`` (the audit as it always was)."""
        return f"{self.label}/{self.shadows}/{self.queries}"

    @property
    def needs_signal_view(self) -> bool:
        """Whether scoring needs the models' logits on g(x): signal queries, or clean shadows asked about a planted
        input."""
        return self.queries == "signal" or self.shadows == "clean"


DEFAULT_VARIANT = Variant()
ALL_VARIANTS: tuple[Variant, ...] = tuple(
    Variant(label=label, shadows=shadows, queries=queries)
    for label, shadows, queries in itertools.product(get_args(LabelScored), get_args(ShadowSet), get_args(QuerySet))
)


def _variants_choice(value: Any) -> Any:
    """``all`` means every variant (:data:`ALL_VARIANTS`), the default one first."""
    if isinstance(value, str) and value.strip().lower() == "all":
        return ALL_VARIANTS
    return value


Variants = Annotated[tuple[Variant, ...], BeforeValidator(_variants_choice), Field(min_length=1)]


class LiraSettings(FrozenModel):
    """How to audit one trained configuration (Carlini et al. 2022; 16 shadows as in Solanki et al. 2025)."""

    shadows: Annotated[int, Field(ge=4, le=1024)] = 16  # ≥ 4: leave-one-out conventions (acadp.lira.conventions)
    pkeep: Annotated[float, Field(gt=0, lt=1)] = 0.5
    # what each model is queried with (QUERY_VIEWS): None follows the audited trial's training, the original plus one
    # view per augmentation it used (training_queries); a query whose augmentation training did not use is refused
    queries: Annotated[tuple[Query, ...], Field(min_length=1)] | None = None
    attacks: Annotated[tuple[str, ...], Field(min_length=1)] = DEFAULT_ATTACKS
    seed: Annotated[int, Field(ge=0)] = 0
    # audit pool size; each shadow trains on pkeep of it. None: the audited trial's training set (shadows train on
    # fewer examples than the trial, at another sampling rate); "matched": the trial's training size / pkeep (twice
    # it at pkeep ½), so every shadow trains on as many examples as the audited trial, at its q and σ
    pool: Annotated[int, Field(ge=4)] | Literal["matched"] | None = None
    # how many shadows train at once (one placement-group bundle each), and the resources of each
    concurrent_shadows: Annotated[int, Field(ge=1, le=256)] = 2
    cpus_per_shadow: Annotated[float, Field(gt=0)] = 1.0
    gpus_per_shadow: Annotated[float, Field(ge=0)] = 0.0
    # confidence of the Clopper–Pearson intervals behind the per-target epsilon lower bound (acadp.lira.target_bound)
    confidence: Annotated[float, Field(gt=0.5, lt=1)] = 0.95
    # audits at alpha = 0 also report a `placebo` subset: the examples the audited seed would have drawn as the
    # collective at this alpha (acadp.collective.choose_members), left unmodified; None = no placebo row
    placebo_alpha: Annotated[float, Field(gt=0, lt=1)] | None = None
    # a stratified keep matrix (acadp.lira.keep.stratified_keep_matrix): every shadow keeps exactly its share (pkeep)
    # of the examples the audited trial's seed draws as the collective at this alpha, and of the rest, so each target
    # holds the same number of them (an audit at this alpha: of its collective; at alpha = 0: of the placebo); an
    # audit and its clean twin share the matrix. None: only each example's number of IN shadows is fixed
    stratify_alpha: Annotated[float, Field(gt=0, lt=1)] | None = None
    # the readings reported (Variant; "all": every one); each is scored from saved shadows, none trains its own
    variants: Variants = (DEFAULT_VARIANT,)

    @field_validator("variants")
    @classmethod
    def _distinct_variants(cls, variants: tuple[Variant, ...]) -> tuple[Variant, ...]:
        names = [variant.name for variant in variants]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"variant {twice[0]} is listed twice; list each variant once")
        return variants

    @property
    def signal_view(self) -> bool:
        """Whether every shadow is also queried on g(x) of every pool example (some variant needs it)."""
        return any(variant.needs_signal_view for variant in self.variants)

    @field_validator("attacks")
    @classmethod
    def _known_attacks(cls, attacks: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in attacks if name not in ATTACK_NAMES]
        if unknown:
            raise ValueError(f"unknown attack {unknown[0]!r}; valid attacks: {', '.join(sorted(ATTACK_NAMES))}")
        return attacks

    def scoring(self) -> dict[str, object]:
        """The settings that decide a finished audit's rows but not its shadows: a stored result whose scoring
        differs is scored again from the saved shadows."""
        return self.model_dump(include={"attacks", "confidence", "placebo_alpha", "variants"})

    @field_validator("queries")
    @classmethod
    def _distinct_queries(cls, queries: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if queries is not None and (len(set(queries)) != len(queries) or queries[0] != "original"):
            raise ValueError("queries must start with 'original' and not repeat")
        return queries


def training_queries(training: TrainingConfig) -> tuple[Query, ...]:
    """The default queries of a model trained with ``training``: the original, then every view of an augmentation
    ``training.augment`` uses (``flip``: mirror; ``shift``: shift_up, shift_down, shift_left, shift_right)."""
    return tuple(
        name for name, view in QUERY_VIEWS.items() if view.augmentation is None or view.augmentation in training.augment
    )


def query_problem(
    queries: tuple[Query, ...] | None,
    *,
    training: TrainingConfig,
    augment_field: str = "training.augment",
    dataset: str | None = None,
) -> str | None:
    """Why ``queries`` cannot be asked of models trained with ``training`` on ``dataset`` — a view of an image asked
    of a model of other data, or a query whose augmentation training did not use — naming the field ``lira.queries``,
    the query and the training's augment (``augment_field``, e.g. ``datasets.mnist5k.training.augment`` in a sweep
    file); None when they can (or when ``queries`` is None: the queries follow training)."""
    modality = PRESETS.get(dataset).modality if dataset is not None and dataset in PRESETS else "image"
    for query in queries or ():
        needed = QUERY_VIEWS[query].augmentation
        if needed is not None and modality != "image":
            return (
                f"lira.queries: {query!r} is a view of an image, but {dataset} is {modality} data, whose models are "
                "queried with their original examples only; use [original]"
            )
        if needed is not None and needed not in training.augment:
            used = ", ".join(training.augment) or "none"
            return (
                f"lira.queries: {query!r} is a query training did not use ({augment_field}: {used}); add {needed} "
                f"to {augment_field} or use [{', '.join(training_queries(training))}]"
            )
    return None


class AuditConfig(FrozenModel):
    """One audit: the audited trial config (its ``n_train`` is the pool size) and the LiRA settings."""

    trial: TrialConfig
    lira: LiraSettings
    # the key of the grid trial this audit audits (a sweep's audits; None for a stand-alone `acadp lira`): its
    # trial config differs from ``trial`` in n_train when the pool is not the trial's own training set
    grid_trial_key: str | None = None

    @model_validator(mode="after")
    def _queries_training_used(self) -> AuditConfig:
        problem = query_problem(self.lira.queries, training=self.trial.training, dataset=self.trial.dataset)
        if problem is not None:
            raise ValueError(problem)
        return self

    @model_validator(mode="before")
    @classmethod
    def _queries_follow_training(cls, data: Any) -> Any:
        """Unset queries become the audited trial's (:func:`training_queries`), so the audit's key, its stored
        config and its logits' query axis all name the views actually asked."""
        if not isinstance(data, dict) or "trial" not in data or "lira" not in data:
            return data
        try:
            trial, lira = TrialConfig.model_validate(data["trial"]), LiraSettings.model_validate(data["lira"])
        except ValidationError:
            return data  # reported with its place by the fields' own validation
        if lira.queries is None:
            lira = lira.model_copy(update={"queries": training_queries(trial.training)})
        return {**data, "trial": trial, "lira": lira}

    @property
    def queries(self) -> tuple[Query, ...]:
        """The queries every model of the audit is asked, in the order of the logits' query axis."""
        assert self.lira.queries is not None  # set by _queries_follow_training
        return self.lira.queries

    def key(self) -> str:
        """Content hash of what determines the shadows' logits (not attacks, variants, concurrency or resources);
        audits whose shadows are also queried on g(x) (:attr:`LiraSettings.signal_view`) hash that too, and a set
        ``stratify_alpha`` (their keep matrix)."""
        shadow_part = self.lira.model_dump(include={"shadows", "pkeep", "queries", "seed"})
        if self.lira.signal_view:
            shadow_part["signal_view"] = True
        if self.lira.stratify_alpha is not None:  # unset, the keys of audits from before the setting stay
            shadow_part["stratify_alpha"] = self.lira.stratify_alpha
        text = json.dumps({"trial": self.trial.key(), "lira": shadow_part}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def clean_twin(self) -> AuditConfig | None:
        """The audit of the same pool, keep matrix and shadow seeds with no collective (α = 0): its shadows are the
        clean shadows of variants with ``shadows: clean``. None at α = 0 (the audit is its own clean twin) and for a
        collective that withholds its points (its pool lacks them: there is no clean model of the same pool)."""
        if self.trial.alpha == 0.0 or self.trial.strategy == "withhold":
            return None
        trial = TrialConfig.model_validate({**self.trial.model_dump(), "alpha": 0.0})
        return AuditConfig(trial=trial, lira=self.lira)

    def label(self) -> str:
        return f"LiRA {self.trial.label()} ({self.lira.shadows} shadows)"


class LiraPoints(FrozenModel):
    """Which grid points to audit: values must be in the sweep's grid. ``clip`` defaults to the grid's first norm for a
    finite ε and to no clipping (SGD) for ε = inf; ``seed`` to the grid's first; ``strategy`` to the grid's first
    (the datasets' own when the grid has no strategy axis)."""

    alpha: Annotated[list[float], Field(min_length=1)]
    epsilon: Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=1)]
    clip: list[ClipChoice] | None = None
    seed: list[int] | None = None
    datasets: list[str] | None = None
    strategy: Annotated[list[Strategy], Field(min_length=1)] | None = None


def _point_sets(value: Any) -> Any:
    """One set of points (a mapping) is a list of one."""
    return [value] if isinstance(value, dict) else value


# the audited points of a sweep: one product of LiraPoints, or a list of them (their union, each point once)
PointSets = Annotated[list[LiraPoints], BeforeValidator(_point_sets), Field(min_length=1)]


class LiraSmoke(FrozenModel):
    """How ``--smoke`` shrinks audits (``pool`` applies unless the audit's pool is ``matched``); ``points``: what a
    smoke run audits (None: the first ε and α of each set of ``lira.points``)."""

    shadows: Annotated[int, Field(ge=4)] = 4
    pool: Annotated[int, Field(ge=4)] = 256
    points: PointSets | None = None


class LiraSection(LiraSettings):
    """The ``lira:`` section of a sweep file."""

    points: PointSets
    smoke: LiraSmoke = LiraSmoke()

    @model_validator(mode="after")
    def _enough_shadows_in(self) -> LiraSection:
        n_in = round(self.pkeep * self.shadows)
        if not 1 <= n_in < self.shadows:
            raise ValueError(f"pkeep × shadows = {self.pkeep * self.shadows:g} leaves no IN or no OUT models")
        return self

    def settings(self, *, smoke: bool) -> LiraSettings:
        """The audit settings, shrunk for smoke runs."""
        data = self.model_dump(exclude={"points", "smoke"})
        if smoke:  # a matched pool stays matched: twice the smoke run's n_train at pkeep ½
            data.update(shadows=self.smoke.shadows, pool="matched" if self.pool == "matched" else self.smoke.pool)
        return LiraSettings.model_validate(data)
