"""Sweep service figures: quickstart wall time, slot efficiency, and time from resume to the first running trial.

Usage::

    python benchmarks/bench_sweep.py                       # runs the quickstart into a temporary directory (~10 min)
    python benchmarks/bench_sweep.py --existing results    # figures from a quickstart already run into ./results

Slot efficiency = Σ trial run time / (wall time × concurrent slots), with two readings of "trial run time": the time
inside ``run_trial`` (``result.json``'s ``seconds``: data, training, evaluation) and the time the Tune trial's
function ran (``progress.json``'s ``job_started_at`` to ``job_finished_at``: also its MLflow logging and result
writing). An audit occupies one slot per concurrent shadow for its ``seconds``. Both are reported over the whole
command and over the Tune phase alone (Ray start-up, MLflow set-up and the reduction excluded), from the driver's
``invocations.json``.
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


def busy_slot_seconds(sweep_dir: Path) -> tuple[float, float]:
    """(Σ run_trial seconds, Σ trial-function seconds), each + Σ audit seconds × concurrent shadows."""
    inside = job = 0.0
    for result in (sweep_dir / "trials").glob("*/result.json"):
        inside += json.loads(result.read_text())["seconds"]
        progress = json.loads(result.with_name("progress.json").read_text())
        job += _seconds(progress["job_started_at"], progress["job_finished_at"])
    for result in (sweep_dir / "audits").glob("*/result.json"):
        record = json.loads(result.read_text())
        audit = record["seconds"] * record["audit"]["lira"]["concurrent_shadows"]
        inside, job = inside + audit, job + audit
    return inside, job


def efficiency(sweep_dir: Path, *, wall: float | None, slots: int) -> None:
    invocation = json.loads((sweep_dir / "invocations.json").read_text())[-1]
    inside, job = busy_slot_seconds(sweep_dir)
    tune_wall = _seconds(invocation["tune_started_at"], invocation["tune_finished_at"])
    print(f"trials run: {invocation['trials']} grid points, {invocation['audits']} LiRA audits; {slots} slots")
    print(f"busy slot time: {inside:.0f} s inside run_trial, {job:.0f} s of trial functions")
    walls = [("Tune phase", tune_wall)] if wall is None else [("whole command", wall), ("Tune phase", tune_wall)]
    if wall is not None:
        print(f"quickstart wall time (whole command): {wall:.0f} s = {wall / 60:.1f} min")
    for name, seconds in walls:
        print(
            f"slot efficiency over the {name} ({seconds:.0f} s): {inside / (seconds * slots):.3f} (run_trial), "
            f"{job / (seconds * slots):.3f} (trial functions)"
        )


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
        killed = json.loads((sweep_dir / "driver.json").read_text())["invocation"]
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait()
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
            if invocation and invocation != killed and _first_running(sweep_dir, invocation):
                break
            if resumed.poll() is not None:
                raise SystemExit(f"`sweep resume` ended (exit code {resumed.returncode}) before any trial ran")
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
    parser.add_argument("--resume-only", action="store_true", help="only the resume-to-first-trial figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="acadp-bench-") as tmp:
        if args.resume_only:
            resume_latency(Path(tmp) / "resume")
            return
        storage = args.existing or Path(tmp) / "quickstart"
        wall = None if args.existing else run_quickstart(storage)
        efficiency(storage / "quickstart", wall=wall, slots=args.slots)
        if not args.skip_resume:
            resume_latency(Path(tmp) / "resume")


if __name__ == "__main__":
    main()
