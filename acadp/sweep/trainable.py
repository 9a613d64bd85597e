"""The Ray Tune trainable: a thin wrapper that runs :func:`acadp.trial.run_trial` for one grid point.

The results store is the source of truth: a trial whose ``result.json`` exists only reports it again; otherwise it
continues from its own epoch checkpoint in the store (whatever Tune remembers), logs to its MLflow child run, writes
``result.json`` and then finishes the MLflow run. Tracking never fails a trial: an MLflow error leaves an
``untracked.json`` marker for the backfill (:mod:`acadp.sweep.outage`). The same function runs under Tune's retries
(``FailureConfig``) and after a driver restart, with the same outcome.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import socket
import traceback
from functools import partial
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import Field
from ray import tune

from acadp.config.base import FrozenModel
from acadp.config.trial import TrialConfig
from acadp.errors import SweepSupersededError
from acadp.learners import TrainingRun
from acadp.learners.noise import NoiseTable
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.sweep.failures import current_node_id
from acadp.sweep.outage import PROCESS_HEALTH, GuardedRun, apply_http_budget
from acadp.sweep.tracking import AuditTracker, TrackingTarget, TrialTracker
from acadp.trial.result import EpochRecord, TrialResult
from acadp.trial.run import TrialCheckpoint, run_trial


class TrialContext(FrozenModel):
    """What the driver sends to a trial besides its config (plain data, safe to serialise).

    ``kind`` is ``trial`` (``trial`` holds a :class:`TrialConfig`), ``audit`` (``audit`` holds an
    :class:`AuditConfig`; ``trial`` its audited trial, for progress display) or ``one_run`` (``one_run`` holds a
    :class:`~acadp.lira.one_run_settings.OneRunConfig`).
    """

    kind: Literal["trial", "audit", "one_run"] = "trial"
    trial: dict[str, Any]
    audit: dict[str, Any] | None = None
    one_run: dict[str, Any] | None = None  # kind one_run: a OneRunConfig
    store: str
    invocation: str
    tracking_uri: str | None = None
    experiment_id: str | None = None
    parent_run_id: str | None = None  # None with a tracking_uri: MLflow was down when the driver started
    # MLflow's HTTP timeouts and retries (MLFLOW_HTTP_REQUEST_* variables), as the driver resolved them
    tracking_env: dict[str, str] = Field(default_factory=dict)
    data_dir: str | None = None
    threads: int = 1
    cpus: float = 1.0
    gpus: float = 0.0
    shadow_placement: Literal["pack", "spread"] = "pack"
    # σ of every DP setting of the sweep, computed once by the driver's preflight
    noise: NoiseTable = NoiseTable()

    def tracking(self) -> TrackingTarget | None:
        if self.tracking_uri is None or self.experiment_id is None or self.parent_run_id is None:
            return None
        return TrackingTarget(self.tracking_uri, self.experiment_id, self.parent_run_id)

    def guarded_run(self, store: ResultsStore, marker: str, open_run: Any) -> GuardedRun[Any] | None:
        """The job's MLflow child run behind a guard; None when the sweep does not track. ``open_run(target)``
        opens the run."""
        if self.tracking_uri is None:
            return None
        apply_http_budget(self.tracking_env or None)
        target = self.tracking()
        opener = None if target is None else (lambda: open_run(target))
        return GuardedRun(store, marker, opener, health=PROCESS_HEALTH)


def final_metrics(result: TrialResult) -> dict[str, Any]:
    """What Tune sees when a trial ends (finite numbers only)."""
    values = {
        "epoch": result.epochs,
        "test_accuracy": result.test_accuracy,
        "success": result.success,
        "success_all": result.success_all,
        "epsilon_spent": result.epsilon_spent,
        "trial_seconds": result.seconds,
        "done": 1,
    }
    return {key: value for key, value in values.items() if not isinstance(value, float) or math.isfinite(value)}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


class _Progress:
    """A trial's ``progress.json``: fields merged into the last written state, each update written at once."""

    def __init__(self, store: ResultsStore, rel: str) -> None:
        self.store, self.rel = store, rel
        self.state: dict[str, Any] = store.read_json(rel) if store.exists(rel) else {}

    def update(self, **fields: Any) -> None:
        self.state = {**self.state, **fields, "updated_at": _now()}
        self.store.write_json(self.rel, self.state)


class _Guard:
    """Stops a trial whose driver was replaced: each epoch, ``driver.json`` must still name this invocation."""

    def __init__(self, store: ResultsStore, invocation: str) -> None:
        self.store, self.invocation = store, invocation

    def check(self) -> None:
        if not self.store.exists(LAYOUT.driver):
            return
        current = self.store.read_json(LAYOUT.driver).get("invocation")
        if current != self.invocation:
            raise SweepSupersededError(f"driver invocation {current} replaced {self.invocation}; stopping")


def sweep_trainable(space: dict[str, Any]) -> None:
    """Tune function trainable; ``space["acadp"]`` is a :class:`TrialContext` as a dict."""
    context = TrialContext.model_validate(space["acadp"])
    if context.kind == "audit":
        run_audit_job(context)
    elif context.kind == "one_run":
        run_one_run_job(context)
    else:
        run_trial_job(context)


def run_one_run_job(context: TrialContext) -> None:
    """One one-run audit as a Tune trial: one training run in the trial's slot, its result stored under the sweep
    (a stored result is reused). Not logged to MLflow: the reducer's ``one_run`` table reports it."""
    from acadp.lira.one_run_settings import OneRunConfig
    from acadp.sweep.one_run_audits import run_stored_one_run

    config = OneRunConfig.model_validate(context.one_run)
    store = ResultsStore(context.store)
    torch.set_num_threads(max(1, context.threads))
    device = "cuda" if context.gpus > 0 and torch.cuda.is_available() else "cpu"
    data_dir = Path(context.data_dir) if context.data_dir else None
    try:
        run_stored_one_run(config, store=store, data_dir=data_dir, device=device)
    except Exception as error:
        _record_failure(store, LAYOUT.one_run(config.key()).error, error, context.invocation)
        raise
    tune.report({"done": 1})


def run_audit_job(context: TrialContext) -> None:
    """One LiRA audit as a Tune trial: shadows in the trial's placement group, metrics to its MLflow child run."""
    import ray

    from acadp.lira.settings import AuditConfig
    from acadp.sweep.audit_runner import run_audit

    audit = AuditConfig.model_validate(context.audit)
    store = ResultsStore(context.store)
    paths = LAYOUT.audit(audit.key())
    tracking = context.guarded_run(store, paths.untracked, lambda target: AuditTracker(target, audit))
    device = "cuda" if audit.lira.gpus_per_shadow > 0 and torch.cuda.is_available() else "cpu"
    done: list[int] = []

    def on_shadow(index: int) -> None:
        done.append(index)
        tune.report({"shadows_done": len(done)})

    if tracking is not None:
        tracking.before_result()  # run_audit writes result.json: the marker stays until the MLflow run is finished
    try:
        record = run_audit(
            audit,
            store=store,
            data_dir=Path(context.data_dir) if context.data_dir else None,
            device=device,
            placement_group=ray.util.get_current_placement_group(),
            on_shadow=on_shadow,
        )
    except Exception as error:
        _record_failure(store, paths.error, error, context.invocation)
        if tracking is not None:
            tracking.call(partial(_fail, error=error))
        raise
    tracked = tracking is None or tracking.finish(lambda tracker: tracker.finish(record, store))
    tune.report({"done": 1, "shadows_done": audit.lira.shadows, "tracked": int(tracked)})


def run_trial_job(context: TrialContext) -> None:
    """One grid point as a Tune trial."""
    job_started = _now()
    config = TrialConfig.model_validate(context.trial)
    store = ResultsStore(context.store)
    paths = LAYOUT.trial(config.key())
    if store.exists(paths.result):
        tune.report(final_metrics(TrialResult.model_validate(store.read_json(paths.result))))
        return
    if not store.exists(paths.config):
        store.write_json(paths.config, config.canonical())
    tracking = context.guarded_run(store, paths.untracked, lambda target: TrialTracker(target, config))
    guard = _Guard(store, context.invocation)
    progress = _Progress(store, paths.progress)
    node = current_node_id()
    progress.update(
        started_at=_now(), invocation=context.invocation, job_started_at=job_started, pid=os.getpid(),
        host=socket.gethostname(), node_id=node, nodes=[*progress.state.get("nodes", []), node],
    )  # fmt: skip

    def on_epoch(record: EpochRecord, run: TrainingRun) -> None:
        guard.check()
        progress.update(epochs_done=record.epoch, epochs=config.training.epochs, last=record.plain())
        if tracking is not None:
            tracking.call(lambda tracker: tracker.log_epoch(record))
        tune.report({k: v for k, v in record.plain().items() if v is not None})

    device = "cuda" if context.gpus > 0 and torch.cuda.is_available() else "cpu"
    try:
        result = run_trial(
            config,
            data_dir=None if context.data_dir is None else Path(context.data_dir),
            checkpoint=TrialCheckpoint(store, paths.checkpoint),
            device=device,
            threads=context.threads,
            on_epoch=on_epoch,
            noise=context.noise,
        )
    except SweepSupersededError:
        raise
    except Exception as error:
        _record_failure(store, paths.error, error, context.invocation)
        if tracking is not None:
            tracking.call(partial(_fail, error=error))
        raise
    # where it ran: the node that finished it (``progress.json`` lists every node an attempt started on)
    result = result.model_copy(update={"provenance": {**result.provenance, "ray_node_id": str(node)}})
    # the result first: tracking comes after it and can only leave a marker for the backfill
    if tracking is not None:
        tracking.before_result()
    store.write_json(paths.result, result.to_json())
    tracked = tracking is None or tracking.finish(lambda tracker: tracker.finish(result))
    progress.update(job_finished_at=_now())
    tune.report({**final_metrics(result), "tracked": int(tracked)})


def _fail(tracker: TrialTracker | AuditTracker, *, error: BaseException) -> None:
    tracker.fail(error)


def _record_failure(store: ResultsStore, rel: str, error: BaseException, invocation: str) -> None:
    store.write_json(
        rel,
        {
            "error": f"{type(error).__name__}: {error}",
            "traceback": traceback.format_exc(),
            "at": _now(),
            "invocation": invocation,
            "host": socket.gethostname(),
            "pid": os.getpid(),
        },
    )
