"""SIGTERM to a running driver (a scheduler's or `kill`'s stop) does what Ctrl-C does: the trials stop, each at its
last epoch checkpoint, the lease is released, the store is consistent, and the driver ends (status 130) with the exact
resume command — the user's own ``--smoke``, ``--storage`` and ``--no-reduce`` included. That command, run word for
word, completes the sweep with every result equal to an uninterrupted run's."""

from __future__ import annotations

import json
import os
import shlex
import signal
import time
from pathlib import Path

import pytest
import torch

from acadp.sweep.plan import plan_sweep
from acadp.trial.run import run_trial

from .helpers import background_acadp, cli_env, comparable, results_by_key, run_acadp, write_sweep

SMOKE = {"alpha": [0.0, 0.2], "n_train": 400, "n_test": 150, "epochs": 4}


def mid_training(sweep_dir: Path) -> bool:
    """Whether a trial has a checkpointed epoch but no result yet."""
    trials = sweep_dir / "trials"
    return trials.exists() and any(
        (trial / "checkpoint" / "meta.json").exists() and not (trial / "result.json").exists()
        for trial in trials.iterdir()
    )


def terminate_mid_training(args: list[str], env: dict[str, str], sweep_dir: Path, log: Path) -> tuple[int, bool]:
    """Start the driver, SIGTERM it once a trial is mid-training, wait for it to end; (exit status, whether a trial
    was still mid-training when the signal was sent and the driver had ended)."""
    with background_acadp(args, env=env, log=log) as driver:
        deadline = time.monotonic() + 300
        while not mid_training(sweep_dir):
            assert driver.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "no trial reached a checkpoint"
            time.sleep(0.05)
        os.kill(driver.pid, signal.SIGTERM)  # the driver only, as a scheduler stopping the job's main process
        status = driver.wait(timeout=300)
    return status, mid_training(sweep_dir)


def test_sigterm_stops_the_driver_with_the_resume_command_of_the_users_own_flags(
    tmp_path: Path, data_dir: Path
) -> None:
    spec = write_sweep(tmp_path / "term.yaml", name="term", smoke=SMOKE)
    storage, env = tmp_path / "store", cli_env(data_dir)
    sweep_dir, log = storage / "term-smoke", tmp_path / "driver.log"
    flags = ["--smoke", "--storage", str(storage), "--no-reduce"]
    command = "run"
    for _ in range(4):  # a signal that lands after the last trial finished interrupts nothing: start again
        status, unfinished = terminate_mid_training(["sweep", command, str(spec), *flags], env, sweep_dir, log)
        if unfinished:
            break
        command = "resume"
    else:
        pytest.fail("no SIGTERM landed while a trial was mid-training in 4 attempts")
    text = log.read_text()
    resume = shlex.join(["acadp", "sweep", "resume", str(spec), *flags])
    assert status == 130, text[-3000:]
    assert text.strip().splitlines()[-1] == f"interrupted: resume with `{resume}`", text[-3000:]
    assert "Traceback" not in text
    assert not (sweep_dir / "driver.json").exists(), "the lease outlived the driver"
    assert not list(sweep_dir.rglob("*.tmp")) and not list(sweep_dir.glob("trials/*/error.json"))
    for meta in sweep_dir.glob("trials/*/checkpoint/meta.json"):  # each stopped trial at an epoch boundary
        committed = json.loads(meta.read_text())
        epochs = committed["epochs_done"]
        state = torch.load(meta.with_name(committed["state"]), map_location="cpu", weights_only=True)
        assert 1 <= epochs <= SMOKE["epochs"] and state
    shown = run_acadp(["sweep", "status", str(spec), "--smoke", "--storage", str(storage), "--json"], env=env)
    states = [trial["status"] for trial in json.loads(shown.stdout)["trials"]]
    # the trial stopped mid-training shows its checkpointed epochs: interrupted, not failed
    assert "failed" not in states and "interrupted" in states, states

    resumed = run_acadp(shlex.split(resume)[1:], env=env)  # the printed command, word for word
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    plan = plan_sweep(spec, smoke=True, storage=str(tmp_path / "unused"))
    expected = {config.key(): run_trial(config, threads=1, data_dir=data_dir).to_json() for config in plan.configs}
    results = results_by_key(sweep_dir)
    assert sorted(results) == sorted(expected)
    for key, result in results.items():
        assert comparable(result) == comparable(expected[key]), f"trial {key} differs from an uninterrupted run"
