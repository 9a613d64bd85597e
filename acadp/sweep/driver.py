"""The sweep driver: validate, prepare data once, run the pending grid points as Ray Tune trials, reduce.

Every invocation (``sweep run`` or ``sweep resume``) runs a *fresh* Tune experiment over exactly the grid points
that have no valid ``result.json`` yet (an unreadable one is deleted and its point re-run); each trial continues from
its own epoch checkpoint in the results store. So a grid extended after a finished sweep runs only its new points,
and a crash or SIGKILL of the driver loses at most the epoch in progress. (``Tuner.restore`` cannot add grid points
and resumes from the last *snapshotted* checkpoint, which can be older than the last finished epoch; the store keyed
by trial config is the source of truth instead.)
"""

from __future__ import annotations

import datetime as dt
import math
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from acadp.clock import utc_stamp
from acadp.config.base import FrozenModel
from acadp.config.lira import AuditConfig
from acadp.config.one_run import OneRunConfig
from acadp.config.trial import TrialConfig
from acadp.environment import RAY_ADDRESS, RAY_AIR_NEW_OUTPUT, TUNE_DISABLE_AUTO_CALLBACK_LOGGERS
from acadp.errors import StoreFullError
from acadp.learners.noise import NoiseTable
from acadp.lira.one_run_result import OneRunResult
from acadp.lira.results import AuditResult
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.store.space import StoreFullNotice, disk_full
from acadp.sweep.backfill import (
    awaiting_tracking,
    clear_parent_finish,
    mark_parent,
    open_sweep_run,
    sync_tracking,
)
from acadp.sweep.cluster import RayTarget, choose_ray
from acadp.sweep.jobs import AuditJob, JobRuntime, job_for, parse_job
from acadp.sweep.lease import DriverLease, refuse_while_driven
from acadp.sweep.outage import PROCESS_HEALTH, apply_http_budget, http_budget
from acadp.sweep.plan import SweepPlan, replan, write_spec_files
from acadp.sweep.preflight import preflight
from acadp.sweep.status import collect_records, count_states, read_result
from acadp.sweep.tracking import TrackingTarget, finish_sweep_run
from acadp.trial.record import TrialRecord
from acadp.trial.result import TrialResult

# Keep Tune quiet and lean: no per-trial CSV/JSON/TensorBoard loggers (results live in our store and MLflow).
TUNE_DISABLE_AUTO_CALLBACK_LOGGERS.set_default()
RAY_AIR_NEW_OUTPUT.set_default()


@dataclass(frozen=True)
class SweepOutcome:
    """How an invocation ended: records of every grid point, and whether it was interrupted."""

    records: list[TrialRecord]
    ran: int
    interrupted: bool
    tracking: TrackingTarget | None  # None: MLflow was unreachable when the driver started

    @property
    def counts(self) -> dict[str, int]:
        return count_states(self.records)

    @property
    def exit_code(self) -> int:
        counts = self.counts
        if counts["failed"]:
            return 1
        if counts["pending"] or counts["running"] or counts["retrying"] or self.interrupted:
            return 130
        return 0


def _needs_run(store: ResultsStore, rel: str, model: type[FrozenModel], console: Console) -> bool:
    """Whether the stage whose result is ``rel`` must run: it has no valid result yet (:func:`read_result`, the test
    ``sweep status`` applies too). An unreadable result is deleted first, so that the stage writes a fresh one rather
    than reporting the broken one again."""
    stored = read_result(store, rel, model)
    if stored.problem is not None:
        console.print(f"{stored.problem} (the file is deleted first)", highlight=False)
        store.delete(rel)
    return stored.value is None


def _pending(store: ResultsStore, configs: Sequence[TrialConfig], console: Console) -> list[TrialConfig]:
    return [c for c in configs if _needs_run(store, LAYOUT.trial(c.key()).result, TrialResult, console)]


def _refuse_mixed_numerics(plan: SweepPlan, store: ResultsStore, *, target: RayTarget) -> None:
    """Refuse to run when the stored results come from several numerical environments, or (a local run) from another
    than this machine's at the sweep's thread count: results depend on it and the trial key does not name it."""
    from acadp.store.provenance import numerical_environment, refuse_mixed_numerics

    numerics = {}
    for config in plan.configs:
        stored = read_result(store, LAYOUT.trial(config.key()).result, TrialResult).value
        if stored is not None and "numerics" in stored.provenance:
            numerics[config.key()] = stored.provenance["numerics"]
    local = not target.joins_cluster
    threads = max(1, int(plan.spec.resources.cpus))
    device = "cuda" if plan.spec.resources.gpus > 0 and _local_cuda() else "cpu"
    planned = numerical_environment(threads=threads, device=device) if local else None
    refuse_mixed_numerics(numerics, where=plan.location, planned=planned)


def _local_cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def _init_ray(target: RayTarget, console: Console) -> bool:
    """Connect to ``target`` (:func:`acadp.sweep.cluster.choose_ray`), else start a local Ray; True when joining a
    given cluster."""
    import logging

    import ray

    if ray.is_initialized():
        return target.joins_cluster
    if target.note is not None:
        console.print(target.note, highlight=False, soft_wrap=True, markup=False)
    sigterm = signal.getsignal(signal.SIGTERM)
    if target.joins_cluster:
        ray.init(address=target.address, log_to_driver=False, logging_level=logging.WARNING)
    else:
        ray.init(address=target.address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    if callable(sigterm):  # Ray's own SIGTERM handlers (Python's and its core's) replaced the caller's: restore it
        signal.signal(signal.SIGTERM, sigterm)
    # Tune logs every failed attempt with its traceback; acadp reports failures itself (error.json, sweep status).
    for name in ("ray.tune", "ray.train", "ray.air"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return target.joins_cluster


def _cluster_has_gpus() -> bool:
    import ray

    return float(ray.cluster_resources().get("GPU", 0)) > 0


def _runtime(
    plan: SweepPlan, store: ResultsStore, *, lease: DriverLease, tracking: TrackingTarget | None, gpus: float,
    noise: NoiseTable,
) -> JobRuntime:  # fmt: skip
    """What every Tune trial of this invocation shares."""
    return JobRuntime(
        store=store.uri,
        invocation=lease.invocation,
        tracking_uri=plan.tracking_uri,  # without a parent run each trial marks its result for the backfill
        experiment_id=tracking.experiment_id if tracking else None,
        parent_run_id=tracking.parent_run_id if tracking else None,
        tracking_env=http_budget(),
        data_dir=str(plan.data_dir) if plan.data_dir else None,
        threads=max(1, int(plan.spec.resources.cpus)),
        cpus=plan.spec.resources.cpus,
        gpus=gpus,
        shadow_placement=plan.spec.resources.shadow_placement,
        noise=noise,
    )


def _pending_audits(plan: SweepPlan, store: ResultsStore, console: Console) -> list[AuditConfig | OneRunConfig]:
    """The LiRA audits, then the one-run audits, without a valid result."""
    audits = plan.spec.audit_configs(smoke=plan.smoke)
    one_runs = plan.spec.one_run_configs(smoke=plan.smoke)
    pending: list[AuditConfig | OneRunConfig] = [
        a for a in audits if _needs_run(store, LAYOUT.audit(a.key()).result, AuditResult, console)
    ]
    return pending + [o for o in one_runs if _needs_run(store, LAYOUT.one_run(o.key()).result, OneRunResult, console)]


def _audit_count(plan: SweepPlan) -> int:
    """LiRA and one-run audits the sweep plans."""
    return len(plan.spec.audit_configs(smoke=plan.smoke)) + len(plan.spec.one_run_configs(smoke=plan.smoke))


def _audits_text(audits: Sequence[AuditConfig | OneRunConfig]) -> str:
    one_runs = sum(isinstance(audit, OneRunConfig) for audit in audits)
    text = f"{len(audits) - one_runs} LiRA audits"
    return text + (f" and {one_runs} one-run audits" if one_runs else "")


def _job_configs(
    runtime: JobRuntime, trials: Sequence[TrialConfig], audits: Sequence[AuditConfig | OneRunConfig]
) -> list[dict[str, Any]]:
    """One Tune config (the job as plain data) per job: audits first (the longest jobs start first), then private
    trials, then the rest."""
    return [job_for(runtime, work).plain() for work in [*audits, *trials]]


def _resources(space: dict[str, Any]) -> Any:
    """Placement group of a Tune trial: one bundle for a grid point; one per concurrent shadow for an audit (bundle 0
    is the audit's own process, which trains shadows too)."""
    from ray import tune

    job = parse_job(space)
    if isinstance(job, AuditJob):
        lira = job.audit.lira
        shadow = {"CPU": float(lira.cpus_per_shadow), "GPU": float(lira.gpus_per_shadow if job.gpus > 0 else 0.0)}
        return tune.PlacementGroupFactory([shadow] * lira.concurrent_shadows, strategy=job.shadow_placement.upper())
    return tune.PlacementGroupFactory([{"CPU": float(job.cpus), "GPU": float(job.gpus)}])


def _searcher(plan: SweepPlan, store: ResultsStore, jobs: list[dict[str, Any]], runtime: JobRuntime) -> Any:
    """The critical-mass searcher of a searched sweep (audit jobs first); None for a grid."""
    search = None if plan.smoke else plan.spec.grid.search
    if search is None:
        return None
    from acadp.sweep.search import stored_arms
    from acadp.sweep.searcher import CriticalMassSearcher

    arms = stored_arms(store, search, plan.spec.trial_configs(smoke=False))
    return CriticalMassSearcher(
        arms=arms,
        store=store,
        jobs=[job for job in jobs if job["kind"] != "trial"],
        job_of=lambda config: job_for(runtime, config).plain(),
    )


def _search_over(plan: SweepPlan, store: ResultsStore) -> bool:
    """Whether every arm's search has ended (then a resumed search starts no Ray at all)."""
    from acadp.sweep.search import stored_arms

    search = plan.spec.grid.search
    if search is None:
        return True
    return all(arm.report().done for arm in stored_arms(store, search, plan.spec.trial_configs(smoke=False)))


def _run_tune(
    plan: SweepPlan, store: ResultsStore, jobs: list[dict[str, Any]], console: Console, *, cluster: bool,
    runtime: JobRuntime, full: StoreFullNotice,
) -> None:  # fmt: skip
    """Run the jobs as one Tune experiment; :class:`StoreFullError` once the store's device is full (``full`` stops
    the experiment: no job starts after it)."""
    from ray import tune

    from acadp.sweep.failures import FailureLog, StoreFullStop
    from acadp.sweep.progress import SweepCounts, SweepProgress
    from acadp.sweep.trainable import sweep_trainable

    resources = plan.spec.resources
    trainable = tune.with_resources(sweep_trainable, lambda space: _resources(space["acadp"]))
    gpus = runtime.gpus
    # On a cluster the autoscaler adds nodes for pending trials: today's resources are no cap there.
    concurrency = plan.spec.max_concurrent_trials or (None if cluster else _slots(resources.cpus, gpus))
    searcher = _searcher(plan, store, jobs, runtime)
    audits = _audit_count(plan)
    total, already_done = len(plan.configs) + audits, len(plan.configs) + audits - len(jobs)
    if searcher is not None:  # a search runs at most its budget per arm; what it has completed is in the store
        audits_done = audits - len(searcher.jobs)
        total = sum(arm.settings.budget for arm in searcher.arms) + audits
        already_done = sum(len(by_seed) for arm in searcher.arms for by_seed in arm.success.values()) + audits_done
    counts = SweepCounts(
        total=total, already_done=already_done, concurrency=concurrency or _slots(1, 0),
        awaiting_tracking=awaiting_tracking(plan, store), bounded=searcher is not None,
    )  # fmt: skip
    progress = SweepProgress(counts, console, health=PROCESS_HEALTH)
    tuner = tune.Tuner(
        trainable,
        param_space={} if searcher is not None else {"acadp": tune.grid_search(jobs)},
        tune_config=tune.TuneConfig(
            search_alg=searcher,
            num_samples=-1 if searcher is not None else 1,  # a search ends when its searcher says FINISHED
            reuse_actors=True,
            max_concurrent_trials=concurrency,
            trial_name_creator=lambda trial: trial.config["acadp"]["kind"] + "-" + trial.trial_id,
            trial_dirname_creator=lambda trial: trial.trial_id,
        ),
        run_config=tune.RunConfig(
            name="run-" + dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S"),
            storage_path=store.location_of(LAYOUT.tune),
            failure_config=tune.FailureConfig(max_failures=plan.spec.max_failures),
            stop=StoreFullStop(full),
            verbose=0,
            callbacks=[progress, FailureLog(store, runtime.invocation, full=full)],
        ),
    )
    with progress:
        try:
            tuner.fit()
        except Exception as error:  # Tune's own writes to the store (its experiment state) end the run
            if not disk_full(error):
                raise
            full.note(store.full_message(f"Ray Tune's experiment state: {_last_line(error)}"))
    if full.reason is not None:
        raise StoreFullError(full.reason)


def _last_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1][:300] if lines else type(error).__name__


def _slots(cpus_per_trial: float, gpus_per_trial: float) -> int:
    import ray

    available = ray.cluster_resources()
    slots = int(float(available.get("CPU", 1)) // cpus_per_trial)
    if gpus_per_trial > 0:
        slots = min(slots, math.floor(float(available.get("GPU", 0)) / gpus_per_trial + 1e-9))
    return max(1, slots)


def _open_tracking(plan: SweepPlan, store: ResultsStore, console: Console) -> TrackingTarget | None:
    """The parent run (created or found), after logging what earlier invocations could not; None while MLflow is
    unreachable (the sweep runs anyway: its results are backfilled later)."""
    tracking = PROCESS_HEALTH.attempt(lambda: open_sweep_run(plan, store))
    if tracking is None:
        mark_parent(store, "MLflow was unreachable when the driver started")
        return None
    report = sync_tracking(plan, store, target=tracking, close_parent=False)
    if report.tracked or report.awaiting:
        console.print(report.line(), highlight=False, soft_wrap=True, markup=False)
    return tracking


def _close_tracking(
    plan: SweepPlan, store: ResultsStore, tracking: TrackingTarget | None, *, status: str, counts: dict[str, int],
    console: Console,
) -> None:  # fmt: skip
    """Close the parent run (or leave that to the backfill), then log every result still awaiting tracking."""
    closed = (
        tracking is not None
        and PROCESS_HEALTH.should_try()
        and PROCESS_HEALTH.succeeds(lambda: finish_sweep_run(tracking, status=status, counts=counts))
    )
    if closed:
        clear_parent_finish(store)  # an older invocation's closing must not override this one
    else:
        mark_parent(store, "the parent run is not closed yet", finish={"status": status, "counts": counts})
    if PROCESS_HEALTH.should_try():
        report = sync_tracking(plan, store, target=tracking)
        if report.tracked or report.awaiting:
            console.print(report.line(), highlight=False, soft_wrap=True, markup=False)
    else:
        console.print(
            f"MLflow unreachable: {awaiting_tracking(plan, store)} results await tracking "
            f"(`{plan.command('sweep sync')}` logs them)",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )


def _record_invocation(store: ResultsStore, record: dict[str, Any]) -> None:
    """Append this invocation to ``invocations.json`` (when it ran, what it ran, how long Ray and Tune took)."""
    history = store.read_json(LAYOUT.invocations) if store.exists(LAYOUT.invocations) else []
    store.write_json(LAYOUT.invocations, [*history, record])


def run_sweep(plan: SweepPlan, *, console: Console, address: str | None = None) -> SweepOutcome:
    """Run every pending grid point and audit of ``plan``; returns the records of all grid points afterwards."""
    timings: dict[str, Any] = {"started_at": utc_stamp()}
    apply_http_budget()
    PROCESS_HEALTH.sync_command = plan.command("sweep sync")
    store = plan.open_store()
    store.require_writable()  # a read-only or missing storage folder: one line before anything is prepared
    refuse_while_driven(store, "another driver", "wait for it to end, or stop it first")
    ray_target = choose_ray(address or RAY_ADDRESS.get())  # a head that does not answer is never waited on
    checks = preflight(plan)  # data prepared and every trial's settings checked before anything is created
    _refuse_mixed_numerics(plan, store, target=ray_target)
    store.makedirs("")
    lease = DriverLease.acquire(store)
    full = StoreFullNotice()
    stop = lease.start_heartbeat(on_store_full=full.note)
    try:
        write_spec_files(plan, store)
        tracking = _open_tracking(plan, store, console)
        trials, audits = _pending(store, plan.configs, console), _pending_audits(plan, store, console)
        console.print(
            f"sweep {plan.name}: {len(plan.configs)} grid points ({len(plan.configs) - len(trials)} complete, "
            f"{len(trials)} to run), {_audits_text(audits)} to run · results in {plan.location}",
            highlight=False,
        )
        timings.update(invocation=lease.invocation, trials=len(trials), audits=len(audits))
        searched = plan.spec.grid.search is not None and not plan.smoke
        if trials or audits or (searched and not _search_over(plan, store)):
            timings["ray_init_at"] = utc_stamp()
            cluster = _init_ray(ray_target, console)
            # a local machine without GPUs trains on CPU; a cluster may still scale GPU workers up
            gpus = plan.spec.resources.gpus if cluster or _cluster_has_gpus() else 0.0
            runtime = _runtime(plan, store, lease=lease, tracking=tracking, gpus=gpus, noise=checks.noise)
            timings["tune_started_at"] = utc_stamp()
            jobs = _job_configs(runtime, trials, audits)
            _run_tune(plan, store, jobs, console, cluster=cluster, runtime=runtime, full=full)
            timings["tune_finished_at"] = utc_stamp()
        lease.check()  # a driver taken over while it stalled leaves the records and MLflow to its successor
        _record_invocation(store, {**timings, "finished_at": utc_stamp()})
        if searched:
            plan = replan(plan, store)  # the points the search ran
        records = collect_records(store, plan.configs, assume_idle=True)
        counts = count_states(records)
        unfinished = counts["pending"] + counts["running"] + counts["retrying"]
        unfinished += len(_pending_audits(plan, store, console))
        status = "FINISHED" if not unfinished and not counts["failed"] else ("KILLED" if unfinished else "FAILED")
        _close_tracking(plan, store, tracking, status=status, counts=counts, console=console)
        return SweepOutcome(
            records=records, ran=len(trials) + len(audits), interrupted=unfinished > 0, tracking=tracking
        )
    finally:
        stop.set()
        lease.release()
