"""What a finished LiRA audit records: one :class:`LiraRow` per attack and member subset, inside the audit's
:class:`AuditResult` (its ``result.json``).

Both are written as strict JSON (:meth:`~acadp.config.base.FrozenModel.plain`: NaN as null, infinities as ``"inf"``)
and read back with those turned into numbers again, so a stored result validates into an equal model.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, Field

from acadp.config.base import FrozenModel
from acadp.lira.settings import AuditConfig

Subset = Literal["all", "collective", "non_collective"]
SUBSETS: tuple[str, ...] = get_args(Subset)  # the order tables show them in


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
    """One attack over one member subset: AUC and TPR at 0.1 % / 1 % FPR as mean ± std (ddof=1) over the target
    models whose counted examples hold members and non-members, and the held-out empirical ε lower bound."""

    attack: str
    subset: Subset
    auc_mean: JsonFloat
    auc_std: JsonFloat
    tpr_at_0_1_fpr_mean: JsonFloat
    tpr_at_0_1_fpr_std: JsonFloat
    tpr_at_1_fpr_mean: JsonFloat
    tpr_at_1_fpr_std: JsonFloat
    n_targets: Annotated[int, Field(ge=0)]  # target models the means are over
    n_examples: Annotated[int, Field(ge=0)]  # examples of the pool in the subset
    epsilon_lower_bound: JsonFloat

    @classmethod
    def metric_names(cls) -> tuple[str, ...]:
        """The float fields, in field order: ``auc_mean`` … ``tpr_at_1_fpr_std``, ``epsilon_lower_bound``."""
        return tuple(name for name, info in cls.model_fields.items() if info.annotation is float)

    @classmethod
    def count_names(cls) -> tuple[str, ...]:
        """The integer fields, in field order: ``n_targets``, ``n_examples``."""
        return tuple(name for name, info in cls.model_fields.items() if info.annotation is int)


class AuditResult(FrozenModel):
    """A finished audit (``audits/<audit key>/result.json``): the audited point, pool sizes and one row per attack
    and subset (subsets without examples are left out)."""

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
    ) -> AuditResult:
        """The result of ``audit`` with the grid coordinates copied from its trial config."""
        trial = audit.trial
        return cls(
            audit_key=audit.key(), label=audit.label(), audit=audit, dataset=trial.dataset, alpha=trial.alpha,
            epsilon=trial.epsilon, clip=trial.clip, seed=trial.seed, n_pool=n_pool, n_collective=n_collective,
            n_shadows=audit.lira.shadows, rows=rows, seconds=seconds, provenance=provenance,
        )  # fmt: skip
