"""Glue between a sweep and the reducer: records from the store in, ``reduced/`` out, artifacts to MLflow."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from acadp.errors import StoreFullError
from acadp.reduce.contrasts import contrast_lines
from acadp.reduce.report import ReduceOutputs, reduce_sweep
from acadp.reduce.search_table import SearchBounds
from acadp.reduce.verdict import verdict_lines
from acadp.store.layout import LAYOUT
from acadp.store.provenance import provenance, refuse_mixed_numerics
from acadp.store.results import ResultsStore
from acadp.sweep.audits import collect_audit_rows
from acadp.sweep.backfill import mark_parent, sync_tracking
from acadp.sweep.one_run_audits import collect_one_run_rows
from acadp.sweep.outage import PROCESS_HEALTH, apply_http_budget
from acadp.sweep.plan import SweepPlan, require_existing
from acadp.sweep.status import collect_records
from acadp.sweep.tracking import find_sweep_tracking, log_sweep_artifacts
from acadp.trial.record import TrialRecord


def _reduce_into(plan: SweepPlan, store: ResultsStore, records: list[TrialRecord], out_dir: Path) -> ReduceOutputs:
    audits = collect_audit_rows(plan, store)
    return reduce_sweep(
        records=records,
        lira_rows=audits.rows if not audits.rows.empty else None,
        roc_curves=audits.roc_curves or None,
        out_dir=out_dir,
        sweep_name=plan.name,
        thresholds=tuple(plan.spec.reduce.thresholds),
        n_boot=plan.spec.reduce.n_boot,
        interpolation=plan.spec.interpolation(smoke=plan.smoke),  # type: ignore[arg-type]
        lift=plan.spec.reduce.lift,
        provenance=provenance(),
        search=_search_bounds(plan),
        one_run_rows=collect_one_run_rows(store),
        contrasts=plan.spec.reduce.contrasts,
        smoke=plan.smoke,
    )


def _search_bounds(plan: SweepPlan) -> SearchBounds | None:
    search = None if plan.smoke else plan.spec.grid.search
    if search is None:
        return None
    return SearchBounds.of(search, plan.spec.grid.seed)


def reduce_plan(plan: SweepPlan, *, records: list[TrialRecord] | None = None) -> ReduceOutputs:
    """Reduce whatever the sweep has finished so far into ``<sweep>/reduced/`` and log it to the parent run."""
    store = plan.open_store()
    require_existing(plan, store)
    store.require_writable()
    records = records if records is not None else collect_records(store, plan.configs)
    numerics = {
        record.key: record.result.provenance["numerics"]
        for record in records
        if record.result is not None and "numerics" in record.result.provenance
    }
    refuse_mixed_numerics(numerics, where=plan.location)
    if store.is_local:
        try:
            with store.full_device_named(LAYOUT.reduced):  # the files written before stay whole (atomic writes)
                outputs = _reduce_into(plan, store, records, store.local_path(LAYOUT.reduced))
        except StoreFullError as error:
            raise StoreFullError(f"{error}, then `{plan.command('reduce')}`") from None
        _track_reduction(plan, store, outputs)
        return outputs
    with tempfile.TemporaryDirectory(prefix="acadp-reduce-") as tmp:
        outputs = _reduce_into(plan, store, records, Path(tmp))
        for path in outputs.paths:
            rel = path.relative_to(outputs.out_dir).as_posix()
            store.write_bytes(LAYOUT.reduced_file(rel), path.read_bytes())
        _track_reduction(plan, store, outputs)  # logged from the local files while they exist
    return outputs


def _track_reduction(plan: SweepPlan, store: ResultsStore, outputs: ReduceOutputs) -> None:
    """Backfill what earlier runs could not log, then log the reducer's outputs to the parent run (or mark them for
    the next backfill when MLflow is unreachable)."""
    apply_http_budget()
    health = PROCESS_HEALTH
    health.sync_command = plan.command("sweep sync")
    if health.should_try():  # a driver that just found MLflow unreachable does not wait for it again
        report = sync_tracking(plan, store, health=health)
        if report.tracked or report.awaiting:
            Console(stderr=True).print(report.line(), highlight=False, soft_wrap=True, markup=False)
    tracking = health.attempt(
        lambda: find_sweep_tracking(tracking_uri=plan.tracking_uri, experiment=plan.name, sweep_dir=plan.location)
    ) if health.should_try() else None  # fmt: skip
    if tracking is None:
        if not health.reachable:
            mark_parent(store, "the reducer's outputs are not logged yet", reduced=True)
        return
    if not health.succeeds(lambda: log_sweep_artifacts(tracking, list(outputs.paths), base=outputs.out_dir)):
        mark_parent(store, "the reducer's outputs are not logged yet", reduced=True)


def _alpha_text(value: float) -> str:
    if not math.isfinite(value):
        return "not reached" if value > 0 else "-"
    return f"{value:.4f}"


def critical_mass_summary(table: pd.DataFrame, *, title: str) -> Table:
    """The α* table as a rich table for the terminal."""
    view = Table(title=title)
    for column in ("dataset", "arm", "metric", "S*", "alpha*", "95% CI", "seeds"):
        view.add_column(column, justify="left" if column in ("dataset", "arm", "metric") else "right")
    for _, row in table.iterrows():
        interval = escape(f"[{_alpha_text(row['ci_low'])}, {_alpha_text(row['ci_high'])}]")
        view.add_row(
            escape(str(row["dataset"])), escape(str(row.get("arm", ""))), str(row.get("metric", "success")),
            f"{row['threshold']:g}", _alpha_text(row["alpha_star"]), interval, str(int(row["n_seeds"])),
        )  # fmt: skip
    return view


def print_reduction(outputs: ReduceOutputs, console: Console) -> None:
    """Show the critical-mass table, the verdicts of the contrasts (on S) and of "α* rises as ε falls", and where
    the curves, tables and dashboard are."""
    table = outputs.tables.get("critical_mass")
    if table is not None and not table.empty:
        console.print(critical_mass_summary(table, title="critical mass α* (smallest α with S(α) ≥ S*)"))
    contrasts = outputs.tables.get("contrasts")
    if contrasts is not None and not contrasts.empty:
        for line in contrast_lines(contrasts):
            console.print(escape(line), highlight=False)
    verdicts = outputs.tables.get("verdict")
    if verdicts is not None and not verdicts.empty:
        for line in verdict_lines(verdicts):
            console.print(escape(line), highlight=False)
    figures = [p for p in outputs.paths if p.suffix == ".png" and p.name.startswith("success_curves")]
    for figure in figures:
        console.print(f"success curves S(α): {figure}", highlight=False)
    console.print(f"tables and figures: {outputs.out_dir}", highlight=False)
    console.print(f"dashboard: {outputs.dashboard}", highlight=False)
