"""Tracking outage figures: wall time of one small sweep with the tracking server up, killed mid-run, and down from
the start, and the time ``acadp sweep sync`` takes to backfill what could not be logged.

Usage::

    python benchmarks/bench_tracking.py                    # 12-point mnist5k sweep, server killed after 45 s (~6 min)
    python benchmarks/bench_tracking.py --kill-after 20 --seeds 1
    python benchmarks/bench_tracking.py --guard-only       # the guard's figures only (seconds)

Every number is one run (no repeats): read the ratios, not the second digit. The issue's goal is a wall time with the
server down within ~1.2x of the same sweep with it up.

First, the guard alone (no sweep): how long a trial's process takes to give up on a tracker at a closed port with the
default HTTP budget (goal < 10 s), and to skip tracking once it has failed (goal < 1 s: the budget is not spent twice).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

# the tests' helpers: sweep file, CLI runs in their own sessions, a real MLflow server on 127.0.0.1, by-PID clean-up
from sweep.helpers import (  # noqa: E402
    background_acadp,
    cli_env,
    free_port,
    kill_session,
    results_by_key,
    run_acadp,
    write_sweep,
)
from sweep.test_tracking_outage_e2e import mlflow_server  # noqa: E402


def _sweep(root: Path, name: str, port: int, seeds: int) -> Path:
    grid = {"alpha": [0.0, 0.2], "epsilon": [8, "inf"], "clip": ["none", 1.0], "arms": ["sgd", "dpsgd"]}
    return write_sweep(
        root / f"{name}.yaml",
        name=name,
        tracking_uri=f"http://127.0.0.1:{port}",
        grid={**grid, "seed": list(range(seeds))},
    )


def _run(spec: Path, storage: Path, env: dict[str, str], log: Path, *, kill: tuple[int, float] | None) -> float:
    """Wall seconds of ``acadp sweep run --no-reduce``; ``kill``: (server PID, seconds after start) to kill it."""
    began = time.monotonic()
    args = ["sweep", "run", str(spec), "--storage", str(storage), "--no-reduce"]
    with background_acadp(args, env=env, log=log) as driver:
        if kill is not None:
            pid, after = kill
            while driver.poll() is None and time.monotonic() - began < after:
                time.sleep(0.2)
            kill_session(pid)
        code = driver.wait(timeout=3600)
    wall = time.monotonic() - began
    if code != 0:
        raise SystemExit(f"sweep failed ({code}): {log.read_text()[-2000:]}")
    return wall


def _sync(spec: Path, storage: Path, env: dict[str, str]) -> float:
    began = time.monotonic()
    synced = run_acadp(["sweep", "sync", str(spec), "--storage", str(storage)], env=env, timeout=1800)
    if synced.returncode != 0:
        raise SystemExit(f"sync failed: {synced.stderr[-2000:]}")
    return time.monotonic() - began


def _awaiting(storage: Path, name: str) -> int:
    return len(list((storage / name).glob("trials/*/untracked.json")))


def _guard_seconds(root: Path) -> tuple[float, float]:
    """(seconds to give up on a tracker at a closed port, seconds to skip it the next time) in this process."""
    import math

    from acadp.config.options import TrialOptions, build_trial_config
    from acadp.store.results import ResultsStore
    from acadp.sweep.outage import GuardedRun, TrackingHealth, apply_http_budget
    from acadp.sweep.tracking import TrackingTarget, TrialTracker

    apply_http_budget()
    trial = build_trial_config(TrialOptions(dataset="mnist5k", alpha=0.1, epsilon=math.inf, n_train=64))
    target = TrackingTarget(f"http://127.0.0.1:{free_port()}", "1", "parent")  # nothing listens there
    store, health = ResultsStore(root / "guard"), TrackingHealth(emit=lambda line: None)
    seconds = []
    for _ in range(2):
        began = time.monotonic()
        GuardedRun(store, "untracked.json", lambda: TrialTracker(target, trial), health=health)
        seconds.append(time.monotonic() - began)
    return seconds[0], seconds[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kill-after", type=float, default=45.0, help="seconds into the run to kill the server")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per grid point (4 points per seed)")
    parser.add_argument("--guard-only", action="store_true", help="only the guard's two figures (seconds, no sweep)")
    parser.add_argument("--data-dir", type=Path, help="a dataset cache holding mnist5k (else prepared first, untimed)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="acadp-bench-tracking-") as tmp:
        root = Path(tmp)
        first, again = _guard_seconds(root)
        print(
            f"tracker at a closed port: gave up after {first:.2f} s (goal < 10), skipped after {again:.3f} s (goal < 1)"
        )
        if options.guard_only:
            return
        env = cli_env(options.data_dir or root / "data")
        if options.data_dir is None:  # dataset preparation stays out of the first timed run
            warm = [
                "trial",
                "--dataset",
                "mnist5k",
                "--alpha",
                "0",
                "--epsilon",
                "inf",
                "--n-train",
                "100",
                "--epochs",
                "1",
            ]
            run_acadp(warm, env=env, timeout=1800)
        rows: list[tuple[str, float, int, int, float | None]] = []
        for case in ("up", "down-mid-run", "down-from-start"):
            case_root = root / case
            case_root.mkdir()
            port, storage = free_port(), case_root / "store"
            spec = _sweep(case_root, case, port, options.seeds)
            log = case_root / "run.log"
            if case == "down-from-start":
                wall = _run(spec, storage, env, log, kill=None)
            else:
                with mlflow_server(case_root, port) as server:
                    kill = (server.pid, options.kill_after) if case == "down-mid-run" else None
                    wall = _run(spec, storage, env, log, kill=kill)
            awaiting = _awaiting(storage, case)
            backfill = None
            if awaiting or (storage / case / "untracked.json").exists():
                with mlflow_server(case_root, port):
                    backfill = _sync(spec, storage, env)
            rows.append((case, wall, len(results_by_key(storage / case)), awaiting, backfill))
        base = rows[0][1]
        print(
            f"sweep: {4 * options.seeds} mnist5k grid points, 2 epochs each; server killed {options.kill_after:g} s in"
        )
        print(f"{'tracking server':<16} {'wall s':>7} {'ratio':>6} {'results':>8} {'untracked':>10} {'backfill s':>11}")
        for case, wall, results, awaiting, backfill in rows:
            sync_text = "-" if backfill is None else f"{backfill:.1f}"
            print(f"{case:<16} {wall:7.1f} {wall / base:6.2f} {results:8d} {awaiting:10d} {sync_text:>11}")
        print("backfill s: one `acadp sweep sync` with the server back (process start, MLflow import, all runs)")


if __name__ == "__main__":
    main()
