"""How a sweep ends when a trial fails for good, and when the user stops it: through the real command line, real Ray
and a real MLflow store (the fault is injected on purpose through ``ACADP_INJECT_FAULT``)."""

from __future__ import annotations

import json
import os
import shlex
import signal
import time
from pathlib import Path

import pytest

from acadp.sweep.plan import plan_sweep
from acadp.trial.faults import FAULT_VARIABLE

from .helpers import background_acadp, child_runs, cli_env, results_by_key, run_acadp, status_json, write_sweep


def test_a_trial_failing_every_attempt_fails_everywhere_while_the_others_complete(
    tmp_path: Path, data_dir: Path
) -> None:
    spec = write_sweep(tmp_path / "faulty.yaml", name="faulty")  # 4 grid points, 2 epochs, max_failures 1
    storage = tmp_path / "store"
    doomed = plan_sweep(spec, storage=str(storage)).configs[1].key()  # a DP trial: ε = 8, C = 1
    env = cli_env(data_dir, **{FAULT_VARIABLE: f"{doomed}@1"})  # fails once it has a checkpointed epoch
    run = run_acadp(["sweep", "run", str(spec), "--storage", str(storage), "--no-reduce"], env=env)
    assert run.returncode == 1, run.stderr[-3000:]
    sweep_dir = storage / "faulty"
    cause = f"InjectedFaultError: fault injected by {FAULT_VARIABLE} into trial {doomed} after 1 finished epochs"
    error = json.loads((sweep_dir / "trials" / doomed / "error.json").read_text())
    assert error["error"] == cause  # the first line of the cause, not Ray's wrapping of it
    attempts = json.loads((sweep_dir / "trials" / doomed / "attempts.json").read_text())["attempts"]
    assert [attempt["final"] for attempt in attempts] == [False, True]  # max_failures 1: one retry, then failed
    assert all(f"fault injected by {FAULT_VARIABLE}" in attempt["reason"] for attempt in attempts)
    assert "3 trials completed, 1 failed" in " ".join(run.stderr.split())

    status = {entry["trial_key"]: entry for entry in status_json(spec, storage, env)["trials"]}
    assert status[doomed]["status"] == "failed" and status[doomed]["error"] == cause
    others = sorted(key for key in status if key != doomed)
    assert [status[key]["status"] for key in others] == ["completed"] * 3
    assert sorted(results_by_key(sweep_dir)) == others

    parents, children = child_runs(f"sqlite:///{sweep_dir / 'mlflow.db'}", "faulty")
    assert [parent.info.status for parent in parents] == ["FAILED"]
    child_status = {child.data.tags["acadp.trial_key"]: child.info.status for child in children}
    assert child_status == {doomed: "FAILED", **dict.fromkeys(others, "FINISHED")}


def _mid_training(sweep_dir: Path) -> bool:
    """Whether a trial holds a checkpointed epoch and no result yet."""
    trials = sweep_dir / "trials"
    return trials.exists() and any(
        (trial / "checkpoint" / "meta.json").exists() and not (trial / "result.json").exists()
        for trial in trials.iterdir()
    )


def _interrupt_mid_training(args: list[str], env: dict[str, str], sweep_dir: Path, log: Path) -> tuple[int, bool]:
    """Start the driver, send it SIGINT (Ctrl-C) once a trial is mid-training: (its exit code, whether a trial was
    still unfinished when it exited)."""
    with background_acadp(args, env=env, log=log) as driver:
        deadline = time.monotonic() + 300
        while not _mid_training(sweep_dir):
            assert driver.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "no trial reached a checkpointed epoch"
            time.sleep(0.05)
        os.kill(driver.pid, signal.SIGINT)  # the driver only, as a terminal's Ctrl-C reaches the foreground command
        code = driver.wait(timeout=300)
    return code, len(results_by_key(sweep_dir)) < 4


def test_sigint_stops_the_sweep_with_exit_130_and_the_parent_run_killed(tmp_path: Path, data_dir: Path) -> None:
    training = {"epochs": 6, "batch_size": 50, "lr": 2.0}
    spec = write_sweep(
        tmp_path / "stop.yaml", name="stop", datasets={"mnist5k": {"n_train": 400, "training": training}}
    )
    storage, env = tmp_path / "store", cli_env(data_dir)
    sweep_dir = storage / "stop"
    # A trial seen mid-training can be the last to finish before the signal lands: then interrupt a resume again.
    command, attempts = "run", 3
    for _ in range(attempts):
        args = ["sweep", command, str(spec), "--storage", str(storage), "--no-reduce"]
        code, unfinished = _interrupt_mid_training(args, env, sweep_dir, tmp_path / "driver.log")
        if unfinished:
            break
        command = "resume"
    else:
        pytest.fail(f"every trial finished before the interrupt in {attempts} attempts")
    log = (tmp_path / "driver.log").read_text()
    assert code == 130, log[-3000:]
    resume = shlex.join(["acadp", "sweep", "resume", str(spec), "--storage", str(storage), "--no-reduce"])
    assert f"interrupted: resume with `{resume}`" in " ".join(log.split())  # the user's own flags
    parents, _ = child_runs(f"sqlite:///{sweep_dir / 'mlflow.db'}", "stop")
    assert [parent.info.status for parent in parents] == ["KILLED"]
    assert not (sweep_dir / "driver.json").exists()  # the lease is released on the way out
    resumed = run_acadp(["sweep", "resume", str(spec), "--storage", str(storage), "--no-reduce"], env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    parents, _ = child_runs(f"sqlite:///{sweep_dir / 'mlflow.db'}", "stop")
    assert [parent.info.status for parent in parents] == ["FINISHED"] and len(results_by_key(sweep_dir)) == 4
