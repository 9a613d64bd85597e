"""Sweep files: the schema (unknown keys refused, every error reported at once) and grid expansion to trial configs.

A sweep file is YAML, read with ``yaml.safe_load``. See ``sweeps/quickstart.yaml`` for a commented example and the
README's "Sweep file reference" for every key.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from acadp.config.base import FrozenModel
from acadp.config.describe import describe
from acadp.config.presets import PRESETS
from acadp.config.pretrain import PretrainConfig
from acadp.config.trial import DEFAULT_DELTA, Accountant, Strategy, TrialConfig
from acadp.errors import SpecError
from acadp.lira.settings import AuditConfig, LiraSection

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
Epsilon = Annotated[float, Field(gt=0)]
Alpha = Annotated[float, Field(ge=0.0, lt=1.0)]


class TrainingOverrides(FrozenModel):
    """Training hyper-parameters to change, per regime; unset fields keep the dataset preset's value."""

    epochs: Annotated[int, Field(ge=1, le=10_000)] | None = None
    batch_size: Annotated[int, Field(ge=1)] | None = None
    lr: Annotated[float, Field(gt=0)] | None = None
    momentum: Annotated[float, Field(ge=0, lt=1)] | None = None
    weight_decay: Annotated[float, Field(ge=0)] | None = None
    grad_sample_mode: Literal["bookkeeping", "hooks", "functorch", "ew", "ghost"] | None = None


class TrainingSection(FrozenModel):
    private: TrainingOverrides = TrainingOverrides()
    non_private: TrainingOverrides = TrainingOverrides()


class DatasetSection(FrozenModel):
    """Per-dataset settings; omitted keys take the dataset preset (see ``acadp.config.presets``)."""

    model: dict[str, Any] | None = None
    signal: dict[str, Any] | None = None
    target_class: Annotated[int, Field(ge=0)] | None = None
    strategy: Strategy | None = None
    training: TrainingSection = TrainingSection()
    n_train: Annotated[int, Field(ge=2)] | None = None
    n_test: Annotated[int, Field(ge=1)] | None = None
    eval_every: Annotated[int, Field(ge=1)] = 1
    # Optional non-private pre-training on a public dataset (e.g. cifar100 for cifar10) before every trial's training.
    pretrain: PretrainConfig | None = None


class GridSection(FrozenModel):
    """The grid: one trial per (dataset, alpha, epsilon, clip, seed); ``inf`` in epsilon means non-private."""

    alpha: Annotated[list[Alpha], Field(min_length=1)]
    epsilon: Annotated[list[Epsilon], Field(min_length=1)]
    clip: Annotated[list[Annotated[float, Field(gt=0)]], Field(min_length=1)] = Field(default_factory=lambda: [1.0])
    seed: Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1)] = Field(default_factory=lambda: [0])

    @field_validator("epsilon")
    @classmethod
    def _no_nan(cls, values: list[float]) -> list[float]:
        if any(math.isnan(v) for v in values):
            raise ValueError("epsilon values must be numbers or inf, not NaN")
        return values

    @field_validator("alpha", "epsilon", "clip", "seed")
    @classmethod
    def _no_duplicates(cls, values: list[Any]) -> list[Any]:
        if len(set(values)) != len(values):
            raise ValueError("values must be distinct")
        return values


class Resources(FrozenModel):
    """Resources of one trial. ``gpus`` (a fraction allowed) are used only when the cluster has GPUs."""

    cpus: Annotated[float, Field(gt=0, le=512)] = 1
    gpus: Annotated[float, Field(ge=0, le=8)] = 0

    @field_validator("gpus")
    @classmethod
    def _fraction_or_whole(cls, value: float) -> float:
        if value > 1 and value != int(value):
            raise ValueError("more than one GPU must be a whole number")
        return value


class SmokeSection(FrozenModel):
    """How ``--smoke`` shrinks the sweep; grid lists default to the first and last value of the full grid."""

    alpha: list[Alpha] | None = None
    epsilon: list[Epsilon] | None = None
    clip: list[Annotated[float, Field(gt=0)]] | None = None
    seed: list[Annotated[int, Field(ge=0)]] | None = None
    n_train: Annotated[int, Field(ge=2)] = 400
    n_test: Annotated[int, Field(ge=1)] = 200
    epochs: Annotated[int, Field(ge=1)] = 2


class ReduceSection(FrozenModel):
    """Reducer options: success thresholds S* for the critical mass and bootstrap resamples."""

    thresholds: Annotated[list[Annotated[float, Field(gt=0, le=1)]], Field(min_length=1)] = Field(
        default_factory=lambda: [0.5, 0.9]
    )
    n_boot: Annotated[int, Field(ge=10, le=100_000)] = 1000


class SweepSpec(FrozenModel):
    """A whole sweep file."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    description: str = ""
    datasets: Annotated[dict[str, DatasetSection], Field(min_length=1)]
    grid: GridSection
    delta: Annotated[float, Field(gt=0, lt=1)] = DEFAULT_DELTA
    accountant: Accountant = "prv"
    resources: Resources = Resources()
    max_concurrent_trials: Annotated[int, Field(ge=1)] | None = None
    max_failures: Annotated[int, Field(ge=0, le=100)] = 2
    storage: str = "results"
    tracking_uri: str | None = None
    data_dir: str | None = None
    reduce: ReduceSection = ReduceSection()
    smoke: SmokeSection = SmokeSection()
    lira: LiraSection | None = None

    @field_validator("datasets")
    @classmethod
    def _known_datasets(cls, value: dict[str, DatasetSection]) -> dict[str, DatasetSection]:
        unknown = [name for name in value if name not in PRESETS]
        if unknown:
            raise ValueError(f"unknown dataset {unknown[0]!r}; valid datasets: {', '.join(PRESETS.names())}")
        return value

    @model_validator(mode="after")
    def _audited_points_are_in_the_grid(self) -> SweepSpec:
        if self.lira is None:
            return self
        points = self.lira.points
        checks: list[tuple[str, list[Any], list[Any]]] = [
            ("alpha", points.alpha, self.grid.alpha),
            ("epsilon", points.epsilon, self.grid.epsilon),
            ("clip", points.clip or [], self.grid.clip),
            ("seed", points.seed or [], self.grid.seed),
            ("datasets", points.datasets or [], list(self.datasets)),
        ]
        for name, wanted, grid in checks:
            missing = [value for value in wanted if value not in grid]
            if missing:
                raise ValueError(f"lira.points.{name}: {missing} not in the sweep's grid {grid}")
        return self

    @model_validator(mode="after")
    def _remote_storage_needs_a_tracking_server(self) -> SweepSpec:
        if "://" in self.storage and not self.storage.startswith("file://") and self.tracking_uri is None:
            raise ValueError(
                "tracking_uri: a remote storage needs an MLflow tracking server (e.g. http://head:5000); "
                "the default SQLite database only works on a local disk"
            )
        return self

    def trial_configs(self, *, smoke: bool = False) -> list[TrialConfig]:
        """One validated config per grid point (non-private points do not depend on clip: one trial for all C)."""
        return expand_grid(self, smoke=smoke)

    def audit_configs(self, *, smoke: bool = False) -> list[AuditConfig]:
        """One audit per audited point (a smoke run audits only the first point of each dataset)."""
        return expand_audits(self, smoke=smoke)


def _regime_training(preset: dict[str, Any], section: DatasetSection, private: bool) -> dict[str, Any]:
    overrides = section.training.private if private else section.training.non_private
    base = preset["private" if private else "non_private"]
    return {**base, **overrides.model_dump(exclude_none=True)}


def _section_part(preset_part: dict[str, Any], given: dict[str, Any] | None) -> dict[str, Any]:
    if given is None:
        return preset_part
    if "name" not in given or given["name"] == preset_part["name"]:
        return {**preset_part, **given}
    return dict(given)


def _smoke_grid(spec: SweepSpec) -> GridSection:
    def ends(values: list[Any]) -> list[Any]:
        return list(dict.fromkeys([values[0], values[-1]]))

    smoke = spec.smoke
    return GridSection(
        alpha=smoke.alpha or ends(spec.grid.alpha),
        epsilon=smoke.epsilon or ends(spec.grid.epsilon),
        clip=smoke.clip or spec.grid.clip[:1],
        seed=smoke.seed or spec.grid.seed[:1],
    )


def _pretrain_payload(pretrain: PretrainConfig | None, smoke: SmokeSection | None) -> dict[str, Any] | None:
    """The pretrain settings of a trial; a smoke run pre-trains for at most the smoke epochs on the smoke n_train."""
    if pretrain is None:
        return None
    data = pretrain.model_dump(mode="python")
    if smoke is not None:
        data["epochs"] = min(pretrain.epochs, smoke.epochs)
        data["n_train"] = min(pretrain.n_train or smoke.n_train, smoke.n_train)
    return data


def _dataset_payloads(spec: SweepSpec, name: str, section: DatasetSection, *, smoke: bool) -> dict[bool, Any]:
    preset = PRESETS.get(name).model_dump(mode="python")
    common: dict[str, Any] = {
        "dataset": name,
        "delta": spec.delta,
        "accountant": spec.accountant,
        "target_class": preset["target_class"] if section.target_class is None else section.target_class,
        "strategy": section.strategy or preset["strategy"],
        "signal": _section_part(preset["signal"], section.signal),
        "model": _section_part(preset["model"], section.model),
        "n_train": spec.smoke.n_train if smoke else section.n_train,
        "n_test": spec.smoke.n_test if smoke else section.n_test,
        "eval_every": section.eval_every,
        "pretrain": _pretrain_payload(section.pretrain, spec.smoke if smoke else None),
    }
    payloads = {}
    for private in (True, False):
        training = _regime_training(preset, section, private)
        if smoke:
            training["epochs"] = min(training["epochs"], spec.smoke.epochs)
            # at least four batches per epoch, so DP-SGD still subsamples (q < 1) on the smoke data
            training["batch_size"] = min(training["batch_size"], max(1, spec.smoke.n_train // 4))
        payloads[private] = {**common, "training": training}
    return payloads


def _point(payload: dict[str, Any], *, alpha: float, epsilon: float, clip: float | None, seed: int) -> dict[str, Any]:
    return {**payload, "alpha": alpha, "epsilon": epsilon, "clip": clip, "seed": seed}


def expand_audits(spec: SweepSpec, *, smoke: bool = False) -> list[AuditConfig]:
    """Audit configs of the ``lira`` section: each audited point's trial config, with ``n_train`` = the pool size."""
    if spec.lira is None:
        return []
    points, settings = spec.lira.points, spec.lira.settings(smoke=smoke)
    audits: dict[str, AuditConfig] = {}
    for name in points.datasets or list(spec.datasets):
        payloads = _dataset_payloads(spec, name, spec.datasets[name], smoke=smoke)
        for epsilon in points.epsilon[:1] if smoke else points.epsilon:
            private = math.isfinite(epsilon)
            for clip in (points.clip or spec.grid.clip[:1]) if private else [None]:
                for alpha in points.alpha[:1] if smoke else points.alpha:
                    for seed in points.seed or spec.grid.seed[:1]:
                        payload = _point(payloads[private], alpha=alpha, epsilon=epsilon, clip=clip, seed=seed)
                        if settings.pool is not None:
                            payload["n_train"] = settings.pool
                        audit = AuditConfig(trial=TrialConfig.model_validate(payload), lira=settings)
                        audits.setdefault(audit.key(), audit)
    return list(audits.values())


def expand_grid(spec: SweepSpec, *, smoke: bool = False) -> list[TrialConfig]:
    """Trial configs of the grid, private ones first (they take longest; starting them first shortens the tail)."""
    grid = _smoke_grid(spec) if smoke else spec.grid
    configs: dict[str, TrialConfig] = {}
    errors: list[str] = []
    for name, section in spec.datasets.items():
        payloads = _dataset_payloads(spec, name, section, smoke=smoke)
        for epsilon in sorted(grid.epsilon):
            private = math.isfinite(epsilon)
            for clip in grid.clip if private else [None]:
                for alpha in grid.alpha:
                    for seed in grid.seed:
                        point = _point(payloads[private], alpha=alpha, epsilon=epsilon, clip=clip, seed=seed)
                        try:
                            config = TrialConfig.model_validate(point)
                        except ValidationError as error:
                            errors.append(describe(error, within=("datasets", name)))
                            break
                        configs.setdefault(config.key(), config)
    if errors:
        raise SpecError("; ".join(dict.fromkeys(errors)))
    return list(configs.values())


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
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise _yaml_error(path, error) from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: a sweep file must be a mapping of keys (name, datasets, grid, ...)")
    data = {**data, **(overrides or {})}
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as error:
        raise SpecError(describe(error, prefix=str(path))) from None
    try:
        expand_grid(spec)
        expand_grid(spec, smoke=True)
        expand_audits(spec)
        expand_audits(spec, smoke=True)
    except SpecError as error:
        raise SpecError(f"{path}: {error}") from None
    except ValidationError as error:
        raise SpecError(describe(error, prefix=f"{path}: lira")) from None
    return spec
