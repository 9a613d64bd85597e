"""A searched sweep's arms and what the results store holds for them (no Ray here; the searcher is
:mod:`acadp.sweep.searcher`).

A sweep whose ``grid.alpha`` is a search runs, per arm (dataset × arm of the recipe), the alphas that
:func:`acadp.reduce.search_core.propose` chooses, each with every seed of the grid. Its state is the store: every
trial directory whose ``config.json`` belongs to an arm is a started alpha, and its ``result.json`` a completed one,
so a resumed search (or one over a store a grid already filled) continues from there and never re-runs a point.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from acadp.config.search import AlphaSearch
from acadp.config.trial import TrialConfig
from acadp.errors import StoreError
from acadp.reduce.search_core import SearchReport, SearchSettings, assess
from acadp.reduce.search_dose import Point, Replay, next_round, replay
from acadp.reduce.search_fits import FitCache, StoredFits
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.sweep.status import read_result
from acadp.trial.result import TrialResult


def arm_identity(config: TrialConfig) -> str:
    """The key of ``config`` with alpha and seed left out: equal for every point of one arm's search."""
    return config.model_copy(update={"alpha": 0.0, "seed": 0}).key()


@dataclass
class ArmSearch:
    """One arm's search: a template config per seed, the settings, and the store's results for the arm."""

    label: str  # e.g. "mnist5k DP ε=8 C=1"
    templates: dict[int, TrialConfig]  # seed → the arm's config at alpha = low
    settings: SearchSettings
    success: dict[float, dict[int, float]] = field(default_factory=dict)  # alpha → seed → S of completed trials
    started_points: set[Point] = field(default_factory=set)  # (alpha, seed) of every trial stored or queued
    fits: FitCache | None = None  # where a dose-response search's fit states are kept (none: refit every round)

    @property
    def started(self) -> set[float]:
        """Alphas with any trial stored or queued."""
        return {alpha for alpha, _ in self.started_points}

    @property
    def dose_response(self) -> bool:
        """Whether this arm runs one seed per probe (design dose_response) rather than every seed per alpha."""
        return self.settings.design == "dose_response"

    def config_at(self, alpha: float, seed: int) -> TrialConfig:
        """The trial config of this arm at (alpha, seed), validated."""
        return TrialConfig.model_validate({**self.templates[seed].canonical(), "alpha": alpha})

    def results(self) -> dict[float, list[float]]:
        """alpha → success of each completed seed (the search core's input)."""
        return {alpha: [by_seed[s] for s in sorted(by_seed)] for alpha, by_seed in self.success.items()}

    def pending(self) -> set[float]:
        """Alphas started whose seeds are not all complete."""
        return {a for a in self.started if len(self.success.get(a, {})) < len(self.templates)}

    def completed_points(self) -> dict[Point, float]:
        """(alpha, seed) → success of every completed trial (a dose-response search's input)."""
        return {(alpha, seed): value for alpha, by_seed in self.success.items() for seed, value in by_seed.items()}

    def replay(self) -> Replay:
        """A dose-response search rebuilt from the arm's results: its completed points and its current round's
        points still without a result (:func:`acadp.reduce.search_dose.replay`)."""
        return replay(self.settings, self.templates, self.completed_points(), fits=self.fits)

    def report(self) -> SearchReport:
        if self.dose_response:
            return self.replay().report(self.settings, fits=self.fits)
        return assess(self.settings, self.results(), pending=self.pending())

    def configs(self) -> list[TrialConfig]:
        """Every point of this arm known so far: the started alphas and the bracket's ends with all seeds; for a
        dose-response search, the started points and its first round (the ends, one seed each)."""
        if self.dose_response:
            ends = next_round(self.settings, {}, self.templates)
            return [self.config_at(alpha, seed) for alpha, seed in sorted({*self.started_points, *ends})]
        alphas = sorted({*self.started, self.settings.low, self.settings.high})
        return [self.config_at(alpha, seed) for alpha in alphas for seed in sorted(self.templates)]


def search_arms(
    search: AlphaSearch, configs: Sequence[TrialConfig], *, fits: FitCache | None = None
) -> list[ArmSearch]:
    """One :class:`ArmSearch` per arm of ``configs`` (the grid expanded at the bracket's ends), in grid order, each
    keeping its fit states in ``fits``."""
    by_arm: dict[str, dict[int, TrialConfig]] = defaultdict(dict)
    labels: dict[str, str] = {}
    for config in configs:
        identity = arm_identity(config)
        labels.setdefault(identity, f"{config.dataset} {config.arm}")
        if config.alpha == search.low:
            by_arm[identity][config.seed] = config
    return [
        ArmSearch(
            label=labels[identity],
            templates=dict(sorted(templates.items())),
            settings=SearchSettings(
                low=search.low,
                high=search.high,
                thresholds=tuple(search.thresholds),
                tolerance=search.tolerance,
                budget=search.budget,
                n_seeds=len(templates),
                design=search.design,
            ),
            fits=fits,
        )
        for identity, templates in by_arm.items()
    ]


def _stored_config(store: ResultsStore, key: str) -> TrialConfig | None:
    rel = LAYOUT.trial(key).config
    if not store.exists(rel):
        return None
    try:
        return TrialConfig.model_validate(store.read_json(rel))
    except (StoreError, ValueError, ValidationError):
        return None  # written by another version, or being replaced now: not a point of this search


def load_from_store(store: ResultsStore, arms: Sequence[ArmSearch]) -> None:
    """Fill every arm's ``started`` and ``success`` from the trial directories of ``store``."""
    by_identity = {arm_identity(next(iter(arm.templates.values()))): arm for arm in arms}
    if not store.exists(LAYOUT.trials):
        return
    for key in sorted(store.list_dir(LAYOUT.trials)):
        config = _stored_config(store, key)
        arm = None if config is None else by_identity.get(arm_identity(config))
        if config is None or arm is None or config.seed not in arm.templates or config.key() != key:
            continue
        if not arm.settings.low <= config.alpha <= arm.settings.high:
            continue
        arm.started_points.add((config.alpha, config.seed))
        record(arm, config, store)


def record(arm: ArmSearch, config: TrialConfig, store: ResultsStore) -> bool:
    """Add the stored result of ``config`` (a point of ``arm``) to the arm; False when there is none (yet)."""
    stored = read_result(store, LAYOUT.trial(config.key()).result, TrialResult)
    if stored.value is None:
        return False
    arm.success.setdefault(config.alpha, {})[config.seed] = stored.value.success
    return True


def stored_arms(store: ResultsStore, search: AlphaSearch, ends: Sequence[TrialConfig]) -> list[ArmSearch]:
    """Every arm's search as the store has it; ``ends``: the sweep's grid at the bracket's ends, every seed
    (``spec.trial_configs()``), where each arm's seeds and templates come from. Fit states are kept in the store
    (:class:`~acadp.reduce.search_fits.StoredFits`)."""
    arms = search_arms(search, ends, fits=StoredFits(store))
    load_from_store(store, arms)
    return arms


def searched_configs(store: ResultsStore, search: AlphaSearch, ends: Sequence[TrialConfig]) -> list[TrialConfig]:
    """Every point of a searched sweep known so far (:meth:`ArmSearch.configs`)."""
    return [config for arm in stored_arms(store, search, ends) for config in arm.configs()]


def search_lines(store: ResultsStore, search: AlphaSearch, ends: Sequence[TrialConfig]) -> list[str]:
    """Per arm and threshold: the current bracket, its state and the trials used (``acadp sweep status``)."""
    arms = stored_arms(store, search, ends)
    lines = []
    for arm in arms:
        report = arm.report()
        for bracket in report.brackets:
            lines.append(
                f"{arm.label} S*={bracket.threshold:g}: {bracket.describe()} · "
                f"{report.trials_used}/{arm.settings.budget} trials"
            )
    return lines
