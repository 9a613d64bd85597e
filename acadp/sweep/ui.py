"""``acadp ui``: the MLflow UI for a sweep's tracking store, bound to 127.0.0.1 unless told otherwise.

It refuses, in one line, without a sweep file or store to show (``mlflow ui`` alone would create an empty
``./mlflow.db``). The server gets one worker and no job runner (one user browsing a sweep needs no more; the user's
own ``MLFLOW_WORKERS`` and ``MLFLOW_SERVER_ENABLE_JOB_EXECUTION`` win) and MLflow's telemetry off
(:data:`acadp.environment.MLFLOW_UI_SERVER`). The address is printed once the server answers, opening the sweep's
run list (:data:`acadp.sweep.tracking.RUN_LIST_VIEW_TAG`).

``mlflow ui`` starts a tree of processes (its command line, uvicorn and, with more workers, uvicorn's workers). It
runs in a session of its own, so that a terminal's Ctrl-C reaches only ``acadp ui``; on SIGINT, SIGTERM or SIGHUP,
and whenever the server exits, ``acadp ui`` ends the server's whole process group, so that no process outlives it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from rich.console import Console

from acadp.environment import MLFLOW_UI_SERVER, with_defaults
from acadp.errors import SpecError, StoreError
from acadp.store.layout import LAYOUT

console = Console(stderr=True)

STOP_GRACE_S = 5.0  # seconds the server's processes get to exit after SIGTERM before they are killed
READY_POLL_S = 0.25  # how often the server is asked whether it answers yet
# SIGHUP too: in a session of its own the server no longer gets the hang-up of a closed terminal
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# The MLflow 3 UI shows an experiment as model training (runs, metrics) or GenAI (traces) after its "workflow type",
# taken from this URL parameter, else from the browser's last choice (GenAI at first)
MODEL_TRAINING_VIEW = "workflowType=machine_learning"
# the address parameter that makes the UI apply a view stored as an experiment tag
VIEW_PARAMETER = "viewStateShareKey"
NO_SWEEP = (
    "acadp ui: no sweep named; give the sweep file whose runs to browse (`acadp ui sweeps/quickstart.yaml`, "
    "`--smoke` for its smoke sweep) or an existing store (`--backend-store-uri sqlite:///path/to/mlflow.db`)"
)


@dataclass(frozen=True)
class UiStore:
    """The tracking store ``acadp ui`` serves."""

    tracking_uri: str
    artifact_root: Path | None  # local artifact root of a sweep's own store; None: the store's default
    experiment: str | None  # the sweep's experiment; None for a store named by its URI


def tracking_uri_for(spec: Path | None, *, smoke: bool, storage: str | None) -> UiStore:
    """The tracking store of a sweep; a :class:`SpecError` without a sweep file, a :class:`StoreError` when the sweep
    has no MLflow store yet."""
    if spec is None:
        raise SpecError(NO_SWEEP)
    from acadp.sweep.plan import plan_sweep

    plan = plan_sweep(spec, smoke=smoke, storage=storage)
    if plan.spec.tracking_uri:
        return UiStore(plan.spec.tracking_uri, None, plan.name)
    database = Path(plan.location) / LAYOUT.mlflow_db
    if not database.exists():
        raise StoreError(f"{database}: no MLflow store yet; run the sweep first (`{plan.command('sweep run')}`)")
    return UiStore(plan.tracking_uri, Path(plan.location) / LAYOUT.mlflow_artifacts, plan.name)


def named_store(uri: str) -> UiStore:
    """The store named by ``--backend-store-uri``; a :class:`StoreError` for a SQLite file that does not exist (the
    server would create an empty one)."""
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not Path(uri.removeprefix(prefix)).is_file():
        raise StoreError(f"{uri.removeprefix(prefix)}: no MLflow store there; check --backend-store-uri")
    return UiStore(uri, None, None)


def ui_address(*, host: str, port: int, experiment_id: str | None, view: str | None = None) -> str:
    """The address to open: the experiment's runs in MLflow's model-training view (in the stored run-list ``view``,
    when the experiment has one), or the UI's start page."""
    base = f"http://{host}:{port}"
    if experiment_id is None:
        return base
    shared = f"&{VIEW_PARAMETER}={view}" if view else ""
    return f"{base}/#/experiments/{experiment_id}/runs?{MODEL_TRAINING_VIEW}{shared}"


def serve_ui(*, spec: Path | None, smoke: bool, storage: str | None, host: str, port: int, uri: str | None) -> int:
    """Run ``mlflow ui`` in the foreground until it exits or ``acadp ui`` is stopped; returns its exit code.

    A stop by SIGINT (Ctrl-C), SIGTERM or SIGHUP returns 0; the server and all its processes have ended by then."""
    store = named_store(uri) if uri else tracking_uri_for(spec, smoke=smoke, storage=storage)
    if store.tracking_uri.startswith(("http://", "https://")):
        console.print(f"this sweep logs to a tracking server: open {store.tracking_uri}", highlight=False)
        return 0
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", store.tracking_uri]
    command += ["--host", host, "--port", str(port)]
    if store.artifact_root is not None:
        command += ["--default-artifact-root", store.artifact_root.as_uri()]
    experiment_id, view = _experiment_view(store)
    address = ui_address(host=host, port=port, experiment_id=experiment_id, view=view)
    console.print(f"starting the MLflow UI for {store.tracking_uri} …", highlight=False)
    return run_process_group(
        command,
        env=with_defaults(MLFLOW_UI_SERVER),
        ready_url=f"http://{_local_host(host)}:{port}/health",
        on_ready=lambda: console.print(f"MLflow UI: {address} (Ctrl-C stops it)", highlight=False, soft_wrap=True),
    )


def _local_host(host: str) -> str:
    """Where this machine reaches a server bound to ``host`` (a wildcard address is reached on loopback)."""
    return {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}.get(host, host)


def _experiment_view(store: UiStore) -> tuple[str | None, str | None]:
    """The id of the sweep's experiment in ``store`` and the key of its run-list view (None when the experiment has
    none, e.g. created by an older acadp); (None, None) without a sweep or before its driver created it."""
    if store.experiment is None:
        return None, None
    from mlflow.tracking import MlflowClient

    from acadp.sweep.tracking import RUN_LIST_VIEW_KEY, RUN_LIST_VIEW_TAG

    found = MlflowClient(tracking_uri=store.tracking_uri).get_experiment_by_name(store.experiment)
    if found is None:
        return None, None
    return found.experiment_id, RUN_LIST_VIEW_KEY if RUN_LIST_VIEW_TAG in found.tags else None


def answers(url: str, *, timeout_s: float = 1.0) -> bool:
    """Whether an HTTP GET of ``url`` returns 200 within ``timeout_s`` seconds."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class _StopRequested(Exception):
    """One of :data:`STOP_SIGNALS` arrived while the server ran."""


def _request_stop(signum: int, frame: FrameType | None) -> None:
    raise _StopRequested(signal.Signals(signum).name)


def run_process_group(
    command: list[str],
    *,
    grace_s: float = STOP_GRACE_S,
    env: Mapping[str, str] | None = None,
    ready_url: str | None = None,
    on_ready: Callable[[], None] | None = None,
) -> int:
    """Run ``command`` in a new session until it exits or a stop signal arrives, then end its process group.

    ``env``: the command's environment (default: this process's). ``on_ready`` is called once ``ready_url`` answers
    (:func:`answers`), not at all when the command exits first. Returns the command's exit code, or 0 when a signal
    stopped it. On return every process of the group has ended on SIGTERM or, still there after ``grace_s`` seconds,
    been sent SIGKILL."""
    previous = {signum: signal.signal(signum, _request_stop) for signum in STOP_SIGNALS}
    server: subprocess.Popen[bytes] | None = None
    try:
        server = subprocess.Popen(command, start_new_session=True, env=None if env is None else dict(env))
        if ready_url is not None:
            _announce_when_ready(server, ready_url, on_ready or (lambda: None))
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


def _announce_when_ready(server: subprocess.Popen[bytes], url: str, on_ready: Callable[[], None]) -> None:
    """Call ``on_ready`` once ``url`` answers; return without calling it when the server exits first."""
    while server.poll() is None:
        if answers(url):
            on_ready()
            return
        time.sleep(READY_POLL_S)
    console.print(f"the MLflow UI exited (code {server.returncode}) before it answered", highlight=False)


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
