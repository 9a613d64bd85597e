"""``acadp ui``: the MLflow UI for a sweep's tracking store, bound to 127.0.0.1 unless told otherwise.

``mlflow ui`` starts a tree of processes (its command line, uvicorn and uvicorn's workers, a job runner). It runs in
a session of its own, so that a terminal's Ctrl-C reaches only ``acadp ui``; on SIGINT, SIGTERM or SIGHUP, and
whenever the server exits, ``acadp ui`` ends the server's whole process group, so that no process outlives it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from rich.console import Console

from acadp.errors import SpecError
from acadp.store.layout import LAYOUT

console = Console(stderr=True)

STOP_GRACE_S = 5.0  # seconds the server's processes get to exit after SIGTERM before they are killed
# SIGHUP too: in a session of its own the server no longer gets the hang-up of a closed terminal
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# The MLflow 3 UI shows an experiment as model training (runs, metrics) or GenAI (traces) after its "workflow type",
# taken from this URL parameter, else from the browser's last choice (GenAI at first)
MODEL_TRAINING_VIEW = "workflowType=machine_learning"


@dataclass(frozen=True)
class UiStore:
    """The tracking store ``acadp ui`` serves."""

    tracking_uri: str
    artifact_root: Path | None  # local artifact root of a sweep's own store; None: the store's default
    experiment: str | None  # the sweep's experiment; None without a sweep file


def tracking_uri_for(spec: Path | None, *, smoke: bool, storage: str | None) -> UiStore:
    """The tracking store of a sweep, or ``./mlflow.db`` without a sweep file."""
    if spec is None:
        return UiStore(f"sqlite:///{LAYOUT.mlflow_db}", None, None)
    from acadp.sweep.plan import plan_sweep

    plan = plan_sweep(spec, smoke=smoke, storage=storage)
    if plan.spec.tracking_uri:
        return UiStore(plan.spec.tracking_uri, None, plan.name)
    database = Path(plan.location) / LAYOUT.mlflow_db
    if not database.exists():
        raise SpecError(f"{database}: no MLflow store yet; run the sweep first (`{plan.command('sweep run')}`)")
    return UiStore(plan.tracking_uri, Path(plan.location) / LAYOUT.mlflow_artifacts, plan.name)


def ui_address(*, host: str, port: int, experiment_id: str | None) -> str:
    """The address to open: the experiment's runs in MLflow's model-training view, or the UI's start page."""
    base = f"http://{host}:{port}"
    return base if experiment_id is None else f"{base}/#/experiments/{experiment_id}?{MODEL_TRAINING_VIEW}"


def serve_ui(*, spec: Path | None, smoke: bool, storage: str | None, host: str, port: int, uri: str | None) -> int:
    """Run ``mlflow ui`` in the foreground until it exits or ``acadp ui`` is stopped; returns its exit code.

    A stop by SIGINT (Ctrl-C), SIGTERM or SIGHUP returns 0; the server and all its processes have ended by then."""
    store = UiStore(uri, None, None) if uri else tracking_uri_for(spec, smoke=smoke, storage=storage)
    if store.tracking_uri.startswith(("http://", "https://")):
        console.print(f"this sweep logs to a tracking server: open {store.tracking_uri}", highlight=False)
        return 0
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        store.tracking_uri,
        "--host",
        host,
        "--port",
        str(port),
    ]
    if store.artifact_root is not None:
        command += ["--default-artifact-root", store.artifact_root.as_uri()]
    address = ui_address(host=host, port=port, experiment_id=_experiment_id(store))
    console.print(f"MLflow UI for {store.tracking_uri} on {address} (Ctrl-C stops it)", highlight=False)
    return run_process_group(command)


def _experiment_id(store: UiStore) -> str | None:
    """The id of the sweep's experiment in ``store``; None without a sweep or before its driver created it."""
    if store.experiment is None:
        return None
    from mlflow.tracking import MlflowClient

    found = MlflowClient(tracking_uri=store.tracking_uri).get_experiment_by_name(store.experiment)
    return None if found is None else found.experiment_id


class _StopRequested(Exception):
    """One of :data:`STOP_SIGNALS` arrived while the server ran."""


def _request_stop(signum: int, frame: FrameType | None) -> None:
    raise _StopRequested(signal.Signals(signum).name)


def run_process_group(command: list[str], *, grace_s: float = STOP_GRACE_S) -> int:
    """Run ``command`` in a new session until it exits or a stop signal arrives, then end its process group.

    Returns the command's exit code, or 0 when a signal stopped it. On return every process of the group has ended
    on SIGTERM or, still there after ``grace_s`` seconds, been sent SIGKILL."""
    previous = {signum: signal.signal(signum, _request_stop) for signum in STOP_SIGNALS}
    server: subprocess.Popen[bytes] | None = None
    try:
        server = subprocess.Popen(command, start_new_session=True)
        return server.wait()
    except _StopRequested:
        return 0
    finally:
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C must not cut the clean-up short
        if server is not None:
            _end_process_group(server, grace_s=grace_s)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _end_process_group(leader: subprocess.Popen[bytes], *, grace_s: float) -> None:
    """SIGTERM to the group that ``leader`` heads; SIGKILL to what is left of it after ``grace_s`` seconds."""
    group = leader.pid  # a session leader's process-group id is its pid
    deadline = time.monotonic() + grace_s
    alive = _signal_group(group, signal.SIGTERM)
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        leader.poll()  # reaps the leader once it exits; unreaped, it would count as a member of the group
        alive = _signal_group(group, 0)
    if alive:
        _signal_group(group, signal.SIGKILL)
    leader.wait()


def _signal_group(group: int, signum: int) -> bool:
    """Send ``signum`` (0: none, only a check) to the process group; False when none of its processes is left."""
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        return False
    return True
