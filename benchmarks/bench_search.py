"""Critical-mass search vs the dense grid on the quickstart setting, per arm: trials used, alpha* and CI width.

The dense grid is read from an existing quickstart run (``results/quickstart``, from
``acadp sweep run sweeps/quickstart.yaml``); the search sweep (``sweeps/quickstart_search.yaml``) is run here, into
a fresh directory so that it reuses none of the grid's points and its trial count is its own, unless ``--no-run``
is given (then the search's existing results are read from ``--search-storage``). Goal (issue 10): the search's
alpha* inside the dense grid's CI with at most 1/3 of the trials.

    python benchmarks/bench_search.py [--no-run] [--storage results] [--search-storage DIR]
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from acadp.reduce.critical_mass import critical_mass_table
from acadp.reduce.search_table import SearchBounds, with_search_column
from acadp.sweep.plan import plan_sweep
from acadp.sweep.status import collect_records

ROOT = Path(__file__).resolve().parents[1]


def _table(spec: Path, storage: str, *, search: SearchBounds | None) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    from acadp.reduce.collect import trials_frame

    plan = plan_sweep(spec, storage=storage)
    records = collect_records(plan.open_store(), plan.configs)
    trials = trials_frame(records)
    table = critical_mass_table(
        trials, thresholds=tuple(plan.spec.reduce.thresholds), n_boot=plan.spec.reduce.n_boot,
        interpolation=plan.spec.interpolation(),  # type: ignore[arg-type]  # logistic for a dose-response search
    )  # fmt: skip
    if search is not None:
        table = with_search_column(table, trials, search)
    done = trials[trials["status"] == "completed"]
    used = done.groupby("arm").size() if "arm" in done.columns else pd.Series(dtype=int)
    largest = done.groupby("arm")["alpha"].max() if "arm" in done.columns else pd.Series(dtype=float)
    return table, used, largest


def _agrees(row: pd.Series, *, largest: float) -> str:
    """Whether the search's alpha* lies in the grid's CI (an upper bound of inf: the grid did not reach S* there);
    where even the grid's lower bound is inf, whether the search's alpha* lies beyond the grid's largest alpha."""
    if math.isinf(row["ci_low_grid"]):
        return f"beyond the grid (> {largest:g}): {row['alpha_star_search'] > largest}"
    return str(row["ci_low_grid"] <= row["alpha_star_search"] <= row["ci_high_grid"])


def _width(row: pd.Series) -> float:
    return float(row["ci_high"] - row["ci_low"]) if math.isfinite(row["ci_high"]) else math.inf


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-run", action="store_true", help="read an existing search run instead of running it")
    parser.add_argument("--storage", default=str(ROOT / "results"), help="where the dense quickstart grid is")
    parser.add_argument("--search-storage", help="where the search runs (default: a fresh temporary directory)")
    args = parser.parse_args()
    grid_spec, search_spec = ROOT / "sweeps" / "quickstart.yaml", ROOT / "sweeps" / "quickstart_search.yaml"
    search_storage = args.search_storage or (args.storage if args.no_run else tempfile.mkdtemp(prefix="acadp-search-"))
    if not args.no_run:
        print(f"search storage: {search_storage}", flush=True)
        command = [str(Path(sys.executable).with_name("acadp")), "sweep", "run", str(search_spec)]
        subprocess.run([*command, "--storage", search_storage, "--no-reduce"], check=False)
    grid = plan_sweep(search_spec, storage=search_storage).spec.grid
    assert grid.search is not None
    bounds = SearchBounds.of(grid.search, grid.seed)
    dense, dense_used, dense_alphas = _table(grid_spec, args.storage, search=None)
    searched, search_used, _ = _table(search_spec, search_storage, search=bounds)
    keys = ["arm", "metric", "threshold"]
    both = dense.merge(searched, on=keys, suffixes=("_grid", "_search"))
    both = both[both["metric"] == "success"]
    print("arm | S* | trials grid | trials search | α* grid [CI] | α* search [CI] | search in grid CI | search")
    for _, row in both.iterrows():
        grid = pd.Series({"ci_low": row["ci_low_grid"], "ci_high": row["ci_high_grid"]})
        found = pd.Series({"ci_low": row["ci_low_search"], "ci_high": row["ci_high_search"]})
        inside = _agrees(row, largest=dense_alphas.get(row["arm"], math.nan))
        print(
            f"{row['arm']} | {row['threshold']:g} | {dense_used.get(row['arm'], 0)} | {search_used.get(row['arm'], 0)}"
            f" | {row['alpha_star_grid']:.4g} [{row['ci_low_grid']:.4g}, {row['ci_high_grid']:.4g}] (width "
            f"{_width(grid):.3g}) | {row['alpha_star_search']:.4g} [{row['ci_low_search']:.4g}, "
            f"{row['ci_high_search']:.4g}] (width {_width(found):.3g}) | {inside} | {row['search']}"
        )


if __name__ == "__main__":
    main()
