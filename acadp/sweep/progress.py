"""What the driver shows while a sweep runs: trial counts by state and an ETA, instead of Ray's raw tables.

On a terminal a live line is redrawn; elsewhere (CI logs, job logs) one line is printed per finished trial.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from ray.tune import Callback
from rich.console import Console
from rich.live import Live
from rich.text import Text

from acadp.sweep.jobs import parse_job
from acadp.sweep.outage import TrackingHealth


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


class SweepProgress(Callback):
    """A Tune callback keeping :class:`SweepCounts` and rendering them. A trial reports ``tracked: 0`` when its
    result could not be logged to MLflow: ``health`` (the driver's) then warns once, and once when tracking is back."""

    def __init__(self, counts: SweepCounts, console: Console, *, health: TrackingHealth | None = None) -> None:
        self.counts = counts
        self.console = console
        self.health = health
        self.live: Live | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        """Tune pickles its callbacks with the experiment state; the display and lock stay behind."""
        return {"counts": self.counts}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.counts = state["counts"]
        self.console = Console(stderr=True)
        self.health = None
        self.live = None
        self._lock = threading.Lock()

    def __enter__(self) -> SweepProgress:
        if self.console.is_terminal:
            self.live = Live(Text(self.counts.line()), console=self.console, refresh_per_second=2, transient=False)
            self.live.start()
        else:
            self.console.print(self.counts.line(), highlight=False)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.update(Text(self.counts.line()))
            self.live.stop()
        else:
            self.console.print(self.counts.line(), highlight=False)

    def _render(self, event: str | None = None) -> None:
        if self.live is not None:
            self.live.update(Text(self.counts.line()))
        elif event is not None:
            self.console.print(f"{event}  [{self.counts.line()}]", highlight=False)

    def on_trial_start(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        with self._lock:
            self.counts.running.add(trial.trial_id)
            self.counts.started.setdefault(trial.trial_id, time.monotonic())
            self._render()

    def on_trial_result(
        self, iteration: int, trials: list[Any], trial: Any, result: dict[str, Any], **info: Any
    ) -> None:
        with self._lock:
            self._render()

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        with self._lock:
            self.counts.running.discard(trial.trial_id)
            self.counts.completed += 1
            began = self.counts.started.pop(trial.trial_id, None)
            if began is not None:
                self.counts.durations.append(time.monotonic() - began)
            self._note_tracking(trial)
            self._render(f"done    {trial_label(trial)}")

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
            self.counts.failed += 1
            self.counts.started.pop(trial.trial_id, None)
            self._render(f"FAILED  {trial_label(trial)}")
