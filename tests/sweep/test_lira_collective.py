"""``sweeps/lira_collective.yaml``, the claim sweep of issue "a collective lowers LiRA's AUC": its smoke run in the
default suite (the claim table and the regime table come out, shadows in the grid trial's regime), the full run as a
slow test (the non-private α = 0 model is vulnerable: reference online fixed-variance AUC ≥ 0.70)."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from .helpers import cli_env, run_acadp

SWEEP = Path(__file__).resolve().parents[2] / "sweeps" / "lira_collective.yaml"
HEADLINE_ATTACK = "online_fixed_variance"


def _run(tmp_path: Path, data_dir: Path, *extra: str) -> Path:
    storage = tmp_path / "store"
    result = run_acadp(["sweep", "run", str(SWEEP), "--storage", str(storage), *extra], env=cli_env(data_dir))
    assert result.returncode == 0, result.stderr[-3000:]
    name = "lira_collective-smoke" if "--smoke" in extra else "lira_collective"
    return storage / name / "reduced"


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(path.read_text()))


def test_the_smoke_run_audits_in_the_grid_trials_regime_and_writes_the_claim_table(
    tmp_path: Path, data_dir: Path
) -> None:
    reduced = _run(tmp_path, data_dir, "--smoke")
    lira = _csv(reduced / "lira.csv")
    headline = lira[(lira["attack"] == HEADLINE_ATTACK)]
    # α = 0, SGD: both conventions, over all examples and over the placebo (the collective the seed would draw)
    assert set(headline["convention"]) == {"balanced", "reference"}
    assert {"all", "non_collective", "placebo"} <= set(headline["subset"])
    assert headline["auc_ci_low"].notna().all() and (headline["auc_ci_low"] <= headline["auc_mean"]).all()
    regime = _csv(reduced / "lira_regime.csv")
    trial = regime[regime["models"] == "grid trial"].iloc[0]
    shadows = regime[regime["models"] == "shadows (mean)"].iloc[0]
    assert trial["n_train"] == 200 and shadows["n_train"] == 200  # pool: matched — 400 examples, each in 2 of 4
    assert shadows["sample_rate"] == pytest.approx(trial["sample_rate"], rel=0.05)
    assert shadows["steps"] == pytest.approx(trial["steps"], rel=0.2)
    assert "grid trial" in (reduced / "lira_regime.md").read_text()
    # the one-run audit (smoke: 200 canaries of the 200 training examples, 20 + 20 guesses) ran as a job of the sweep
    one_run = _csv(reduced / "one_run.csv")
    assert len(one_run) == 1 and one_run["canaries"].item() == 200 and one_run["guesses"].item() == 40
    assert 0 <= one_run["epsilon_lower_bound"].item() < math.inf
    status = run_acadp(
        ["sweep", "status", str(SWEEP), "--smoke", "--storage", str(tmp_path / "store"), "--json"],
        env=cli_env(data_dir),
    )
    assert status.returncode == 0, status.stderr
    (entry,) = json.loads(status.stdout)["one_runs"]
    assert entry["status"] == "completed" and entry["epsilon_lower_bound"] == one_run["epsilon_lower_bound"].item()
    # the same audit asked on the command line, in another store, computes the very same scores
    other = tmp_path / "other"
    args = ["--alpha", "0", "--epsilon", "inf", "--canaries", "200", "--k-plus", "20", "--k-minus", "20", "--json"]
    again = run_acadp(["audit-one-run", str(SWEEP), "--smoke", "--storage", str(other), *args], env=cli_env(data_dir))
    assert again.returncode == 0, again.stderr
    key = json.loads(again.stdout)["one_run_key"]
    assert key == entry["one_run_key"]
    scores = [
        np.load(root / "lira_collective-smoke" / "one_run" / key / "scores.npy") for root in (tmp_path / "store", other)
    ]
    assert np.array_equal(*scores)


@pytest.mark.slow
def test_the_claim_sweep(tmp_path: Path, data_dir: Path) -> None:
    """The full claim sweep (≈ 15 minutes on 2 cores): run with ``pytest -m slow``; its tables are printed."""
    reduced = _run(tmp_path, data_dir)
    lira = _csv(reduced / "lira.csv")
    headline = lira[lira["attack"] == HEADLINE_ATTACK]
    print((reduced / "lira.md").read_text())
    print((reduced / "lira_regime.md").read_text())
    sgd = headline[headline["epsilon"].map(math.isinf)]
    at_zero = sgd[(sgd["alpha"] == 0) & (sgd["convention"] == "reference") & (sgd["subset"] == "all")]
    assert at_zero["auc_mean"].item() >= 0.70  # a vulnerable non-private model: the claim can be tested
    for alpha in (0.01, 0.1):
        subsets = set(sgd[sgd["alpha"] == alpha]["subset"])
        assert {"all", "collective", "non_collective"} <= subsets
    assert "placebo" in set(sgd[sgd["alpha"] == 0]["subset"])
    regime = _csv(reduced / "lira_regime.csv")
    assert set(regime["n_train"]) == {500}  # every shadow trains on the grid trial's 500 examples
    one_run = _csv(reduced / "one_run.csv")
    print((reduced / "one_run.md").read_text())
    assert len(one_run) == 4 and (one_run["epsilon_lower_bound"] <= one_run["epsilon"]).all()
