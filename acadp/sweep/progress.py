"""What the driver shows while a sweep runs, instead of Ray's raw tables: trial counts by state and an ETA, and the
running trials with their latest epoch's metrics.

On a terminal a live view is redrawn: the counts line and a table of the running trials (at most :data:`MAX_ROWS`
rows, then how many more run). Elsewhere (CI logs, job logs) the counts line is printed every
:data:`EVERY_FRACTION` of the sweep's trials completed or every :data:`EVERY_SECONDS`, whichever comes first, and a
failed trial at once.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from ray.tune import Callback
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from acadp.sweep.jobs import AuditJob, TrialJob, parse_job
from acadp.sweep.outage import TrackingHealth

MAX_ROWS = 8  # running trials shown on a terminal; the rest are counted in one line
EVERY_SECONDS = 60.0  # off a terminal: the counts line at least this often
EVERY_FRACTION = 0.1  # off a terminal: the counts line each time this share of the sweep's trials has completed


@dataclass
class SweepCounts:
    """Trial counts for this invocation; ``already_done`` were complete before it started; ``awaiting_tracking``:
    stored results not yet logged to MLflow."""

    total: int
    already_done: int
    concurrency: int
    completed: int = 0
    failed: int = 0
    awaiting_tracking: int = 0
    # a search's total is its budget, an upper bound: it may end with fewer trials
    bounded: bool = False
    running: set[str] = field(default_factory=set)
    durations: list[float] = field(default_factory=list)
    started: dict[str, float] = field(default_factory=dict)
    began: float = field(default_factory=time.monotonic)

    @property
    def pending(self) -> int:
        return max(0, self.total - self.already_done - self.completed - self.failed - len(self.running))

    def eta_seconds(self) -> float | None:
        """Remaining trials × mean trial time ÷ concurrency, once a trial of this invocation has finished."""
        if not self.durations:
            return None
        remaining = self.pending + len(self.running) / 2
        mean = sum(self.durations) / len(self.durations)
        return remaining * mean / max(1, self.concurrency)

    def line(self) -> str:
        eta = self.eta_seconds()
        eta_text = "estimating" if eta is None else _duration(eta)
        done = self.already_done + self.completed
        tracking = f" · {self.awaiting_tracking} await tracking" if self.awaiting_tracking else ""
        if self.bounded:
            return (
                f"trials {done} done of at most {self.total} (search) · {len(self.running)} running · "
                f"≤ {self.pending} to go · {self.failed} failed{tracking} · "
                f"elapsed {_duration(time.monotonic() - self.began)}"
            )
        return (
            f"trials {done}/{self.total} done · {len(self.running)} running · {self.pending} pending · "
            f"{self.failed} failed{tracking} · elapsed {_duration(time.monotonic() - self.began)} · ETA {eta_text}"
        )


def _duration(elapsed: float) -> str:
    seconds = round(elapsed)
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def trial_label(trial: Any) -> str:
    """What a Tune trial runs, in words (its job's label; the Tune trial id for anything else)."""
    try:
        return parse_job(trial.config.get("acadp")).label
    except ValidationError:
        return str(trial)


@dataclass
class RunningJob:
    """A running Tune trial as the live view shows it: what it runs, how far it is (epochs of a trial, shadows of a
    LiRA audit; ``total`` None when unknown), and the metrics it reported last."""

    label: str
    unit: str
    total: int | None
    began: float = field(default_factory=time.monotonic)
    latest: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, trial: Any) -> RunningJob:
        try:
            job = parse_job(trial.config.get("acadp"))
        except ValidationError:
            return cls(label=str(trial), unit="epoch", total=None)
        if isinstance(job, TrialJob):
            return cls(label=job.label, unit="epoch", total=job.trial.training.epochs)
        if isinstance(job, AuditJob):
            return cls(label=job.label, unit="shadows", total=job.audit.lira.shadows)
        return cls(label=job.label, unit="epoch", total=job.one_run.trial.training.epochs)

    def report(self, result: dict[str, Any]) -> None:
        """Keep the finite numbers of a Tune result (an epoch's metrics, or an audit's shadows done)."""
        for name in ("epoch", "shadows_done", "train_loss", "test_accuracy", "success", "epsilon_spent"):
            value = result.get(name)
            if isinstance(value, int | float) and math.isfinite(value):
                self.latest[name] = float(value)

    def row(self, now: float) -> list[str]:
        done = self.latest.get("epoch" if self.unit == "epoch" else "shadows_done")
        progress = f"{self.unit} {'–' if done is None else int(done)}/{self.total or '?'}"
        numbers = [
            f"{self.latest[name]:{spec}}" if name in self.latest else ""
            for name, spec in (("train_loss", ".3f"), ("test_accuracy", ".3f"), ("success", ".3f"))
        ]
        spent = self.latest.get("epsilon_spent")
        return [
            escape(self.label),
            progress,
            *numbers,
            "" if spent is None else f"{spent:.2f}",
            _duration(now - self.began),
        ]


def running_table(jobs: Sequence[RunningJob], *, now: float, limit: int = MAX_ROWS) -> RenderableType:
    """The running trials, longest-running first: at most ``limit`` rows, then one line counting the others."""
    table = Table("running", "progress", "loss", "accuracy", "success", "ε spent", "time", box=None, pad_edge=False)
    ordered = sorted(jobs, key=lambda job: job.began)
    for job in ordered[:limit]:
        table.add_row(*job.row(now))
    if len(ordered) <= limit:
        return table
    return Group(table, Text(f"… and {len(ordered) - limit} more running"))


@dataclass
class LogCadence:
    """Off a terminal: when the counts line is due — ``every`` completions or ``seconds`` since the last line."""

    every: int
    seconds: float = EVERY_SECONDS
    last_done: int = 0
    last_time: float = field(default_factory=time.monotonic)

    @classmethod
    def for_total(cls, total: int) -> LogCadence:
        return cls(every=max(1, math.ceil(total * EVERY_FRACTION)))

    def due(self, *, done: int, now: float) -> bool:
        """Whether to print now (and, if so, count from here)."""
        if done - self.last_done < self.every and now - self.last_time < self.seconds:
            return False
        self.last_done, self.last_time = done, now
        return True


class SweepProgress(Callback):
    """A Tune callback keeping :class:`SweepCounts` and rendering them. A trial reports ``tracked: 0`` when its
    result could not be logged to MLflow: ``health`` (the driver's) then warns once, and once when tracking is back."""

    def __init__(self, counts: SweepCounts, console: Console, *, health: TrackingHealth | None = None) -> None:
        self.counts = counts
        self.console = console
        self.health = health
        self._fresh()

    def _fresh(self) -> None:
        self.live: Live | None = None
        self.jobs: dict[str, RunningJob] = {}
        self.cadence = LogCadence.for_total(self.counts.total)
        self._printed = ""  # the last counts line printed off a terminal (not printed twice in a row)
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        """Tune pickles its callbacks with the experiment state; the display and lock stay behind."""
        return {"counts": self.counts}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.counts = state["counts"]
        self.console = Console(stderr=True)
        self.health = None
        self._fresh()

    def view(self) -> RenderableType:
        """The live view: the counts line, then the running trials (none: the line alone)."""
        line = Text(self.counts.line())
        if not self.jobs:
            return line
        return Group(line, running_table(list(self.jobs.values()), now=time.monotonic()))

    def __enter__(self) -> SweepProgress:
        if self.console.is_terminal:
            self.live = Live(
                get_renderable=self.view, console=self.console, refresh_per_second=2, transient=False,
                vertical_overflow="crop",
            )  # fmt: skip
            self.live.start()
        else:
            self._print_line()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.jobs.clear()
            self.live.refresh()
            self.live.stop()
        elif self.counts.line() != self._printed:
            self._print_line()

    def _print_line(self) -> None:
        self._printed = self.counts.line()
        self.console.print(self._printed, highlight=False)

    def _render(self, failure: str | None = None) -> None:
        """Redraw the live view; off a terminal print a failure at once, and the counts line when it is due."""
        if self.live is not None:
            self.live.refresh()
            return
        if failure is not None:
            self.console.print(f"FAILED  {failure}  [{self.counts.line()}]", highlight=False, markup=False)
        elif self.cadence.due(done=self.counts.completed + self.counts.failed, now=time.monotonic()):
            self._print_line()

    def on_trial_start(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        with self._lock:
            self.counts.running.add(trial.trial_id)
            self.counts.started.setdefault(trial.trial_id, time.monotonic())
            self.jobs[trial.trial_id] = RunningJob.of(trial)
            self._render()

    def on_trial_result(
        self, iteration: int, trials: list[Any], trial: Any, result: dict[str, Any], **info: Any
    ) -> None:
        with self._lock:
            job = self.jobs.get(trial.trial_id)
            if job is not None:
                job.report(result)
            if self.live is not None:
                self.live.refresh()

    def on_step_end(self, iteration: int, trials: list[Any], **info: Any) -> None:
        """Off a terminal, the counts line every :data:`EVERY_SECONDS` even when nothing completes."""
        if self.live is None:
            with self._lock:
                self._render()

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        with self._lock:
            self.counts.running.discard(trial.trial_id)
            self.jobs.pop(trial.trial_id, None)
            self.counts.completed += 1
            began = self.counts.started.pop(trial.trial_id, None)
            if began is not None:
                self.counts.durations.append(time.monotonic() - began)
            self._note_tracking(trial)
            self._render()

    def _note_tracking(self, trial: Any) -> None:
        tracked = (trial.last_result or {}).get("tracked")
        if tracked is None:  # a result reported again, or a sweep without tracking
            return
        if not tracked:
            self.counts.awaiting_tracking += 1
            if self.health is not None:
                self.health.failed(f"{trial_label(trial)} could not be logged")
        elif self.health is not None:
            self.health.succeeded()

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        with self._lock:
            self.counts.running.discard(trial.trial_id)
            self.jobs.pop(trial.trial_id, None)
            self.counts.failed += 1
            self.counts.started.pop(trial.trial_id, None)
            self._render(failure=trial_label(trial))
