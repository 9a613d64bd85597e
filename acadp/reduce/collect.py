"""Collect a sweep's trial records into one flat table: one row per grid point, completed or not.

The table is the reducer's single input. Its columns are derived from the models (:mod:`acadp.reduce.columns`):
every :class:`~acadp.config.trial.TrialConfig` field, flattened, then the record's state and, for completed trials,
the final metrics of its :class:`~acadp.trial.result.TrialResult`. Metrics of trials that are not completed are NaN,
so a partial sweep keeps its pending, running and failed points visible as rows.

Conventions: ``epsilon = inf`` (no noise) stays the float ``inf``; a missing ``clip`` (no clipping) is NaN. ``arm`` is
the arm's name (``SGD``, ``clip C=1``, ``DP ε=8 C=1``, ``SGD [tuned]``, ``GDRO``), ``arm_kind`` its kind
(:mod:`acadp.config.arms`), ``recipe`` the name of a separately tuned recipe, the empty string for the dataset's shared
one. Datasets with groups add per-group accuracies, Group-DRO's final weights and the collective's members per group
as JSON objects keyed by group name (:data:`~acadp.reduce.columns.JSON_COLUMNS`, with the result's provenance).

Old stores: tables written before a column existed, and minimal tables built by hand, are completed by
:func:`with_arm_columns` (``recipe`` = "", ``arm`` and ``arm_kind`` derived from epsilon, clip and objective) and
:func:`coerce_trials_frame` (a missing metric column is NaN; a missing ``training_*`` column holds the recipe field's
default).
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from acadp.config.arms import arm_kind, arm_label
from acadp.config.trial import TrainingConfig
from acadp.reduce.columns import JSON_COLUMNS, METRIC_COLUMNS, config_columns, config_row
from acadp.store.atomic import write_atomic

# for annotations only: the reducer reads the attributes of the records it is given
if TYPE_CHECKING:
    from acadp.trial.record import TrialRecord

CONFIG_COLUMNS: dict[str, str] = config_columns()
STATE_COLUMNS: dict[str, str] = {"status": "str", "error": "str", "epochs_done": "int64"}
TRIAL_COLUMNS: dict[str, str] = {
    **CONFIG_COLUMNS,
    **STATE_COLUMNS,
    **METRIC_COLUMNS,
    **dict.fromkeys(JSON_COLUMNS, "str"),
}
# training columns an old store may lack, filled with the recipe field's default rather than NaN
COLUMN_DEFAULTS: dict[str, Any] = {
    f"training_{name}": ",".join(info.default) if isinstance(info.default, tuple) else info.default
    for name, info in TrainingConfig.model_fields.items()
    if not info.is_required()
}


def _none_to_nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def record_row(record: TrialRecord) -> dict[str, Any]:
    """One row of :func:`trials_frame`: config columns, state, and final metrics (NaN unless completed)."""
    row = config_row(record.config)
    row["key"] = record.key
    row["status"] = record.status
    row["error"] = record.error
    row["epochs_done"] = record.epochs_done
    result = record.result if record.status == "completed" else None
    for name in METRIC_COLUMNS:
        row[name] = float("nan") if result is None else _none_to_nan(getattr(result, name, None))
    for name in JSON_COLUMNS:
        values = getattr(result, name, None) if result is not None else None
        row[name] = json.dumps(values, sort_keys=True) if values else ""
    return row


def trials_frame(records: Sequence[TrialRecord]) -> pd.DataFrame:
    """The trials table: one row per record, columns :data:`TRIAL_COLUMNS` in that order.

    Works for any mix of statuses, including a sweep with no completed trial and an empty sequence (then the table
    has the columns and no rows).
    """
    rows = [record_row(record) for record in records]
    columns = {name: [row[name] for row in rows] for name in TRIAL_COLUMNS}
    return coerce_trials_frame(pd.DataFrame(columns))


def coerce_trials_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the dtypes of :data:`TRIAL_COLUMNS` for those of its columns that are known.

    Unknown columns are kept as they are, so a caller may build a reduced table directly (benchmarks, tests) with only
    the columns the reducer needs: dataset, alpha, epsilon, clip, seed, status, success, test_accuracy.
    """
    out = with_arm_columns(frame)
    for name, default in COLUMN_DEFAULTS.items():
        if name not in out.columns and "training_lr" in out.columns:
            out[name] = default
    for name in METRIC_COLUMNS:
        if name not in out.columns and "status" in out.columns and "success" in out.columns:
            out[name] = float("nan")
    for name, dtype in TRIAL_COLUMNS.items():
        if name in out.columns:
            out[name] = as_column_dtype(out[name], dtype)
    return out


def row_arm_label(*, epsilon: float, clip: float, recipe: str = "", objective: str = "erm") -> str:
    """:func:`acadp.config.arms.arm_label` of a table row, whose conventions are clip NaN = no clipping and recipe
    "" = the shared recipe."""
    return arm_label(
        epsilon=epsilon, clip=None if math.isnan(clip) else clip, recipe=recipe or None, objective=objective
    )


def with_arm_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with ``recipe`` (missing → ""), ``arm`` and ``arm_kind`` (missing → derived from epsilon,
    clip, recipe and the training objective); a frame without ``epsilon`` is returned as a copy, unchanged."""
    out = frame.copy()
    if "epsilon" not in out.columns:
        return out
    if "clip" not in out.columns:
        out["clip"] = float("nan")
    recipes = out["recipe"].fillna("").astype(str) if "recipe" in out.columns else pd.Series("", index=out.index)
    out["recipe"] = recipes
    objectives = out.get("training_objective", pd.Series("erm", index=out.index)).fillna("erm").astype(str)
    epsilons, clips = out["epsilon"].astype(float), out["clip"].astype(float)
    coordinates = list(zip(epsilons, clips, recipes, objectives, strict=True))
    if "arm" not in out.columns:
        out["arm"] = [row_arm_label(epsilon=e, clip=c, recipe=r, objective=o) for e, c, r, o in coordinates]
    if "arm_kind" not in out.columns:
        out["arm_kind"] = [
            arm_kind(epsilon=e, clip=None if math.isnan(c) else c, objective=o) for e, c, _, o in coordinates
        ]
    return out


def as_column_dtype(column: pd.Series, dtype: str) -> pd.Series:
    """``column`` as ``dtype`` (``"str"``, ``"float64"``, ``"int64"``); for text, missing values stay missing."""
    if dtype == "str":
        values = [None if _is_missing(v) else str(v) for v in column.tolist()]
        return pd.Series(values, index=column.index, dtype="str")
    if dtype == "float64":
        return pd.to_numeric(column, errors="raise").astype("float64")
    return column.astype(dtype)


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def trials_parquet_bytes(frame: pd.DataFrame) -> bytes:
    """The trials table encoded as Parquet (pyarrow), index dropped."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, engine="pyarrow", index=False)
    return buffer.getvalue()


def write_trials_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """Write the trials table to ``path`` (``trials.parquet``) atomically; returns ``path``."""
    return write_atomic(path, trials_parquet_bytes(frame))


def read_trials_parquet(path: Path) -> pd.DataFrame:
    """Read a trials table written by :func:`write_trials_parquet`, with the dtypes of :data:`TRIAL_COLUMNS`."""
    return coerce_trials_frame(pd.read_parquet(path, engine="pyarrow"))
