"""``acadp sweep plan|run|resume|status|sync|submit`` — the sweep service's commands.

Each command imports what it needs inside its body: ``plan`` and ``status`` read files and never import torch, Ray,
Opacus or MLflow (``tests/cli/test_light_commands.py``), and ``--help`` imports no stage at all.
"""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from acadp.cli.app import Command, new_app
from acadp.errors import StoreFullError

if TYPE_CHECKING:
    from acadp.sweep.plan import SweepPlan

sweep_app = new_app(help="Plan, run, resume, inspect and submit sweeps.")
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
    from acadp.sweep.status import audit_state, one_run_state

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


@sweep_app.command(cls=Command, name="plan")
def plan_command(
    spec: SpecArgument,
    smoke: SmokeOption = False,
    storage: StorageOption = None,
    probe: Annotated[
        bool,
        typer.Option(
            "--probe",
            help="Time arms with no stored timing by training one epoch of each here (imports torch; takes a while)",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines")] = False,
) -> None:
    """Show what a sweep file will do, before running it: arms, grid points, trials, LiRA and one-run audits, what
    the store already holds, and an estimate of the wall time from stored timings of the same recipe."""
    from acadp.cli.show import print_preview
    from acadp.sweep.plan import plan_sweep
    from acadp.sweep.preview import preview

    outline = preview(plan_sweep(spec, smoke=smoke, storage=storage), probe=probe)
    if as_json:
        print(json.dumps(outline.plain(), sort_keys=True))
        return
    print_preview(outline)


@sweep_app.command(cls=Command)
def run(
    spec: SpecArgument,
    smoke: SmokeOption = False,
    storage: StorageOption = None,
    address: AddressOption = None,
    reduce: ReduceOption = True,
    download: DownloadOption = False,
) -> None:
    """Run a sweep: every grid point without a result (re-running a finished sweep runs only new points)."""
    from acadp.sweep.plan import plan_sweep

    plan = plan_sweep(spec, smoke=smoke, storage=storage, download=download).invoked_with(
        address=address, reduce=reduce
    )
    _execute(plan, address=address, reduce=reduce)


@sweep_app.command(cls=Command)
def resume(
    spec: SpecArgument,
    smoke: SmokeOption = False,
    storage: StorageOption = None,
    address: AddressOption = None,
    reduce: ReduceOption = True,
    download: DownloadOption = False,
) -> None:
    """Continue an interrupted sweep: finished trials are kept, unfinished ones continue from their last epoch."""
    from acadp.sweep.plan import plan_sweep, require_existing

    plan = plan_sweep(spec, smoke=smoke, storage=storage, download=download).invoked_with(
        address=address, reduce=reduce
    )
    require_existing(plan, plan.open_store())
    _execute(plan, address=address, reduce=reduce)


@sweep_app.command(cls=Command)
def status(
    spec: SpecArgument,
    smoke: SmokeOption = False,
    storage: StorageOption = None,
    summary: Annotated[
        bool, typer.Option("--summary", help="Counts per arm and state and the failures, instead of every trial")
    ] = False,
    state: Annotated[
        list[str] | None,
        typer.Option(help="Only trials in this state: completed, running, retrying, pending, interrupted or failed"),
    ] = None,
    arm: Annotated[
        list[str] | None,
        typer.Option(help="Only trials of this arm, e.g. 'DP eps=8 C=1', 'SGD' or a kind: sgd, clip, dpsgd, gdro"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines (the selection applies)")] = False,
) -> None:
    """Show every grid point's state: completed, running, retrying, pending, interrupted (epoch k/n) or failed (with
    its error); --state and --arm (repeatable) select trials. A sweep that never ran is an error (exit 2)."""
    from acadp.cli.show import print_status
    from acadp.sweep.plan import plan_sweep
    from acadp.sweep.status_report import Selection, sweep_status

    plan = plan_sweep(spec, smoke=smoke, storage=storage)
    payload = sweep_status(plan, Selection(states=tuple(state or ()), arms=tuple(arm or ())))
    if as_json:
        print(json.dumps(payload, sort_keys=True))
        return
    print_status(payload, summary=summary)


@sweep_app.command(cls=Command)
def sync(spec: SpecArgument, smoke: SmokeOption = False, storage: StorageOption = None) -> None:
    """Log to MLflow every result that could not be logged while it was unreachable (exit 1 if it still is)."""
    from acadp.sweep.backfill import sync_tracking
    from acadp.sweep.lease import refuse_while_driven
    from acadp.sweep.outage import apply_http_budget
    from acadp.sweep.plan import plan_sweep, require_existing

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


@sweep_app.command(cls=Command)
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
    from acadp.sweep.plan import plan_sweep
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
