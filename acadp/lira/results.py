"""What a finished LiRA audit records: one :class:`LiraRow` per attack, leave-one-out convention and member subset,
inside the audit's :class:`AuditResult` (its ``result.json``), with the regime its shadows trained in (one
:class:`ShadowStats` per shadow, summarised as a :class:`ShadowRegime`), and how rows are named and ordered elsewhere
(the headline row first; MLflow metric names).

Both are written as strict JSON (:meth:`~acadp.config.base.FrozenModel.plain`: NaN as null, infinities as ``"inf"``)
and read back with those turned into numbers again, so a stored result validates into an equal model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, get_args

import numpy as np
from pydantic import BeforeValidator, Field

from acadp.config.base import FrozenModel
from acadp.config.lira import ALL_VARIANTS, DEFAULT_VARIANT, AuditConfig
from acadp.lira.conventions import REPORTED_CONVENTIONS, Convention

Subset = Literal["all", "collective", "non_collective", "placebo"]
SUBSETS: tuple[str, ...] = get_args(Subset)  # the order tables show them in

# The headline row (Carlini et al. 2022 advise the fixed-variance online attack below 64 shadows), shown first
HEADLINE_ATTACK = "online_fixed_variance"
HEADLINE_CONVENTION: Convention = REPORTED_CONVENTIONS[0]
HEADLINE_SUBSET: Subset = "all"
HEADLINE_VARIANT = DEFAULT_VARIANT.name  # the audit as it always was: trained labels, its own shadows, as trained
# fewest members (and non-members) of a subset per target for its AUC to be read: below, the row is shown but marked
MIN_INTERPRETABLE_MEMBERS = 20


def variant_rank(name: str) -> int:
    """Where the variant ``name`` goes in tables: the order of :data:`acadp.config.lira.ALL_VARIANTS` (the headline
    variant first), unknown names after them."""
    ranks = {variant.name: rank for rank, variant in enumerate(ALL_VARIANTS)}
    return ranks.get(name, len(ranks))


def min_non_members(target_fpr: float) -> int:
    """The fewest non-members for which a TPR at FPR ``target_fpr`` is defined: ⌈1 / target_fpr⌉ (1000 at 0.1 %).

    With fewer, the only operating point with FPR ≤ ``target_fpr`` is FPR 0 (:mod:`acadp.lira.metrics`).
    """
    if not 0.0 < target_fpr <= 1.0:
        raise ValueError(f"target_fpr must lie in (0, 1], got {target_fpr}")
    return math.ceil(round(1.0 / target_fpr, 9))  # round: 1 / 0.001 must give 1000, not 1000.0000000000001


def json_number(value: Any) -> Any:
    """JSON's stand-ins for non-finite floats turned back into floats: null → NaN, ``"inf"``/``"-inf"`` → ±inf."""
    if value is None:
        return math.nan
    if value in ("inf", "-inf"):
        return float(value)
    return value


# a float that may be undefined (NaN: e.g. no target with both members and non-members in the subset) or infinite
JsonFloat = Annotated[float, BeforeValidator(json_number)]


class LiraRow(FrozenModel):
    """One attack under one leave-one-out convention over one member subset (``acadp.lira.audit.score_audit``).

    AUC and TPR at 0.1 % / 1 % FPR are mean ± std (ddof=1) over the target models where they are defined: the AUC
    where the subset holds members and non-members (``n_targets`` of them), the TPR at FPR f where it also holds at
    least 1/f non-members (``n_targets_tpr_at_0_1_fpr``, ``n_targets_tpr_at_1_fpr``; NaN when none). ``auc_ci_low`` /
    ``auc_ci_high``: 95 % Student-t interval of the mean AUC over those targets (approximate: targets share shadows).
    ``n_members_*`` / ``n_non_members_*``: each target's members and non-members in the subset, mean and minimum over
    targets. ``epsilon_lower_bound``: the per-target bound of :mod:`acadp.lira.target_bound` at the audit's
    confidence, from ``epsilon_n_targets`` judged targets (one member and one non-member decision each).
    """

    attack: str
    convention: Convention
    subset: Subset
    # the reading (acadp.config.lira.Variant.name): label scored / shadows / queries
    variant: str = HEADLINE_VARIANT
    auc_mean: JsonFloat
    auc_std: JsonFloat
    auc_ci_low: JsonFloat
    auc_ci_high: JsonFloat
    tpr_at_0_1_fpr_mean: JsonFloat
    tpr_at_0_1_fpr_std: JsonFloat
    tpr_at_1_fpr_mean: JsonFloat
    tpr_at_1_fpr_std: JsonFloat
    n_members_mean: JsonFloat
    n_non_members_mean: JsonFloat
    epsilon_lower_bound: JsonFloat
    n_targets: Annotated[int, Field(ge=0)]  # target models with members and non-members in the subset
    n_targets_tpr_at_0_1_fpr: Annotated[int, Field(ge=0)]  # … and at least 1000 non-members
    n_targets_tpr_at_1_fpr: Annotated[int, Field(ge=0)]  # … and at least 100 non-members
    n_members_min: Annotated[int, Field(ge=0)]
    n_non_members_min: Annotated[int, Field(ge=0)]
    n_examples: Annotated[int, Field(ge=0)]  # examples of the pool in the subset
    epsilon_n_targets: Annotated[int, Field(ge=0)]  # judged targets behind epsilon_lower_bound

    @classmethod
    def metric_names(cls) -> tuple[str, ...]:
        """The float fields, in field order: ``auc_mean`` … ``epsilon_lower_bound``."""
        return tuple(name for name, info in cls.model_fields.items() if info.annotation is float)

    @classmethod
    def count_names(cls) -> tuple[str, ...]:
        """The integer fields, in field order: ``n_targets`` … ``epsilon_n_targets``."""
        return tuple(name for name, info in cls.model_fields.items() if info.annotation is int)


def headline_first(attacks: Sequence[str]) -> list[str]:
    """``attacks`` in their order, but with :data:`HEADLINE_ATTACK` (if present) moved to the front."""
    return sorted(attacks, key=lambda attack: attack != HEADLINE_ATTACK)


def is_headline(row: Mapping[str, Any]) -> bool:
    """Whether ``row`` (a :class:`LiraRow` as a dict) is the audit's headline row."""
    point = (row["attack"], row["convention"], row["subset"], row.get("variant", HEADLINE_VARIANT))
    return point == (HEADLINE_ATTACK, HEADLINE_CONVENTION, HEADLINE_SUBSET, HEADLINE_VARIANT)


def metric_prefix(row: Mapping[str, Any]) -> str:
    """The MLflow metric prefix of ``row``: ``<attack>.<subset>`` under the headline convention (the names audits
    logged before conventions were reported), ``<attack>.<subset>.<convention>`` under the others; a variant other
    than the headline one follows as ``.<label>/<shadows>/<queries>``."""
    prefix = f"{row['attack']}.{row['subset']}"
    prefix = prefix if row["convention"] == HEADLINE_CONVENTION else f"{prefix}.{row['convention']}"
    variant = row.get("variant", HEADLINE_VARIANT)
    return prefix if variant == HEADLINE_VARIANT else f"{prefix}.{variant}"


def row_metrics(row: Mapping[str, Any]) -> dict[str, float]:
    """Metric name → value for every finite number of ``row`` (a :class:`LiraRow` as a dict, e.g. from
    ``result.json``): ``<prefix>.<field>`` (:func:`metric_prefix`), and also ``headline.<field>`` for the headline
    row."""
    values = {
        name: float(value)
        for name, value in row.items()
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    }
    metrics = {f"{metric_prefix(row)}.{name}": value for name, value in values.items()}
    if is_headline(row):
        metrics.update({f"headline.{name}": value for name, value in values.items()})
    return metrics


class ShadowStats(FrozenModel):
    """What one shadow's training did (``shadows/<i>/meta.json``): its training-set size, its accuracy on those very
    examples (labels as trained, the original query) and on the audited trial's clean test set, and the privacy
    report of its learner (:class:`~acadp.learners.base.PrivacyReport`: σ = 0 and ε = inf when non-private)."""

    n_train: Annotated[int, Field(ge=0)]
    train_accuracy: JsonFloat
    test_accuracy: JsonFloat
    noise_multiplier: float  # σ
    sample_rate: float  # q
    steps: Annotated[int, Field(ge=0)]
    epsilon_spent: JsonFloat  # at the audited trial's δ; inf: non-private

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> ShadowStats | None:
        """The stats in a shadow's ``meta.json`` record; None when it lacks any (a shadow saved before they were)."""
        if any(name not in meta for name in cls.model_fields):
            return None
        return cls.model_validate({name: meta[name] for name in cls.model_fields})


# the training regime compared between an audit's shadows (means over shadows) and its audited grid trial: the
# columns ``shadow_<name>`` and ``trial_<name>`` of a sweep's audit rows (acadp.sweep.audits.regime_columns)
REGIME_FIELDS: tuple[str, ...] = (
    "n_train", "sample_rate", "noise_multiplier", "steps", "epsilon_spent", "train_accuracy", "test_accuracy",
)  # fmt: skip
REGIME_WHO: tuple[str, ...] = ("trial", "shadow")


def regime_column_names() -> list[str]:
    """``trial_<field>`` then ``shadow_<field>`` for every field of :data:`REGIME_FIELDS`."""
    return [f"{who}_{name}" for who in REGIME_WHO for name in REGIME_FIELDS]


class ShadowRegime(FrozenModel):
    """The regime an audit's shadows trained in, over its ``n_shadows`` shadows: means of :class:`ShadowStats` (the
    balanced keep matrix fixes each example's IN count, not each shadow's training-set size, so q, σ and ε can differ
    a little between shadows) and the largest ε any shadow spent."""

    n_shadows: Annotated[int, Field(ge=1)]
    n_train_mean: float
    sample_rate_mean: float
    noise_multiplier_mean: float
    steps_mean: float
    epsilon_spent_mean: JsonFloat
    epsilon_spent_max: JsonFloat
    train_accuracy_mean: JsonFloat
    test_accuracy_mean: JsonFloat

    @classmethod
    def of(cls, stats: Sequence[ShadowStats]) -> ShadowRegime:
        """The summary of at least one shadow's ``stats``."""
        if not stats:
            raise ValueError("a shadow regime needs at least one shadow's stats")

        def mean(name: str) -> float:
            return float(np.mean([getattr(s, name) for s in stats]))

        return cls(
            n_shadows=len(stats), n_train_mean=mean("n_train"), sample_rate_mean=mean("sample_rate"),
            noise_multiplier_mean=mean("noise_multiplier"), steps_mean=mean("steps"),
            epsilon_spent_mean=mean("epsilon_spent"), epsilon_spent_max=max(s.epsilon_spent for s in stats),
            train_accuracy_mean=mean("train_accuracy"), test_accuracy_mean=mean("test_accuracy"),
        )  # fmt: skip


class AuditResult(FrozenModel):
    """A finished audit (``audits/<audit key>/result.json``): the audited point, pool sizes, the regime its shadows
    trained in (:class:`ShadowRegime`) and one row per attack, convention and subset (subsets without examples are
    left out), the headline row first."""

    audit_key: str
    label: str
    audit: AuditConfig
    # flat copies of the audited grid point, for tables
    dataset: str
    alpha: float
    epsilon: JsonFloat  # inf: non-private
    clip: float | None
    seed: int
    n_pool: Annotated[int, Field(ge=1)]
    n_collective: Annotated[int, Field(ge=0)]
    n_shadows: Annotated[int, Field(ge=1)]
    rows: tuple[LiraRow, ...]
    seconds: float
    provenance: dict[str, str] = Field(default_factory=dict)
    # the shadows' training regime; None for audits stored before it was recorded
    shadow_regime: ShadowRegime | None = None

    @classmethod
    def of(
        cls,
        audit: AuditConfig,
        rows: tuple[LiraRow, ...],
        *,
        n_pool: int,
        n_collective: int,
        seconds: float,
        provenance: dict[str, str],
        shadow_regime: ShadowRegime | None = None,
    ) -> AuditResult:
        """The result of ``audit`` with the grid coordinates copied from its trial config."""
        trial = audit.trial
        return cls(
            audit_key=audit.key(), label=audit.label(), audit=audit, dataset=trial.dataset, alpha=trial.alpha,
            epsilon=trial.epsilon, clip=trial.clip, seed=trial.seed, n_pool=n_pool, n_collective=n_collective,
            n_shadows=audit.lira.shadows, rows=rows, seconds=seconds, provenance=provenance,
            shadow_regime=shadow_regime,
        )  # fmt: skip
