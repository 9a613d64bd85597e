"""The cluster storage path end to end: a smoke sweep whose storage is ``s3://…`` on a real S3-compatible server
(moto, server mode, 127.0.0.1), tracking on a real ``mlflow server``, through the real command line and Ray. The
driver is SIGKILLed mid-training and the sweep resumed: checkpoints, results, Ray Tune's state and the reducer's
outputs all live in the bucket, every trial ends as an uninterrupted run does, and the reducer's outputs are the
parent run's MLflow artifacts. Ray's workers get the endpoint and credentials through their environment."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from acadp.store.results import ResultsStore
from acadp.sweep.plan import plan_sweep
from acadp.trial.run import run_trial

from .helpers import (
    background_acadp,
    child_runs,
    cli_env,
    comparable,
    kill_session,
    on_a_free_port,
    run_acadp,
    write_sweep,
)
from .test_services import start_mlflow_server

MNIST5K = {"n_train": 400, "n_test": 150, "eval_every": 100, "training": {"epochs": 5, "batch_size": 50, "lr": 2.0}}


def _results(store: ResultsStore) -> dict[str, dict]:  # type: ignore[type-arg]
    """trial key → result.json of every completed trial in the bucket."""
    return {key: store.read_json(f"trials/{key}/result.json") for key in store.list_dir("trials")
            if store.exists(f"trials/{key}/result.json")}  # fmt: skip


def _mid_training(store: ResultsStore) -> int:
    """How many trials hold a committed checkpoint and no result."""
    keys = store.list_dir("trials")
    return sum(
        store.exists(f"trials/{k}/checkpoint/meta.json") and not store.exists(f"trials/{k}/result.json") for k in keys
    )


def _kill_mid_training(args: list[str], env: dict[str, str], store: ResultsStore, log: Path) -> int:
    """Start the driver, SIGKILL it once a trial has finished and another is mid-training; trials mid-training then."""
    with background_acadp(args, env=env, log=log) as driver:
        deadline = time.monotonic() + 400
        while not (_results(store) and _mid_training(store)):
            assert driver.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "no state with finished and unfinished trials"
            time.sleep(0.2)
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=30)
    return _mid_training(store)


def test_a_sweep_on_s3_storage_survives_a_driver_sigkill_and_reduces_into_the_bucket(
    tmp_path: Path, data_dir: Path, s3_env: dict[str, str], s3_root: str
) -> None:
    server, port = on_a_free_port(lambda port: (start_mlflow_server(tmp_path, port), port))
    tracking = f"http://127.0.0.1:{port}"
    try:
        spec = write_sweep(tmp_path / "s3.yaml", name="remote", datasets={"mnist5k": MNIST5K}, tracking_uri=tracking)
        storage, env = f"{s3_root}/sweeps", cli_env(data_dir, **s3_env)
        store = ResultsStore(f"{storage}/remote")
        # A trial seen mid-training can still finish before the signal lands: then the resumed driver is killed again.
        command = "run"
        for attempt in range(3):
            args = ["sweep", command, str(spec), "--storage", storage, "--no-reduce"]
            if _kill_mid_training(args, env, store, tmp_path / f"driver-{attempt}.log"):
                break
            command = "resume"
        else:
            pytest.fail("no kill landed while a trial was mid-training")
        resumed = run_acadp(["sweep", "resume", str(spec), "--storage", storage], env=env)
        assert resumed.returncode == 0, resumed.stderr[-3000:]

        plan = plan_sweep(spec, storage=str(tmp_path / "unused"))
        expected = {c.key(): run_trial(c, threads=1, data_dir=data_dir).to_json() for c in plan.configs}
        results = _results(store)
        assert sorted(results) == sorted(expected)
        for key, result in results.items():
            assert comparable(result) == comparable(expected[key]), f"trial {key} differs from an uninterrupted run"
            checkpoint = store.list_dir(f"trials/{key}/checkpoint")
            assert checkpoint == ["meta.json", f"state-{MNIST5K['training']['epochs']:04d}.pt"]  # type: ignore[index]
        assert any(result["resumed_from_epoch"] > 0 for result in results.values()), "no trial resumed mid-training"
        assert store.list_dir("tune"), "Ray Tune's experiment state is in the bucket"
        assert {"trials.parquet", "critical_mass.csv", "dashboard.html"} <= set(store.list_files("reduced"))
        status = run_acadp(["sweep", "status", str(spec), "--storage", storage, "--json"], env=env, timeout=120)
        assert status.returncode == 0, status.stderr
        assert [t["status"] for t in json.loads(status.stdout)["trials"]] == ["completed"] * 4

        parents, children = child_runs(tracking, "remote")
        assert [parent.info.status for parent in parents] == ["FINISHED"]
        assert sorted(run.data.tags["acadp.trial_key"] for run in children) == sorted(results)
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=tracking)
        logged = {artifact.path for artifact in client.list_artifacts(parents[0].info.run_id)}
        assert {"spec", "reduced"} <= logged
        reduced = {Path(a.path).name for a in client.list_artifacts(parents[0].info.run_id, "reduced")}
        assert {"dashboard.html", "trials.parquet", "critical_mass.csv"} <= reduced
    finally:
        kill_session(server.pid)
        server.wait(timeout=30)
