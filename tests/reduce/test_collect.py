"""The trials table: one row per grid point, flattened config, NaN metrics for unfinished trials, Parquet round trip."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from acadp.reduce.collect import (
    CONFIG_COLUMNS,
    METRIC_COLUMNS,
    TRIAL_COLUMNS,
    read_trials_parquet,
    trials_frame,
    write_trials_parquet,
)

from .builders import TRAINING, make_config, make_record, synthetic_records


def test_one_row_per_record_with_all_columns_in_order() -> None:
    records = synthetic_records()
    frame = trials_frame(records)
    assert len(frame) == len(records)
    assert list(frame.columns) == list(TRIAL_COLUMNS)
    assert frame["key"].tolist() == [record.key for record in records]


def test_config_is_flattened() -> None:
    config = make_config(alpha=0.05, epsilon=2.0, seed=3, clip=0.5, n_train=500, accountant="rdp")
    row = trials_frame([make_record(config, success=0.7)]).iloc[0]
    assert (row["dataset"], row["alpha"], row["epsilon"], row["clip"], row["seed"]) == ("mnist5k", 0.05, 2.0, 0.5, 3)
    assert (row["training_epochs"], row["training_batch_size"], row["training_lr"]) == (2, 64, 0.1)
    assert row["training_grad_sample_mode"] == "bookkeeping" and row["accountant"] == "rdp"
    assert (row["model"], row["signal"], row["arm_kind"], row["strategy"]) == ("cnn", "patch", "dpsgd", "feature_label")
    assert json.loads(row["signal_params"])["size"] == 3
    assert row["n_train_limit"] == 500 and math.isnan(row["n_test_limit"])
    assert row["success"] == 0.7 and row["n_train"] == 1000 and row["status"] == "completed"


def test_non_private_keeps_inf_and_nan_clip() -> None:
    row = trials_frame([make_record(make_config(alpha=0.1, epsilon=math.inf, seed=0))]).iloc[0]
    assert row["epsilon"] == math.inf and math.isnan(row["clip"]) and row["arm_kind"] == "sgd"
    assert row["epsilon_spent"] == math.inf


@pytest.mark.parametrize("status", ["pending", "running", "failed"])
def test_unfinished_trials_have_nan_metrics(status: str) -> None:
    error = "boom" if status == "failed" else None
    record = make_record(make_config(alpha=0.1, epsilon=1.0, seed=0), status, error=error)
    row = trials_frame([record]).iloc[0]
    assert row["status"] == status
    assert all(math.isnan(row[name]) for name in METRIC_COLUMNS)
    assert (row["error"] == "boom") if status == "failed" else pd.isna(row["error"])


def test_empty_sweep_has_columns_and_no_rows() -> None:
    frame = trials_frame([])
    assert frame.empty and list(frame.columns) == list(TRIAL_COLUMNS)
    assert str(frame["alpha"].dtype) == "float64" and str(frame["seed"].dtype) == "int64"


def test_parquet_round_trip(tmp_path: Path) -> None:
    statuses = {0: "completed", 1: "failed", 2: "pending"}
    frame = trials_frame(synthetic_records(status_of=lambda a, e, s: statuses[s]))
    path = write_trials_parquet(frame, tmp_path / "trials.parquet")
    back = read_trials_parquet(path)
    pd.testing.assert_frame_equal(back, frame)
    assert back["epsilon"].max() == math.inf and back["clip"].isna().any()
    assert [p.name for p in tmp_path.iterdir()] == ["trials.parquet"]  # no temporary file left behind


def test_parquet_round_trip_of_an_empty_sweep(tmp_path: Path) -> None:
    frame = trials_frame([])
    back = read_trials_parquet(write_trials_parquet(frame, tmp_path / "trials.parquet"))
    assert back.empty and list(back.columns) == list(TRIAL_COLUMNS)
    assert {str(back[name].dtype) for name in CONFIG_COLUMNS if CONFIG_COLUMNS[name] == "float64"} == {"float64"}


def _expected_cells(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """The columns a dumped config should fill: nested sections flattened with ``_``, a model or signal as its name
    plus its other parameters as JSON, the data-subset sizes renamed ``*_limit`` (the table's documented layout)."""
    cells: dict[str, Any] = {}
    for name, value in data.items():
        column = (
            f"{prefix}_{name}" if prefix else {"n_train": "n_train_limit", "n_test": "n_test_limit"}.get(name, name)
        )
        if isinstance(value, dict) and "name" in value:
            cells[column] = value["name"]
            cells[f"{column}_params"] = json.dumps({k: v for k, v in value.items() if k != "name"}, sort_keys=True)
        elif isinstance(value, dict):
            cells.update(_expected_cells(value, column))
        else:
            cells[column] = ",".join(value) if isinstance(value, list) else value
    return cells


def test_every_config_field_is_a_column_holding_its_value() -> None:
    """A config field added without a column (or with a column that drops its value) fails here."""
    config = make_config(
        alpha=0.05, epsilon=2.0, seed=3, clip=0.5, n_train=500, n_test=100, eval_every=2, recipe=None,
        training={**TRAINING, "augment": ["flip", "shift"], "augment_shift": 3, "lr_scaling": "normalised"},
        pretrain={"dataset": "mnist", "epochs": 2, "batch_size": 64, "lr": 0.1, "n_train": 300},
        image_size=28,
    )  # fmt: skip
    row = trials_frame([make_record(config)]).iloc[0]
    expected = _expected_cells(config.model_dump(mode="json"))
    missing = sorted(set(expected) - set(row.index))
    assert not missing, f"config fields without a column: {missing}"
    for column, value in expected.items():
        cell = row[column]
        if column.endswith("_params"):
            assert json.loads(cell) == json.loads(value), column
        elif value is None:
            assert pd.isna(cell) or cell == "", column
        else:
            assert cell == value, (column, cell, value)
