"""Sweep service figures: quickstart wall time, slot efficiency, and time from resume to the first running trial.

Usage::

    python benchmarks/bench_sweep.py                       # runs the quickstart into a temporary directory (~10 min)
    python benchmarks/bench_sweep.py --existing results    # figures from a quickstart already run into ./results

Slot efficiency = Σ trial run time / (wall time × concurrent slots). Trial run time is what each trial spent inside
``run_trial`` (``result.json``'s ``seconds``); an audit occupies one slot per concurrent shadow for its ``seconds``.
It is reported over the whole command and over the Tune phase alone (Ray start-up, MLflow set-up and the reduction
excluded), from the driver's ``invocations.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ACADP = str(Path(sys.executable).with_name("acadp"))
sys.path.insert(0, str(ROOT / "tests"))

from sweep.helpers import kill_session  # noqa: E402  (the tests' by-session process clean-up)


def _seconds(start: str, end: str) -> float:
    return (dt.datetime.fromisoformat(end) - dt.datetime.fromisoformat(start)).total_seconds()


def busy_slot_seconds(sweep_dir: Path) -> float:
    """Σ trial seconds + Σ audit seconds × concurrent shadows."""
    total = 0.0
    for result in (sweep_dir / "trials").glob("*/result.json"):
        total += json.loads(result.read_text())["seconds"]
    for result in (sweep_dir / "audits").glob("*/result.json"):
        record = json.loads(result.read_text())
        total += record["seconds"] * record["audit"]["lira"]["concurrent_shadows"]
    return total


def efficiency(sweep_dir: Path, *, wall: float | None, slots: int) -> None:
    invocation = json.loads((sweep_dir / "invocations.json").read_text())[-1]
    busy = busy_slot_seconds(sweep_dir)
    tune_wall = _seconds(invocation["tune_started_at"], invocation["tune_finished_at"])
    print(f"trials run: {invocation['trials']} grid points, {invocation['audits']} LiRA audits; {slots} slots")
    print(f"busy slot time: {busy:.0f} s")
    if wall is not None:
        print(f"quickstart wall time (whole command): {wall:.0f} s = {wall / 60:.1f} min")
        print(f"slot efficiency over the whole command: {busy / (wall * slots):.3f}")
    print(f"Tune phase: {tune_wall:.0f} s; slot efficiency over the Tune phase: {busy / (tune_wall * slots):.3f}")


def run_quickstart(storage: Path) -> float:
    start = time.perf_counter()
    process = subprocess.Popen(
        [ACADP, "sweep", "run", str(ROOT / "sweeps" / "quickstart.yaml"), "--storage", str(storage)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        code = process.wait()
    finally:
        kill_session(process.pid)
    if code != 0:
        raise SystemExit(f"the quickstart failed with exit code {code}")
    return time.perf_counter() - start


def _first_running(sweep_dir: Path, invocation: str) -> bool:
    for progress in (sweep_dir / "trials").glob("*/progress.json"):
        try:
            if json.loads(progress.read_text()).get("invocation") == invocation:
                return True
        except (OSError, ValueError):
            continue
    return False


def resume_latency(storage: Path) -> None:
    """SIGKILL a smoke sweep once a trial finished, then time ``sweep resume`` until a trial of it is running."""
    spec = ROOT / "sweeps" / "quickstart.yaml"
    sweep_dir = storage / "quickstart-smoke"
    driver = subprocess.Popen(
        [ACADP, "sweep", "run", str(spec), "--smoke", "--storage", str(storage), "--no-reduce"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        while not list((sweep_dir / "trials").glob("*/result.json")):
            time.sleep(0.2)
        os.kill(driver.pid, signal.SIGKILL)
    finally:
        kill_session(driver.pid)
    start = time.perf_counter()
    resumed = subprocess.Popen(
        [ACADP, "sweep", "resume", str(spec), "--smoke", "--storage", str(storage), "--no-reduce"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        while True:
            driver_file = sweep_dir / "driver.json"
            invocation = json.loads(driver_file.read_text())["invocation"] if driver_file.exists() else None
            if invocation and _first_running(sweep_dir, invocation):
                break
            time.sleep(0.1)
        latency = time.perf_counter() - start
        resumed.wait()
    finally:
        kill_session(resumed.pid)
    print(f"time from `sweep resume` to the first running trial: {latency:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--existing", type=Path, help="storage root of a quickstart already run (skips the run)")
    parser.add_argument("--slots", type=int, default=os.cpu_count() or 1, help="concurrent slots (CPUs)")
    parser.add_argument("--skip-resume", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="acadp-bench-") as tmp:
        storage = args.existing or Path(tmp) / "quickstart"
        wall = None if args.existing else run_quickstart(storage)
        efficiency(storage / "quickstart", wall=wall, slots=args.slots)
        if not args.skip_resume:
            resume_latency(Path(tmp) / "resume")


if __name__ == "__main__":
    main()
