"""The Ray Tune trainable: a thin wrapper that runs one job (:mod:`acadp.sweep.jobs`): a grid point through
:func:`acadp.trial.run.run_trial`, or a LiRA or one-run audit.

The results store is the source of truth: a trial whose ``result.json`` exists only reports it again; otherwise it
continues from its own epoch checkpoint in the store (whatever Tune remembers), logs to its MLflow child run, writes
``result.json`` and then finishes the MLflow run. Tracking never fails a trial: an MLflow error leaves an
``untracked.json`` marker for the backfill (:mod:`acadp.sweep.outage`). The same function runs under Tune's retries
(``FailureConfig``) and after a driver restart, with the same outcome.
"""

from __future__ import annotations

import math
import os
import socket
import traceback
from functools import partial
from pathlib import Path
from typing import Any

import torch
from ray import tune

from acadp.clock import utc_stamp
from acadp.errors import StoreFullError, SweepSupersededError
from acadp.learners import TrainingRun
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.sweep.failures import current_node_id
from acadp.sweep.jobs import AuditJob, JobRuntime, OneRunJob, TrialJob, parse_job
from acadp.sweep.outage import PROCESS_HEALTH, GuardedRun, apply_http_budget
from acadp.sweep.tracking import AuditTracker, TrackingTarget, TrialTracker
from acadp.trial.result import EpochRecord, TrialResult
from acadp.trial.run import TrialCheckpoint, device_for_gpus, run_trial


def _guarded_run(job: JobRuntime, store: ResultsStore, marker: str, open_run: Any) -> GuardedRun[Any] | None:
    """The job's MLflow child run behind a guard; None when the sweep does not track. ``open_run(target)`` opens the
    run (None while the driver has no parent run: then the result is marked for the backfill)."""
    if job.tracking_uri is None:
        return None
    apply_http_budget(job.tracking_env or None)
    target = None
    if job.experiment_id is not None and job.parent_run_id is not None:
        target = TrackingTarget(job.tracking_uri, job.experiment_id, job.parent_run_id)
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


class _Progress:
    """A trial's ``progress.json``: fields merged into the last written state, each update written at once."""

    def __init__(self, store: ResultsStore, rel: str) -> None:
        self.store, self.rel = store, rel
        self.state: dict[str, Any] = store.read_json(rel) if store.exists(rel) else {}

    def update(self, **fields: Any) -> None:
        self.state = {**self.state, **fields, "updated_at": utc_stamp()}
        self.store.write_json(self.rel, self.state)


class _Guard:
    """Stops a trial whose driver was replaced: before it starts and after each epoch, ``driver.json`` must still
    name this invocation (a missing file means no driver owns the sweep any more)."""

    def __init__(self, store: ResultsStore, invocation: str) -> None:
        self.store, self.invocation = store, invocation

    def current(self) -> str | None:
        return self.store.read_json(LAYOUT.driver).get("invocation") if self.store.exists(LAYOUT.driver) else None

    def check(self) -> None:
        current = self.current()
        if current != self.invocation:
            raise SweepSupersededError(f"driver invocation {current} replaced {self.invocation}; stopping")


def sweep_trainable(space: dict[str, Any]) -> None:
    """Tune function trainable; ``space["acadp"]`` is a job (:mod:`acadp.sweep.jobs`) as plain data."""
    job = parse_job(space["acadp"])
    if isinstance(job, AuditJob):
        run_audit_job(job)
    elif isinstance(job, OneRunJob):
        run_one_run_job(job)
    else:
        run_trial_job(job)


def run_one_run_job(job: OneRunJob) -> None:
    """One one-run audit as a Tune trial: one training run in the trial's slot, its result stored under the sweep
    (a stored result is reused). Not logged to MLflow: the reducer's ``one_run`` table reports it."""
    from acadp.sweep.one_run_audits import run_stored_one_run

    store = ResultsStore(job.store)
    torch.set_num_threads(max(1, job.threads))
    try:
        run_stored_one_run(job.one_run, store=store, data_dir=_data_dir(job), device=device_for_gpus(job.gpus))
    except StoreFullError:
        raise  # not the audit's failure: the driver stops the sweep until there is space
    except Exception as error:
        _record_failure(store, job.paths.error, error, job.invocation)
        raise
    tune.report({"done": 1})


def run_audit_job(job: AuditJob) -> None:
    """One LiRA audit as a Tune trial: shadows in the trial's placement group, metrics to its MLflow child run."""
    import ray

    from acadp.sweep.audit_runner import run_audit

    audit, store, paths = job.audit, ResultsStore(job.store), LAYOUT.audit(job.audit.key())
    tracking = _guarded_run(job, store, paths.untracked, lambda target: AuditTracker(target, audit))
    device = device_for_gpus(audit.lira.gpus_per_shadow)
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
            data_dir=_data_dir(job),
            device=device,
            placement_group=ray.util.get_current_placement_group(),
            on_shadow=on_shadow,
        )
    except StoreFullError:
        raise  # not the audit's failure: the driver stops the sweep until there is space
    except Exception as error:
        _record_failure(store, paths.error, error, job.invocation)
        if tracking is not None:
            tracking.call(partial(_fail, error=error))
        raise
    tracked = tracking is None or tracking.finish(lambda tracker: tracker.finish(record, store))
    tune.report({"done": 1, "shadows_done": audit.lira.shadows, "tracked": int(tracked)})


def run_trial_job(job: TrialJob) -> None:
    """One grid point as a Tune trial."""
    job_started = utc_stamp()
    config, store = job.trial, ResultsStore(job.store)
    paths = LAYOUT.trial(config.key())
    if store.exists(paths.result):
        tune.report(final_metrics(TrialResult.model_validate(store.read_json(paths.result))))
        return
    guard = _Guard(store, job.invocation)
    if guard.current() != job.invocation:
        return  # a newer driver owns the sweep (or none does): this driver's trials leave it alone
    if not store.exists(paths.config):
        store.write_json(paths.config, config.canonical())
    tracking = _guarded_run(job, store, paths.untracked, lambda target: TrialTracker(target, config))
    progress = _Progress(store, paths.progress)
    node = current_node_id()
    progress.update(
        started_at=utc_stamp(), invocation=job.invocation, job_started_at=job_started, pid=os.getpid(),
        host=socket.gethostname(), node_id=node, nodes=[*progress.state.get("nodes", []), node],
    )  # fmt: skip

    def on_epoch(record: EpochRecord, run: TrainingRun) -> None:
        guard.check()
        progress.update(epochs_done=record.epoch, epochs=config.training.epochs, last=record.plain())
        if tracking is not None:
            tracking.call(lambda tracker: tracker.log_epoch(record))
        tune.report({k: v for k, v in record.plain().items() if v is not None})
        guard.check()  # the report waits for the driver: a driver stalled there may have been taken over

    try:
        result = run_trial(
            config,
            data_dir=_data_dir(job),
            checkpoint=TrialCheckpoint(store, paths.checkpoint),
            device=device_for_gpus(job.gpus),
            threads=job.threads,
            on_epoch=on_epoch,
            noise=job.noise,
        )
    except SweepSupersededError:
        return  # not a failure: the newer driver continues this trial from its checkpoint
    except StoreFullError:
        raise  # not the trial's failure: no error.json (a full store could not take it anyway)
    except Exception as error:
        _record_failure(store, paths.error, error, job.invocation)
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
    progress.update(job_finished_at=utc_stamp())
    tune.report({**final_metrics(result), "tracked": int(tracked)})


def _data_dir(job: JobRuntime) -> Path | None:
    return None if job.data_dir is None else Path(job.data_dir)


def _fail(tracker: TrialTracker | AuditTracker, *, error: BaseException) -> None:
    tracker.fail(error)


def _record_failure(store: ResultsStore, rel: str, error: BaseException, invocation: str) -> None:
    store.write_json(
        rel,
        {
            "error": f"{type(error).__name__}: {error}",
            "traceback": traceback.format_exc(),
            "at": utc_stamp(),
            "invocation": invocation,
            "host": socket.gethostname(),
            "pid": os.getpid(),
        },
    )
