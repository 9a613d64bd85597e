"""What a sweep file will do before it runs (``acadp sweep plan``): its arms, grid, trials, audits and one-run
audits, what the store already holds of them, and how long the rest should take.

The time estimate comes from stored timings: the mean ``seconds`` of completed trials of the same recipe and arm
(the same trial config but for alpha and seed) in this sweep's store, in any other sweep under the same local
storage root, or saved there by ``acadp trial``. An arm with no stored timing is left out of the estimate and
named, unless a probe (``--probe``: one epoch of one trial per such arm, trained here, scaled to the recipe's
epochs) measured it. Reads JSON files only; torch is imported by the probe alone.
"""

from __future__ import annotations

import math
import os
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from acadp.config.trial import TrialConfig
from acadp.errors import StoreError
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.sweep.plan import SweepPlan
from acadp.sweep.search import arm_identity
from acadp.sweep.status import audit_state, one_run_state

RAY_START_SECONDS = 5.0  # a local Ray's start-up, measured at 4–6 s (docs/design.md), added once to the estimate


@dataclass(frozen=True)
class ArmPlan:
    """One arm of the plan: its trials (a search's: at most its budget), those stored, those with checkpointed epochs,
    and the seconds a trial of it takes with where that figure comes from (None: unknown)."""

    label: str
    kind: str
    trials: int
    completed: int
    started: int
    epochs: int
    seconds: float | None = None
    timing: str = ""

    @property
    def to_run(self) -> int:
        return max(0, self.trials - self.completed)


@dataclass(frozen=True)
class SweepPreview:
    """Everything ``acadp sweep plan`` prints (and ``--json`` gives as :meth:`plain`)."""

    sweep: str
    spec_path: str
    location: str
    smoke: bool
    datasets: list[str]
    alphas: str
    seeds: list[int]
    searched: bool
    arms: list[ArmPlan]
    audits: int
    audits_completed: int
    shadows: int
    shadows_done: int
    one_runs: int
    one_runs_completed: int
    slots: int
    estimate: dict[str, Any] = field(default_factory=dict)

    @property
    def trials(self) -> int:
        return sum(arm.trials for arm in self.arms)

    @property
    def completed(self) -> int:
        return sum(arm.completed for arm in self.arms)

    def plain(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__ if name != "arms"}
        arms = [{**arm.__dict__, "to_run": arm.to_run} for arm in self.arms]
        return {**data, "arms": arms, "trials": self.trials, "completed": self.completed}


def _alphas_text(plan: SweepPlan) -> str:
    search = None if plan.smoke else plan.spec.grid.search
    if search is not None:
        return (
            f"searched in [{search.low:g}, {search.high:g}] ({search.design.replace('_', '-')}, S* "
            f"{', '.join(f'{t:g}' for t in search.thresholds)}, at most {search.budget} trials per arm)"
        )
    alphas = sorted({config.alpha for config in plan.configs})
    return f"{len(alphas)}: {', '.join(f'{a:g}' for a in alphas)}"


def _sibling_stores(plan: SweepPlan) -> list[ResultsStore]:
    """This sweep's store, then every other sweep directory under the same local storage root, and the root itself
    (where ``acadp trial`` saves single trials by default: ``results/trials/<key>/``)."""
    stores = [plan.open_store()]
    if not plan.is_local:
        return stores
    root = Path(plan.location.removeprefix("file://")).parent
    if root.is_dir():
        own = Path(stores[0].root)
        stores += [ResultsStore(path) for path in sorted(root.iterdir()) if path.is_dir() and path != own]
        stores.append(ResultsStore(root))
    return stores


def stored_timings(stores: Iterable[ResultsStore], identities: set[str]) -> dict[str, list[float]]:
    """Arm identity (:func:`~acadp.sweep.search.arm_identity`) → the seconds of every completed trial of that arm
    in ``stores`` (only the arms of ``identities``; unreadable results are skipped)."""
    found: dict[str, list[float]] = defaultdict(list)
    for store in stores:
        for key in store.list_dir(LAYOUT.trials):
            try:
                rel = LAYOUT.trial(key).result
                data = store.read_json(rel) if store.exists(rel) else None
                config = TrialConfig.model_validate(data["config"]) if isinstance(data, dict) else None
            except (StoreError, ValueError, ValidationError, KeyError, TypeError):
                continue
            identity = None if config is None else arm_identity(config)
            if identity in identities and isinstance(data, dict) and isinstance(data.get("seconds"), int | float):
                found[identity].append(float(data["seconds"]))
    return found


def _arm_plans(plan: SweepPlan, store: ResultsStore) -> tuple[list[ArmPlan], dict[str, str]]:
    """One :class:`ArmPlan` per arm of the plan (grid order) without timings, and each arm's identity by label."""
    by_arm: dict[str, list[TrialConfig]] = defaultdict(list)
    identities: dict[str, str] = {}
    for config in plan.configs:
        label = f"{config.dataset} {config.arm}"
        by_arm[label].append(config)
        identities.setdefault(label, arm_identity(config))
    search = None if plan.smoke else plan.spec.grid.search
    arms = []
    for label, configs in by_arm.items():
        paths = [LAYOUT.trial(config.key()) for config in configs]
        completed = sum(store.exists(p.result) for p in paths)
        started = sum(store.exists(p.progress) and not store.exists(p.result) for p in paths)
        trials = max(search.budget, len(configs)) if search is not None else len(configs)
        arms.append(
            ArmPlan(label=label, kind=configs[0].arm_kind, trials=trials, completed=completed, started=started,
                    epochs=configs[0].training.epochs)
        )  # fmt: skip
    return arms, identities


def _slots(plan: SweepPlan) -> int:
    """Trials at once on this machine: its CPUs ÷ a trial's (or ``max_concurrent_trials``)."""
    slots = max(1, math.floor((os.cpu_count() or 1) / plan.spec.resources.cpus))
    return min(slots, plan.spec.max_concurrent_trials) if plan.spec.max_concurrent_trials else slots


def preview(plan: SweepPlan, *, probe: bool = False) -> SweepPreview:
    """What ``plan`` will run and what the store holds; ``probe`` times one epoch of each arm without a stored
    timing (trains, so imports torch)."""
    store = plan.open_store()
    arms, identities = _arm_plans(plan, store)
    timings = stored_timings(_sibling_stores(plan), set(identities.values()))
    timed = [
        _timed(arm, statistics.fmean(seconds), f"{len(seconds)} stored") if seconds else arm
        for arm in arms
        for seconds in [timings.get(identities[arm.label], [])]
    ]
    if probe:
        timed = probe_arms(plan, timed)
    audits = plan.spec.audit_configs(smoke=plan.smoke)
    audit_states = [audit_state(store, audit) for audit in audits]
    one_runs = [one_run_state(store, config)["status"] for config in plan.spec.one_run_configs(smoke=plan.smoke)]
    result = SweepPreview(
        sweep=plan.name, spec_path=str(plan.spec_path), location=plan.location, smoke=plan.smoke,
        datasets=list(plan.spec.datasets), alphas=_alphas_text(plan),
        seeds=sorted({config.seed for config in plan.configs}),
        searched=not plan.smoke and plan.spec.grid.search is not None,
        arms=timed, audits=len(audits), audits_completed=sum(state == "completed" for state, _ in audit_states),
        shadows=sum(audit.lira.shadows for audit in audits), shadows_done=sum(done for _, done in audit_states),
        one_runs=len(one_runs), one_runs_completed=one_runs.count("completed"), slots=_slots(plan),
    )  # fmt: skip
    return _with_estimate(result, plan)


def _timed(arm: ArmPlan, seconds: float, source: str) -> ArmPlan:
    return ArmPlan(**{**arm.__dict__, "seconds": seconds, "timing": source})


def _with_estimate(preview: SweepPreview, plan: SweepPlan) -> SweepPreview:
    """The preview with ``estimate``: the seconds of the trials and audits still to run on :attr:`slots` slots."""
    known = [arm for arm in preview.arms if arm.seconds is not None]
    missing = [arm.label for arm in preview.arms if arm.seconds is None and arm.to_run]
    work = sum(arm.to_run * (arm.seconds or 0.0) for arm in known)
    audits = _audit_seconds(plan, known)
    estimate: dict[str, Any] = {
        "trial_seconds": work,
        "audit_seconds": audits,
        "wall_seconds": (work + audits) / preview.slots + (RAY_START_SECONDS if work + audits else 0.0),
        "slots": preview.slots,
        "missing": missing,
        "bounded": preview.searched,
    }
    return SweepPreview(**{**preview.__dict__, "estimate": estimate})


def _audit_seconds(plan: SweepPlan, known: Sequence[ArmPlan]) -> float:
    """Shadows still to train × (``pkeep`` × the audited arm's trial time): a shadow trains on a ``pkeep`` share of
    the pool with the same sample rate, so on that share of the steps' examples."""
    seconds = {arm.label: arm.seconds for arm in known}
    store = plan.open_store()
    total = 0.0
    for audit in plan.spec.audit_configs(smoke=plan.smoke):
        trial_seconds = seconds.get(f"{audit.trial.dataset} {audit.trial.arm}")
        if trial_seconds is None:
            continue
        _, done = audit_state(store, audit)
        total += (audit.lira.shadows - done) * audit.lira.pkeep * trial_seconds
    return total


def probe_arms(plan: SweepPlan, arms: Sequence[ArmPlan]) -> list[ArmPlan]:
    """Every arm without a stored timing timed by training one epoch of its first trial here (torch), the seconds
    scaled to the recipe's epochs."""
    import time

    from acadp.trial.run import run_trial

    first: dict[str, TrialConfig] = {}
    for config in plan.configs:
        first.setdefault(f"{config.dataset} {config.arm}", config)

    def timed(arm: ArmPlan) -> ArmPlan:
        if arm.seconds is not None or not arm.to_run:
            return arm
        config = first[arm.label]
        one_epoch = TrialConfig.model_validate(
            {**config.canonical(), "training": {**config.training.plain(), "epochs": 1}}
        )
        began = time.perf_counter()
        run_trial(one_epoch, data_dir=plan.data_dir, threads=max(1, int(plan.spec.resources.cpus)))
        return _timed(arm, (time.perf_counter() - began) * arm.epochs, f"probe: 1 epoch × {arm.epochs}")

    return [timed(arm) for arm in arms]
