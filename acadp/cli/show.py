"""How ``acadp sweep status`` and ``acadp sweep plan`` print their reports on a terminal
(:func:`acadp.sweep.status_report.sweep_status`, :func:`acadp.sweep.preview.preview`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from acadp.sweep.preview import SweepPreview

COLOURS = {
    "completed": "green",
    "running": "cyan",
    "retrying": "magenta",
    "pending": "yellow",
    "interrupted": "yellow",
    "failed": "red",
}


def _state_cell(trial: dict[str, Any]) -> str:
    state = trial["status"]
    text = f"interrupted (epoch {trial['epochs_done']}/{trial['epochs']})" if state == "interrupted" else state
    return f"[{COLOURS[state]}]{text}[/]"


def _counts_text(counts: dict[str, int]) -> str:
    shown = [f"{n} {state}" for state, n in counts.items() if n] or ["no trials"]
    return ", ".join(shown)


def _trials_table(payload: dict[str, Any]) -> Table:
    table = Table(title=f"sweep {payload['sweep']} — {_counts_text(payload['counts'])}")
    for column in ("dataset", "arm", "alpha", "seed", "status", "epochs", "success", "note"):
        table.add_column(column)
    for trial in payload["trials"]:
        success = trial.get("success")
        table.add_row(
            escape(trial["dataset"]), escape(trial["arm"].removeprefix(f"{trial['dataset']} ")), f"{trial['alpha']:g}",
            str(trial["seed"]), _state_cell(trial), f"{trial['epochs_done']}/{trial['epochs']}",
            "" if success is None else f"{success:.3f}", escape(trial.get("error") or ""),
        )  # fmt: skip
    return table


def _summary_table(payload: dict[str, Any]) -> Table:
    arms = payload["summary"]["arms"]
    states = [state for state in payload["counts"] if any(arm["counts"][state] for arm in arms)]
    table = Table(title=f"sweep {payload['sweep']} — {_counts_text(payload['counts'])}")
    table.add_column("arm")
    for state in states:
        table.add_column(f"[{COLOURS[state]}]{state}[/]", justify="right")
    table.add_column("total", justify="right")
    for arm in arms:
        table.add_row(escape(arm["arm"]), *(str(arm["counts"][state]) for state in states), str(arm["total"]))
    return table


def _audit_lines(payload: dict[str, Any], *, summary: bool) -> list[str]:
    audits = payload["audits"]
    if summary and audits:
        done = sum(audit["status"] == "completed" for audit in audits)
        shadows = sum(audit["shadows_done"] for audit in audits)
        total = sum(audit["shadows"] for audit in audits)
        lines = [f"LiRA audits: {done}/{len(audits)} completed ({shadows}/{total} shadows)"]
    else:
        lines = [f"{a['label']}: {a['status']} ({a['shadows_done']}/{a['shadows']} shadows)" for a in audits]
    for one_run in payload.get("one_runs", []):
        detail = {"completed": f" (ε lower bound {one_run.get('epsilon_lower_bound', 0):.3g})", "pending": ""}
        text = detail.get(one_run["status"], f": {one_run.get('error')}")
        lines.append(f"{one_run['label']}: {one_run['status']}{text}")
    return lines


def print_status(payload: dict[str, Any], *, summary: bool, console: Console | None = None) -> None:
    """Print ``payload``: every selected trial (or, with ``summary``, counts per arm and state and each failure's first
    line), the audits, what awaits tracking and a searched sweep's brackets."""
    out = console or Console()
    if summary:
        out.print(_summary_table(payload))
        for failure in payload["summary"]["failures"]:
            out.print(f"[red]failed[/] {escape(failure['label'])}: {escape(failure['error'])}", highlight=False)
    else:
        out.print(_trials_table(payload))
    for line in _audit_lines(payload, summary=summary):  # labels hold recipe names in brackets: not markup
        out.print(line, highlight=False, markup=False)
    if payload["awaiting_tracking"]:
        out.print(
            f"{payload['awaiting_tracking']} results await tracking (MLflow was unreachable): "
            f"`{payload['sync_command']}` logs them",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
    for line in payload.get("search", []):
        out.print(f"search · {line}", highlight=False, markup=False)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def _seeds_text(seeds: list[int]) -> str:
    contiguous = seeds == list(range(seeds[0], seeds[0] + len(seeds))) if seeds else False
    shown = f"{seeds[0]}–{seeds[-1]}" if contiguous and len(seeds) > 2 else ", ".join(map(str, seeds))
    return f"{shown} ({len(seeds)})"


def _arms_table(preview: SweepPreview) -> Table:
    table = Table(title=f"sweep {preview.sweep}: {preview.spec_path} → {preview.location}", title_justify="left")
    for column in ("arm", "kind", "at most" if preview.searched else "trials", "stored", "to run", "trial time"):
        table.add_column(column, justify="left" if column in ("arm", "kind") else "right", no_wrap=column == "arm")
    table.add_column("timing from")
    for arm in preview.arms:
        started = f" ({arm.started} resume)" if arm.started else ""
        time = "?" if arm.seconds is None else _duration(arm.seconds)
        table.add_row(
            escape(arm.label), arm.kind, str(arm.trials), str(arm.completed), f"{arm.to_run}{started}", time,
            escape(arm.timing or "none stored"),
        )  # fmt: skip
    return table


def _estimate_line(preview: SweepPreview) -> str:
    estimate = preview.estimate
    if not any(arm.to_run for arm in preview.arms) and preview.audits_completed == preview.audits:
        return "nothing to run: every trial and audit is stored"
    if not estimate["trial_seconds"] and not estimate["audit_seconds"]:
        return "estimate: none — no stored timing of these recipes (`--probe` trains one epoch of each to time it)"
    bound = "at most " if estimate["bounded"] else ""
    line = (
        f"estimate: {bound}≈ {_duration(estimate['wall_seconds'])} of wall time with {estimate['slots']} trial(s) at "
        "once on this machine (its CPUs ÷ resources.cpus), from the trial times above (the mean time of stored "
        "trials of the same recipe and arm, in this sweep, another under the same storage or saved there by `acadp "
        "trial`, or a probe); a "
        "LiRA shadow counted as pkeep × a trial; Ray's start-up included"
    )
    if estimate["missing"]:
        line += f"; not counted (no timing): {', '.join(estimate['missing'])} — `--probe` times them"
    return line


def print_preview(preview: SweepPreview, *, console: Console | None = None) -> None:
    """Print what ``acadp sweep plan`` found: the sweep's grid, its arms with trials, stored results and timings,
    the audits, and the wall-time estimate stated with where it comes from."""
    out = console or Console()
    out.print(
        f"datasets: {', '.join(preview.datasets)} · alpha: {preview.alphas} · seeds: {_seeds_text(preview.seeds)}"
        + (" · smoke run" if preview.smoke else ""),
        highlight=False,
    )
    out.print(_arms_table(preview))
    total = "at most " if preview.searched else ""
    out.print(
        f"trials: {total}{preview.trials}, {preview.completed} stored, "
        f"{sum(arm.to_run for arm in preview.arms)} to run",
        highlight=False,
    )
    if preview.audits:
        out.print(
            f"LiRA audits: {preview.audits} ({preview.shadows} shadows), {preview.audits_completed} stored "
            f"({preview.shadows_done}/{preview.shadows} shadows)",
            highlight=False,
        )
    if preview.one_runs:
        out.print(f"one-run audits: {preview.one_runs}, {preview.one_runs_completed} stored", highlight=False)
    out.print(_estimate_line(preview), highlight=False, soft_wrap=True)
