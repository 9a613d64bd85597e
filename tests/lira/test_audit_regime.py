"""Audits in the grid trial's regime: a ``matched`` pool holds the audited trial's training size / pkeep, so that
each shadow trains on as many examples as the trial; the pool never exceeds the dataset; the regime of the grid trial
and of the shadows reaches the reducer's ``lira_regime`` table and MLflow's metrics."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from acadp.config.sweep import load_spec
from acadp.errors import SpecError
from acadp.lira.results import REGIME_FIELDS, regime_column_names
from acadp.reduce.lira_tables import lira_regime_table, split_regime
from acadp.reduce.tables import render_table
from acadp.store.results import ResultsStore
from acadp.sweep.audit_runner import run_audit
from acadp.sweep.tracking import audit_metrics

SWEEP = """
name: regime
datasets:
  mnist5k:
    n_train: 120
    n_test: 100
    training: {epochs: 1, batch_size: 30, lr: 0.5}
grid: {alpha: [0.0, 0.1], epsilon: [8, inf], clip: [none, 1.0], arms: [sgd, dpsgd], seed: [0, 1]}
lira:
  points: {alpha: [0.0, 0.1], epsilon: [inf, 8]}
  shadows: 4
  pool: matched
  queries: [original]
  smoke: {shadows: 4, pool: 64}
smoke: {n_train: 40, n_test: 40, epochs: 1}
"""


def spec_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(text)
    return path


def test_a_matched_pool_is_the_trials_training_size_over_pkeep(tmp_path: Path) -> None:
    spec = load_spec(spec_file(tmp_path, SWEEP))
    grid = {config.key(): config for config in spec.trial_configs()}
    audits = spec.audit_configs()
    assert len(audits) == 4
    for audit in audits:
        trial = grid[audit.grid_trial_key]  # the audited grid trial is a trial of the grid
        assert (trial.alpha, trial.epsilon, trial.clip, trial.seed) == (
            audit.trial.alpha, audit.trial.epsilon, audit.trial.clip, audit.trial.seed,
        )  # fmt: skip
        assert trial.n_train == 120 and audit.trial.n_train == 240  # 120 / pkeep ½
        assert audit.trial.model_copy(update={"n_train": trial.n_train}).key() == trial.key()
    third = load_spec(spec_file(tmp_path, SWEEP.replace("pool: matched", "pool: matched\n  pkeep: 0.25")))
    assert {audit.trial.n_train for audit in third.audit_configs()} == {480}
    (smoke,) = spec.audit_configs(smoke=True)  # a smoke run's matched pool follows the smoke n_train, not smoke.pool
    assert smoke.trial.n_train == 80 and smoke.grid_trial_key in {c.key() for c in spec.trial_configs(smoke=True)}


def test_an_unmatched_pool_keeps_the_audit_key(tmp_path: Path) -> None:
    """``grid_trial_key`` is bookkeeping: an audit of the trial's own training set keeps the key it had before."""
    spec = load_spec(spec_file(tmp_path, SWEEP.replace("  pool: matched\n", "")))
    for audit in spec.audit_configs():
        assert audit.trial.key() == audit.grid_trial_key  # the pool is the trial's own training set
        assert audit.key() == audit.model_copy(update={"grid_trial_key": None}).key()


def test_a_matched_pool_needs_the_trials_n_train(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as error:
        load_spec(spec_file(tmp_path, SWEEP.replace("    n_train: 120\n", "")))
    message = str(error.value)
    assert "\n" not in message and "lira.pool" in message and "datasets.mnist5k.n_train" in message


def test_a_pool_larger_than_the_dataset_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    spec = load_spec(spec_file(tmp_path, SWEEP.replace("n_train: 120", "n_train: 2500")))  # 5000 > 4000 digits
    audit = spec.audit_configs()[0]
    store = ResultsStore(tmp_path / "store")
    with pytest.raises(SpecError) as error:
        run_audit(audit, store=store)
    message = str(error.value)
    assert "\n" not in message and "lira.pool" in message and "5000" in message and "4000" in message
    assert not any((tmp_path / "store").rglob("*.*"))  # nothing created


def _rows(shadow_n: float, trial_n: float) -> pd.DataFrame:
    point = {"audit_key": "k1", "dataset": "mnist5k", "alpha": 0.1, "epsilon": 8.0, "clip": 1.0, "n_shadows": 16.0}
    regime = dict.fromkeys(regime_column_names(), math.nan)
    regime.update(
        shadow_n_train=shadow_n, shadow_sample_rate=1 / 16, shadow_noise_multiplier=1.1, shadow_steps=640.0,
        shadow_epsilon_spent=7.9, shadow_train_accuracy=0.5, shadow_test_accuracy=0.4, trial_n_train=trial_n,
        trial_sample_rate=1 / 16, trial_noise_multiplier=1.1, trial_steps=640.0, trial_epsilon_spent=8.0,
        trial_test_accuracy=0.41,
    )  # fmt: skip
    return pd.DataFrame([{**point, "attack": attack, "subset": "all", **regime} for attack in ("a", "b")])


def test_the_regime_table_has_the_grid_trial_and_the_shadows_of_each_audit() -> None:
    rows, regime = split_regime(_rows(shadow_n=499.5, trial_n=500))
    assert regime is not None and not set(regime_column_names()) & set(rows.columns)
    assert list(regime["models"]) == ["grid trial", "shadows (mean)"]  # one pair per audit, not per row
    trial, shadows = regime.iloc[0], regime.iloc[1]
    assert (trial["n_train"], shadows["n_train"]) == (500, 499.5)
    assert math.isnan(trial["train_accuracy"]) and shadows["train_accuracy"] == 0.5
    assert set(REGIME_FIELDS) <= set(regime.columns)
    markdown = render_table("lira_regime", regime).markdown
    assert "grid trial" in markdown and "shadows (mean)" in markdown and "499.5" in markdown
    unchanged, none = split_regime(pd.DataFrame({"audit_key": ["k"]}))
    assert none is None and list(unchanged.columns) == ["audit_key"]


def test_lira_regime_table_sorts_points_like_the_lira_table() -> None:
    first, second = _rows(500, 500), _rows(500, 500)
    second = second.assign(audit_key="k0", alpha=0.0)
    table = lira_regime_table(pd.concat([first, second]))
    assert list(table["alpha"]) == [0.0, 0.0, 0.1, 0.1]


def test_mlflow_gets_the_shadows_regime() -> None:
    regime = {"n_shadows": 16, "n_train_mean": 500.0, "sample_rate_mean": 0.0625, "noise_multiplier_mean": 0.0,
              "steps_mean": 640.0, "epsilon_spent_mean": "inf", "epsilon_spent_max": "inf",
              "train_accuracy_mean": 1.0, "test_accuracy_mean": 0.92}  # fmt: skip
    metrics = {m.key: m.value for m in audit_metrics({"rows": [], "shadow_regime": regime})}
    assert metrics["shadow_regime.n_train_mean"] == 500.0 and metrics["shadow_regime.test_accuracy_mean"] == 0.92
    assert "shadow_regime.epsilon_spent_mean" not in metrics  # inf is not an MLflow metric
    assert not audit_metrics({"rows": [], "shadow_regime": None})
    assert np.isfinite(list(metrics.values())).all()
