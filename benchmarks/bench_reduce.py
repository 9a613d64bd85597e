"""Time the reducer on a synthetic sweep of ~100 000 trials (goal: table part <= 5 s).

Grid: 4 datasets × (10 finite ε × 5 clipping norms C + the non-private ε = ∞ reference) × 50 α × 10 seeds
= 102 000 trials, 5% of them left pending (missing points). The trials table is built directly as a DataFrame (not
from 100k pydantic records). Timed separately: the pure table part (aggregation, critical mass with a 1000-resample
bootstrap at two thresholds, CSV/Markdown/LaTeX rendering), the figures, and the dashboard.

Run: ``python benchmarks/bench_reduce.py [--quickstart results]``; with ``--quickstart`` it also prints the
quickstart's critical-mass table and checks its dashboard in headless chromium (a screenshot that is not blank, the
figures and tables present after the page's scripts ran, no script errors).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from acadp.reduce.collect import coerce_trials_frame
from acadp.reduce.dashboard import DashboardTable, render_dashboard
from acadp.reduce.report import compute_tables, reduce_frame, sweep_figures
from acadp.reduce.tables import render_table

T = TypeVar("T")
DATASETS = ("mnist", "cifar10", "bank", "mnist5k")
EPSILONS = (0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 16.0, 32.0)
CLIPS = (0.1, 0.5, 1.0, 2.0, 5.0)
ALPHAS = np.linspace(0.0, 0.25, 50)
SEEDS = 10


def synthetic_trials(seed: int = 0) -> pd.DataFrame:
    """The synthetic trials table: S(alpha) is a logistic curve whose steepness grows with epsilon, plus noise."""
    groups = [(d, e, c) for d in DATASETS for e in EPSILONS for c in CLIPS] + [(d, np.inf, np.nan) for d in DATASETS]
    dataset, epsilon, clip = (np.repeat(np.array(column), ALPHAS.size * SEEDS) for column in zip(*groups, strict=True))
    alpha = np.tile(np.repeat(ALPHAS, SEEDS), len(groups))
    seeds = np.tile(np.arange(SEEDS), len(groups) * ALPHAS.size)
    rng = np.random.default_rng(seed)
    steepness = np.where(np.isinf(epsilon), 60.0, 6.0 * np.sqrt(epsilon))
    success = 1 / (1 + np.exp(-(alpha * steepness - 3))) + rng.normal(0, 0.03, alpha.size)
    status = np.where(rng.uniform(size=alpha.size) < 0.05, "pending", "completed")
    done = status == "completed"
    frame = pd.DataFrame(
        {
            "key": [f"{i:016x}" for i in range(alpha.size)],
            "dataset": dataset,
            "alpha": alpha,
            "epsilon": epsilon.astype(float),
            "clip": clip.astype(float),
            "seed": seeds,
            "status": status,
            "success": np.where(done, np.clip(success, 0, 1), np.nan),
            "test_accuracy": np.where(done, 0.98 - 0.2 / (1 + epsilon) + rng.normal(0, 0.005, alpha.size), np.nan),
        }
    )
    return coerce_trials_frame(frame)


def timed(label: str, action: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    value = action()
    seconds = time.perf_counter() - start
    print(f"{label:<48s} {seconds:7.2f} s")
    return value, seconds


CHROMIUM_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip


def check_dashboard(dashboard: Path) -> None:
    """Screenshot and DOM of the dashboard in headless chromium: blank or broken pages are reported."""
    from matplotlib.image import imread

    chromium = shutil.which("chromium")
    if chromium is None:
        print("chromium not found: install Debian's chromium for the screenshot check")
        return
    with tempfile.TemporaryDirectory() as tmp:
        base = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp}/profile", "--window-size=1300,2600"]
        shot = Path(tmp) / "dashboard.png"
        subprocess.run(
            [*base, f"--screenshot={shot}", dashboard.as_uri()], capture_output=True, timeout=120, check=False
        )
        dom = subprocess.run(
            [*base, "--virtual-time-budget=5000", "--dump-dom", dashboard.as_uri() + "#selftest"],
            capture_output=True, text=True, timeout=120, check=False,
        ).stdout  # fmt: skip
        pixels = imread(shot)[..., :3]
    inked = float((pixels.min(axis=2) < 0.9).mean())
    errors = re.search(r'id="js-errors"[^>]*>(.*?)</', dom, re.S)
    error_text = (errors.group(1).strip() or "none") if errors else "none"
    self_test = "passed" if 'data-status="pass"' in dom else "NOT passed"
    print(f"dashboard screenshot: {pixels.shape[1]}×{pixels.shape[0]} px, {inked:.1%} of pixels inked (blank = 0%)")
    print(
        f"dashboard DOM: {dom.count('<img')} figures, {dom.count('<table')} tables, sort self-test {self_test}, "
        f"script errors: {error_text}"
    )


def quickstart(results: Path) -> None:
    reduced = results / "quickstart" / "reduced"
    table = reduced / "critical_mass.md"
    if not table.exists():
        print(f"\n(no {table}: run `acadp sweep run sweeps/quickstart.yaml` first)")
        return
    print(f"\nquickstart critical mass ({table}):\n")
    print(table.read_text())
    check_dashboard(reduced / "dashboard.html")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quickstart", type=Path, help="storage root of a finished quickstart (e.g. results)")
    args = parser.parse_args()
    trials, _ = timed("build synthetic trials table", synthetic_trials)
    print(f"trials: {len(trials)} rows, {trials['status'].eq('completed').sum()} completed")
    tables, t_tables = timed(
        "aggregate + critical mass (n_boot=1000, 2 S*)",
        lambda: compute_tables(trials, lira_rows=None, thresholds=(0.5, 0.9), n_boot=1000),
    )
    _, t_render = timed("render CSV + Markdown + LaTeX", lambda: [render_table(n, f) for n, f in tables.items()])
    print(f"{'TABLE PART TOTAL (goal <= 5 s)':<48s} {t_tables + t_render:7.2f} s")
    print("rows: " + ", ".join(f"{name} {len(frame)}" for name, frame in tables.items()))
    figures, _ = timed("figures (PNG + SVG)", lambda: sweep_figures(trials, tables, None))
    dashboard_tables = [DashboardTable(name, frame) for name, frame in tables.items()]
    html, _ = timed(
        "dashboard HTML",
        lambda: render_dashboard(sweep_name="bench", trials=trials, figures=figures, tables=dashboard_tables),
    )
    print(f"figures: {len(figures)}, dashboard: {len(html) / 1e6:.1f} MB")
    with tempfile.TemporaryDirectory() as out:
        timed(
            "reduce_frame end to end (writes all files)",
            lambda: reduce_frame(trials=trials, lira_rows=None, roc_curves=None, out_dir=Path(out), sweep_name="bench"),
        )
    if args.quickstart is not None:
        quickstart(args.quickstart)


if __name__ == "__main__":
    main()
