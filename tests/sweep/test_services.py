"""Talking to real services the tests start on 127.0.0.1: an MLflow tracking server and a Ray head (job server)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from .helpers import (
    cli_env,
    free_port,
    kill_session,
    on_a_free_port,
    raise_if_port_taken,
    results_by_key,
    run_acadp,
    write_sweep,
)

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def wait_http(url: str, *, timeout: float, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until ``url`` answers; :class:`PortTaken` if the server died for want of its port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if process.poll() is not None:
                raise_if_port_taken(log)
                pytest.fail(log.read_text()[-3000:])
            time.sleep(0.5)
    pytest.fail(f"{url} did not answer within {timeout} s: {log.read_text()[-3000:]}")


def start_mlflow_server(root: Path, port: int) -> subprocess.Popen[bytes]:
    """A real ``mlflow server`` on 127.0.0.1:``port`` with its SQLite database and artifacts under ``root``, in a
    session of its own, answering; :class:`PortTaken` (nothing left running) if the port was taken."""
    log = root / f"mlflow-server-{time.monotonic_ns()}.log"
    command = [
        str(BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
        "--backend-store-uri", f"sqlite:///{root / 'server.db'}",
        "--artifacts-destination", (root / "server-artifacts").as_uri(), "--workers", "1",
    ]  # fmt: skip
    with open(log, "wb") as handle:
        server = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/health", timeout=90, process=server, log=log)
    except BaseException:
        kill_session(server.pid)
        server.wait(timeout=30)
        raise
    return server


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    """A real ``mlflow server`` on 127.0.0.1 with a SQLite backend, stopped (its whole session) afterwards."""
    server, port = on_a_free_port(lambda port: (start_mlflow_server(tmp_path, port), port))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        kill_session(server.pid)
        server.wait(timeout=30)


def test_a_sweep_logs_to_a_real_tracking_server(tmp_path: Path, data_dir: Path, mlflow_server: str) -> None:
    spec = write_sweep(tmp_path / "served.yaml", name="served", tracking_uri=mlflow_server)
    result = run_acadp(["sweep", "run", str(spec), "--storage", str(tmp_path / "store")], env=cli_env(data_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (tmp_path / "store" / "served" / "mlflow.db").exists(), "a tracking server replaces the SQLite default"
    client = MlflowClient(tracking_uri=mlflow_server)
    experiment = client.get_experiment_by_name("served")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get("acadp.role") == "sweep"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert len(parents) == 1 and len(children) == 4
    assert all(r.info.status == "FINISHED" and "success" in r.data.metrics for r in children)
    assert {a.path for a in client.list_artifacts(parents[0].info.run_id)} >= {"reduced", "spec"}


@pytest.fixture
def ray_head(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A real Ray head on 127.0.0.1 with token authentication (token in a file of this test), and its env."""
    token_file = tmp_path / "ray-token"
    token_file.write_text(secrets.token_hex(32))
    temp_dir = Path(tempfile.mkdtemp(prefix="rt", dir="/tmp"))  # short: Ray's socket paths must stay < 108 bytes
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # the job's `python` is this environment's
        "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token_file),
    }

    def start_head(port: int) -> tuple[subprocess.Popen[bytes], int]:
        dashboard = free_port()
        command = [
            str(BIN / "ray"), "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
            "--dashboard-host", "127.0.0.1", "--dashboard-port", str(dashboard), "--num-cpus", "2",
            "--temp-dir", str(temp_dir), "--disable-usage-stats",
            # the job agent's HTTP port defaults to 52365: another Ray on this machine (a user's sweep) may hold it,
            # and the head then never has an agent to submit jobs to
            "--dashboard-agent-listen-port", str(free_port()),
        ]  # fmt: skip
        log = tmp_path / f"ray-start-{port}.log"
        with open(log, "wb") as handle:
            starter = subprocess.Popen(
                command, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
            )
        if starter.wait(timeout=120) != 0:
            kill_session(starter.pid)
            raise_if_port_taken(log)
            pytest.fail(log.read_text()[-3000:])
        return starter, dashboard

    starter, dashboard = on_a_free_port(start_head)
    try:
        yield f"http://127.0.0.1:{dashboard}", env
    finally:
        kill_session(starter.pid)
        shutil.rmtree(temp_dir, ignore_errors=True)  # Ray's session folders: nothing of the test stays in /tmp


def checkout(tmp_path: Path) -> Path:
    """A copy of the checkout's code (what ``sweep submit`` ships) with a ``sweeps/`` folder for the test's sweep file,
    so that no test writes into the repository's own ``sweeps/``."""
    root = tmp_path / "checkout"
    ignore = shutil.ignore_patterns("__pycache__")
    for folder in ("acadp", "dashboards"):
        shutil.copytree(REPO / folder, root / folder, ignore=ignore)
    shutil.copy2(REPO / "pyproject.toml", root / "pyproject.toml")
    (root / "sweeps").mkdir()
    return root


def test_submit_runs_the_sweep_as_a_ray_job_with_token_auth(tmp_path: Path, data_dir: Path, ray_head) -> None:  # type: ignore[no-untyped-def]
    address, head_env = ray_head
    working_dir = checkout(tmp_path)
    spec = write_sweep(working_dir / "sweeps" / "submit.yaml", name="submitted")
    storage = tmp_path / "store"
    env = cli_env(data_dir, RAY_AUTH_TOKEN_PATH=head_env["RAY_AUTH_TOKEN_PATH"], HOME=str(tmp_path))
    env.pop("RAY_AUTH_MODE", None)  # the client finds the token itself even where token mode is not set
    submitted = run_acadp(
        ["sweep", "submit", str(spec), "--address", address, "--storage", str(storage), "--wait",
         "--working-dir", str(working_dir)],
        env={**env, "PATH": head_env["PATH"]}, timeout=900,
    )  # fmt: skip
    assert submitted.returncode == 0, submitted.stdout[-3000:] + submitted.stderr[-3000:]
    job_id = submitted.stdout.strip().splitlines()[0]
    assert job_id.startswith("acadp-submitted-")
    assert "ray job logs" in submitted.stderr
    assert len(results_by_key(storage / "submitted")) == 4


def test_submit_without_the_token_is_refused_with_a_clear_error(tmp_path: Path, data_dir: Path, ray_head) -> None:  # type: ignore[no-untyped-def]
    address, _ = ray_head
    working_dir = checkout(tmp_path)
    spec = write_sweep(working_dir / "sweeps" / "refused.yaml", name="refused")
    env = cli_env(data_dir, HOME=str(tmp_path))  # no token anywhere
    for name in ("RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_AUTH_MODE"):
        env.pop(name, None)
    refused = run_acadp(
        ["sweep", "submit", str(spec), "--address", address, "--storage", str(tmp_path / "store"),
         "--working-dir", str(working_dir)],
        env=env, timeout=300,
    )  # fmt: skip
    assert refused.returncode == 2
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "auth token" in lines[0], refused.stderr
    assert not (tmp_path / "store").exists()
