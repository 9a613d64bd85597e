"""Backfill: log to MLflow what the results store holds but MLflow does not yet (``untracked.json`` markers).

A marked trial or audit gets its child run found by its key tag (or created), then whatever the run lacks: params,
per-epoch metrics with their steps (from the trial's ``history`` in ``result.json``), final metrics, the audit's rows
and ROC artifacts. Metrics already present with the same step and value are not logged again, so a run logged in part
before the server went down ends up as if it had never been interrupted, and running the backfill twice changes
nothing. The marker is removed last. The sweep's marker (``untracked.json`` at the sweep root) asks for the parent run
to be created, closed, or given the reducer's outputs.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from acadp.config.lira import AuditConfig
from acadp.config.trial import TrialConfig
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.sweep.outage import PROCESS_HEALTH, TrackingHealth, mark_untracked, read_marker
from acadp.sweep.plan import SweepPlan
from acadp.sweep.status import untracked_audits, untracked_trials
from acadp.sweep.tracking import (
    METRICS_PER_BATCH,
    TAG_STATUS,
    AuditTracker,
    TrackingTarget,
    TrialTracker,
    audit_metrics,
    epoch_metrics,
    find_sweep_tracking,
    finish_sweep_run,
    log_sweep_artifacts,
    setup_sweep_tracking,
    trial_config_params,
    trial_final_metrics,
    trial_result_params,
)
from acadp.trial.result import TrialResult

BATCH = METRICS_PER_BATCH


@dataclass(frozen=True)
class SyncReport:
    """What a backfill did: results logged now, results still awaiting tracking, whether MLflow answered."""

    tracked: int
    awaiting: int
    reachable: bool
    sync_command: str  # the command that logs them later (:meth:`SweepPlan.command`)

    def line(self) -> str:
        if not self.reachable:
            return f"MLflow unreachable: {self.awaiting} results await tracking (`{self.sync_command}` logs them later)"
        if self.awaiting:
            return f"tracking: {self.tracked} results logged to MLflow, {self.awaiting} still await tracking"
        return f"tracking: {self.tracked} results logged to MLflow; nothing awaits tracking"


def awaiting_tracking(plan: SweepPlan, store: ResultsStore) -> int:
    """How many stored results (trials and audits) await tracking."""
    audits = plan.spec.audit_configs(smoke=plan.smoke)
    return len(untracked_trials(store, plan.configs)) + len(untracked_audits(store, audits))


def open_sweep_run(plan: SweepPlan, store: ResultsStore) -> TrackingTarget:
    """Create (or find) the sweep's experiment and parent run, marked RUNNING (the driver, at start)."""
    local_default = plan.is_local and not plan.spec.tracking_uri
    with _spec_files(store) as spec_files:
        return setup_sweep_tracking(
            tracking_uri=plan.tracking_uri,
            experiment=plan.name,
            sweep_dir=plan.location,
            artifact_root=store.local_path(LAYOUT.mlflow_artifacts) if local_default else None,
            spec_files=spec_files,
        )


@contextmanager
def _spec_files(store: ResultsStore) -> Iterator[list[Path]]:
    """The sweep file and resolved spec as local files (temporary copies of those a remote store holds)."""
    if store.is_local:
        yield [store.local_path(LAYOUT.sweep_file), store.local_path(LAYOUT.spec)]
        return
    with tempfile.TemporaryDirectory(prefix="acadp-spec-") as tmp:
        copies = []
        for rel in (LAYOUT.sweep_file, LAYOUT.spec):
            if store.exists(rel):
                copy = Path(tmp) / Path(rel).name
                copy.write_bytes(store.read_bytes(rel))
                copies.append(copy)
        yield copies


def _parent(plan: SweepPlan, store: ResultsStore) -> TrackingTarget:
    """The parent run, created (from the stored spec) when the driver could not create it."""
    found = find_sweep_tracking(tracking_uri=plan.tracking_uri, experiment=plan.name, sweep_dir=plan.location)
    return found if found is not None else open_sweep_run(plan, store)


def sync_tracking(
    plan: SweepPlan,
    store: ResultsStore,
    *,
    target: TrackingTarget | None = None,
    close_parent: bool = True,
    health: TrackingHealth = PROCESS_HEALTH,
) -> SyncReport:
    """Log every marked result of ``plan`` to MLflow (see the module docstring); stops at the first tracking error.

    ``target``: the parent run when the caller has it (found or created otherwise). ``close_parent``: also apply the
    sweep marker (close the parent run as the last driver ended it, log the reducer's outputs); a driver starting up
    leaves that to its own end.
    """
    trials = untracked_trials(store, plan.configs)
    audits = untracked_audits(store, plan.spec.audit_configs(smoke=plan.smoke))
    sweep_marker = read_marker(store, LAYOUT.untracked) if close_parent else None
    total = len(trials) + len(audits)
    report = partial(SyncReport, sync_command=plan.command("sweep sync"))
    if not total and sweep_marker is None:
        return report(tracked=0, awaiting=0, reachable=True)
    target = target or health.attempt(lambda: _parent(plan, store))
    if target is None:
        return report(tracked=0, awaiting=total, reachable=False)
    tracked = 0
    jobs: list[tuple[str, Any]] = [(LAYOUT.trial(c.key()).untracked, c) for c in trials]
    jobs += [(LAYOUT.audit(a.key()).untracked, a) for a in audits]
    for marker, job in jobs:
        if not health.succeeds(partial(_backfill, target, store, job)):
            return report(tracked=tracked, awaiting=total - tracked, reachable=False)
        store.delete(marker)
        tracked += 1
    if sweep_marker is not None and health.succeeds(lambda: _close_parent(target, store, sweep_marker)):
        store.delete(LAYOUT.untracked)
    return report(tracked=tracked, awaiting=0, reachable=health.reachable)


def _backfill(target: TrackingTarget, store: ResultsStore, job: TrialConfig | AuditConfig) -> str:
    if isinstance(job, AuditConfig):
        return backfill_audit(target, store, job)
    return backfill_trial(target, store, job)


def backfill_trial(target: TrackingTarget, store: ResultsStore, config: TrialConfig) -> str:
    """Bring the child run of one completed grid point up to its ``result.json``; returns the run id."""
    result = TrialResult.model_validate(store.read_json(LAYOUT.trial(config.key()).result))
    tracker = TrialTracker(target, config)
    params = trial_result_params(result)
    if not tracker.created:  # a run created live may lack its config's params (a new one was given them)
        params = {**{k: v[:6000] for k, v in trial_config_params(config).items()}, **params}
    tracker.client.log_batch(tracker.run_id, params=[Param(k, v) for k, v in sorted(params.items())])
    metrics = [metric for record in result.history for metric in epoch_metrics(record)]
    metrics += trial_final_metrics(result)
    _log_missing(tracker.client, tracker.run_id, metrics, fresh=tracker.created)
    tracker.client.set_tag(tracker.run_id, TAG_STATUS, "completed")
    tracker.client.set_terminated(tracker.run_id, status="FINISHED")
    return tracker.run_id


def backfill_audit(target: TrackingTarget, store: ResultsStore, audit: AuditConfig) -> str:
    """Bring the child run of one completed audit up to its ``result.json`` and ``roc.npz``; returns the run id."""
    record = dict(store.read_json(LAYOUT.audit(audit.key()).result))
    tracker = AuditTracker(target, audit)
    existing: set[str] = set()
    if not tracker.created:
        existing = {artifact.path for artifact in tracker.client.list_artifacts(tracker.run_id)}
    _log_missing(tracker.client, tracker.run_id, audit_metrics(record), fresh=tracker.created)
    tracker.log_roc(record, store, existing=existing)
    tracker.client.log_batch(tracker.run_id, tags=[RunTag(TAG_STATUS, "completed")])
    tracker.client.set_terminated(tracker.run_id, status="FINISHED")
    return tracker.run_id


def _log_missing(client: MlflowClient, run_id: str, metrics: list[Metric], *, fresh: bool) -> None:
    """Log the ``metrics`` the run does not hold yet (same key, step and value); ``fresh``: the run is new."""
    if not fresh:
        present: dict[str, set[tuple[int, float]]] = {}
        for key in sorted({metric.key for metric in metrics}):
            present[key] = {(m.step, m.value) for m in client.get_metric_history(run_id, key)}
        metrics = [m for m in metrics if (m.step, m.value) not in present[m.key]]
    for start in range(0, len(metrics), BATCH):
        client.log_batch(run_id, metrics=metrics[start : start + BATCH])


def _close_parent(target: TrackingTarget, store: ResultsStore, marker: dict[str, Any]) -> None:
    finish = marker.get("finish")
    if isinstance(finish, dict):
        finish_sweep_run(target, status=str(finish["status"]), counts=dict(finish["counts"]))
    if marker.get("reduced"):
        with store.local_copy(LAYOUT.reduced) as reduced:
            log_sweep_artifacts(target, sorted(p for p in reduced.rglob("*") if p.is_file()), base=reduced)


def mark_parent(store: ResultsStore, reason: str, **fields: object) -> None:
    """Ask a later backfill to create, close or complete the parent run (``finish={status, counts}``,
    ``reduced=True``)."""
    mark_untracked(store, LAYOUT.untracked, reason, **fields)


def clear_parent_finish(store: ResultsStore) -> None:
    """Forget a pending closing of the parent run (the driver just closed it); other requests stay."""
    marker = read_marker(store, LAYOUT.untracked)
    if marker is None:
        return
    if marker.get("reduced"):
        store.write_json(LAYOUT.untracked, {k: v for k, v in marker.items() if k != "finish"})
    else:
        store.delete(LAYOUT.untracked)
