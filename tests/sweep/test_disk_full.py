"""The results store's disk fills up mid-sweep, for real: the store is a size-limited tmpfs filled to the last page
while a trial trains (its checkpoints, progress, MLflow's SQLite file and result files all go there).

The driver stops (no trial starts after the fault, none is recorded as failed) and exits non-zero with one line
naming the store and the exact resume command; no file is left half-written; once space is freed, that command
completes the sweep with every result equal to an uninterrupted run's and one MLflow run per point; a reducer that
runs out of space leaves the previous ``trials.parquet`` whole.
"""

from __future__ import annotations

import json
import shlex
import sqlite3
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from acadp.sweep.plan import plan_sweep
from acadp.trial.result import TrialResult
from acadp.trial.run import run_trial

from .helpers import background_acadp, cli_env, comparable, results_by_key, run_acadp, status_json, write_sweep
from .mounts import fill, tmpfs
from .test_tracking_outage_e2e import assert_one_complete_run_per_point

# three SGD points run one at a time: one completes, one is mid-training at the fault, one has not started
GRID = {"alpha": [0.0, 0.1, 0.2], "epsilon": ["inf"], "clip": ["none"], "arms": ["sgd"], "seed": [0]}
DATA = {"mnist5k": {"n_train": 400, "n_test": 150, "eval_every": 100, "training": {"epochs": 4, "batch_size": 50}}}


def assert_every_file_whole(sweep_dir: Path) -> None:
    """Every result and checkpoint parses, no temporary file of an atomic write is left, MLflow's database is sound."""
    assert not list(sweep_dir.rglob("*.tmp")), "a temporary file of an interrupted write was left behind"
    for result in sweep_dir.glob("trials/*/result.json"):
        TrialResult.model_validate_json(result.read_text())
    for meta in sweep_dir.glob("trials/*/checkpoint/meta.json"):
        committed = json.loads(meta.read_text())
        assert committed["trial_key"] == meta.parent.parent.name
        torch.load(meta.with_name(committed["state"]), map_location="cpu", weights_only=True)
    for progress in sweep_dir.glob("trials/*/progress.json"):
        json.loads(progress.read_text())
    with sqlite3.connect(sweep_dir / "mlflow.db") as database:
        assert database.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def fill_once_a_trial_completed(args: list[str], env: dict[str, str], sweep_dir: Path, disk: Path, log: Path) -> Path:
    """Run the driver; once a trial has completed, fill the disk; wait for the driver to exit. Returns the ballast."""
    with background_acadp(args, env=env, log=log) as driver:
        deadline = time.monotonic() + 300
        while not list(sweep_dir.glob("trials/*/result.json")):
            assert driver.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "no trial completed"
            time.sleep(0.05)
        ballast = fill(disk)
        driver.wait(timeout=300)
        assert driver.returncode == 2, log.read_text()[-3000:]
    return ballast


def test_a_disk_that_fills_up_mid_sweep_stops_the_driver_and_resume_completes_it(
    tmp_path: Path, data_dir: Path
) -> None:
    spec = write_sweep(tmp_path / "full.yaml", name="full", grid=GRID, datasets=DATA, max_concurrent_trials=1)
    env = cli_env(data_dir)
    with tmpfs(tmp_path / "disk", size="64m") as disk:
        storage = disk / "store"
        sweep_dir, log = storage / "full", tmp_path / "driver.log"
        args = ["sweep", "run", str(spec), "--storage", str(storage)]
        ballast = fill_once_a_trial_completed(args, env, sweep_dir, disk, log)

        last = log.read_text().strip().splitlines()[-1]
        resume = shlex.join(["acadp", "sweep", "resume", str(spec), "--storage", str(storage)])
        assert last.startswith(f"acadp: error: results store {sweep_dir} is full (No space left on device"), last
        assert last.endswith(f"free space on its device (or give another --storage), then `{resume}`"), last
        assert "Traceback" not in log.read_text()
        assert_every_file_whole(sweep_dir)
        done = len(results_by_key(sweep_dir))
        started = len([d for d in (sweep_dir / "trials").iterdir() if d.is_dir()])
        assert done < 3 and started <= done + 1, "a trial was started after the store filled up"
        assert not list(sweep_dir.glob("trials/*/error.json")) and not list(sweep_dir.glob("trials/*/attempts.json"))
        states = [trial["status"] for trial in status_json(spec, storage, env)["trials"]]
        assert "failed" not in states and states.count("completed") == done

        ballast.unlink()
        resumed = run_acadp(shlex.split(resume)[1:], env=env)  # the hint, word for word
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert_every_file_whole(sweep_dir)
        plan = plan_sweep(spec, storage=str(tmp_path / "unused"))
        expected = {config.key(): run_trial(config, threads=1, data_dir=data_dir).to_json() for config in plan.configs}
        results = results_by_key(sweep_dir)
        assert sorted(results) == sorted(expected)
        for key, result in results.items():
            assert comparable(result) == comparable(expected[key]), f"trial {key} differs from an uninterrupted run"
        assert_one_complete_run_per_point(f"sqlite:///{sweep_dir / 'mlflow.db'}", "full", sweep_dir)

        parquet = sweep_dir / "reduced" / "trials.parquet"
        before = pd.read_parquet(parquet)
        fill(disk)
        reduced = run_acadp(["reduce", str(spec), "--storage", str(storage)], env=env, timeout=300)
        lines = reduced.stderr.strip().splitlines()
        assert reduced.returncode == 2 and len(lines) == 1, reduced.stderr[-3000:]
        assert f"results store {sweep_dir} is full" in lines[0] and lines[0].endswith(
            f"then `{shlex.join(['acadp', 'reduce', str(spec), '--storage', str(storage)])}`"
        )
        pd.testing.assert_frame_equal(pd.read_parquet(parquet), before)
        assert not list(sweep_dir.rglob("*.tmp"))


def test_a_full_store_is_named_whatever_write_hits_it(tmp_path: Path) -> None:
    from acadp.errors import StoreFullError
    from acadp.store.results import ResultsStore

    with tmpfs(tmp_path / "disk", size="1m") as disk:
        store = ResultsStore(disk / "sweep")
        store.write_json("trials/a/result.json", {"success": 0.5})
        fill(disk)
        with pytest.raises(StoreFullError, match=r"results store .*/disk/sweep is full \(No space left on device"):
            store.write_bytes("trials/a/checkpoint/state.pt", b"\0" * 8192)
        with pytest.raises(StoreFullError, match=r"writing trials/a/result\.json"):
            store.write_json("trials/a/result.json", {"success": 0.75, "pad": "x" * 8192})
        assert json.loads((disk / "sweep" / "trials" / "a" / "result.json").read_text()) == {"success": 0.5}
        assert not list(disk.rglob("*.tmp"))


def test_each_writer_of_a_trial_raises_the_full_store_rather_than_failing_or_swallowing_it(tmp_path: Path) -> None:
    """The checkpoint, MLflow's SQLite child run (through the tracking guard) and an artifact copied into the store's
    artifact root: each ends in :class:`StoreFullError` naming the store, never in a trial failure or a silent skip."""
    from acadp.errors import StoreFullError
    from acadp.store.layout import LAYOUT
    from acadp.store.results import ResultsStore
    from acadp.sweep.backfill import mark_parent
    from acadp.sweep.outage import GuardedRun, TrackingHealth
    from acadp.sweep.tracking import TrialTracker, log_sweep_artifacts, setup_sweep_tracking
    from acadp.trial.checkpoint import TrialCheckpoint

    from .test_tracking_outage import config

    trial = config()
    with tmpfs(tmp_path / "disk", size="8m") as disk:
        store = ResultsStore(disk / "sweep")
        store.makedirs(LAYOUT.mlflow_artifacts)
        target = setup_sweep_tracking(
            tracking_uri=f"sqlite:///{disk / 'sweep' / LAYOUT.mlflow_db}", experiment="full", sweep_dir=store.uri,
            artifact_root=store.local_path(LAYOUT.mlflow_artifacts), spec_files=[],
        )  # fmt: skip
        figure = tmp_path / "figure.png"
        figure.write_bytes(b"\x89PNG" + b"\0" * 65536)
        fill(disk)
        named = r"results store .*/disk/sweep is full"
        with pytest.raises(StoreFullError, match=named):
            TrialCheckpoint(store, LAYOUT.trial(trial.key()).checkpoint).save(
                {"w": torch.zeros(4096)}, {"epochs_done": 1}
            )
        health = TrackingHealth(emit=lambda line: None)
        with pytest.raises(StoreFullError, match=named):
            GuardedRun(store, LAYOUT.trial(trial.key()).untracked, lambda: TrialTracker(target, trial), health=health)
        assert not health.reachable, "MLflow's full database counts as tracking down, not as a trial error"
        with pytest.raises(StoreFullError, match=named):  # as the reducer logs its outputs to the parent run
            if not health.succeeds(lambda: log_sweep_artifacts(target, [figure], base=tmp_path)):
                mark_parent(store, "the reducer's outputs are not logged yet", reduced=True)
        assert not list(disk.rglob("*.tmp"))
