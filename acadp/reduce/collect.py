"""Collect a sweep's trial records into one flat table: one row per grid point, completed or not.

The table is the reducer's single input. Every :class:`~acadp.config.trial.TrialConfig` field is flattened into a column
(``training.epochs`` → ``training_epochs``; the model's and signal's parameters as sorted JSON next to their names),
followed by the record's state and, for completed trials, the final metrics of its
:class:`~acadp.trial.result.TrialResult`. Metrics of trials that are not completed are NaN, so a partial sweep keeps its
pending, running and failed points visible as rows.

Conventions: ``epsilon = inf`` (no noise) stays the float ``inf``; a missing ``clip`` (no clipping) is NaN. The
config's optional data-subset sizes are named ``n_train_limit``/``n_test_limit`` so they do not collide with the
result's actual ``n_train``/``n_test``. ``arm`` is the arm's name (``SGD``, ``clip C=1``, ``DP ε=8 C=1``,
``SGD [tuned]``) and ``recipe`` the name of a separately tuned recipe, the empty string for the dataset's shared one.

Datasets with groups add ``worst_group_accuracy`` (a metric) and the JSON columns :data:`GROUP_COLUMNS` (per-group
accuracy, Group-DRO's final weights, collective members per group); ``training_objective`` is ``erm`` or ``gdro``.

Old stores: tables written before a column existed, and minimal tables built by hand, are completed by
:func:`with_arm_columns` (``recipe`` = "", ``arm`` and ``learner`` derived from epsilon and clip) and
:func:`coerce_trials_frame` (a missing metric column is NaN; a missing ``training_sampling``/``training_lr_scaling`` is
the config's default, ``poisson``/``fixed``).
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

from acadp.store.atomic import write_atomic

# for annotations only: the reducer reads the attributes of the records it is given, so at run time it imports
# neither the config models nor the sweep stage that builds the records
if TYPE_CHECKING:
    from acadp.config.trial import TrialConfig
    from acadp.sweep.status import TrialRecord

# column name → dtype; the order here is the column order of the table
CONFIG_COLUMNS: dict[str, str] = {
    "key": "str",
    "label": "str",
    "dataset": "str",
    "alpha": "float64",
    "epsilon": "float64",
    "delta": "float64",
    "clip": "float64",
    "seed": "int64",
    "target_class": "int64",
    "strategy": "str",
    "learner": "str",
    "arm": "str",
    "recipe": "str",
    "accountant": "str",
    "model": "str",
    "model_params": "str",
    "signal": "str",
    "signal_params": "str",
    "training_epochs": "int64",
    "training_batch_size": "int64",
    "training_lr": "float64",
    "training_momentum": "float64",
    "training_weight_decay": "float64",
    "training_grad_sample_mode": "str",
    "training_sampling": "str",
    "training_lr_scaling": "str",
    "training_objective": "str",
    "n_train_limit": "float64",
    "n_test_limit": "float64",
    "eval_every": "int64",
}
STATE_COLUMNS: dict[str, str] = {"status": "str", "error": "str", "epochs_done": "int64"}
# final metrics of a completed trial (NaN otherwise); counts are float so that they can be NaN
METRIC_COLUMNS: dict[str, str] = {
    name: "float64"
    for name in (
        "test_accuracy", "success", "success_all", "base_rate", "lift", "clipped_fraction", "train_loss",
        "epsilon_spent", "noise_multiplier", "worst_group_accuracy",
        "sample_rate", "steps", "seconds", "n_train", "n_test", "n_collective", "n_planted",
    )
}  # fmt: skip
# columns an old store may lack, filled with the config's default rather than NaN
COLUMN_DEFAULTS: dict[str, str] = {
    "training_sampling": "poisson",
    "training_lr_scaling": "fixed",
    "training_objective": "erm",
}
# datasets with groups: per-group accuracies, Group-DRO's final weights and the collective's members per group, each
# a JSON object keyed by group name ("" for trials without groups or not completed)
GROUP_COLUMNS: tuple[str, ...] = ("group_accuracy", "group_weights", "collective_groups")
TRIAL_COLUMNS: dict[str, str] = {
    **CONFIG_COLUMNS,
    **STATE_COLUMNS,
    **METRIC_COLUMNS,
    **dict.fromkeys(GROUP_COLUMNS, "str"),
}


def _params_json(params: Any) -> str:
    """A model's or signal's parameters (without the name) as compact, key-sorted JSON."""
    values = params.model_dump(mode="json")
    values.pop("name", None)
    return json.dumps(values, sort_keys=True, separators=(",", ":"))


def _none_to_nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def config_row(config: TrialConfig) -> dict[str, Any]:
    """The flat columns of one trial config (see :data:`CONFIG_COLUMNS`)."""
    training = config.training
    return {
        "key": config.key(),
        "label": config.label(),
        "dataset": config.dataset,
        "alpha": config.alpha,
        "epsilon": config.epsilon,
        "delta": config.delta,
        "clip": _none_to_nan(config.clip),
        "seed": config.seed,
        "target_class": config.target_class,
        "strategy": config.strategy,
        "learner": config.learner,
        "arm": config.arm,
        "recipe": config.recipe or "",
        "accountant": config.accountant,
        "model": config.model.name,
        "model_params": _params_json(config.model),
        "signal": config.signal.name,
        "signal_params": _params_json(config.signal),
        "training_epochs": training.epochs,
        "training_batch_size": training.batch_size,
        "training_lr": training.lr,
        "training_momentum": training.momentum,
        "training_weight_decay": training.weight_decay,
        "training_grad_sample_mode": training.grad_sample_mode,
        "training_sampling": training.sampling,
        "training_lr_scaling": training.lr_scaling,
        "training_objective": training.objective,
        "n_train_limit": _none_to_nan(config.n_train),
        "n_test_limit": _none_to_nan(config.n_test),
        "eval_every": config.eval_every,
    }


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
    for name in GROUP_COLUMNS:
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


def arm_name(*, epsilon: float, clip: float, recipe: str) -> str:
    """The arm's name from a table row (clip NaN = no clipping, recipe "" = the shared recipe); the same names as
    :func:`acadp.config.trial.arm_label`, which a trial stores in its ``arm`` column."""
    if recipe:
        return f"SGD [{recipe}]"
    if math.isnan(clip):
        return "SGD"
    return f"clip C={clip:g}" if math.isinf(epsilon) else f"DP ε={epsilon:g} C={clip:g}"


def learner_kind(*, epsilon: float, clip: float) -> str:
    """``dpsgd`` (noise), ``clip`` (clipping only) or ``sgd`` — :attr:`acadp.config.trial.TrialConfig.learner`."""
    if math.isfinite(epsilon):
        return "dpsgd"
    return "sgd" if math.isnan(clip) else "clip"


def with_arm_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with ``recipe`` (missing → ""), ``arm`` and ``learner`` (missing → derived from epsilon,
    clip and recipe); a frame without ``epsilon`` is returned as a copy, unchanged."""
    out = frame.copy()
    if "epsilon" not in out.columns:
        return out
    if "clip" not in out.columns:
        out["clip"] = float("nan")
    recipes = out["recipe"].fillna("").astype(str) if "recipe" in out.columns else pd.Series("", index=out.index)
    out["recipe"] = recipes
    coordinates = list(zip(out["epsilon"].astype(float), out["clip"].astype(float), recipes, strict=True))
    if "arm" not in out.columns:
        out["arm"] = [arm_name(epsilon=e, clip=c, recipe=r) for e, c, r in coordinates]
    if "learner" not in out.columns:
        out["learner"] = [learner_kind(epsilon=e, clip=c) for e, c, _ in coordinates]
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
