"""An audit folder holds everything another tool needs to re-score it, and its result states the shadows' regime.

The re-scoring here is deliberately independent of acadp: it reads the ``.npy`` files alone and scores them with plain
numpy and scikit-learn, then must agree with what acadp stored.
"""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from acadp.config.lira import AuditConfig, LiraSettings
from acadp.config.options import TrialOptions, build_trial_config
from acadp.errors import AuditStateError
from acadp.lira.results import AuditResult, ShadowRegime, ShadowStats
from acadp.lira.scores import logit_scaled_confidence
from acadp.lira.shadow import prepare_pool
from acadp.lira.subsets import placebo_members
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.sweep.audit_runner import run_audit, save_or_check_pool

SHADOWS, POOL, TARGET_EPSILON = 4, 64, 8.0


def tiny_audit(epsilon: float, *, alpha: float = 0.1, placebo_alpha: float | None = None) -> AuditConfig:
    """Four shadows of one epoch on 32 digits each: seconds on a CPU."""
    training = {"epochs": 1, "batch_size": 16}
    trial = build_trial_config(
        TrialOptions(dataset="mnist5k", alpha=alpha, epsilon=epsilon, n_train=POOL, n_test=50, training=training)
    )
    settings = LiraSettings(
        shadows=SHADOWS, pool=POOL, concurrent_shadows=1, attacks=("global_threshold", "online"),
        placebo_alpha=placebo_alpha,
    )  # fmt: skip
    return AuditConfig(trial=trial, lira=settings)


@pytest.fixture(scope="module")
def leaky(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AuditConfig, dict]:
    """A finished non-private audit: (store root, config, result record)."""
    root = tmp_path_factory.mktemp("leaky")
    config = tiny_audit(math.inf)
    return root, config, run_audit(config, store=ResultsStore(root))


def independent_scores(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """log p_y − log Σ_{y'≠y} p_y' per model, example and query from softmax probabilities in float64 (not acadp's
    log-space form; fine for the moderate logits of one epoch)."""
    z = logits.astype(np.float64)
    p = np.exp(z - z.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    p_true = np.take_along_axis(p, labels[None, :, None, None], axis=-1)[..., 0]
    return np.log(p_true) - np.log(p.sum(axis=-1) - p_true)


def load(folder: Path, name: str) -> np.ndarray:
    return np.load(folder / name, allow_pickle=False)


def test_the_folder_alone_rescores_to_acadps_result(leaky: tuple[Path, AuditConfig, dict]) -> None:
    root, config, record = leaky
    folder = root / LAYOUT.audit(config.key()).root
    keep, labels, collective = load(folder, "keep.npy"), load(folder, "labels.npy"), load(folder, "collective.npy")
    logits = np.stack([load(folder, f"shadows/{i:03d}/logits.npy") for i in range(SHADOWS)])
    assert labels.dtype == np.int64 and labels.shape == (POOL,)
    assert collective.dtype == np.bool_ and collective.shape == (POOL,) and collective.sum() == record["n_collective"]
    assert not (folder / "placebo.npy").exists()
    scores = independent_scores(logits, labels)  # (n_shadows, n_pool, n_queries)
    np.testing.assert_allclose(scores, logit_scaled_confidence(logits, labels), rtol=1e-6, atol=1e-6)
    for subset, mask in (("all", np.ones(POOL, dtype=bool)), ("collective", collective)):
        # global threshold: each model in turn is the target, its mean score over queries the prediction
        aucs = [roc_auc_score(keep[t][mask], scores[t][mask].mean(axis=1)) for t in range(SHADOWS)]
        row = next(
            r for r in record["rows"] if (r["attack"], r["subset"]) == ("global_threshold", subset)
        )  # any convention: the global threshold uses no shadows
        assert row["auc_mean"] == pytest.approx(np.mean(aucs), abs=1e-12)
        assert row["auc_std"] == pytest.approx(np.std(aucs, ddof=1), abs=1e-12)


def test_the_labels_are_those_trained_with_after_relabelling(leaky: tuple[Path, AuditConfig, dict]) -> None:
    root, config, _ = leaky
    folder = root / LAYOUT.audit(config.key()).root
    pool = prepare_pool(config)
    labels, collective = load(folder, "labels.npy"), load(folder, "collective.npy")
    np.testing.assert_array_equal(labels, pool.planted.y)
    np.testing.assert_array_equal(collective, pool.planted.members)
    assert np.all(labels[collective] == config.trial.target_class)  # feature-label strategy: members relabelled


def test_a_non_private_audit_states_its_shadows_regime(leaky: tuple[Path, AuditConfig, dict]) -> None:
    root, config, record = leaky
    store, paths = ResultsStore(root), LAYOUT.audit(config.key())
    keep = load(root / paths.root, "keep.npy")
    stats = [ShadowStats.from_meta(store.read_json(paths.shadow_meta(i))) for i in range(SHADOWS)]
    for index, shadow in enumerate(stats):
        assert shadow is not None and shadow.n_train == int(keep[index].sum())
        assert 0.0 <= shadow.train_accuracy <= 1.0 and 0.0 <= shadow.test_accuracy <= 1.0
        assert shadow.noise_multiplier == 0.0 and shadow.epsilon_spent == math.inf and shadow.steps > 0
    regime = AuditResult.model_validate(record).shadow_regime
    assert regime is not None and regime.n_shadows == SHADOWS
    assert regime.n_train_mean == pytest.approx(keep.sum(axis=1).mean())
    assert regime.noise_multiplier_mean == 0.0
    assert regime.epsilon_spent_mean == math.inf and regime.epsilon_spent_max == math.inf
    assert 0.0 < regime.sample_rate_mean <= 1.0
    assert 0.0 <= regime.train_accuracy_mean <= 1.0 and 0.0 <= regime.test_accuracy_mean <= 1.0
    assert regime == ShadowRegime.of([s for s in stats if s is not None])


def test_a_private_audit_states_noise_and_a_finite_epsilon_within_the_target(tmp_path: Path) -> None:
    config = tiny_audit(TARGET_EPSILON)
    record = run_audit(config, store=ResultsStore(tmp_path))
    regime = AuditResult.model_validate(record).shadow_regime
    assert regime is not None
    assert regime.noise_multiplier_mean > 0.0
    assert 0.0 < regime.epsilon_spent_mean <= regime.epsilon_spent_max <= TARGET_EPSILON
    assert regime.steps_mean > 0 and 0.0 < regime.sample_rate_mean < 1.0
    assert 0.0 <= regime.train_accuracy_mean <= 1.0 and 0.0 <= regime.test_accuracy_mean <= 1.0


def test_a_placebo_audit_saves_its_placebo_mask(tmp_path: Path) -> None:
    config = tiny_audit(math.inf, alpha=0.0, placebo_alpha=0.25)
    store, paths = ResultsStore(tmp_path), LAYOUT.audit(config.key())
    save_or_check_pool(config, store, paths, prepare_pool(config))
    placebo = np.load(tmp_path / paths.placebo, allow_pickle=False)
    assert placebo.dtype == np.bool_ and placebo.shape == (POOL,) and placebo.sum() == 16
    np.testing.assert_array_equal(placebo, placebo_members(config, n_pool=POOL))
    assert not np.load(tmp_path / paths.collective).any()  # α = 0: no collective


@pytest.mark.parametrize("name", ["labels", "collective"])
def test_a_saved_pool_file_that_differs_stops_the_audit(tmp_path: Path, name: str) -> None:
    config = tiny_audit(math.inf)
    store, paths = ResultsStore(tmp_path), LAYOUT.audit(config.key())
    pool = prepare_pool(config)
    save_or_check_pool(config, store, paths, pool)
    save_or_check_pool(config, store, paths, pool)  # unchanged: accepted
    rel = getattr(paths, name)
    changed = np.load(tmp_path / rel, allow_pickle=False).copy()
    changed[5] = ~changed[5] if changed.dtype == np.bool_ else (changed[5] + 1) % 10
    buffer = io.BytesIO()
    np.save(buffer, changed, allow_pickle=False)
    store.write_bytes(rel, buffer.getvalue())
    trained: list[int] = []
    with pytest.raises(AuditStateError, match=re.escape(f"{name}.npy does not fit the audit's pool")) as caught:
        run_audit(config, store=store, on_shadow=trained.append)
    assert "pool index 5" in str(caught.value) and "delete the audit directory" in str(caught.value)
    assert trained == [] and not store.exists(paths.shadows)


def test_the_regime_round_trips_as_strict_json_and_the_lira_command_prints_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from acadp.cli.lira import _print, lira_summary

    common = {"train_accuracy": 1.0, "test_accuracy": 0.5, "noise_multiplier": 0.0, "sample_rate": 0.25, "steps": 8}
    stats = [ShadowStats(n_train=n, epsilon_spent=math.inf, **common) for n in (30, 34)]
    regime = ShadowRegime.of(stats)
    assert regime.n_train_mean == 32.0 and regime.epsilon_spent_max == math.inf
    result = AuditResult.of(
        tiny_audit(math.inf), (), n_pool=POOL, n_collective=6, seconds=1.0, provenance={}, shadow_regime=regime
    )
    record = result.plain()
    assert record["shadow_regime"]["epsilon_spent_mean"] == "inf"  # strict JSON
    assert AuditResult.model_validate(record) == result
    assert ShadowStats.from_meta({"index": 0, "n_train": 30}) is None  # a shadow saved before stats were
    monkeypatch.setenv("COLUMNS", "400")
    _print(lira_summary(record))
    out = capsys.readouterr().out
    assert "32.0 training examples" in out and "σ=0" in out and "ε spent inf (max inf)" in out
    assert "train accuracy 1.000, test accuracy 0.500" in out
