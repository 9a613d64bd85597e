"""Storage and coordination faults, measured: for each fault, what the user sees, what was lost and how long it takes
to recover, on one small mnist5k sweep (3 SGD points run one at a time, 4 epochs each).

Usage::

    python benchmarks/bench_faults.py            # every fault (~10 min on 2 busy cores; the full disk needs root)
    python benchmarks/bench_faults.py --only locked stale

Prints a Markdown table (the one in docs/cluster.md). Every number is one run (no repeats) on a shared machine: read
the orders of magnitude, not the second digit. The tests (tests/sweep/test_disk_full.py, test_unwritable_store.py,
test_locked_tracking.py, test_live_driver.py, test_stop_signals.py, test_stale_ray_record.py, and
tests/config/test_yaml_source.py and the others docs/cluster.md lists) check the behaviour; this script only times
it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

# the tests' helpers: sweep files, CLI runs in their own sessions, the fault injectors
from sweep.helpers import background_acadp, cli_env, closed_port, ray_record, results_by_key, run_acadp, write_sweep  # noqa: E402
from sweep.mounts import fill, read_only_folder, tmpfs  # noqa: E402
from sweep.test_live_driver import lease_holder  # noqa: E402
from sweep.test_locked_tracking import write_lock  # noqa: E402
from sweep.test_stop_signals import mid_training  # noqa: E402

GRID = {"alpha": [0.0, 0.1, 0.2], "epsilon": ["inf"], "clip": ["none"], "arms": ["sgd"], "seed": [0]}
DATA = {"mnist5k": {"n_train": 400, "n_test": 150, "eval_every": 100, "training": {"epochs": 4, "batch_size": 50}}}
Row = tuple[str, str, str, str]


class Bench:
    """One folder, one data cache, one sweep file per fault."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = cli_env(root / "data")
        self.baseline: float | None = None  # wall seconds of the uninterrupted run, once measured

    def extra(self, wall: float) -> str:
        return "" if self.baseline is None else f" ({wall - self.baseline:+.0f} s against the reference)"

    def spec(self, name: str) -> Path:
        return write_sweep(self.root / f"{name}.yaml", name=name, grid=GRID, datasets=DATA, max_concurrent_trials=1)

    def run(self, *args: str, timeout: float = 1800) -> tuple[float, int, str]:
        began = time.monotonic()
        result = run_acadp(list(args), env=self.env, timeout=timeout)
        return time.monotonic() - began, result.returncode, result.stderr

    def until(self, condition: Callable[[], bool], driver: subprocess.Popen[bytes], log: Path) -> None:
        deadline = time.monotonic() + 600
        while not condition():
            if driver.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the driver ended before the fault: {log.read_text()[-2000:]}")
            time.sleep(0.05)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:160] + ("…" if len(lines[-1]) > 160 else "") if lines else ""


def _resumed_from(sweep_dir: Path) -> str:
    epochs = sorted(result["resumed_from_epoch"] for result in results_by_key(sweep_dir).values())
    return f"resumed from epochs {epochs}"


def baseline(bench: Bench) -> Row:
    spec = bench.spec("base")
    wall, code, _ = bench.run("sweep", "run", str(spec), "--storage", str(bench.root / "base"), "--no-reduce")
    bench.baseline = wall
    return ("none (reference)", f"exit {code}", "-", f"uninterrupted run {wall:.0f} s")


def disk_full(bench: Bench) -> Row:
    spec = bench.spec("full")
    with tmpfs(bench.root / "disk", size="64m") as disk:
        storage, log = disk / "store", bench.root / "full.log"
        sweep_dir = storage / "full"
        args = ["sweep", "run", str(spec), "--storage", str(storage), "--no-reduce"]
        with background_acadp(args, env=bench.env, log=log) as driver:
            bench.until(lambda: bool(list(sweep_dir.glob("trials/*/result.json"))), driver, log)
            ballast = fill(disk)
            filled = time.monotonic()
            code = driver.wait(timeout=600)
            stopped = time.monotonic() - filled
        kept = len(results_by_key(sweep_dir))
        ballast.unlink()
        wall, resumed, _ = bench.run("sweep", "resume", str(spec), "--storage", str(storage), "--no-reduce")
        return (
            "store's disk full mid-sweep",
            f"exit {code} {stopped:.0f} s after the fault: `{_last_line(log.read_text())}`",
            f"nothing: {kept} result(s) kept, no trial failed; {_resumed_from(sweep_dir)}",
            f"`sweep resume` (exit {resumed}) {wall:.0f} s",
        )


def read_only(bench: Bench) -> Row:
    spec = bench.spec("readonly")
    with read_only_folder(bench.root / "ro") as folder:
        wall, code, stderr = bench.run("sweep", "run", str(spec), "--storage", str(folder / "results"))
    return ("read-only store", f"exit {code} in {wall:.0f} s: `{_last_line(stderr)}`", "nothing created", "immediate")


def locked(bench: Bench) -> Row:
    from mlflow.tracking import MlflowClient

    spec, storage = bench.spec("locked"), bench.root / "locked"
    (storage / "locked").mkdir(parents=True)
    database = storage / "locked" / "mlflow.db"
    MlflowClient(f"sqlite:///{database}").search_experiments()
    with write_lock(database):
        wall, code, stderr = bench.run("sweep", "run", str(spec), "--storage", str(storage), "--no-reduce")
    warning = next((line for line in stderr.splitlines() if line.startswith("warning: MLflow")), "")
    synced, sync_code, _ = bench.run("sweep", "sync", str(spec), "--storage", str(storage))
    return (
        "MLflow's SQLite file locked for the whole run",
        f"exit {code}, run {wall:.0f} s{bench.extra(wall)}: `{warning[:120]}…`",
        f"nothing: {len(results_by_key(storage / 'locked'))} results stored, marked for tracking",
        f"`sweep sync` (exit {sync_code}) {synced:.0f} s",
    )


def live_driver(bench: Bench) -> Row:
    spec, storage = bench.spec("held"), bench.root / "held"
    with lease_holder(storage / "held"):
        wall, code, stderr = bench.run("sweep", "sync", str(spec), "--storage", str(storage))
    return ("`sweep sync` while a driver runs", f"exit {code} in {wall:.0f} s: `{_last_line(stderr)}`", "nothing", "-")


def sigterm(bench: Bench) -> Row:
    spec, storage, log = bench.spec("term"), bench.root / "term", bench.root / "term.log"
    sweep_dir = storage / "term"
    with background_acadp(["sweep", "run", str(spec), "--storage", str(storage)], env=bench.env, log=log) as driver:
        bench.until(lambda: mid_training(sweep_dir), driver, log)
        sent = time.monotonic()
        os.kill(driver.pid, signal.SIGTERM)
        code = driver.wait(timeout=600)
        stopped = time.monotonic() - sent
    kept = len(results_by_key(sweep_dir))
    wall, resumed, _ = bench.run("sweep", "resume", str(spec), "--storage", str(storage), "--no-reduce")
    return (
        "SIGTERM to the driver mid-training",
        f"exit {code} {stopped:.0f} s after the signal: `{_last_line(log.read_text())}`",
        f"nothing: {kept} result(s) kept; {_resumed_from(sweep_dir)}",
        f"`sweep resume` (exit {resumed}) {wall:.0f} s",
    )


def stale(bench: Bench) -> Row:
    ray_tmp = Path(tempfile.mkdtemp(prefix="acadp-ray-", dir="/tmp"))
    try:
        ray_record(ray_tmp, f"127.0.0.1:{closed_port()}")
        spec, storage = bench.spec("stale"), bench.root / "stale"
        began = time.monotonic()
        result = run_acadp(
            ["sweep", "run", str(spec), "--storage", str(storage), "--no-reduce"],
            env={**bench.env, "RAY_TMPDIR": str(ray_tmp)}, timeout=1800,
        )  # fmt: skip
        wall = time.monotonic() - began
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    note = next((line for line in result.stderr.splitlines() if "does not answer" in line), "")
    return (
        "stale local Ray record (dead head)",
        f"exit {result.returncode}, run {wall:.0f} s{bench.extra(wall)}: `{note[:110]}…`",
        "nothing",
        "≤ 3 s (the probe); before: minutes of Ray's warnings",
    )


def duplicate_key(bench: Bench) -> Row:
    spec = bench.spec("twice")
    spec.write_text(spec.read_text().replace("  seed:\n", "  seed: [1]\n  seed:\n", 1))
    wall, code, stderr = bench.run("sweep", "run", str(spec), "--storage", str(bench.root / "twice"))
    return ("a key given twice in the sweep file", f"exit {code} in {wall:.0f} s: `{_last_line(stderr)}`", "-", "-")


FAULTS: dict[str, Callable[[Bench], Row]] = {
    "baseline": baseline,
    "full": disk_full,
    "readonly": read_only,
    "locked": locked,
    "live": live_driver,
    "sigterm": sigterm,
    "stale": stale,
    "duplicate": duplicate_key,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=sorted(FAULTS), help="faults to measure (default: all)")
    args = parser.parse_args()
    chosen = args.only or list(FAULTS)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="acadp-faults-") as folder:
        bench = Bench(Path(folder))
        for name in chosen:
            try:
                rows.append(FAULTS[name](bench))
            except BaseException as error:  # a skipped mount (pytest.skip) or a failed run: say which, go on
                if isinstance(error, KeyboardInterrupt):
                    raise
                rows.append((name, f"not measured: {type(error).__name__}: {str(error)[:200]}", "-", "-"))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    print("| fault | what the user sees | what was lost | time to recover |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")


if __name__ == "__main__":
    main()
