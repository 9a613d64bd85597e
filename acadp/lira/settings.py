"""LiRA audit settings: the ``lira:`` section of a sweep file and the ``acadp lira`` options."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from acadp.config.base import FrozenModel
from acadp.config.trial import ClipChoice, TrialConfig
from acadp.data import DATASETS
from acadp.data.base import Modality
from acadp.lira.attacks import ATTACKS

Query = Literal["original", "mirror"]
# the data each query can be asked of: the mirror flips an image's width axis (a training augmentation of images)
QUERY_MODALITIES: dict[str, tuple[Modality, ...]] = {"original": ("image", "tabular"), "mirror": ("image",)}
DEFAULT_ATTACKS = ("online", "online_fixed_variance", "offline", "global_threshold")


class LiraSettings(FrozenModel):
    """How to audit one trained configuration (Carlini et al. 2022; 16 shadows as in Solanki et al. 2025)."""

    shadows: Annotated[int, Field(ge=4, le=1024)] = 16  # ≥ 4: leave-one-out conventions (acadp.lira.conventions)
    pkeep: Annotated[float, Field(gt=0, lt=1)] = 0.5
    # what each model is queried with: the example, and its horizontal mirror (images only)
    queries: Annotated[tuple[Query, ...], Field(min_length=1)] = ("original", "mirror")
    attacks: Annotated[tuple[str, ...], Field(min_length=1)] = DEFAULT_ATTACKS
    seed: Annotated[int, Field(ge=0)] = 0
    # audit pool size (None: the audited trial's training set); each shadow trains on pkeep of it
    pool: Annotated[int, Field(ge=4)] | None = None
    # how many shadows train at once (one placement-group bundle each), and the resources of each
    concurrent_shadows: Annotated[int, Field(ge=1, le=256)] = 2
    cpus_per_shadow: Annotated[float, Field(gt=0)] = 1.0
    gpus_per_shadow: Annotated[float, Field(ge=0)] = 0.0
    # confidence of the Clopper–Pearson intervals behind the per-target epsilon lower bound (acadp.lira.target_bound)
    confidence: Annotated[float, Field(gt=0.5, lt=1)] = 0.95
    # audits at alpha = 0 also report a `placebo` subset: the examples the audited seed would have drawn as the
    # collective at this alpha (acadp.collective.choose_members), left unmodified; None = no placebo row
    placebo_alpha: Annotated[float, Field(gt=0, lt=1)] | None = None

    @field_validator("attacks")
    @classmethod
    def _known_attacks(cls, attacks: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in attacks if name not in ATTACKS]
        if unknown:
            raise ValueError(f"unknown attack {unknown[0]!r}; valid attacks: {', '.join(ATTACKS.names())}")
        return attacks

    def scoring(self) -> dict[str, object]:
        """The settings that decide a finished audit's rows but not its shadows: a stored result whose scoring
        differs is scored again from the saved shadows."""
        return self.model_dump(include={"attacks", "confidence", "placebo_alpha"})

    @field_validator("queries")
    @classmethod
    def _distinct_queries(cls, queries: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(queries)) != len(queries) or queries[0] != "original":
            raise ValueError("queries must start with 'original' and not repeat")
        return queries


def valid_queries(dataset: str) -> tuple[str, ...]:
    """The queries the data of ``dataset`` allows (all of them for a dataset not registered)."""
    if dataset not in DATASETS:
        return tuple(QUERY_MODALITIES)
    modality = DATASETS.get(dataset).modality
    return tuple(query for query, modalities in QUERY_MODALITIES.items() if modality in modalities)


def query_problem(queries: tuple[str, ...], *, dataset: str) -> str | None:
    """Why ``queries`` cannot be asked of the models trained on ``dataset`` (naming the field ``lira.queries`` and the
    valid queries); None when they can."""
    valid = valid_queries(dataset)
    refused = [query for query in queries if query not in valid]
    if not refused:
        return None
    modality = DATASETS.get(dataset).modality
    return (
        f"lira.queries: {refused[0]!r} cannot be asked of dataset {dataset!r} ({modality} data; the mirror flips "
        f"images); valid queries for {dataset}: {', '.join(valid)}"
    )


class AuditConfig(FrozenModel):
    """One audit: the audited trial config (its ``n_train`` is the pool size) and the LiRA settings."""

    trial: TrialConfig
    lira: LiraSettings

    @model_validator(mode="after")
    def _queries_fit_the_dataset(self) -> AuditConfig:
        problem = query_problem(self.lira.queries, dataset=self.trial.dataset)
        if problem is not None:
            raise ValueError(problem)
        return self

    def key(self) -> str:
        """Content hash of what determines the shadows' logits (not attacks, concurrency or resources)."""
        shadow_part = self.lira.model_dump(include={"shadows", "pkeep", "queries", "seed"})
        text = json.dumps({"trial": self.trial.key(), "lira": shadow_part}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def label(self) -> str:
        return f"LiRA {self.trial.label()} ({self.lira.shadows} shadows)"


class LiraPoints(FrozenModel):
    """Which grid points to audit: values must be in the sweep's grid. ``clip`` defaults to the grid's first norm for a
    finite ε and to no clipping (SGD) for ε = inf; ``seed`` to the grid's first."""

    alpha: Annotated[list[float], Field(min_length=1)]
    epsilon: Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=1)]
    clip: list[ClipChoice] | None = None
    seed: list[int] | None = None
    datasets: list[str] | None = None


class LiraSmoke(FrozenModel):
    """How ``--smoke`` shrinks audits."""

    shadows: Annotated[int, Field(ge=4)] = 4
    pool: Annotated[int, Field(ge=4)] = 256


class LiraSection(LiraSettings):
    """The ``lira:`` section of a sweep file."""

    points: LiraPoints
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
        if smoke:
            data.update(shadows=self.smoke.shadows, pool=self.smoke.pool)
        return LiraSettings.model_validate(data)
