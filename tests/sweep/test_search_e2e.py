"""A searched sweep end to end: the critical-mass searcher through real Ray on a tiny mnist5k search."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .helpers import cli_env, results_by_key, run_acadp, status_json, write_sweep

SEARCH = {"low": 0.02, "high": 0.3, "thresholds": [0.5], "tolerance": 0.5, "budget": 4}


def test_a_searched_sweep_runs_within_its_budget_reports_its_bracket_and_resumes_without_reruns(
    tmp_path: Path, data_dir: Path
) -> None:
    spec = write_sweep(
        tmp_path / "search.yaml",
        name="search",
        grid={"alpha": {"search": SEARCH}, "epsilon": ["inf"], "clip": ["none"], "arms": ["sgd"], "seed": [0]},
    )
    storage = tmp_path / "store"
    env = cli_env(data_dir)
    result = run_acadp(["sweep", "run", str(spec), "--storage", str(storage)], env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep_dir = storage / "search"
    results = results_by_key(sweep_dir)
    configs = [json.loads((sweep_dir / "trials" / key / "config.json").read_text()) for key in results]
    alphas = sorted(c["alpha"] for c in configs)
    assert 2 <= len(alphas) <= SEARCH["budget"]  # one seed: one trial per alpha
    assert alphas[0] == SEARCH["low"] and alphas[-1] == SEARCH["high"]
    assert len(set(alphas)) == len(alphas)
    # the driver's last progress line counts what the search ran against its budget (an upper bound)
    assert f"trials {len(alphas)} done of at most 4 (search)" in " ".join(result.stderr.split())
    status = status_json(spec, storage, env)
    assert {t["status"] for t in status["trials"]} == {"completed"} and len(status["trials"]) == len(alphas)
    (line,) = status["search"]
    assert line.startswith("mnist5k SGD S*=0.5:") and f"{len(alphas)}/4 trials" in line
    with open(sweep_dir / "reduced" / "critical_mass.csv") as handle:
        rows = [row for row in csv.DictReader(handle) if row["metric"] == "success"]
    assert rows and rows[0]["search"].startswith(f"{len(alphas)} trials")
    # a resumed search derives its state from the store: nothing is run again
    again = run_acadp(["sweep", "resume", str(spec), "--storage", str(storage)], env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert results_by_key(sweep_dir) == results


DOSE = {"low": 0.02, "high": 0.3, "thresholds": [0.5], "tolerance": 0.05, "budget": 4, "design": "dose_response"}


def test_a_dose_response_search_runs_one_seed_per_probe_reads_alpha_star_off_the_fit_and_resumes(
    tmp_path: Path, data_dir: Path
) -> None:
    spec = write_sweep(
        tmp_path / "dose.yaml",
        name="dose",
        grid={"alpha": {"search": DOSE}, "epsilon": ["inf"], "clip": ["none"], "arms": ["sgd"], "seed": [0, 1, 2]},
    )
    storage = tmp_path / "store"
    env = cli_env(data_dir)
    result = run_acadp(["sweep", "run", str(spec), "--storage", str(storage)], env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep_dir = storage / "dose"
    results = results_by_key(sweep_dir)
    configs = [json.loads((sweep_dir / "trials" / key / "config.json").read_text()) for key in results]
    points = sorted((c["alpha"], c["seed"]) for c in configs)
    assert 2 <= len(points) <= DOSE["budget"] and len(set(points)) == len(points)
    assert (DOSE["low"], 0) in points and (DOSE["high"], 1) in points  # the ends first, one seed each
    status = status_json(spec, storage, env)
    assert {t["status"] for t in status["trials"]} == {"completed"} and len(status["trials"]) == len(points)
    (line,) = status["search"]
    assert line.startswith("mnist5k SGD S*=0.5:") and f"{len(points)}/4 trials" in line
    with open(sweep_dir / "reduced" / "critical_mass.csv") as handle:
        rows = [row for row in csv.DictReader(handle) if row["metric"] == "success"]
    assert rows and rows[0]["interpolation"] == "logistic" and rows[0]["search"].startswith(f"{len(points)} trials")
    again = run_acadp(["sweep", "resume", str(spec), "--storage", str(storage)], env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert results_by_key(sweep_dir) == results
