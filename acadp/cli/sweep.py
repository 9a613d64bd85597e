"""``acadp sweep run|resume|status|sync|submit`` — the sweep service's commands."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from acadp.errors import StoreFullError
from acadp.sweep.plan import SweepPlan, not_started, plan_sweep, require_existing

sweep_app = typer.Typer(help="Run, resume, inspect and submit sweeps.", no_args_is_help=True)
console = Console(stderr=True)

SpecArgument = Annotated[Path, typer.Argument(help="Sweep file (YAML), e.g. sweeps/quickstart.yaml")]
SmokeOption = Annotated[bool, typer.Option("--smoke", help="The shrunken sweep (its own results, never mixed)")]
StorageOption = Annotated[
    str | None, typer.Option("--storage", help="Results storage root (overrides the sweep file's 'storage')")
]
AddressOption = Annotated[
    str | None, typer.Option("--address", help="Ray cluster to run on (default: $RAY_ADDRESS, else a local Ray)")
]
ReduceOption = Annotated[bool, typer.Option("--reduce/--no-reduce", help="Reduce (tables, figures) at the end")]
DownloadOption = Annotated[
    bool,
    typer.Option(
        "--download",
        help="Fetch missing datasets once, on the driver, before the first job (as the sweep file's download: true)",
    ),
]


@contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """SIGTERM (a scheduler's or `kill`'s stop) does what Ctrl-C does: Ray Tune stops the trials, each keeping its
    last epoch checkpoint, and the driver ends with the resume command."""
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: signal.raise_signal(signal.SIGINT))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupted(plan: SweepPlan) -> typer.Exit:
    console.print(
        f"interrupted: resume with `{plan.command('sweep resume')}`", highlight=False, soft_wrap=True, markup=False
    )
    return typer.Exit(130)


def _execute(plan: SweepPlan, *, address: str | None, reduce: bool) -> None:
    from acadp.sweep.driver import run_sweep

    with _sigterm_as_ctrl_c():
        try:
            outcome = run_sweep(plan, console=console, address=address)
        except StoreFullError as error:  # results so far are kept; no job was started after the store filled up
            raise StoreFullError(f"{error}, then `{plan.command('sweep resume')}`") from None
        except KeyboardInterrupt:  # a signal before or after Ray Tune ran (Tune itself returns after one)
            raise _interrupted(plan) from None
    _print_summary(plan, outcome.counts)
    if outcome.exit_code == 130:  # stopped by a signal: the reducer waits for `acadp reduce` or the resumed sweep
        raise _interrupted(plan)
    if reduce and outcome.counts["completed"]:
        from acadp.sweep.reducing import print_reduction, reduce_plan

        print_reduction(reduce_plan(plan, records=outcome.records), Console())
    for record in outcome.records:
        if record.status == "failed":
            console.print(f"[red]failed[/] {record.config.label()}: {escape(str(record.error))}", highlight=False)
    raise typer.Exit(outcome.exit_code)


def _print_summary(plan: SweepPlan, counts: dict[str, int]) -> None:
    from acadp.sweep.audits import audit_state
    from acadp.sweep.one_run_audits import one_run_state

    store = plan.open_store()
    audits = [audit_state(store, audit)[0] for audit in plan.spec.audit_configs(smoke=plan.smoke)]
    one_runs = [one_run_state(store, config)["status"] for config in plan.spec.one_run_configs(smoke=plan.smoke)]
    one_run_text = f", {one_runs.count('completed')}/{len(one_runs)} one-run audits completed" if one_runs else ""
    console.print(
        f"sweep {plan.name}: {counts['completed']} trials completed, {counts['failed']} failed, "
        f"{counts['pending'] + counts['running'] + counts['retrying']} not finished; "
        f"{audits.count('completed')}/{len(audits)} LiRA audits completed{one_run_text}",
        highlight=False,
    )


@sweep_app.command()
def run(
    spec: SpecArgument,
    smoke: SmokeOption = False,
    storage: StorageOption = None,
    address: AddressOption = None,
    reduce: ReduceOption = True,
    download: DownloadOption = False,
) -> None:
    """Run a sweep: every grid point without a result (re-running a finished sweep runs only new points)."""
    plan = plan_sweep(spec, smoke=smoke, storage=storage, download=download).invoked_with(
        address=address, reduce=reduce
    )
    _execute(plan, address=address, reduce=reduce)


@sweep_app.command()
def resume(
    spec: SpecArgument,
    smoke: SmokeOption = False,
    storage: StorageOption = None,
    address: AddressOption = None,
    reduce: ReduceOption = True,
    download: DownloadOption = False,
) -> None:
    """Continue an interrupted sweep: finished trials are kept, unfinished ones continue from their last epoch."""
    plan = plan_sweep(spec, smoke=smoke, storage=storage, download=download).invoked_with(
        address=address, reduce=reduce
    )
    require_existing(plan, plan.open_store())
    _execute(plan, address=address, reduce=reduce)


@sweep_app.command()
def status(
    spec: SpecArgument,
    smoke: SmokeOption = False,
    storage: StorageOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines")] = False,
) -> None:
    """Show every grid point's state: completed, running, retrying, pending or failed (with its error)."""
    from acadp.store.layout import LAYOUT
    from acadp.sweep.audits import audit_state
    from acadp.sweep.backfill import untracked_audits, untracked_trials
    from acadp.sweep.one_run_audits import one_run_state
    from acadp.sweep.status import collect_records, status_payload

    plan = plan_sweep(spec, smoke=smoke, storage=storage)
    store = plan.open_store()
    payload = status_payload(collect_records(store, plan.configs))  # a sweep not started yet: every point pending
    untracked = {c.key() for c in untracked_trials(store, plan.configs)}
    audits = plan.spec.audit_configs(smoke=smoke)
    untracked |= {a.key() for a in untracked_audits(store, audits)}
    for trial in payload["trials"]:
        trial["awaiting_tracking"] = trial["trial_key"] in untracked
    payload["audits"] = [
        {"label": a.label(), "audit_key": a.key(), "status": state, "shadows_done": done, "shadows": a.lira.shadows,
         "awaiting_tracking": a.key() in untracked}
        for a in audits
        for state, done in [audit_state(store, a)]
    ]  # fmt: skip
    payload["one_runs"] = [one_run_state(store, config) for config in plan.spec.one_run_configs(smoke=smoke)]
    payload["awaiting_tracking"] = len(untracked)
    payload["parent_run_untracked"] = store.exists(LAYOUT.untracked)
    payload["sweep"] = plan.name
    payload["location"] = plan.location
    payload["sync_command"] = plan.command("sweep sync")
    if not store.exists(""):
        console.print(f"{plan.location}: {not_started(plan)}", highlight=False, soft_wrap=True, markup=False)
    search = None if smoke else plan.spec.grid.search
    if search is not None:  # per arm and threshold: the current bracket and the trials used
        from acadp.sweep.search import search_lines

        payload["search"] = search_lines(store, search, plan.spec.trial_configs(smoke=False))
    if as_json:
        print(json.dumps(payload, sort_keys=True))
        return
    _print_status(payload)
    for line in payload.get("search", []):
        Console().print(f"search · {line}", highlight=False)


def _print_status(payload: dict) -> None:
    counts = payload["counts"]
    table = Table(title=f"sweep {payload['sweep']} — " + ", ".join(f"{n} {state}" for state, n in counts.items()))
    for column in ("dataset", "alpha", "epsilon", "clip", "seed", "status", "epochs", "success", "note"):
        table.add_column(column)
    colours = {"completed": "green", "running": "cyan", "retrying": "magenta", "pending": "yellow", "failed": "red"}
    for trial in payload["trials"]:
        success = trial.get("success")
        table.add_row(
            trial["dataset"], f"{trial['alpha']:g}", str(trial["epsilon"]), str(trial["clip"] or "-"),
            str(trial["seed"]), f"[{colours[trial['status']]}]{trial['status']}[/]",
            f"{trial['epochs_done']}/{trial['epochs']}", "" if success is None else f"{success:.3f}",
            escape(trial.get("error") or ""),
        )  # fmt: skip
    Console().print(table)
    for audit in payload["audits"]:
        Console().print(f"{audit['label']}: {audit['status']} ({audit['shadows_done']}/{audit['shadows']} shadows)")
    for one_run in payload.get("one_runs", []):
        detail = {"completed": f" (ε lower bound {one_run.get('epsilon_lower_bound', 0):.3g})", "pending": ""}
        text = detail.get(one_run["status"], f": {one_run.get('error')}")
        Console().print(f"{one_run['label']}: {one_run['status']}{text}", highlight=False)
    if payload["awaiting_tracking"]:
        Console().print(
            f"{payload['awaiting_tracking']} results await tracking (MLflow was unreachable): "
            f"`{payload['sync_command']}` logs them",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )


@sweep_app.command()
def sync(spec: SpecArgument, smoke: SmokeOption = False, storage: StorageOption = None) -> None:
    """Log to MLflow every result that could not be logged while it was unreachable (exit 1 if it still is)."""
    from acadp.sweep.backfill import sync_tracking
    from acadp.sweep.lease import refuse_while_driven
    from acadp.sweep.outage import apply_http_budget

    plan = plan_sweep(spec, smoke=smoke, storage=storage)
    store = plan.open_store()
    require_existing(plan, store)
    store.require_writable()
    refuse_while_driven(
        store, "a driver", "it logs its results itself: sync after it has ended (or stop it first, then sync)"
    )
    apply_http_budget()
    report = sync_tracking(plan, store)
    console.print(report.line(), highlight=False, soft_wrap=True, markup=False)
    raise typer.Exit(0 if report.reachable and not report.awaiting else 1)


@sweep_app.command()
def submit(
    spec: SpecArgument,
    address: Annotated[str, typer.Option("--address", help="Ray dashboard address, e.g. http://head:8265")],
    smoke: SmokeOption = False,
    storage: StorageOption = None,
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the job until it ends")] = False,
    working_dir: Annotated[Path, typer.Option(help="Directory shipped with the job (the acadp checkout)")] = Path(),
    download: DownloadOption = False,
) -> None:
    """Submit a sweep to a Ray cluster as a Ray Job (token authentication aware); print the job id."""
    from acadp.sweep.submit import follow_job, submit_sweep

    plan = plan_sweep(spec, smoke=smoke, storage=storage, download=download)
    job = submit_sweep(plan, address=address, working_dir=working_dir, storage=storage)
    print(job.job_id)
    auth = "RAY_AUTH_MODE=token " if job.authenticated else ""
    console.print(
        f"submitted {plan.name} as job {job.job_id} to {address}\n"
        f"  follow:  {auth}ray job logs --address {address} --follow {job.job_id}\n"
        f"  status:  {auth}ray job status --address {address} {job.job_id}\n"
        f"  stop:    {auth}ray job stop --address {address} {job.job_id}",
        highlight=False,
    )
    if wait:
        final = follow_job(job, sys.stderr)
        raise typer.Exit(0 if final == "SUCCEEDED" else 1)
