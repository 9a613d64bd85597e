"""A searched sweep end to end: the critical-mass searcher through real Ray on a tiny mnist5k search."""

from __future__ import annotations

import csv
import json
import os
import signal
import time
from pathlib import Path

import pytest

from .helpers import background_acadp, cli_env, results_by_key, run_acadp, status_json, write_sweep

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


def _points(sweep_dir: Path) -> dict[tuple[float, int], float]:
    """(alpha, seed) → success of every completed trial of a one-arm sweep."""
    points = {}
    for key, result in results_by_key(sweep_dir).items():
        config = json.loads((sweep_dir / "trials" / key / "config.json").read_text())
        points[(config["alpha"], config["seed"])] = result["success"]
    return points


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
    points = sorted(_points(sweep_dir))
    assert 2 <= len(points) <= DOSE["budget"] and len(points) == len(results)  # no point run twice
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


def test_a_dose_response_search_killed_mid_round_resumes_to_the_same_points_as_an_uninterrupted_one(
    tmp_path: Path, data_dir: Path
) -> None:
    # a recipe that learns the signal gradually on 400 digits: S crosses 0.5 between the ends (near alpha 0.05)
    datasets = {
        "mnist5k": {
            "n_train": 400,
            "n_test": 150,
            "eval_every": 100,
            "training": {"epochs": 4, "batch_size": 32, "lr": 0.05, "momentum": 0.9},
        }
    }
    search = {**DOSE, "low": 0.005, "high": 0.1, "budget": 5}
    grid = {"alpha": {"search": search}, "epsilon": ["inf"], "clip": ["none"], "arms": ["sgd"], "seed": [0, 1, 2]}
    spec = write_sweep(tmp_path / "dose.yaml", name="dose", grid=grid, datasets=datasets)  # fmt: skip
    env = cli_env(data_dir)
    whole = run_acadp(["sweep", "run", str(spec), "--storage", str(tmp_path / "whole"), "--no-reduce"], env=env)
    assert whole.returncode == 0, whole.stderr[-3000:]
    expected = _points(tmp_path / "whole" / "dose")
    assert len(expected) >= 3, "the search ended at its ends; the test needs a round after them"

    # The kill comes once a first trial has finished; should the whole search finish before it lands, start over.
    for attempt in range(3):
        storage, sweep_dir = tmp_path / f"store-{attempt}", tmp_path / f"store-{attempt}" / "dose"
        _kill_after_the_first_result(spec, storage, env, tmp_path / f"driver-{attempt}.log")
        if len(results_by_key(sweep_dir)) < len(expected):
            break
    else:
        pytest.fail("the whole search finished before the kill landed, every time")
    before = {path: path.stat().st_mtime_ns for path in (sweep_dir / "trials").glob("*/result.json")}
    resumed = run_acadp(["sweep", "resume", str(spec), "--storage", str(storage), "--no-reduce"], env=env)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _points(sweep_dir) == expected  # the same points, with bit-identical results
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in before.items()), "a finished trial re-ran"


def _kill_after_the_first_result(spec: Path, storage: Path, env: dict[str, str], log: Path) -> None:
    """Run the sweep; SIGKILL its driver once a first trial has finished."""
    sweep_dir = storage / "dose"
    args = ["sweep", "run", str(spec), "--storage", str(storage), "--no-reduce"]
    with background_acadp(args, env=env, log=log) as driver:
        deadline = time.monotonic() + 300
        while not (sweep_dir.exists() and len(results_by_key(sweep_dir)) >= 1):
            assert time.monotonic() < deadline and driver.poll() is None, log.read_text()[-3000:]
            time.sleep(0.05)
        os.kill(driver.pid, signal.SIGKILL)  # a crash of the driver; its Ray helpers are cleaned up by PID on exit
        driver.wait(timeout=30)
