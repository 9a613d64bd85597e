"""A sweep file's jobs: its grid expanded to trial configs, its ``lira`` points to audit configs and its ``one_run``
points to one-run audit configs (the schema is :mod:`acadp.config.sweep`).

The grid is a product over ``alpha × epsilon × clip × seed`` (× ``objective`` × ``strategy``) in which ``inf`` in
epsilon means no noise and ``none`` in clip no clipping: (inf, none) SGD, (inf, C) clipping only, (ε, C) DP-SGD. A
product point with a finite ε and no clipping is not an arm and is skipped. Named recipes (``datasets.<name>.recipes``)
add one non-private arm each; an arm recipe (``datasets.<name>.arm_recipes``) replaces the shared recipe for one kind
of arm. ``gdro`` runs on the (inf, none) arm only. At α = 0 there is no collective, so only the grid's first strategy
runs (every strategy would train the same firm).
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

from acadp.config.arms import is_arm
from acadp.config.lira import AuditConfig, LiraPoints, LiraSettings
from acadp.config.one_run import OneRunConfig
from acadp.config.resolve import GridPoint, Setting, trial_payload, validate_trial
from acadp.config.trial import Objective, Strategy, TrialConfig
from acadp.errors import SpecError

if TYPE_CHECKING:
    from acadp.config.sweep import GridSection, SmokeSection, SweepSpec


def smoke_grid(spec: SweepSpec) -> GridSection:
    """The grid a smoke run expands: the smoke alphas (default: the grid's first and last) and seeds (the first)."""

    def ends(values: list[Any]) -> list[Any]:
        return list(dict.fromkeys([values[0], values[-1]]))

    smoke = spec.smoke
    return spec.grid.model_copy(
        update={"alpha": smoke.alpha or ends(spec.grid.alphas()), "seed": smoke.seed or spec.grid.seed[:1]}
    )


def _pretrain_payload(pretrain: dict[str, Any] | None, smoke: SmokeSection) -> dict[str, Any] | None:
    """A smoke run pre-trains for at most the smoke epochs on at most the smoke n_train."""
    if pretrain is None:
        return None
    n_train = pretrain["n_train"] or smoke.n_train
    return {**pretrain, "epochs": min(pretrain["epochs"], smoke.epochs), "n_train": min(n_train, smoke.n_train)}


def point_config(
    spec: SweepSpec,
    name: str,
    point: GridPoint,
    *,
    smoke: bool,
    pool: int | None = None,
    setting: Setting | None = None,
) -> TrialConfig:
    """The trial config of one point of dataset ``name`` in one of its settings (the overrides and where in the
    file they come from; default: the dataset section itself); a smoke run shrinks data, epochs and batches."""
    overrides, within = setting or (spec.datasets[name], ("datasets", name))
    payload = trial_payload(name, overrides, point, spec.shared)
    if point.clip is None and payload["training"]["lr_scaling"] == "normalised":
        # normalised clipping scales the clipped arms' lr by 1/C; an arm without clipping steps with lr itself
        payload["training"] = {**payload["training"], "lr_scaling": "fixed"}
    if smoke:
        training = payload["training"]
        # at least four batches per epoch, so Poisson sampling still subsamples (q < 1) on the smoke data
        payload["training"] = {
            **training,
            "epochs": min(training["epochs"], spec.smoke.epochs),
            "batch_size": min(training["batch_size"], max(1, spec.smoke.n_train // 4)),
        }
        payload.update(n_train=spec.smoke.n_train, n_test=spec.smoke.n_test)
        payload["pretrain"] = _pretrain_payload(payload["pretrain"], spec.smoke)
        payload["model"] = {**payload["model"], **spec.smoke.model}
    if pool is not None:
        payload["n_train"] = pool
    return validate_trial(payload, within=within)


def dataset_settings(spec: SweepSpec, name: str, *, smoke: bool = False) -> list[Setting]:
    """The settings of dataset ``name`` (:meth:`DatasetOverrides.placed_settings`); a smoke run's first
    ``smoke.variants``."""
    settings = spec.datasets[name].placed_settings(("datasets", name))
    return settings[: spec.smoke.variants] if smoke else settings


def _strategies(strategies: list[Strategy] | None, alpha: float) -> list[Strategy | None]:
    """The strategies run at ``alpha``: the grid's (None: the dataset's own), only the first at α = 0."""
    if not strategies:
        return [None]
    return list(strategies[:1] if alpha == 0.0 else strategies)


def _dataset_points(spec: SweepSpec, name: str, grid: GridSection) -> list[GridPoint]:
    """Every point of dataset ``name``: the grid's arms, then its named recipes, each at every alpha, strategy and
    seed."""
    arms: list[tuple[float, float | None, str | None, Objective | None]] = [
        (e, c, None, None if objective == "erm" else objective) for e, c, objective in grid.objective_arms()
    ]
    arms += [(math.inf, None, recipe.name, None) for recipe in spec.datasets[name].recipes]
    return [
        GridPoint(
            alpha=alpha, epsilon=epsilon, clip=clip, seed=seed, recipe=recipe, objective=objective, strategy=strategy
        )
        for epsilon, clip, recipe, objective in arms
        for alpha in grid.alphas()
        for strategy in _strategies(grid.strategy, alpha)
        for seed in grid.seed
    ]


def expand_grid(spec: SweepSpec, *, smoke: bool = False) -> list[TrialConfig]:
    """Trial configs of the grid, private ones first (they take longest; starting them first shortens the tail)."""
    grid = smoke_grid(spec) if smoke else spec.grid
    configs: dict[str, TrialConfig] = {}
    errors: list[str] = []
    for name in spec.datasets:
        for setting in dataset_settings(spec, name, smoke=smoke):
            for point in _dataset_points(spec, name, grid):
                try:
                    config = point_config(spec, name, point, smoke=smoke, setting=setting)
                except SpecError as error:
                    errors.append(str(error))
                    continue
                configs.setdefault(config.key(), config)
    if errors:
        raise SpecError("; ".join(dict.fromkeys(errors)))
    return list(configs.values())


def _audited_clips(wanted: list[float | None] | None, grid: list[float | None], epsilon: float) -> list[float | None]:
    """The clipping norms audited at ``epsilon``: lira.points.clip, else the grid's first that makes an arm."""
    if wanted is not None:
        return [c for c in wanted if is_arm(epsilon, c)]
    if not math.isfinite(epsilon):
        return [None] if None in grid else grid[:1]
    norms: list[float | None] = [c for c in grid if c is not None]
    return norms[:1]


def _audit_pool(name: str, grid_trial: TrialConfig, settings: LiraSettings) -> int | None:
    """The audit pool size of ``settings.pool`` for the audited ``grid_trial`` of dataset ``name``: ``matched``
    resolves to the trial's training size / pkeep, so that each shadow trains on as many examples as the trial (its
    q, and σ for its ε). A collective that withholds its points takes them out of the pool too."""
    if settings.pool != "matched":
        return settings.pool
    if grid_trial.n_train is None:
        raise SpecError(
            f"lira.pool: 'matched' sizes the pool from the audited trial's training set, but datasets.{name} sets no "
            f"n_train (the trial trains on all of it, leaving no examples outside); set datasets.{name}.n_train"
        )
    return round(grid_trial.n_train / settings.pkeep)


def expand_audits(spec: SweepSpec, *, smoke: bool = False) -> list[AuditConfig]:
    """Audit configs of the ``lira`` section: each audited point's trial config, with ``n_train`` = the pool size;
    the audits of α = 0 first (the clean twins other audits' variants read)."""
    if spec.lira is None:
        return []
    settings = spec.lira.settings(smoke=smoke)
    points = spec.lira.smoke.points if smoke and spec.lira.smoke.points is not None else spec.lira.points
    audits: dict[str, AuditConfig] = {}
    for name, point in _audited_points(spec, points, smoke=smoke and spec.lira.smoke.points is None):
        for setting in dataset_settings(spec, name, smoke=smoke):  # an audited point: in every setting of its dataset
            grid_trial = point_config(spec, name, point, smoke=smoke, setting=setting)
            pool = _audit_pool(name, grid_trial, settings)
            trial = (
                grid_trial if pool is None else point_config(spec, name, point, smoke=smoke, pool=pool, setting=setting)
            )
            audit = AuditConfig(trial=trial, lira=settings, grid_trial_key=grid_trial.key())
            audits.setdefault(audit.key(), audit)
    return sorted(audits.values(), key=lambda audit: audit.trial.alpha != 0.0)


def _audited_points(spec: SweepSpec, point_sets: list[LiraPoints], *, smoke: bool) -> list[tuple[str, GridPoint]]:
    """(dataset, grid point) of every audited point of each set in ``point_sets``; a smoke run keeps each set's first
    ε, α and seed."""
    chosen = []
    for points in point_sets:
        first = slice(1) if smoke else slice(None)
        seeds = (points.seed or spec.grid.seed[:1])[first]
        for name in points.datasets or list(spec.datasets):
            for epsilon in points.epsilon[first]:
                arms = [(epsilon, clip) for clip in _audited_clips(points.clip, spec.grid.clip, epsilon)]
                for (eps, clip), alpha in itertools.product(arms, points.alpha[first]):
                    for strategy, seed in itertools.product(
                        _audited_strategies(points.strategy, spec.grid.strategy, alpha), seeds
                    ):
                        point = GridPoint(alpha=alpha, epsilon=eps, clip=clip, seed=seed, strategy=strategy)
                        chosen.append((name, point))
    return chosen


def _audited_strategies(
    wanted: list[Strategy] | None, grid: list[Strategy] | None, alpha: float
) -> list[Strategy | None]:
    """The strategies audited at ``alpha``: lira.points.strategy, else the grid's first; at α = 0 the grid's first
    (the only one the grid runs there)."""
    first = _strategies(grid, alpha)[:1]
    return first if alpha == 0.0 or not wanted else list(wanted)


def expand_one_runs(spec: SweepSpec, *, smoke: bool = False) -> list[OneRunConfig]:
    """One-run audit configs of the ``one_run`` section: each audited point's own trial config (the grid trial's
    training set holds the canaries). Settings that can give no bound are refused when a sweep is planned
    (:func:`acadp.lira.one_run_checks.one_run_problem`, which needs the bound's arithmetic)."""
    if spec.one_run is None:
        return []
    settings = spec.one_run.settings(smoke=smoke)
    configs: dict[str, OneRunConfig] = {}
    for name, point in _audited_points(spec, spec.one_run.points, smoke=smoke):
        for setting in dataset_settings(spec, name, smoke=smoke):
            trial = point_config(spec, name, point, smoke=smoke, setting=setting)
            config = OneRunConfig(trial=trial, one_run=settings)
            configs.setdefault(config.key(), config)
    return list(configs.values())
