"""How fast the command line answers (issue 27): each command's wall time, the median of several fresh processes, in
seconds and as a multiple of ``python -c pass`` on the same machine at the same time (start-up of a bare
interpreter: the ratio is what stays comparable on a loaded machine).

Goals: every ``--help`` ≤ 0.5 s; ``sweep status`` of the 160-point quickstart ≤ 1.5 s (``--json`` too); ``sweep
status`` of the quickstart search ≤ 2 s; ``sweep plan`` and ``datasets`` ≤ 1.5 s.

The stores are built first, in a temporary folder, with the real layout (``acadp.store.layout``): one real trial of
the quickstart's recipe is trained (400 digits, 6 epochs), and its ``result.json`` is copied to every point of
``sweeps/quickstart.yaml`` (160) and to every point a dose-response search of ``sweeps/quickstart_search.yaml``
runs, each copy with its point's coordinates and a success S drawn from a logistic dose-response curve per arm
(:data:`CURVES`), so that the search replays several rounds of fits. Nothing here is a science result.

    python benchmarks/bench_cli.py [--runs 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from acadp.config.trial import TrialConfig
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.sweep.plan import plan_sweep
from acadp.trial.result import TrialResult

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART, SEARCH = ROOT / "sweeps" / "quickstart.yaml", ROOT / "sweeps" / "quickstart_search.yaml"
ACADP = str(Path(sys.executable).with_name("acadp"))
# arm kind → (alpha at S = 0.5, slope in log alpha) of the synthetic success curves
CURVES = {"sgd": (0.015, 4.0), "clip": (0.05, 4.0), "dpsgd": (0.06, 3.5)}


def _success(config: TrialConfig) -> float:
    """S of the synthetic store: a logistic curve in log alpha per arm kind (DP at ε = 2 a little later than at
    ε = 8), plus a seed's deterministic noise, clipped to [0, 1]."""
    middle, slope = CURVES[config.arm_kind]
    if config.arm_kind == "dpsgd" and config.epsilon < 8:
        middle *= 1.2
    noise = np.random.default_rng([config.seed, round(config.alpha * 1e6)]).normal(0.0, 0.03)
    base = 1.0 / (1.0 + math.exp(-slope * (math.log(config.alpha) - math.log(middle)))) if config.alpha > 0 else 0.01
    return float(min(max(base + noise, 0.0), 1.0))


def _real_result() -> TrialResult:
    """One trial of the quickstart's recipe (the DP ε = 8 arm), trained here on 400 digits."""
    from acadp.trial.run import run_trial

    plan = plan_sweep(QUICKSTART)
    config = next(c for c in plan.configs if c.arm_kind == "dpsgd" and c.alpha > 0)
    small = TrialConfig.model_validate({**config.canonical(), "n_train": 400, "n_test": 200})
    return run_trial(small, threads=1)


def _write(store: ResultsStore, template: TrialResult, config: TrialConfig) -> float:
    success = _success(config)
    result = template.model_copy(
        update={
            "trial_key": config.key(), "label": config.label(), "config": config, "dataset": config.dataset,
            "alpha": config.alpha, "epsilon": config.epsilon, "clip": config.clip, "arm": config.arm,
            "seed": config.seed, "success": success, "lift": success - template.base_rate,
        }
    )  # fmt: skip
    paths = LAYOUT.trial(config.key())
    store.write_json(paths.config, config.canonical())
    store.write_json(paths.result, result.to_json())
    return success


def build_stores(root: Path, template: TrialResult) -> None:
    """The quickstart's 160 points, and a finished dose-response search of the quickstart search, under ``root``."""
    from acadp.reduce.search_dose import next_round
    from acadp.sweep.search import search_arms

    grid = plan_sweep(QUICKSTART, storage=str(root))
    store = grid.open_store()
    for config in grid.configs:
        _write(store, template, config)
    searched = plan_sweep(SEARCH, storage=str(root))
    store = searched.open_store()
    assert searched.spec.grid.search is not None
    for arm in search_arms(searched.spec.grid.search, searched.spec.trial_configs()):
        completed: dict[tuple[float, int], float] = {}
        while points := next_round(arm.settings, completed, arm.templates):
            for alpha, seed in points:
                completed[(alpha, seed)] = _write(store, template, arm.config_at(alpha, seed))


@dataclass(frozen=True)
class Timing:
    """Medians over fresh runs of one command: wall seconds, and CPU seconds (user + system) of the process."""

    wall: float
    cpu: float


def timing(command: list[str], *, runs: int, before: list[str] | None = None, refused: bool = False) -> Timing:
    """Medians of ``runs`` fresh runs of ``command`` (``before`` runs untimed ahead of each); it must succeed, or
    with ``refused`` exit with status 2 (a refusal)."""
    walls, cpus = [], []
    for _ in range(runs):
        if before is not None:
            subprocess.run(before, capture_output=True, check=True)
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - began)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - used.ru_utime + after.ru_stime - used.ru_stime)
        if done.returncode != (2 if refused else 0):
            raise SystemExit(f"{' '.join(command)} exited with {done.returncode}: {done.stderr.strip()}")
    return Timing(wall=statistics.median(walls), cpu=statistics.median(cpus))


def commands(storage: Path) -> list[tuple[str, list[str], float | None]]:
    """(name, argv, goal in seconds or None) of every command measured."""
    helps = [[], ["trial"], ["datasets"], ["reduce"], ["ui"], ["lira"], ["audit-one-run"], ["data"], ["data", "fetch"]]
    helps += [["sweep"]]
    helps += [["sweep", name] for name in ("plan", "run", "resume", "status", "sync", "submit")]
    rows: list[tuple[str, list[str], float | None]] = [
        (f"acadp {' '.join([*words, '--help'])}", [ACADP, *words, "--help"], 0.5) for words in helps
    ]
    at = ["--storage", str(storage)]
    rows += [
        ("acadp --version", [ACADP, "--version"], 0.5),
        ("acadp sweep status quickstart (160 points)", [ACADP, "sweep", "status", str(QUICKSTART), *at], 1.5),
        ("acadp sweep status quickstart --json", [ACADP, "sweep", "status", str(QUICKSTART), *at, "--json"], 1.5),
        ("acadp sweep status quickstart --summary", [ACADP, "sweep", "status", str(QUICKSTART), *at, "--summary"], 1.5),
        ("acadp sweep status quickstart_search", [ACADP, "sweep", "status", str(SEARCH), *at], 2.0),
        ("acadp sweep plan quickstart", [ACADP, "sweep", "plan", str(QUICKSTART), *at], 1.5),
        ("acadp sweep plan quickstart_search", [ACADP, "sweep", "plan", str(SEARCH), *at], 1.5),
        ("acadp datasets", [ACADP, "datasets"], 1.5),
        # no goal: a refusal (exit 2), shown to say that a command that trains refuses bad options before torch
        ("acadp trial --epsilon abc (refused)", [ACADP, "trial", "--epsilon", "abc"], None),
    ]
    return rows


def _measure(storage: Path, runs: int) -> list[tuple[str, Timing, float | None]]:
    return [(name, timing(command, runs=runs, refused=goal is None), goal) for name, command, goal in commands(storage)]


def _print(rows: list[tuple[str, Timing, float | None]], *, baseline: Timing, cold: Timing, runs: int) -> None:
    load = os.getloadavg()[0]
    print(
        f"\n{os.cpu_count()} CPUs, load average {load:.1f}; python -c pass: {baseline.wall:.3f} s wall, "
        f"{baseline.cpu:.3f} s CPU (medians of {runs} runs)"
    )
    print("met: wall time within the goal; CPU: the process's CPU time within it (what the wall time is on an idle")
    print("machine, give or take file reads; on a loaded one the wall time also counts the wait for a core)")
    print(f"{'command':<52} {'wall s':>7} {'× pass':>7} {'CPU s':>6} {'goal':>6}  {'met':>3}  CPU")
    for name, measured, goal in rows:
        met = "" if goal is None else ("yes" if measured.wall <= goal else "NO")
        cpu_met = "" if goal is None else ("yes" if measured.cpu <= goal else "NO")
        goal_text = "" if goal is None else f"{goal:g} s"
        ratio = measured.wall / baseline.wall
        print(f"{name:<52} {measured.wall:7.3f} {ratio:7.1f} {measured.cpu:6.2f} {goal_text:>6}  {met:>3}  {cpu_met}")
    name = "acadp sweep status quickstart_search, fits not kept"
    print(f"{name:<52} {cold.wall:7.3f} {cold.wall / baseline.wall:7.1f} {cold.cpu:6.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per command (the median is shown)")
    parser.add_argument("--keep", type=Path, help="build the stores here and keep them (default: a temporary folder)")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="acadp-bench-cli-"))
    try:
        if not (root / "quickstart_search" / "trials").is_dir():
            print(f"building the stores under {root} (one real trial, then copies) ...", flush=True)
            build_stores(root, _real_result())
        search_store = plan_sweep(SEARCH, storage=str(root)).open_store()
        search_status = [ACADP, "sweep", "status", str(SEARCH), "--storage", str(root)]
        fits = search_store.path(LAYOUT.search_fits)
        clear = [sys.executable, "-c", f"import shutil; shutil.rmtree({fits!r}, ignore_errors=True)"]
        cold = timing(search_status, runs=max(1, args.runs // 2), before=clear)
        timing(search_status, runs=1)  # keeps the fit states in the store for the measurement below
        baseline = timing([sys.executable, "-c", "pass"], runs=args.runs)
        rows = _measure(root, args.runs)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    _print(rows, baseline=baseline, cold=cold, runs=args.runs)


if __name__ == "__main__":
    main()
