"""``acadp ui`` takes the MLflow server and every process the server started down with it when it is stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sweep.helpers import on_a_free_port, raise_if_port_taken  # tests/ is on the path: the tests' own helpers

from acadp.sweep.ui import ui_address

START_TIMEOUT_S = 120.0  # mlflow's imports and a new store's tables take tens of seconds on a busy machine
STOP_TIMEOUT_S = 10.0  # acadp ui gives the server 5 s after SIGTERM, then kills what is left


@pytest.fixture
def store_uri(tmp_path: Path) -> str:
    """An existing sqlite store of the test's own (``acadp ui`` refuses to create one)."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    MlflowClient(tracking_uri=uri).search_experiments()  # creates the tables
    return uri


def _living_processes() -> dict[int, int]:
    """pid → parent pid of every process that is not a zombie (a zombie has exited; only its parent's
    ``wait`` is missing, which in a container without an init process may never come)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited while we looked
            continue
        state, parent = stat.rsplit(")", 1)[1].split()[:2]  # the name in parentheses may hold spaces
        if state != "Z":
            parents[int(entry.name)] = int(parent)
    return parents


def _descendants(pid: int) -> set[int]:
    parents = _living_processes()
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _left_after_stop(tree: set[int]) -> set[int]:
    """The processes of ``tree`` still there a moment after the stop (a killed process takes that long to go)."""
    deadline = time.monotonic() + 2
    while (left := tree & _living_processes().keys()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def _wait_until_serving(port: int, ui: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if ui.poll() is not None:
            raise_if_port_taken(log)
            pytest.fail(f"acadp ui exited with {ui.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    pytest.fail(f"the MLflow UI did not answer on port {port} within {START_TIMEOUT_S} s:\n{log.read_text()}")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stopping_acadp_ui_ends_the_whole_server_tree(
    tmp_path: Path, store_uri: str, stop_signal: signal.Signals
) -> None:
    env = {
        **os.environ,
        "MLFLOW_WORKERS": "2",  # uvicorn's supervisor with two workers: grandchildren and their children
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",  # the job runner's consumers only slow the start here
    }
    command = [sys.executable, "-m", "acadp", "ui", "--backend-store-uri", store_uri]
    tree: set[int] = set()
    started: list[subprocess.Popen[bytes]] = []

    def start(port: int) -> subprocess.Popen[bytes]:
        log = tmp_path / f"ui-{port}.log"
        with log.open("wb") as output:
            ui = subprocess.Popen([*command, "--port", str(port)], stdout=output, stderr=output, env=env, cwd=tmp_path)
        started.append(ui)
        _wait_until_serving(port, ui, log)
        return ui

    try:
        ui = on_a_free_port(start)
        tree = _descendants(ui.pid)
        assert len(tree) >= 3, f"expected mlflow, uvicorn and its workers under acadp ui, found {sorted(tree)}"

        ui.send_signal(stop_signal)
        assert ui.wait(timeout=STOP_TIMEOUT_S) == 0
        assert not _left_after_stop(tree), "processes outlived acadp ui"
    finally:  # on a failure, nothing this test started may outlive it
        for each in started:
            if each.poll() is None:
                each.kill()
                each.wait()
        for pid in tree & _living_processes().keys():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# A stand-in for `mlflow ui`: a chain of three processes (root, child, grandchild), each writing its pid to a folder.
# mode "stubborn": the grandchild ignores SIGTERM; mode "exit": the root exits with 3 and leaves the others behind.
FAKE_SERVER = """
import os, signal, subprocess, sys, time
depth, mode, pids = int(sys.argv[1]), sys.argv[2], sys.argv[3]
if depth > 0:
    subprocess.Popen([sys.executable, __file__, str(depth - 1), mode, pids])
elif mode == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
open(os.path.join(pids, str(os.getpid())), "w").close()
while mode == "exit" and depth == 2:
    if len(os.listdir(pids)) == 3:
        sys.exit(3)
    time.sleep(0.05)
time.sleep(600)
"""
RUN_GROUP = "import sys; from acadp.sweep import ui; sys.exit(ui.run_process_group(sys.argv[1:], grace_s=1))"


def _start_fake_server(tmp_path: Path, mode: str) -> tuple[subprocess.Popen[bytes], Path]:
    script, pids = tmp_path / "fake_server.py", tmp_path / "pids"
    script.write_text(FAKE_SERVER)
    pids.mkdir()
    wrapper = subprocess.Popen([sys.executable, "-c", RUN_GROUP, sys.executable, str(script), "2", mode, str(pids)])
    deadline = time.monotonic() + 60
    while len(list(pids.iterdir())) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    return wrapper, pids


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
@pytest.mark.parametrize(
    ("mode", "stop_signal", "status"),
    [("plain", signal.SIGHUP, 0), ("stubborn", signal.SIGTERM, 0), ("exit", None, 3)],
    ids=["hang-up", "grandchild-ignores-SIGTERM", "server-exits-leaving-children"],
)
def test_run_process_group_leaves_no_process_behind(
    tmp_path: Path, mode: str, stop_signal: signal.Signals | None, status: int
) -> None:
    wrapper, pids = _start_fake_server(tmp_path, mode)
    tree = {int(path.name) for path in pids.iterdir()}
    try:
        assert len(tree) == 3
        if stop_signal is not None:
            wrapper.send_signal(stop_signal)
        assert wrapper.wait(timeout=STOP_TIMEOUT_S) == status
        assert not _left_after_stop(tree)
    finally:
        if wrapper.poll() is None:
            wrapper.kill()
            wrapper.wait()
        for pid in tree & _living_processes().keys():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_ui_address_opens_the_sweeps_runs_in_the_model_training_view() -> None:
    assert ui_address(host="127.0.0.1", port=5000, experiment_id="7", view="acadp") == (
        "http://127.0.0.1:5000/#/experiments/7/runs?workflowType=machine_learning&viewStateShareKey=acadp"
    )
    assert ui_address(host="127.0.0.1", port=5000, experiment_id="7") == (
        "http://127.0.0.1:5000/#/experiments/7/runs?workflowType=machine_learning"
    )
    assert ui_address(host="127.0.0.1", port=5000, experiment_id=None) == "http://127.0.0.1:5000"
