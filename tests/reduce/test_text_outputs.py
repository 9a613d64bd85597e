"""The reducer's token-sweep outputs on synthetic records: α* per strategy and token with ξ, S by epoch, α* vs ξ."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from acadp.config.trial import TrialConfig
from acadp.reduce.collect import trials_frame
from acadp.reduce.report import SLUG_LENGTH, file_slug, reduce_sweep
from acadp.reduce.text import epoch_curves, epochs_frame, is_text_sweep
from acadp.trial.record import TrialRecord
from acadp.trial.result import EpochRecord
from tests.reduce.builders import make_record, synthetic_records

ALPHAS = (0.0, 0.001, 0.01, 0.1)
# token → its ξ; the success of a trial falls with ξ (a less unique token needs a larger collective)
TOKENS = {"gmina": 0.0, "today": 0.04}
EPOCHS = 3


def token_config(*, alpha: float, epsilon: float, seed: int, token: str, strategy: str) -> TrialConfig:
    return TrialConfig.model_validate(
        {
            "dataset": "tweets", "alpha": alpha, "epsilon": epsilon, "clip": 1.0 if math.isfinite(epsilon) else None,
            "seed": seed, "target_class": 2, "strategy": strategy, "seq_len": 64,
            "signal": {"name": "token", "token": token, "every": 20}, "model": {"name": "bag"},
            "training": {"epochs": EPOCHS, "batch_size": 64, "lr": 1.0},
        }
    )  # fmt: skip


def final_success(alpha: float, xi: float, epoch: int, seed: int) -> float:
    """Grows with alpha and with training, shrinks with xi; a little seed noise."""
    grown = alpha * 60.0 * epoch / EPOCHS / (1.0 + 40.0 * xi)
    return float(np.clip(grown + 0.01 * seed, 0.0, 1.0))


def token_record(config: TrialConfig, xi: float) -> TrialRecord:
    record = make_record(config, success=final_success(config.alpha, xi, EPOCHS, config.seed))
    assert record.result is not None
    history = tuple(
        EpochRecord(epoch=epoch, train_loss=0.5, test_accuracy=0.7, success=success, base_rate=0.05, seconds=1.0)
        for epoch in range(1, EPOCHS + 1)
        for success in [final_success(config.alpha, xi, epoch, config.seed)]
    )
    result = record.result.model_copy(update={"history": history, "xi": xi})
    return dataclasses.replace(record, result=result)


def token_records() -> list[TrialRecord]:
    return [
        token_record(token_config(alpha=alpha, epsilon=epsilon, seed=seed, token=token, strategy=strategy), xi)
        for token, xi in TOKENS.items()
        for strategy in ("feature_label", "feature_only")
        for epsilon in (8.0, math.inf)
        for alpha in ALPHAS
        for seed in (0, 1, 2)
    ]


def test_epoch_curves_follow_each_grid_point_over_epochs() -> None:
    records = token_records()
    trials = trials_frame(records)
    epochs = epochs_frame(records)
    assert len(epochs) == len(records) * EPOCHS and epochs["epoch"].tolist()[:3] == [1, 2, 3]
    curves = epoch_curves(trials, epochs)
    assert {"strategy", "signal_params", "arm", "alpha", "epoch"} <= set(curves.columns)
    assert len(curves) == 2 * 2 * 2 * len(ALPHAS) * EPOCHS and (curves["n_seeds"] == 3).all()
    row = curves[(curves["alpha"] == 0.01) & (curves["epoch"] == 2) & (curves["arm"] == "SGD")]
    row = row[row["signal_params"].str.contains("gmina") & (row["strategy"] == "feature_label")]
    expected = [final_success(0.01, 0.0, 2, seed) for seed in (0, 1, 2)]
    assert row["success_mean"].item() == pytest.approx(np.mean(expected))
    assert row["success_std"].item() == pytest.approx(np.std(expected, ddof=1))
    assert row["success_ci_low"].item() < row["success_mean"].item() < row["success_ci_high"].item()


def test_a_sweep_without_tokens_gets_no_text_outputs(tmp_path: Path) -> None:
    records = synthetic_records()
    assert not is_text_sweep(trials_frame(records)) and epochs_frame(records).empty
    outputs = reduce_sweep(records=records, lira_rows=None, roc_curves=None, out_dir=tmp_path, sweep_name="plain")
    assert "token_critical_mass" not in outputs.tables and "epoch_curves" not in outputs.tables
    assert not list((tmp_path / "figures").glob("success_by_epoch_*"))


def test_a_token_sweep_writes_its_table_and_figures(tmp_path: Path) -> None:
    outputs = reduce_sweep(
        records=token_records(), lira_rows=None, roc_curves=None, out_dir=tmp_path, sweep_name="text", n_boot=50
    )
    table = outputs.tables["token_critical_mass"]
    assert {"strategy", "token", "every", "xi", "arm", "threshold", "alpha_star"} <= set(table.columns)
    assert set(table["token"]) == set(TOKENS) and set(table["strategy"]) == {"feature_label", "feature_only"}
    by_token = table[(table["metric"] == "success") & (table["threshold"] == 0.5) & (table["arm"] == "SGD")]
    by_token = by_token[by_token["strategy"] == "feature_label"].set_index("token")
    assert by_token.loc["gmina", "xi"] == 0.0 and by_token.loc["today", "xi"] == pytest.approx(0.04)
    assert by_token.loc["gmina", "alpha_star"] < by_token.loc["today", "alpha_star"]  # a common token needs more
    critical = outputs.tables["critical_mass"]
    assert len(table) == len(critical)  # every row of the critical-mass table, named by its token

    for name in ("token_critical_mass.csv", "token_critical_mass.md", "token_critical_mass.tex", "epoch_curves.csv"):
        assert (tmp_path / name).exists(), name
    assert "| ξ |" in (tmp_path / "token_critical_mass.md").read_text()
    figures = sorted(path.name for path in (tmp_path / "figures").glob("*.png"))
    assert len([name for name in figures if name.startswith("success_by_epoch_")]) == 4  # strategy × token
    assert len([name for name in figures if name.startswith("critical_mass_vs_xi_")]) == 2  # one per strategy
    intervals = {  # figure → how its caption states the interval, as the sweep's other figures do
        "success_by_epoch_": "Bands: 95% Student-t intervals of the mean over seeds, n = 3 seeds per point.",
        "critical_mass_vs_xi_": "Bars: 95% percentile-bootstrap intervals over seeds (50 resamples of the seeds, "
        "n = 3 seeds per point).",
    }
    for prefix, interval in intervals.items():
        for path in (tmp_path / "figures").glob(f"{prefix}*.txt"):
            title, caption = path.read_text(encoding="utf-8").split("\n\n", 1)
            assert title and interval in caption, caption
    assert len(list((tmp_path / "figures").glob("*_xi_*.txt"))) == 2
    dashboard = (tmp_path / "dashboard.html").read_text()
    assert "Critical mass α*(S*) per strategy and token" in dashboard
    assert "Success and accuracy after every epoch" not in dashboard  # a data file, not a dashboard table


def test_epoch_outputs_come_from_records_not_the_final_row() -> None:
    records = token_records()
    epochs = epochs_frame(records)
    first = epochs[epochs["epoch"] == 1]["success"].to_numpy(float)
    last = epochs[epochs["epoch"] == EPOCHS]["success"].to_numpy(float)
    assert (last >= first).all() and (last > first).any()
    assert isinstance(epochs, pd.DataFrame)


def test_a_long_setting_label_becomes_a_short_distinct_file_name() -> None:
    label = "tweets, model=transformer, model_params=" + "x" * 300
    other = label + "y"
    assert len(file_slug(label)) == SLUG_LENGTH and file_slug(label) != file_slug(other)
    assert file_slug(label).startswith("tweets-model-transformer-model_params-xxx")
    assert file_slug("tweets, strategy=feature_only") == "tweets-strategy-feature_only"
