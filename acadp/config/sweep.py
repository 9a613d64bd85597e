"""Sweep files: the schema (unknown keys refused, every error reported at once); their expansion to trial, audit and
one-run configs is :mod:`acadp.config.expand`.

A sweep file is YAML, read by :func:`acadp.config.yaml_source.read_yaml` (a key given twice is refused); training
keys that change no trial of the grid are refused too (:mod:`acadp.config.no_effect`). See ``sweeps/quickstart.yaml``
for a commented example and the README's "Sweep file reference" for every key.

The grid is a product over ``alpha × epsilon × clip × seed`` (× ``objective`` × ``strategy``) in which ``inf`` in
epsilon means no noise and ``none`` in clip no clipping, so one grid asks for every arm: (inf, none) SGD, (inf, C)
clipping only, (ε, C) DP-SGD. A product point with a finite ε and no clipping is not an arm (DP-SGD needs a norm) and
is skipped, never run. Named recipes of a dataset (``datasets.<name>.recipes``) add one non-private arm each; an arm
recipe (``datasets.<name>.arm_recipes``) is what one kind of arm trains with in place of the shared recipe.
``grid.objective`` (default ``[erm]``) crosses the arms with the training objective; ``gdro`` (Group-DRO, datasets
with groups only) runs on the (inf, none) arm only — its points with clipping or noise are skipped like a finite ε
without C. ``grid.strategy`` (default: each dataset's own) crosses them with the collective's strategy.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Discriminator, Field, Tag, ValidationError, field_validator, model_validator

from acadp.config.arms import GRID_ARM_KINDS, GridArmKind, arm_label, grid_arm_kind, is_arm
from acadp.config.base import FrozenModel
from acadp.config.contrasts import Contrast, contrast_problem
from acadp.config.describe import describe
from acadp.config.expand import expand_audits, expand_grid, expand_one_runs
from acadp.config.lira import AuditConfig, LiraPoints, LiraSection, query_problem
from acadp.config.no_effect import refuse_settings_without_effect
from acadp.config.one_run import OneRunConfig, OneRunSection
from acadp.config.presets import PRESETS
from acadp.config.resolve import DatasetOverrides, Shared, recipe_training
from acadp.config.search import AlphaSearch, AlphaSearchSpec, alpha_kind
from acadp.config.trial import (
    DEFAULT_DELTA,
    Accountant,
    Alpha,
    ClipChoice,
    Epochs,
    Epsilon,
    Objective,
    Seed,
    Strategy,
    TestSize,
    TrainingConfig,
    TrainSize,
    TrialConfig,
)
from acadp.config.yaml_source import read_yaml
from acadp.errors import SpecError

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"


def _erm_only() -> list[Objective]:
    return ["erm"]


def _all_arm_kinds() -> list[GridArmKind | ArmPoint]:
    return list(GRID_ARM_KINDS)


class ArmPoint(FrozenModel):
    """One arm of the grid's epsilon × clip product named by its knobs, e.g. ``{epsilon: 2, clip: 10}``."""

    epsilon: Epsilon
    clip: ClipChoice = None


class GridSection(FrozenModel):
    """The grid: one trial per (dataset, arm, alpha, seed); arms come from epsilon × clip (see the module docstring)."""

    # a list of alphas, or {search: {...}}: find alpha* per arm by a search (acadp.config.search)
    alpha: Annotated[
        Annotated[Annotated[list[Alpha], Field(min_length=1)], Tag("alpha_list")]
        | Annotated[AlphaSearchSpec, Tag("alpha_search")],
        Discriminator(alpha_kind),
    ]
    epsilon: Annotated[list[Epsilon], Field(min_length=1)]
    clip: Annotated[list[ClipChoice], Field(min_length=1)] = Field(default_factory=lambda: [None, 1.0])
    seed: Annotated[list[Seed], Field(min_length=1)] = Field(default_factory=lambda: [0])
    # which arms of the product to run (default all): kinds — sgd (inf, none), clip (inf, C), dpsgd (ε, C) — and/or
    # single arms by their knobs, {epsilon: 2, clip: 10} (e.g. DP at every ε with C = 1 but only ε = 2 with C = 10)
    arms: Annotated[list[GridArmKind | ArmPoint], Field(min_length=1)] = Field(default_factory=_all_arm_kinds)
    # training objectives crossed with the arms: erm, and gdro (Group-DRO) on the (inf, none) arm only
    objective: Annotated[list[Objective], Field(min_length=1)] = Field(default_factory=_erm_only)
    # the collective's strategies crossed with the arms (None: each dataset's own); at α = 0 only the first runs
    strategy: Annotated[list[Strategy], Field(min_length=1)] | None = None

    @field_validator("epsilon")
    @classmethod
    def _no_nan(cls, values: list[float]) -> list[float]:
        if any(math.isnan(v) for v in values):
            raise ValueError("epsilon values must be numbers or inf, not NaN")
        return values

    @field_validator("alpha", "epsilon", "clip", "seed", "arms", "objective", "strategy")
    @classmethod
    def _no_duplicates(cls, values: Any) -> Any:
        if isinstance(values, list) and len(set(values)) != len(values):
            raise ValueError("values must be distinct")
        return values

    @model_validator(mode="after")
    def _at_least_one_arm(self) -> GridSection:
        if not any(is_arm(e, c) for e in self.epsilon for c in self.clip):
            raise ValueError("clip: every epsilon is finite and clip is only 'none': DP-SGD needs a clipping norm C")
        product = [(e, c) for e in self.epsilon for c in self.clip if is_arm(e, c)]
        outside = [a for a in self.arms if isinstance(a, ArmPoint) and (a.epsilon, a.clip) not in product]
        if outside:
            clip = "none" if outside[0].clip is None else f"{outside[0].clip:g}"
            raise ValueError(
                f"arms: {{epsilon: {outside[0].epsilon:g}, clip: {clip}}} is not an arm of the grid's epsilon × clip "
                "(add its epsilon and clip to the grid; a finite epsilon needs a clip)"
            )
        if not self.arm_points():
            kinds = ", ".join(a for a in self.arms if isinstance(a, str))
            raise ValueError(f"arms: the grid's epsilon × clip has no arm of kind {kinds}")
        if "gdro" in self.objective and (math.inf, None) not in self.arm_points():
            raise ValueError(
                "objective: gdro runs on the (inf, none) arm; add inf to epsilon, none to clip, sgd to arms"
            )
        return self

    @model_validator(mode="after")
    def _search_budget_pays_one_step(self) -> GridSection:
        search, seeds = self.search, len(self.seed)
        if search is not None and search.design == "dose_response" and seeds < 2:
            raise ValueError(
                "alpha.search.design: dose_response needs at least 2 seeds in grid.seed (its CI is a bootstrap over "
                f"seeds), got {seeds}; add seeds or use design: bisection"
            )
        if search is not None and search.budget < search.least_budget(seeds):
            raise ValueError(
                f"alpha.search.budget: {search.budget} trials per arm is below one "
                f"{search.design.replace('_', '-')} step ({search.step_text(seeds)})"
            )
        return self

    @property
    def search(self) -> AlphaSearch | None:
        """The alpha search, or None for a list of alphas."""
        return self.alpha.search if isinstance(self.alpha, AlphaSearchSpec) else None

    def alphas(self) -> list[float]:
        """The grid's alphas: the list, or a search's bracket ends (where every search starts)."""
        if isinstance(self.alpha, AlphaSearchSpec):
            return [self.alpha.search.low, self.alpha.search.high]
        return self.alpha

    def objective_arms(self) -> list[tuple[float, float | None, Objective]]:
        """(epsilon, clip, objective) of every arm: each arm of :meth:`arm_points` per objective, gdro only on the
        (inf, none) arm."""
        return [
            (e, c, objective)
            for objective in self.objective
            for e, c in self.arm_points()
            if objective == "erm" or (c is None and not math.isfinite(e))
        ]

    def arm_points(self) -> list[tuple[float, float | None]]:
        """The (epsilon, clip) arms of the product that ``arms`` asks for, strongest privacy first (finite ε without
        clipping skipped)."""
        ordered = sorted(self.epsilon)
        kinds = {arm for arm in self.arms if isinstance(arm, str)}
        points = {(arm.epsilon, arm.clip) for arm in self.arms if isinstance(arm, ArmPoint)}
        return [
            (e, c)
            for e in ordered
            for c in self.clip
            if is_arm(e, c) and (grid_arm_kind(e, c) in kinds or (e, c) in points)
        ]


class Resources(FrozenModel):
    """Resources of one trial. ``gpus`` (a fraction allowed) are used only when the cluster has GPUs."""

    cpus: Annotated[float, Field(gt=0, le=512)] = 1
    gpus: Annotated[float, Field(ge=0, le=8)] = 0
    # where an audit's concurrent shadows go on a multi-node cluster: pack (one node where they fit) or spread
    # (over nodes, e.g. one shadow per GPU node); Ray's placement-group strategies of those names
    shadow_placement: Literal["pack", "spread"] = "pack"

    @field_validator("gpus")
    @classmethod
    def _fraction_or_whole(cls, value: float) -> float:
        if value > 1 and value != int(value):
            raise ValueError("more than one GPU must be a whole number")
        return value


class SmokeSection(FrozenModel):
    """How ``--smoke`` shrinks the sweep: every arm runs, at the first and last alpha and the first seed (by default),
    on little data for few epochs."""

    alpha: list[Alpha] | None = None
    seed: list[Seed] | None = None
    n_train: TrainSize = 400
    n_test: TestSize = 200
    epochs: Epochs = 2
    # the first this many settings of each dataset with variants (None: every variant)
    variants: Annotated[int, Field(ge=1)] | None = None
    # model parameters a smoke run changes on every trial (e.g. frozen_layers, to check a GPU sweep on a CPU)
    model: dict[str, Any] = Field(default_factory=dict)


class ReduceSection(FrozenModel):
    """Reducer options: success thresholds S*, bootstrap resamples, and how α* is interpolated."""

    thresholds: Annotated[list[Annotated[float, Field(gt=0, le=1)]], Field(min_length=1)] = Field(
        default_factory=lambda: [0.5, 0.9]
    )
    n_boot: Annotated[int, Field(ge=10, le=100_000)] = 1000
    # interpolate α* in log α ("auto": when the positive α values are log-spaced) or linearly, or read it off a
    # logistic fit in log α over every trial ("logistic"; "auto" for a dose-response search)
    interpolation: Literal["auto", "log", "linear", "logistic"] = "auto"
    # also report α* on lift = S − base rate (success that is the signal's doing)
    lift: bool = True
    # paired contrasts of arms by label, e.g. [{a: "DP ε=2 C=1", b: "clip C=1", name: "noise"}]; None: the defaults
    # of acadp.reduce.contrasts (noise, clipping, utility, clipping beyond utility, where their arms exist)
    contrasts: list[Contrast] | None = None


class SweepSpec(FrozenModel):
    """A whole sweep file."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    description: str = ""
    datasets: Annotated[dict[str, DatasetOverrides], Field(min_length=1)]
    grid: GridSection
    delta: Annotated[float, Field(gt=0, lt=1)] = DEFAULT_DELTA
    accountant: Accountant = "prv"
    resources: Resources = Resources()
    max_concurrent_trials: Annotated[int, Field(ge=1)] | None = None
    max_failures: Annotated[int, Field(ge=0, le=100)] = 2
    storage: str = "results"
    tracking_uri: str | None = None
    data_dir: str | None = None
    # fetch datasets missing from the data directory (registry archives, official downloads) once, on the driver,
    # before the first job starts; off: a missing dataset stops the sweep before anything is created (one line naming
    # the fetch command)
    download: bool = False
    reduce: ReduceSection = ReduceSection()
    smoke: SmokeSection = SmokeSection()
    lira: LiraSection | None = None
    # one-run audits (Steinke et al. 2023) of chosen grid points: one training run each, no shadows
    one_run: OneRunSection | None = None

    @field_validator("datasets")
    @classmethod
    def _known_datasets(cls, value: dict[str, DatasetOverrides]) -> dict[str, DatasetOverrides]:
        unknown = [name for name in value if name not in PRESETS]
        if unknown:
            raise ValueError(f"unknown dataset {unknown[0]!r}; valid datasets: {', '.join(PRESETS.names())}")
        return value

    @model_validator(mode="after")
    def _audited_points_are_in_the_grid(self) -> SweepSpec:
        sections: list[tuple[str, list[LiraPoints]]] = []
        if self.lira is not None:
            sections += [("lira", self.lira.points), ("lira.smoke", self.lira.smoke.points or [])]
        if self.one_run is not None:
            sections.append(("one_run", self.one_run.points))
        for section, point_sets in sections:
            for points in point_sets:
                checks: list[tuple[str, list[Any], list[Any]]] = [
                    # a searched alpha has no fixed values: any audited alpha is run as its own point
                    ("alpha", points.alpha, self.grid.alphas() if self.grid.search is None else points.alpha),
                    ("epsilon", points.epsilon, self.grid.epsilon),
                    ("clip", points.clip or [], self.grid.clip),
                    ("seed", points.seed or [], self.grid.seed),
                    ("datasets", points.datasets or [], list(self.datasets)),
                    ("strategy", points.strategy or [], self.grid.strategy or []),
                ]
                for name, wanted, grid in checks:
                    missing = [value for value in wanted if value not in grid]
                    if missing:
                        raise ValueError(f"{section}.points.{name}: {missing} not in the sweep's grid {grid}")
        return self

    @model_validator(mode="after")
    def _lira_queries_follow_the_audited_training(self) -> SweepSpec:
        if self.lira is None:
            return self
        audited = {name for points in self.lira.points for name in points.datasets or list(self.datasets)}
        for name in sorted(audited):
            if name not in self.datasets:
                continue  # reported by _audited_points_are_in_the_grid
            try:  # the audited points train with the dataset's shared recipe
                training = TrainingConfig.model_validate(recipe_training(name, self.datasets[name], None))
            except (SpecError, ValidationError):
                continue  # a bad recipe is reported where the grid is expanded
            problem = query_problem(
                self.lira.queries, training=training, augment_field=f"datasets.{name}.training.augment", dataset=name
            )
            if problem is not None:
                raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _contrasts_name_the_sweeps_arms(self) -> SweepSpec:
        problem = None if self.reduce.contrasts is None else contrast_problem(self.reduce.contrasts, self.arm_labels())
        if problem is not None:
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _remote_storage_needs_a_tracking_server(self) -> SweepSpec:
        if "://" in self.storage and not self.storage.startswith("file://") and self.tracking_uri is None:
            raise ValueError(
                "tracking_uri: a remote storage needs an MLflow tracking server (e.g. http://head:5000); "
                "the default SQLite database only works on a local disk"
            )
        return self

    def arm_labels(self) -> list[str]:
        """The label of every arm of the sweep (:func:`acadp.config.arms.arm_label`): the grid's (with the arm recipe
        a dataset gives their kind, if any), then each dataset's named recipes."""
        labels = [
            arm_label(epsilon=e, clip=c, objective=o, recipe=d.arm_recipe(e, c) if o == "erm" else None)
            for d in self.datasets.values()
            for e, c, o in self.grid.objective_arms()
        ]
        labels += [
            arm_label(epsilon=math.inf, clip=None, recipe=r.name) for d in self.datasets.values() for r in d.recipes
        ]
        return list(dict.fromkeys(labels))

    @property
    def shared(self) -> Shared:
        return Shared(delta=self.delta, accountant=self.accountant)

    def interpolation(self, *, smoke: bool = False) -> str:
        """How the reducer reads alpha*: ``reduce.interpolation``, where ``auto`` on a dose-response search (one seed
        per probed alpha, no seed-mean curve) is ``logistic``."""
        search = None if smoke else self.grid.search
        if self.reduce.interpolation == "auto" and search is not None and search.design == "dose_response":
            return "logistic"
        return self.reduce.interpolation

    def trial_configs(self, *, smoke: bool = False) -> list[TrialConfig]:
        """One validated config per grid point."""
        return expand_grid(self, smoke=smoke)

    def audit_configs(self, *, smoke: bool = False) -> list[AuditConfig]:
        """One audit per audited point (a smoke run audits only the first point of each dataset)."""
        return expand_audits(self, smoke=smoke)

    def one_run_configs(self, *, smoke: bool = False) -> list[OneRunConfig]:
        """One one-run audit per point of ``one_run.points`` (a smoke run audits only the first of each dataset)."""
        return expand_one_runs(self, smoke=smoke)


def _yaml_error(path: Path, error: yaml.YAMLError) -> SpecError:
    mark = getattr(error, "problem_mark", None)
    where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    return SpecError(f"{path}:{where}: not valid YAML: {problem}")


def load_spec(path: Path | str, *, overrides: dict[str, Any] | None = None) -> SweepSpec:
    """Read and validate a sweep file; every problem is reported in one :class:`SpecError` naming file and fields."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise SpecError(f"{path}: sweep file not found") from None
    except OSError as error:
        raise SpecError(f"{path}: cannot read the sweep file ({error.strerror})") from None
    try:
        source = read_yaml(text, source=str(path))
    except yaml.YAMLError as error:
        raise _yaml_error(path, error) from None
    data = source.data
    if not isinstance(data, dict):
        raise SpecError(f"{path}: a sweep file must be a mapping of keys (name, datasets, grid, ...)")
    data = {**data, **(overrides or {})}
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as error:
        raise SpecError(describe(error, prefix=str(path))) from None
    try:
        configs = expand_grid(spec)
        expand_grid(spec, smoke=True)
        expand_audits(spec)
        expand_audits(spec, smoke=True)
        expand_one_runs(spec)
        expand_one_runs(spec, smoke=True)
    except SpecError as error:
        raise SpecError(f"{path}: {error}") from None
    except ValidationError as error:
        raise SpecError(describe(error, prefix=f"{path}: lira")) from None
    refuse_settings_without_effect(spec, configs, source=source, file=path)
    return spec
