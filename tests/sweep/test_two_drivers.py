"""Two drivers on one sweep, through the real command line, Ray and MLflow: while the first is alive a second is
refused; once the first has stalled past the stale time a second takes the sweep over and completes it, and the
first, running again, stops with ``SweepSupersededError`` and leaves the results and MLflow to its successor."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import time
from pathlib import Path

from acadp.sweep.lease import STALE_AFTER_SECONDS
from acadp.sweep.plan import plan_sweep
from acadp.trial.run import run_trial

from .helpers import (
    background_acadp,
    child_runs,
    cli_env,
    comparable,
    results_by_key,
    run_acadp,
    status_json,
    write_sweep,
)

MNIST5K = {"n_train": 400, "n_test": 150, "eval_every": 100, "training": {"epochs": 4, "batch_size": 50, "lr": 2.0}}


def _wait_mid_training(sweep_dir: Path, driver: object, log: Path) -> None:
    """Until a trial of the sweep holds a checkpointed epoch and no result."""
    deadline = time.monotonic() + 300
    while True:
        trials = list((sweep_dir / "trials").glob("*")) if (sweep_dir / "trials").exists() else []
        if any((t / "checkpoint" / "meta.json").exists() and not (t / "result.json").exists() for t in trials):
            return
        assert driver.poll() is None, log.read_text()[-3000:]  # type: ignore[attr-defined]
        assert time.monotonic() < deadline, "no trial reached a checkpointed epoch"
        time.sleep(0.05)


def _set_heartbeat(sweep_dir: Path, *, seconds_from_now: float) -> None:
    """Set the stopped driver's last heartbeat: in the past, its lease looks as it does after a stall that long
    (rather than wait for it); in the future, it stays fresh however long a second driver takes to start."""
    path = sweep_dir / "driver.json"
    record = json.loads(path.read_text())
    beat = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds_from_now)
    path.write_text(json.dumps({**record, "heartbeat_at": beat.isoformat()}))


def test_a_stalled_driver_taken_over_stops_and_leaves_the_sweep_to_its_successor(
    tmp_path: Path, data_dir: Path
) -> None:
    spec = write_sweep(tmp_path / "twice.yaml", name="twice", datasets={"mnist5k": MNIST5K})  # 4 grid points
    storage, env = tmp_path / "store", cli_env(data_dir)
    sweep_dir = storage / "twice"
    args = ["sweep", "run", str(spec), "--storage", str(storage), "--no-reduce"]
    first_log = tmp_path / "first.log"
    with background_acadp(args, env=env, log=first_log) as first:
        _wait_mid_training(sweep_dir, first, first_log)
        os.kill(first.pid, signal.SIGSTOP)  # the driver stalls (its trials' processes run on)
        try:
            _set_heartbeat(sweep_dir, seconds_from_now=600)
            refused = run_acadp(args, env=env, timeout=300)
            assert refused.returncode == 2 and "another driver" in refused.stderr, refused.stderr[-3000:]
            _set_heartbeat(sweep_dir, seconds_from_now=-4 * STALE_AFTER_SECONDS)
            second = run_acadp(["sweep", "resume", *args[2:]], env=env)
            assert second.returncode == 0, second.stderr[-3000:]
        finally:
            os.kill(first.pid, signal.SIGCONT)
        code = first.wait(timeout=300)
    first_text = " ".join(first_log.read_text().split())
    assert code == 2, first_text[-3000:]
    # it ran again after its successor had finished and released the sweep
    assert "driver.json no longer names this driver" in first_text and "Traceback" not in first_text
    assert not (sweep_dir / "driver.json").exists()  # the first driver never took the sweep back

    plan = plan_sweep(spec, storage=str(tmp_path / "unused"))
    expected = {config.key(): run_trial(config, threads=1, data_dir=data_dir).to_json() for config in plan.configs}
    results = results_by_key(sweep_dir)
    assert sorted(results) == sorted(expected)
    for key, result in results.items():
        assert comparable(result) == comparable(expected[key]), f"trial {key} differs from an uninterrupted run"
        assert not (sweep_dir / "trials" / key / "error.json").exists(), "a stopped trial was recorded as failed"
    assert [t["status"] for t in status_json(spec, storage, env)["trials"]] == ["completed"] * 4
    parents, children = child_runs(f"sqlite:///{sweep_dir / 'mlflow.db'}", "twice")
    assert [parent.info.status for parent in parents] == ["FINISHED"]
    assert sorted(run.data.tags["acadp.trial_key"] for run in children) == sorted(results)
    assert all(run.info.status == "FINISHED" for run in children)
    invocations = json.loads((sweep_dir / "invocations.json").read_text())
    assert len(invocations) == 1  # the successor's; the superseded driver records nothing
