"""Where trials run and why they failed: the Ray node of a process, and a Tune callback that records every failed
attempt of a trial or audit in its directory, so that ``acadp sweep status`` can tell a trial Ray is retrying (after
a lost node, say) from one that has failed for good.

A trial whose process dies with its node cannot write its own ``error.json``; the driver's callback does it: each
failed attempt Tune retries is appended to ``attempts.json`` (with the reason, e.g. ``node lost``), and the last one,
once ``max_failures`` are spent, becomes the trial's ``error.json``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ray.tune import Callback, Stopper

from acadp.clock import utc_stamp
from acadp.errors import StoreFullError
from acadp.store.results import ResultsStore
from acadp.store.space import StoreFullNotice, disk_full_text
from acadp.sweep.jobs import parse_job

# How Ray words a trial process that went away with its node (Ray 2.60): the node declared dead, or the actor
# unreachable because its socket closed (what a killed raylet and its workers leave behind)
NODE_LOST = re.compile(
    r"NodeDiedError|node .{0,80}(died|dead|was lost|has been marked dead)|raylet .{0,40}(died|dead)|"
    r"ActorUnavailableError|is unavailable|temporarily unavailable|Socket closed",
    re.IGNORECASE,
)
# ... and a trial process that died on a node that lives on (killed, out of memory)
PROCESS_LOST = re.compile(r"RayActorError|ActorDiedError|The actor died|actor is dead", re.IGNORECASE)
MAX_REASON = 300  # characters of Ray's error kept in a record


def current_node_id() -> str | None:
    """The id of the Ray node this process runs on; None outside Ray (e.g. ``acadp lira`` without a cluster)."""
    import ray

    return ray.get_runtime_context().get_node_id() if ray.is_initialized() else None


def failure_reason(error_text: str) -> str:
    """One line for a failed attempt: ``node lost: …`` when Ray says the trial's node died or its process became
    unreachable, ``process lost: …`` when only the process died, else the error's last non-empty line (the
    exception); cut to :data:`MAX_REASON` characters."""
    lines = [line.strip() for line in error_text.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "unknown error"
    text = last
    for pattern, label in ((NODE_LOST, "node lost"), (PROCESS_LOST, "process lost")):
        if pattern.search(error_text):
            text = f"{label}: " + next(line for line in lines if pattern.search(line))
            break
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def job_dir(job: dict[str, Any]) -> tuple[str, str]:
    """(attempts.json path, error.json path) of the trial, LiRA audit or one-run audit a Tune config's job (plain
    data, :mod:`acadp.sweep.jobs`) describes."""
    paths = parse_job(job).paths
    return paths.attempts, paths.error


def record_attempt(
    store: ResultsStore, context: dict[str, Any], *, error_text: str, invocation: str, final: bool
) -> dict[str, Any]:
    """Append one failed attempt to the job's ``attempts.json``; ``final`` (no retry left) also writes its
    ``error.json`` unless the attempt's own process wrote a newer one. Returns the attempt's record."""
    attempts_rel, error_rel = job_dir(context)
    previous = store.read_json(attempts_rel) if store.exists(attempts_rel) else {"attempts": []}
    entry = {"at": utc_stamp(), "invocation": invocation, "reason": failure_reason(error_text), "final": final}
    store.write_json(attempts_rel, {"attempts": [*previous.get("attempts", []), entry]})
    if final:
        own = store.read_json(error_rel) if store.exists(error_rel) else None
        if own is None or own.get("invocation") != invocation or own.get("at", "") < previous_start(previous):
            store.write_json(error_rel, {"error": entry["reason"], "at": entry["at"], "invocation": invocation})
    return entry


def previous_start(attempts: dict[str, Any]) -> str:
    """When the last recorded attempt before this one failed ('' when none): an ``error.json`` older than that
    belongs to an earlier attempt, not to the one that just failed."""
    earlier = attempts.get("attempts", [])
    return str(earlier[-1]["at"]) if earlier else ""


def last_error_text(trial: Any) -> str:
    """The text of a Tune trial's latest failure (Tune appends every failure to one file, "Failure # n …" each).

    Read from the driver's local copy, which Tune writes before it calls the callbacks; the copy in the experiment's
    storage (``get_error``) may lag behind it."""
    try:
        local = trial.error_file
        text = Path(local).read_text() if local and Path(local).exists() else (trial.get_error() or "")
    except Exception as error:  # the error file is unreadable: say so rather than lose the attempt
        text = f"{type(error).__name__}: {error}"
    return text.rsplit("Failure # ", 1)[-1]


class StoreFullStop(Stopper):
    """Stops the whole Tune experiment once ``notice`` holds a full-store report: no trial starts after it, and the
    running ones stop at once (their last epoch checkpoint is what a resume continues from). Tune asks
    :meth:`stop_all` after every event it handles."""

    def __init__(self, notice: StoreFullNotice) -> None:
        self.notice = notice

    def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
        return False

    def stop_all(self) -> bool:
        return self.notice.reason is not None


def full_store_reason(error_text: str) -> str:
    """The one line of a trial that failed on a full device: its :class:`StoreFullError` message (naming the results
    store) when the store's write raised it, else the error's last line (another device: a data cache, a temporary
    folder)."""
    lines = [line.strip() for line in error_text.splitlines() if line.strip()]
    own = [line.split("StoreFullError: ", 1)[1] for line in lines if "StoreFullError: " in line]
    if own:
        return own[-1]
    last = lines[-1][:300] if lines else "no space left on device"
    return f"a trial ran out of disk space outside the results store ({last}); free space on that device"


class FailureLog(Callback):
    """Records each failed attempt of a trial or audit in its directory (see the module docstring); a failure on a full
    store is no attempt of the trial's: it goes to ``full`` instead, which stops the experiment."""

    def __init__(self, store: ResultsStore, invocation: str, *, full: StoreFullNotice | None = None) -> None:
        self.store, self.invocation, self.full = store, invocation, full or StoreFullNotice()

    def __getstate__(self) -> dict[str, Any]:
        return {"store": self.store.uri, "invocation": self.invocation}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.store, self.invocation = ResultsStore(state["store"]), state["invocation"]
        self.full = StoreFullNotice()

    def _record(self, trial: Any, *, final: bool) -> None:
        context = trial.config.get("acadp")
        if not isinstance(context, dict):
            return
        text = last_error_text(trial)
        if disk_full_text(text):
            self.full.note(full_store_reason(text))
            return
        try:
            record_attempt(self.store, context, error_text=text, invocation=self.invocation, final=final)
        except StoreFullError as error:  # the trial failed for its own reason, then the store filled up
            self.full.note(str(error))

    def on_trial_recover(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._record(trial, final=False)

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self._record(trial, final=True)
