"""A tracking server that goes down does not stop the science (real ``mlflow server`` on 127.0.0.1, real Ray).

The server is killed by PID mid-sweep, or is down from the start; every grid point still completes, and ``acadp sweep
sync`` with the server back gives exactly one child run per point with its full per-epoch metric history.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlflow.tracking import MlflowClient

from .helpers import (
    background_acadp,
    cli_env,
    free_port,
    kill_session,
    results_by_key,
    run_acadp,
    status_json,
    write_sweep,
)
from .test_services import start_mlflow_server


@contextmanager
def mlflow_server(root: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``mlflow server`` on 127.0.0.1:``port`` whose database and artifacts live under ``root`` (so that a
    restart on the same port finds the same runs); its whole session is stopped on exit. The sweep's tracking URI
    names the port, so it is kept: a port taken meanwhile by another process fails the test with the server's log."""
    server = start_mlflow_server(root, port)
    try:
        yield server
    finally:
        kill_session(server.pid)
        server.wait(timeout=30)


def child_runs(uri: str, experiment: str) -> tuple[list, list]:  # type: ignore[type-arg]
    """(parent runs, child runs) of the sweep's experiment."""
    client = MlflowClient(tracking_uri=uri)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, "the experiment exists after the backfill"
    runs = client.search_runs([found.experiment_id])
    parents = [r for r in runs if r.data.tags.get("acadp.role") == "sweep"]
    children = [r for r in runs if "acadp.trial_key" in r.data.tags]
    return parents, children


def assert_one_complete_run_per_point(uri: str, experiment: str, sweep_dir: Path) -> None:
    parents, children = child_runs(uri, experiment)
    results = results_by_key(sweep_dir)
    assert len(parents) == 1
    keys = [r.data.tags["acadp.trial_key"] for r in children]
    assert sorted(keys) == sorted(results), "exactly one child run per grid point"
    client = MlflowClient(tracking_uri=uri)
    for run in children:
        assert run.data.tags["mlflow.parentRunId"] == parents[0].info.run_id
        assert run.info.status == "FINISHED" and "success" in run.data.metrics
        epochs = results[run.data.tags["acadp.trial_key"]]["epochs"]
        steps = [m.step for m in client.get_metric_history(run.info.run_id, "train_loss")]
        assert sorted(steps) == list(range(1, epochs + 1)), "the full per-epoch history, each epoch once"
    assert not list(sweep_dir.glob("trials/*/untracked.json"))


def test_killing_the_server_mid_sweep_loses_nothing_and_sync_backfills_once(tmp_path: Path, data_dir: Path) -> None:
    port, storage = free_port(), tmp_path / "store"
    uri = f"http://127.0.0.1:{port}"
    # epochs long enough that, when the first result is in, the other trials are still training
    dataset = {"n_train": 300, "n_test": 150, "eval_every": 100, "training": {"epochs": 8, "batch_size": 75, "lr": 2.0}}
    spec = write_sweep(tmp_path / "outage.yaml", name="outage", tracking_uri=uri, datasets={"mnist5k": dataset})
    env = cli_env(data_dir)
    with (
        mlflow_server(tmp_path, port) as server,
        background_acadp(
            ["sweep", "run", str(spec), "--storage", str(storage)], env=env, log=tmp_path / "run.log"
        ) as driver,
    ):
        deadline = time.monotonic() + 300
        while not results_by_key(storage / "outage") and driver.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        finished = len(results_by_key(storage / "outage"))
        kill_session(server.pid, signals=(signal.SIGKILL,))  # the tracking server dies at once, while trials run
        assert finished < 4, "every trial had finished before the server died"
        assert driver.wait(timeout=600) == 0, (tmp_path / "run.log").read_text()[-3000:]
    log = (tmp_path / "run.log").read_text()
    assert "FAILED" not in log and "Traceback" not in log, log[-3000:]
    assert log.count("MLflow tracking unreachable") == 1, log[-3000:]
    status = status_json(spec, storage, env)
    assert status["counts"] == {
        "completed": 4, "running": 0, "retrying": 0, "pending": 0, "failed": 0, "interrupted": 0,
    }  # fmt: skip
    assert status["awaiting_tracking"] >= 1

    with mlflow_server(tmp_path, port):
        synced = run_acadp(["sweep", "sync", str(spec), "--storage", str(storage)], env=env, timeout=300)
        assert synced.returncode == 0, synced.stderr[-3000:]
        again = run_acadp(["sweep", "sync", str(spec), "--storage", str(storage)], env=env, timeout=300)
        assert again.returncode == 0 and "nothing awaits tracking" in again.stderr
        assert_one_complete_run_per_point(uri, "outage", storage / "outage")
    assert status_json(spec, storage, env)["awaiting_tracking"] == 0


def test_a_server_down_from_the_start_is_backfilled_with_parent_and_children(tmp_path: Path, data_dir: Path) -> None:
    port, storage = free_port(), tmp_path / "store"
    uri = f"http://127.0.0.1:{port}"
    spec = write_sweep(tmp_path / "down.yaml", name="down", tracking_uri=uri)
    env = cli_env(data_dir)
    ran = run_acadp(["sweep", "run", str(spec), "--storage", str(storage)], env=env)
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stderr.count("MLflow tracking unreachable") == 1 and "Traceback" not in ran.stderr, ran.stderr[-3000:]
    status = status_json(spec, storage, env)
    assert status["counts"]["completed"] == 4 and status["awaiting_tracking"] == 4 and status["parent_run_untracked"]

    with mlflow_server(tmp_path, port):
        synced = run_acadp(["sweep", "sync", str(spec), "--storage", str(storage)], env=env, timeout=300)
        assert synced.returncode == 0, synced.stderr[-3000:]
        assert_one_complete_run_per_point(uri, "down", storage / "down")
        parents, _ = child_runs(uri, "down")
        assert parents[0].info.status == "FINISHED" and parents[0].data.metrics["trials_completed"] == 4
    assert not (storage / "down" / "untracked.json").exists()


def test_a_server_back_mid_run_gives_one_run_per_point_live_and_backfilled(tmp_path: Path, data_dir: Path) -> None:
    """Killed after the first result, restarted while trials still run: runs logged live before and after the outage
    and runs marked during it, then backfilled by `sweep sync`, are exactly one per point, each with its full
    history."""
    port, storage = free_port(), tmp_path / "store"
    uri = f"http://127.0.0.1:{port}"
    spec = write_sweep(tmp_path / "back.yaml", name="back", tracking_uri=uri, grid={"seed": [0, 1, 2]})
    env = cli_env(data_dir)
    sweep_dir = storage / "back"
    with background_acadp(
        ["sweep", "run", str(spec), "--storage", str(storage)], env=env, log=tmp_path / "run.log"
    ) as driver:
        with mlflow_server(tmp_path, port) as server:
            deadline = time.monotonic() + 300
            while not results_by_key(sweep_dir) and driver.poll() is None and time.monotonic() < deadline:
                time.sleep(0.5)
            kill_session(server.pid)  # down after the first result ...
        while len(results_by_key(sweep_dir)) < 2 and driver.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        with mlflow_server(tmp_path, port):  # ... and back while trials still run
            assert driver.wait(timeout=600) == 0, (tmp_path / "run.log").read_text()[-3000:]
            log = (tmp_path / "run.log").read_text()
            assert "FAILED" not in log and "Traceback" not in log, log[-3000:]
            assert len(results_by_key(sweep_dir)) == 12  # 2 alphas × 2 arms × 3 seeds
            synced = run_acadp(["sweep", "sync", str(spec), "--storage", str(storage)], env=env, timeout=300)
            assert synced.returncode == 0, synced.stderr[-3000:]
            assert_one_complete_run_per_point(uri, "back", sweep_dir)
