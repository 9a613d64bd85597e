"""``sweeps/lira_collective.yaml``, the replicated study of "a collective lowers LiRA's AUC": its smoke run in the
default suite (every variant of an α > 0 audit read from its own shadows and its clean twin's, the claim, summary and
regime tables and the figure come out), the full study as a slow test (what the findings need is in its tables)."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from acadp.config.lira import ALL_VARIANTS
from acadp.data import load_dataset
from acadp.data.mnist import IMAGES_MAGIC, LABELS_MAGIC, RAW_SUBDIR

from .helpers import cli_env, run_acadp

SWEEP = Path(__file__).resolve().parents[2] / "sweeps" / "lira_collective.yaml"
HEADLINE_ATTACK = "online_fixed_variance"
VARIANTS = {variant.name for variant in ALL_VARIANTS}


def _write_idx(path: Path, values: np.ndarray, magic: int) -> None:
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in values.shape)
    path.write_bytes(header + values.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """A data folder whose MNIST files hold the embedded mnist5k digits (real digits, no download): the smoke run
    trains on 200 of them."""
    digits = load_dataset("mnist5k", data_dir=data_dir)
    folder = tmp_path_factory.mktemp("mnist-data")
    raw = folder / RAW_SUBDIR
    raw.mkdir(parents=True)
    for split, x, y in (("train", digits.x_train, digits.y_train), ("t10k", digits.x_test, digits.y_test)):
        _write_idx(raw / f"{split}-images-idx3-ubyte", np.rint(x[:, 0] * 255), IMAGES_MAGIC)
        _write_idx(raw / f"{split}-labels-idx1-ubyte", y, LABELS_MAGIC)
    return folder


def _run(tmp_path: Path, data_dir: Path, *extra: str, timeout: float = 600) -> Path:
    storage = tmp_path / "store"
    args = ["sweep", "run", str(SWEEP), "--storage", str(storage), *extra]
    result = run_acadp(args, env=cli_env(data_dir), timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    name = "lira_collective-smoke" if "--smoke" in extra else "lira_collective"
    return storage / name / "reduced"


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(path.read_text()))


def test_the_smoke_run_reads_every_variant_and_writes_the_claim_tables(tmp_path: Path, mnist_dir: Path) -> None:
    reduced = _run(tmp_path, mnist_dir, "--smoke")
    lira = _csv(reduced / "lira.csv")
    headline = lira[lira["attack"] == HEADLINE_ATTACK]
    at_zero, at_tenth = headline[headline["alpha"] == 0], headline[headline["alpha"] == 0.1]
    assert set(at_tenth["variant"]) == VARIANTS  # the clean-shadow ones from the α = 0 audit's shadows
    assert {"all", "collective", "non_collective"} <= set(at_tenth["subset"])
    assert "placebo" in set(at_zero["subset"]) and set(at_zero["variant"]) == VARIANTS
    assert set(headline["convention"]) == {"balanced", "reference"}
    summary = _csv(reduced / "lira_summary.csv")
    assert set(summary["comparison"]) == VARIANTS and set(summary["n_seeds"]) == {1}  # one audited seed
    assert summary["all_auc_ci_low"].isna().all()  # no interval over one seed
    assert (reduced / "figures" / "lira_auc.png").exists()
    claim = (reduced / "lira_claim.md").read_text()
    assert "[n/a]" in claim and "original/clean/signal" in claim
    regime = _csv(reduced / "lira_regime.csv")
    shadows = regime[regime["models"] == "shadows (mean)"]
    assert set(shadows["n_train"]) == {200}  # pool: matched — 400 examples, each in 2 of 4 shadows
    # the one-run audit ran as a job of the sweep and agrees with the command that asks for it
    one_run = _csv(reduced / "one_run.csv")
    assert len(one_run) == 1 and one_run["canaries"].item() == 200 and one_run["guesses"].item() == 40
    assert 0 <= one_run["epsilon_lower_bound"].item() < math.inf
    status = run_acadp(
        ["sweep", "status", str(SWEEP), "--smoke", "--storage", str(tmp_path / "store"), "--json"],
        env=cli_env(mnist_dir),
    )
    assert status.returncode == 0, status.stderr
    (entry,) = json.loads(status.stdout)["one_runs"]
    assert entry["status"] == "completed" and entry["epsilon_lower_bound"] == one_run["epsilon_lower_bound"].item()
    other = tmp_path / "other"
    args = ["--alpha", "0", "--epsilon", "inf", "--canaries", "200", "--k-plus", "20", "--k-minus", "20", "--json"]
    again = run_acadp(["audit-one-run", str(SWEEP), "--smoke", "--storage", str(other), *args], env=cli_env(mnist_dir))
    assert again.returncode == 0, again.stderr
    key = json.loads(again.stdout)["one_run_key"]
    assert key == entry["one_run_key"]
    scores = [
        np.load(root / "lira_collective-smoke" / "one_run" / key / "scores.npy") for root in (tmp_path / "store", other)
    ]
    assert np.array_equal(*scores)


@pytest.mark.slow
def test_the_claim_study(tmp_path: Path) -> None:
    """The full study (≈ 1.4 hours on 2 free cores; MNIST from $ACADP_DATA_DIR or the package registry): run with
    ``pytest -m slow``; its summary is printed. Checks that what the findings need is there, not what it says."""
    import os

    data_dir = Path(os.environ.get("ACADP_DATA_DIR", Path.home() / ".cache" / "acadp" / "data"))
    reduced = _run(tmp_path, data_dir, timeout=4 * 3600)
    print((reduced / "lira_summary.md").read_text())
    summary = _csv(reduced / "lira_summary.csv")
    assert set(summary["n_seeds"]) == {5}  # every point audited at every seed
    assert set(summary["comparison"]) == VARIANTS | {"collective removed"}
    sgd = summary[summary["arm"] == "SGD"]
    claim = sgd[(sgd["alpha"] == 0.01) & (sgd["comparison"] == "trained/collective/as_trained")]
    assert claim["collective_n_members_min"].item() >= 20  # the claim's α leaves 20 members per target
    assert (summary["all_n_non_members_min"] >= 1000).all() and summary["all_tpr_at_0_1_fpr"].notna().all()
    regime = _csv(reduced / "lira_regime.csv")
    dp = regime[(regime["epsilon"] == 8) & (regime["alpha"] == 0) & (regime["models"] == "grid trial")]
    assert (dp["test_accuracy"] >= 0.85).all()  # a usable DP firm
    one_run = _csv(reduced / "one_run.csv")
    assert len(one_run) == 30 and one_run["test_accuracy"].notna().all()
