"""The critical-mass search as a Ray Tune searcher: a thin wrapper around :mod:`acadp.reduce.search_core` (and
:mod:`acadp.reduce.search_dose` for a dose-response search, which proposes one (alpha, seed) at a time).

:class:`CriticalMassSearcher` first hands out the sweep's fixed jobs (LiRA audits), then, per arm, the trials of the
alphas the search core proposes (one Tune trial per (alpha, seed)). While trials run, every free slot asks the core for
another alpha inside the current brackets (alphas running count as taken). Completed trials are read back from the
results store, the source of truth, so points the store already holds are never run again; an alpha interrupted in an
earlier invocation is finished first.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from ray.tune.search import Searcher

from acadp.config.trial import TrialConfig
from acadp.reduce.search_core import propose
from acadp.store.results import ResultsStore
from acadp.sweep.search import ArmSearch, record


class CriticalMassSearcher(Searcher):
    """Suggests ``{"acadp": job}`` configs: the fixed ``jobs`` first, then the searched trials of every arm.

    ``job_of(config)`` turns a trial config into its job as plain data (:mod:`acadp.sweep.jobs`).
    Returns ``Searcher.FINISHED`` once every arm's search is over and nothing runs."""

    def __init__(
        self,
        *,
        arms: Sequence[ArmSearch],
        store: ResultsStore,
        jobs: Sequence[dict[str, Any]],
        job_of: Callable[[TrialConfig], dict[str, Any]],
    ) -> None:
        super().__init__()
        self.arms, self.store, self.job_of = list(arms), store, job_of
        self.jobs: deque[dict[str, Any]] = deque(jobs)
        self.queue: deque[tuple[ArmSearch, TrialConfig]] = deque()
        self.running: dict[str, tuple[ArmSearch, TrialConfig] | None] = {}
        self.failed: set[str] = set()  # trial keys whose Tune trial errored in this invocation: not re-queued
        for arm in self.arms:  # alphas an earlier invocation started but did not finish come first
            if not arm.dose_response:  # (a dose-response search's current round is finished first anyway)
                for alpha in sorted(arm.pending()):
                    self._enqueue(arm, alpha)

    def set_search_properties(self, metric: str | None, mode: str | None, config: dict, **spec: Any) -> bool:
        return True  # the search reads success from the store, not from a Tune metric

    def _queued_keys(self) -> set[str]:
        running = {item[1].key() for item in self.running.values() if item is not None}
        return running | {config.key() for _, config in self.queue}

    def _enqueue(self, arm: ArmSearch, alpha: float) -> None:
        """Queue every seed of a bisection's alpha (:meth:`_enqueue_point`)."""
        for seed in arm.templates:
            self._enqueue_point(arm, alpha, seed)

    def _enqueue_point(self, arm: ArmSearch, alpha: float, seed: int) -> None:
        """Queue the trial (alpha, seed) unless it is completed, queued, running or failed in this invocation."""
        arm.started_points.add((alpha, seed))
        config = arm.config_at(alpha, seed)
        if seed in arm.success.get(alpha, {}) or config.key() in self._queued_keys() | self.failed:
            return
        if not record(arm, config, self.store):  # completed in the store (by a grid or an earlier search)
            self.queue.append((arm, config))

    def _propose_one(self, arm: ArmSearch) -> bool:
        """Queue the arm's next proposal (an alpha with every seed, or the points of a dose-response round still
        without a result); False when it has nothing new now."""
        if arm.dose_response:
            waiting, queued = arm.replay().waiting, len(self.queue)
            for alpha, seed in waiting:
                self._enqueue_point(arm, alpha, seed)
            return len(self.queue) > queued or arm.replay().waiting != waiting  # queued, or found in the store
        alphas = propose(arm.settings, arm.results(), pending=arm.pending())
        if alphas:
            self._enqueue(arm, alphas[0])
        return bool(alphas)

    def _propose(self) -> bool:
        """Ask each arm's search for one more proposal (arms in turn); True when a trial was queued."""
        progressed = True
        while progressed:  # a point the store already completed leaves the queue empty: ask again
            progressed = False
            for arm in self.arms:
                if self._propose_one(arm):
                    progressed = True
                    if self.queue:
                        return True
        return False

    def suggest(self, trial_id: str) -> dict | None:
        if self.jobs:
            self.running[trial_id] = None
            return {"acadp": self.jobs.popleft()}
        if not self.queue and not self._propose():
            if self.running:
                return None  # ask again when a running trial completes
            return Searcher.FINISHED  # type: ignore[return-value]  # Tune's documented "search is over" value
        arm, config = self.queue.popleft()
        self.running[trial_id] = (arm, config)
        return {"acadp": self.job_of(config)}

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        item = self.running.pop(trial_id, None)
        if item is None:
            return
        arm, config = item
        if not record(arm, config, self.store):
            self.failed.add(config.key())
