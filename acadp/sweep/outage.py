"""Tracking outages: MLflow may be unreachable (a server restarting, a locked or full SQLite file); the science goes on.

The results store is the source of truth. Every MLflow call of a trial, an audit or the driver goes through a
:class:`GuardedRun` or :meth:`TrackingHealth.attempt`: a failure is caught (never re-raised, so never a trial failure
or a Tune retry of training), leaves an ``untracked.json`` marker next to the result in the store, and is reported
once per process — one warning when tracking becomes unreachable, one when it is back. ``acadp sweep sync`` (and every
``sweep run``/``resume``/``reduce``) logs marked results later (:mod:`acadp.sweep.backfill`).

MLflow's HTTP client retries for minutes per call by default; acadp sets a short budget (:data:`HTTP_BUDGET`) that the
user may override with the same environment variables, and sends it to every trial with the trial's context.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

import requests
from mlflow.exceptions import MlflowException
from sqlalchemy.exc import SQLAlchemyError

from acadp.clock import utc_stamp
from acadp.environment import MLFLOW_HTTP_BUDGET
from acadp.store.results import ResultsStore

# MLflow logs the whole traceback of a locked or full SQLite file before it raises; the outage is reported here in one
# line instead (set after MLflow's import, which resets its loggers' levels)
logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)

R = TypeVar("R")
T = TypeVar("T")

# What an unreachable or unusable tracking store raises: an HTTP error or exhausted retries (MlflowException,
# requests), a locked or full SQLite database (SQLAlchemy, sometimes wrapped in MlflowException), a full disk under a
# local artifact root (OSError)
TRACKING_ERRORS: tuple[type[BaseException], ...] = (
    MlflowException,
    requests.RequestException,
    SQLAlchemyError,
    OSError,
)

# MLflow's own environment variables with acadp's defaults (declared in acadp.environment)
HTTP_BUDGET: Mapping[str, str] = {variable.name: str(variable.default) for variable in MLFLOW_HTTP_BUDGET}

# After a failure a process does not open new runs for this long (each trial would otherwise spend the retry budget
# again); the next attempt after it probes whether tracking is back.
RETRY_AFTER_SECONDS = 30.0


def http_budget(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The MLflow HTTP timeouts and retries to use: the user's environment variables where set, else acadp's."""
    return {variable.name: str(variable.get(environ)) for variable in MLFLOW_HTTP_BUDGET}


def apply_http_budget(budget: Mapping[str, str] | None = None) -> None:
    """Set the MLflow HTTP budget in this process (MLflow reads these variables at each call).

    ``budget`` (the driver's, sent with a trial's context) replaces the process's values; without it the process's
    own environment variables win over acadp's defaults. Also keeps urllib3's per-retry warnings out of the console.
    """
    os.environ.update(budget if budget is not None else http_budget())
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)


def _reason(error: BaseException) -> str:
    text = " ".join(f"{type(error).__name__}: {error}".split())
    if "database is locked" in text:  # SQLite's busy timeout (MLflow's: 20 s) ran out
        return "MLflow's SQLite file is locked by another process's write transaction (database is locked)"
    return text if len(text) <= 300 else text[:299] + "…"


class TrackingHealth:
    """Whether this process last reached MLflow, and the one warning per change of that state.

    ``emit`` prints one line (stderr by default: in a Ray worker it goes to the worker's log, in the driver to the
    console).
    """

    def __init__(self, *, emit: Callable[[str], None] | None = None, retry_after: float = RETRY_AFTER_SECONDS) -> None:
        self.emit = emit or (lambda line: print(line, file=sys.stderr, flush=True))
        self.retry_after = retry_after
        # the command that logs marked results later; a command that knows its sweep sets its own invocation's
        self.sync_command = "acadp sweep sync <sweep file>"
        self.down_since: float | None = None
        self.warnings = 0

    @property
    def reachable(self) -> bool:
        return self.down_since is None

    def should_try(self) -> bool:
        """False for ``retry_after`` seconds after a failure (skip the call, mark the result); True otherwise."""
        return self.down_since is None or time.monotonic() - self.down_since >= self.retry_after

    def failed(self, error: BaseException | str) -> None:
        was_reachable = self.down_since is None
        self.down_since = time.monotonic()
        if was_reachable:
            self.warnings += 1
            reason = error if isinstance(error, str) else _reason(error)
            self.emit(
                f"warning: MLflow tracking unreachable ({reason}); results are kept in the store and logged "
                f"later (`{self.sync_command}`)"
            )

    def succeeded(self) -> None:
        if self.down_since is not None:
            self.down_since = None
            self.warnings += 1
            self.emit("MLflow tracking is reachable again")

    def succeeds(self, call: Callable[[], object]) -> bool:
        """Run ``call()``; False when it raised one of :data:`TRACKING_ERRORS` (reported once, see :meth:`failed`)."""
        return self.attempt(lambda: (call(), True)[1]) is True

    def attempt(self, call: Callable[[], R]) -> R | None:
        """``call()``, or None when it raised one of :data:`TRACKING_ERRORS` (reported once, see :meth:`failed`)."""
        try:
            value = call()
        except TRACKING_ERRORS as error:
            self.failed(error)
            return None
        self.succeeded()
        return value


# One per process: the warnings are per process, and a reused Ray actor runs many trials one after the other.
PROCESS_HEALTH = TrackingHealth()


def mark_untracked(store: ResultsStore, rel: str, reason: str, **fields: object) -> None:
    """Write the marker ``rel`` (``untracked.json`` of a trial, an audit or the sweep), keeping earlier fields."""
    previous = read_marker(store, rel) or {}
    store.write_json(rel, {**previous, **fields, "reason": reason, "at": utc_stamp()})


def read_marker(store: ResultsStore, rel: str) -> dict[str, object] | None:
    """The marker ``rel`` as a dict, or None when there is none (an unreadable one counts as an empty marker)."""
    if not store.exists(rel):
        return None
    try:
        payload = store.read_json(rel)
    except ValueError:
        return {}
    return dict(payload) if isinstance(payload, dict) else {}


class GuardedRun(Generic[T]):
    """A trial's or an audit's MLflow tracker whose calls never raise.

    ``open_run`` creates (or finds) the child run; None means the sweep has no parent run yet (the driver could not
    reach MLflow). The first failure disables the tracker for the rest of the job and writes the ``marker``; results
    are backfilled from the store later.
    """

    def __init__(
        self, store: ResultsStore, marker: str, open_run: Callable[[], T] | None, *, health: TrackingHealth
    ) -> None:
        self.store, self.marker, self.health = store, marker, health
        self.tracker: T | None = None
        if open_run is None:
            self.mark("the sweep has no MLflow parent run yet")
        elif not health.should_try():
            self.mark("MLflow was unreachable moments ago")
        else:
            self.tracker = self._guard(open_run)

    @property
    def active(self) -> bool:
        return self.tracker is not None

    def mark(self, reason: str) -> None:
        mark_untracked(self.store, self.marker, reason)

    def _guard(self, call: Callable[[], R]) -> R | None:
        try:
            value = call()
        except TRACKING_ERRORS as error:
            self.tracker = None
            self.health.failed(error)
            self.mark(_reason(error))
            return None
        self.health.succeeded()
        return value

    def call(self, method: Callable[[T], object]) -> bool:
        """Run ``method(tracker)`` if the tracker is still active; True when it ran without a tracking error."""
        tracker = self.tracker
        if tracker is None:
            return False
        return self._guard(lambda: (method(tracker), True)[1]) is True

    def before_result(self) -> None:
        """Call just before the result is written: the marker is in place until :meth:`finish` succeeded, so a job
        killed in between leaves its result marked for backfill, not half logged and forgotten."""
        if self.tracker is not None:
            self.mark("MLflow run not finished yet")

    def finish(self, method: Callable[[T], object]) -> bool:
        """The last call (after the result is in the store); removes the marker once it succeeded."""
        if not self.call(method):
            return False
        self.store.delete(self.marker)
        return True
