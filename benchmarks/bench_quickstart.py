"""The quickstart's science figures: α* per arm with bootstrap CIs, clean accuracy and base rate per arm, the verdict,
and the sweep's wall time.

Usage::

    python benchmarks/bench_quickstart.py                         # runs sweeps/quickstart.yaml into a temporary dir
    python benchmarks/bench_quickstart.py --existing results      # figures from a quickstart already run there

The wall time is the driver's own record of the invocation (``invocations.json``: from start to the end of the
reduction); the checks of the quickstart's goals (issue "arms") are printed as measured, pass or fail.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
ACADP = str(Path(sys.executable).with_name("acadp"))
SWEEP = ROOT / "sweeps" / "quickstart.yaml"
THRESHOLD = 0.5


def run_quickstart(storage: Path) -> float:
    """Run the quickstart into ``storage``; returns the command's wall seconds."""
    began = time.monotonic()
    subprocess.run([ACADP, "sweep", "run", str(SWEEP), "--storage", str(storage)], check=True)
    return time.monotonic() - began


def invocation_seconds(sweep_dir: Path) -> float:
    """Seconds of the last invocation, from the driver's record."""
    record = json.loads((sweep_dir / "invocations.json").read_text())[-1]
    started, finished = record.get("started_at"), record.get("finished_at")
    if not started or not finished:
        return math.nan
    return (dt.datetime.fromisoformat(finished) - dt.datetime.fromisoformat(started)).total_seconds()


def arm_table(trials: pd.DataFrame) -> pd.DataFrame:
    """Per arm: clean accuracy and base rate at α = 0 (seed mean, min over seeds), and the largest base rate."""
    done = trials[trials["status"] == "completed"]
    at_zero = done[done["alpha"] == 0].groupby("arm")
    return pd.DataFrame(
        {
            "acc@α=0 mean": at_zero["test_accuracy"].mean(),
            "acc@α=0 min": at_zero["test_accuracy"].min(),
            "base@α=0": at_zero["base_rate"].mean(),
            "max base (any α)": done.groupby("arm")["base_rate"].max(),
            "ε spent": done.groupby("arm")["epsilon_spent"].max(),
            "σ": done.groupby("arm")["noise_multiplier"].max(),
            "clipped (last epoch)": done.groupby("arm")["clipped_fraction"].mean(),
        }
    )


def goals(critical: pd.DataFrame, arms: pd.DataFrame) -> list[str]:
    """The quickstart's goals at S* = 0.5, each as measured."""
    rows = critical[(critical["metric"] == "success") & (critical["threshold"] == THRESHOLD)].set_index("arm")
    dp = rows[rows["epsilon"].map(math.isfinite)].sort_values("epsilon", ascending=False)
    order = ["SGD", *dp.index]
    stars = [float(rows.loc[arm, "alpha_star"]) for arm in order]
    strongest = dp.index[-1]
    lines = [f"α*(S*={THRESHOLD}) per arm: " + ", ".join(f"{a} {s:.4f}" for a, s in zip(order, stars, strict=True))]
    clip_only = rows[[arm.startswith("clip") for arm in rows.index]]["alpha_star"].astype(float)
    finite = all(math.isfinite(s) for s in [*stars, *clip_only])
    lines.append(f"finite α* for SGD, clip only and every DP arm: {'yes' if finite else 'no'}")
    rising = all(b > a for a, b in itertools.pairwise(stars))
    lines.append(f"α* rises as privacy strengthens ({' < '.join(order)}): {'yes' if rising else 'no'}")
    disjoint = float(rows.loc["SGD", "ci_high"]) < float(rows.loc[strongest, "ci_low"])
    lines.append(
        f"CIs of SGD [{rows.loc['SGD', 'ci_low']:.4f}, {rows.loc['SGD', 'ci_high']:.4f}] and {strongest} "
        f"[{rows.loc[strongest, 'ci_low']:.4f}, {rows.loc[strongest, 'ci_high']:.4f}] disjoint: "
        f"{'yes' if disjoint else 'no'}"
    )
    accuracy = float(arms.loc[strongest, "acc@α=0 mean"])
    lines.append(
        f"clean accuracy at α = 0 of {strongest}: {accuracy:.3f} (goal ≥ 0.85: {'yes' if accuracy >= 0.85 else 'no'})"
    )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--existing", type=Path, help="storage of a quickstart already run (its <name>/ inside)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="acadp-bench-quickstart-") as tmp:
        storage = options.existing or Path(tmp)
        command_seconds = math.nan if options.existing else run_quickstart(storage)
        sweep_dir = storage / "quickstart"
        reduced = sweep_dir / "reduced"
        trials = pd.read_parquet(reduced / "trials.parquet")
        critical = pd.read_csv(reduced / "critical_mass.csv")
        arms = arm_table(trials)
        print(f"sweep wall time: {invocation_seconds(sweep_dir) / 60:.1f} min (driver's record)", end="")
        print("" if math.isnan(command_seconds) else f"; whole command {command_seconds / 60:.1f} min")
        print(f"trials completed: {int((trials['status'] == 'completed').sum())} of {len(trials)}\n")
        print((reduced / "critical_mass.md").read_text())
        print(arms.to_string(float_format=lambda v: f"{v:.3f}"), "\n")
        print((reduced / "verdict.md").read_text())
        print((reduced / "contrasts.md").read_text())
        print("\n".join(goals(critical, arms)))


if __name__ == "__main__":
    main()
