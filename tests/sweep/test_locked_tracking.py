"""MLflow's SQLite file locked by another process (a second writer holding a write transaction) during a whole sweep:
each MLflow write waits SQLite's bounded busy timeout, then the results-first path takes over — the sweep completes,
its results are marked for tracking, the user sees one warning (no traceback) and the exact sync command; after the
lock is gone, that command logs exactly one run per point with its full history, and closes the parent run."""

from __future__ import annotations

import shlex
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlflow.tracking import MlflowClient

from .helpers import cli_env, results_by_key, run_acadp, status_json, write_sweep
from .test_tracking_outage_e2e import assert_one_complete_run_per_point, child_runs

GRID = {"alpha": [0.0, 0.2], "epsilon": ["inf"], "clip": ["none"], "arms": ["sgd"], "seed": [0]}
HOLD_WRITE_LOCK = """
import sqlite3, sys
database = sqlite3.connect(sys.argv[1], isolation_level=None)
database.execute("BEGIN IMMEDIATE")  # the write lock, held until told to roll back
print("locked", flush=True)
sys.stdin.readline()
database.execute("ROLLBACK")
"""


@contextmanager
def write_lock(database: Path) -> Iterator[None]:
    """Another process holds a write transaction on ``database`` for the block."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(database)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with sqlite3.connect(database, timeout=0) as probe:  # the lock is real: a second writer is refused
            try:
                probe.execute("BEGIN IMMEDIATE")
                raise AssertionError("the database is not locked")
            except sqlite3.OperationalError as error:
                assert "locked" in str(error)
        yield
    finally:
        if holder.poll() is None:
            assert holder.stdin is not None
            holder.stdin.write("\n")
            holder.stdin.flush()
        holder.wait(timeout=30)


def test_a_locked_tracking_store_loses_nothing_and_sync_logs_one_run_per_point(tmp_path: Path, data_dir: Path) -> None:
    spec = write_sweep(tmp_path / "locked.yaml", name="locked", grid=GRID)
    storage, env = tmp_path / "store", cli_env(data_dir)
    sweep_dir = storage / "locked"
    sweep_dir.mkdir(parents=True)
    uri = f"sqlite:///{sweep_dir / 'mlflow.db'}"
    MlflowClient(uri).search_experiments()  # the database exists (its tables made) before another process locks it
    sync = shlex.join(["acadp", "sweep", "sync", str(spec), "--storage", str(storage)])
    with write_lock(sweep_dir / "mlflow.db"):
        result = run_acadp(["sweep", "run", str(spec), "--storage", str(storage), "--no-reduce"], env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        assert "Traceback" not in result.stderr
        warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: MLflow")]
        assert len(warnings) == 1 and "locked by another process" in warnings[0], result.stderr[-3000:]
        assert f"2 results await tracking (`{sync}` logs them)" in result.stderr
        assert len(results_by_key(sweep_dir)) == 2
        assert status_json(spec, storage, env)["awaiting_tracking"] == 2
    synced = run_acadp(shlex.split(sync)[1:], env=env)  # the printed command, word for word
    assert synced.returncode == 0, synced.stderr[-3000:]
    assert "2 results logged to MLflow; nothing awaits tracking" in synced.stderr
    assert_one_complete_run_per_point(uri, "locked", sweep_dir)
    parents, _ = child_runs(uri, "locked")
    assert parents[0].info.status == "FINISHED"
