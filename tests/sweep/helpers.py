"""Running the real ``acadp`` command line in subprocesses, and cleaning up every process a run left behind.

Each command runs in a session of its own (``start_new_session``), so Ray's helper processes (GCS, raylet, workers)
share its session id; afterwards every process still in that session is killed by PID — only processes these tests
started, never anyone else's Ray.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import yaml
from mlflow.tracking import MlflowClient

ACADP = str(Path(sys.executable).with_name("acadp"))
# How a server says that the port it was given is taken (Linux errno 98, uvicorn, Ray's port checks)
PORT_TAKEN = re.compile(r"address already in use|errno 98|already in use|port \d+ is not available", re.IGNORECASE)
T = TypeVar("T")


class PortTaken(Exception):
    """A server could not bind the port it was handed: another process took it in between."""


def free_port() -> int:
    """A port the OS hands out as free now (bound on 127.0.0.1, read, released). A server started on it can still
    lose it to another process before it binds: start servers through :func:`on_a_free_port`."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def on_a_free_port(start: Callable[[int], T], *, attempts: int = 3) -> T:
    """``start(port)`` on a port just handed out; again on a new one when it raises :class:`PortTaken` (a race with
    another process, retried rather than slept away)."""
    for attempt in range(attempts):
        try:
            return start(free_port())
        except PortTaken:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def raise_if_port_taken(log: Path) -> None:
    """Raise :class:`PortTaken` when a server's ``log`` says it could not bind its port."""
    text = log.read_text(errors="replace")
    if PORT_TAKEN.search(text):
        raise PortTaken(text[-1000:])


def session_members(session: int) -> list[int]:
    """PIDs of the processes whose session id is ``session`` (Linux /proc)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) == session:
                members.append(int(entry.name))
        except (ProcessLookupError, PermissionError):
            continue
    return members


def kill_session(
    session: int, *, grace: float = 5.0, signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGKILL)
) -> None:
    """SIGTERM, then SIGKILL, every process of ``session`` (a session these tests created); ``signals=(SIGKILL,)``
    kills at once, as a crash would."""
    for sig in signals:
        for pid in session_members(session):
            with suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while session_members(session) and time.monotonic() < deadline:
            time.sleep(0.2)
        if not session_members(session):
            return


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_ADDRESS", "MLFLOW_"))}
    env.update(ACADP_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1", **extra)
    return env


def run_acadp(args: list[str], *, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``acadp ARGS`` to completion in its own session, then clean up whatever it left running."""
    process = subprocess.Popen(
        [ACADP, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        kill_session(process.pid)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@contextmanager
def background_acadp(args: list[str], *, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``acadp ARGS`` in its own session; on exit kill the session (whatever state the driver is in)."""
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            [ACADP, *args], env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            kill_session(process.pid)
            process.wait(timeout=30)


def write_sweep(path: Path, *, name: str = "tiny", **overrides: Any) -> Path:
    """A small mnist5k sweep (seconds per trial on one CPU) with ``overrides`` merged at the top level."""
    spec: dict[str, Any] = yaml.safe_load(
        textwrap.dedent(
            """
            datasets:
              mnist5k:
                n_train: 300
                n_test: 150
                eval_every: 100
                training: {epochs: 2, batch_size: 75, lr: 2.0}
            grid:
              alpha: [0.0, 0.2]
              epsilon: [8, inf]
              clip: [none, 1.0]
              arms: [sgd, dpsgd]
              seed: [0]
            resources: {cpus: 1}
            max_failures: 1
            reduce: {n_boot: 50}
            """
        )
    )
    spec["name"] = name
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(spec.get(key), dict):
            spec[key] = {**spec[key], **value}
        else:
            spec[key] = value
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def status_json(spec: Path, storage: Path, env: dict[str, str]) -> dict[str, Any]:
    result = run_acadp(["sweep", "status", str(spec), "--storage", str(storage), "--json"], env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout))


def results_by_key(sweep_dir: Path) -> dict[str, dict[str, Any]]:
    """The final ``result.json`` of every completed trial, keyed by trial key."""
    return {
        path.parent.name: json.loads(path.read_text()) for path in sorted((sweep_dir / "trials").glob("*/result.json"))
    }


def comparable(result: dict[str, Any]) -> dict[str, Any]:
    """A ``result.json`` without what legitimately differs between runs: timings (the trial's and each epoch's), the
    resume point and provenance. The per-epoch history is kept, so a resume that lost or repeated an epoch differs."""
    skip = {"seconds", "resumed_from_epoch", "provenance"}
    kept = {key: value for key, value in result.items() if key not in skip}
    kept["history"] = [{k: v for k, v in epoch.items() if k != "seconds"} for epoch in result["history"]]
    return kept


def child_runs(tracking_uri: str, experiment: str) -> tuple[list, list]:
    """(parent runs, child runs) of a sweep's experiment."""
    client = MlflowClient(tracking_uri=tracking_uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no MLflow experiment {experiment}"
    runs = client.search_runs([found.experiment_id], max_results=1000)
    parents = [r for r in runs if r.data.tags.get("acadp.role") == "sweep"]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    return parents, children


def closed_port() -> int:
    """A port nothing listens on: bound, read and released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ray_record(ray_tmpdir: Path, address: str) -> Path:
    """Write Ray's record of the last local cluster (``ray_current_cluster``) under ``ray_tmpdir``: head ``address``."""
    path = ray_tmpdir / "ray" / "ray_current_cluster"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(address)
    return path
