"""``acadp trial`` through the real console script: one JSON object with ``--json``, a readable summary without it,
and exit status 2 with one line on stderr for bad options. Trials are tiny (300 training digits, one epoch)."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

ACADP = Path(sys.executable).parent / "acadp"
SMALL = ["--dataset", "mnist5k", "--alpha", "0.1", "--n-train", "300", "--n-test", "100", "--epochs", "1"]
RUNS = {
    "non_private_json": [*SMALL, "--epsilon", "inf", "--json"],
    "private_json": [*SMALL, "--epsilon", "4", "--clip", "1", "--json"],
    "summary": [*SMALL, "--epsilon", "inf"],
    "saved_elsewhere": [*SMALL, "--epsilon", "inf", "--seed", "1", "--json", "--out", "elsewhere"],
    "alpha_too_large": [*SMALL, "--alpha", "1.5"],
    "epsilon_not_a_number": [*SMALL, "--epsilon", "abc"],
    "unknown_dataset": [*SMALL, "--dataset", "nope"],
    "patch_too_large": [*SMALL, "--signal-opt", "size=100"],
    # batches of 100 of the 300 digits: DP-SGD subsamples (q = 1/3), and no sigma reaches epsilon = 1e-5
    "privacy_infeasible": [*SMALL, "--epsilon", "0.00001", "--batch-size", "100"],
    "gdro_json": [*SMALL, "--dataset", "mnist5k_spurious", "--epsilon", "inf", "--set", "objective=gdro", "--json"],
    "gdro_without_groups": [*SMALL, "--epsilon", "inf", "--set", "objective=gdro"],
    "gdro_eta_zero": [*SMALL, "--dataset", "mnist5k_spurious", "--epsilon", "inf", "--set", "objective=gdro",
                      "--set", "gdro_eta=0"],
}  # fmt: skip
SUMMARY_KEYS = {
    "dataset", "alpha", "epsilon", "delta", "clip", "seed", "target_class", "n_train", "n_collective",
    "test_accuracy", "success", "success_all", "epsilon_spent", "noise_multiplier", "sample_rate", "steps",
    "accountant", "epochs", "seconds",
}  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Future[subprocess.CompletedProcess[str]]]]:
    """Every run of :data:`RUNS`, two at a time (start-up dominates a run), in one shared data directory."""
    data_dir = tmp_path_factory.mktemp("acadp-data")
    env = {key: value for key, value in os.environ.items() if key not in {"FORCE_COLOR", "RAY_ADDRESS"}}
    env.update(ACADP_DATA_DIR=str(data_dir), NO_COLOR="1")

    def run(name: str, args: list[str]) -> subprocess.CompletedProcess[str]:
        workdir = workdir_of(tmp_path_factory, name)
        workdir.mkdir()
        return subprocess.run(
            [str(ACADP), "trial", *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=300, check=False
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(run, name, args) for name, args in RUNS.items()}
        yield futures
        for future in futures.values():
            future.cancel()


def workdir_of(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """The folder run ``name`` of :data:`RUNS` ran in (its current directory)."""
    return tmp_path_factory.getbasetemp() / f"cwd-{name}"


def succeeded(runs: dict[str, Future[subprocess.CompletedProcess[str]]], name: str) -> subprocess.CompletedProcess[str]:
    result = runs[name].result()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result


def one_json_object(stdout: str) -> dict[str, Any]:
    lines = stdout.strip().splitlines()
    assert len(lines) == 1, stdout
    summary = json.loads(lines[0])
    assert isinstance(summary, dict)
    assert not SUMMARY_KEYS - summary.keys(), f"missing keys: {SUMMARY_KEYS - summary.keys()}"
    return summary


def test_json_of_a_non_private_trial(runs: dict[str, Future[subprocess.CompletedProcess[str]]]) -> None:
    summary = one_json_object(succeeded(runs, "non_private_json").stdout)

    assert summary["epsilon"] == "inf" and summary["epsilon_spent"] == "inf"
    assert summary["noise_multiplier"] == 0 and summary["clip"] is None
    assert summary["dataset"] == "mnist5k" and summary["alpha"] == 0.1
    assert summary["n_train"] == 300 and summary["n_collective"] == 30  # round(0.1 · 300)
    assert summary["epochs"] == 1 and summary["steps"] >= 1
    assert 0 <= summary["test_accuracy"] <= 1 and 0 <= summary["success"] <= 1


def test_json_of_a_private_trial(runs: dict[str, Future[subprocess.CompletedProcess[str]]]) -> None:
    summary = one_json_object(succeeded(runs, "private_json").stdout)

    assert summary["epsilon"] == 4 and summary["clip"] == 1
    assert math.isfinite(summary["epsilon_spent"]) and 0 < summary["epsilon_spent"] <= 4
    assert summary["noise_multiplier"] > 0
    assert 0 < summary["sample_rate"] <= 1 and summary["steps"] >= 1
    assert summary["accountant"] == "prv" and summary["n_collective"] == 30


def test_json_of_a_group_dro_trial_carries_group_metrics_and_weights(
    runs: dict[str, Future[subprocess.CompletedProcess[str]]],
) -> None:
    summary = one_json_object(succeeded(runs, "gdro_json").stdout)

    names = {"0-4/plain", "0-4/tinted", "5-9/plain", "5-9/tinted"}
    assert set(summary["group_weights"]) == names and math.isclose(sum(summary["group_weights"].values()), 1.0)
    assert set(summary["group_accuracy"]) == names
    assert summary["worst_group_accuracy"] == min(summary["group_accuracy"].values())


def test_summary_without_json_is_a_readable_table(runs: dict[str, Future[subprocess.CompletedProcess[str]]]) -> None:
    stdout = succeeded(runs, "summary").stdout

    with pytest.raises(json.JSONDecodeError):
        json.loads(stdout)
    for key in ("alpha", "epsilon", "test_accuracy", "success", "n_collective", "trial_key"):
        assert re.search(rf"\b{key}\b", stdout), f"no row {key!r} in:\n{stdout}"
    assert "inf" in stdout and "mnist5k" in stdout


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("alpha_too_large", ["alpha"]),
        ("epsilon_not_a_number", ["--epsilon", "'abc'"]),
        ("unknown_dataset", ["'nope'", "mnist5k", "cifar10", "bank"]),
        ("patch_too_large", ["signal.size"]),
        ("privacy_infeasible", ["epsilon=1e-05", "noise multiplier"]),
        ("gdro_without_groups", ["training.objective", "mnist5k_spurious"]),
        ("gdro_eta_zero", ["gdro_eta"]),
    ],
)
def test_bad_options_fail_in_one_line(
    runs: dict[str, Future[subprocess.CompletedProcess[str]]], name: str, expected: list[str]
) -> None:
    result = runs[name].result()

    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{result.stderr}"
    assert lines[0].startswith("acadp: error: ")
    for text in expected:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"
    assert result.stdout == ""


def saved(folder: Path, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config.json, result.json) of trial ``key`` saved under ``folder`` (a store: trials/<key>/...)."""
    return tuple(json.loads((folder / "trials" / key / name).read_text()) for name in ("config.json", "result.json"))  # type: ignore[return-value]


def test_a_trial_is_saved_under_results_by_default_and_says_where(
    runs: dict[str, Future[subprocess.CompletedProcess[str]]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    done = succeeded(runs, "non_private_json")
    summary = one_json_object(done.stdout)
    folder = workdir_of(tmp_path_factory, "non_private_json") / "results"
    config, result = saved(folder, summary["trial_key"])
    assert result["trial_key"] == config_key(config) == summary["trial_key"]
    assert result["success"] == summary["success"] and result["alpha"] == 0.1
    assert done.stderr.strip() == f"saved {folder / 'trials' / summary['trial_key'] / 'result.json'}"


def test_out_puts_the_trial_where_asked(
    runs: dict[str, Future[subprocess.CompletedProcess[str]]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    done = succeeded(runs, "saved_elsewhere")
    summary = one_json_object(done.stdout)
    workdir = workdir_of(tmp_path_factory, "saved_elsewhere")
    config, result = saved(workdir / "elsewhere", summary["trial_key"])
    assert result["seed"] == 1 and config["seed"] == 1 and not (workdir / "results").exists()


def test_the_summary_run_is_saved_too(
    runs: dict[str, Future[subprocess.CompletedProcess[str]]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    done = succeeded(runs, "summary")
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("saved ")]
    assert Path(line.removeprefix("saved ")).is_file()


def test_a_refused_trial_saves_nothing(
    runs: dict[str, Future[subprocess.CompletedProcess[str]]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert runs["alpha_too_large"].result().returncode == 2
    assert not (workdir_of(tmp_path_factory, "alpha_too_large") / "results").exists()


def config_key(config: dict[str, Any]) -> str:
    from acadp.config.trial import TrialConfig

    return TrialConfig.model_validate(config).key()
