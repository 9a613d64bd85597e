"""The one-run audit table: one row per stored one-run audit (Steinke et al. 2023) of a sweep's grid points, sorted by
dataset, ε (inf last), clipping, α, seed and canary count; rendered through the :data:`~acadp.reduce.tables.TABLES`
registry like every reducer table."""

from __future__ import annotations

from typing import Any

import pandas as pd

from acadp.reduce.collect import as_column_dtype, row_arm_label
from acadp.reduce.tables import FORMATTERS, TABLES, Column, Style, TableSpec

# column name → dtype of the rows acadp.sweep.one_run_audits.collect_one_run_rows gives
ONE_RUN_DTYPES: dict[str, str] = {
    "one_run_key": "str", "dataset": "str", "arm": "str", "alpha": "float64", "epsilon": "float64", "clip": "float64",
    "seed": "int64", "canaries": "int64", "canaries_included": "int64", "canaries_in_collective": "int64",
    "k_plus": "int64", "k_minus": "int64", "guesses": "int64", "correct": "int64", "minimum_guesses": "int64",
    "confidence": "float64", "delta": "float64", "epsilon_lower_bound": "float64", "n_train": "int64",
    "sample_rate": "float64", "noise_multiplier": "float64", "steps": "int64", "epsilon_spent": "float64",
    "train_accuracy": "float64", "test_accuracy": "float64", "seconds": "float64",
}  # fmt: skip
SORT_KEYS: tuple[str, ...] = ("dataset", "epsilon", "clip", "alpha", "seed", "canaries", "one_run_key")


def one_run_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The one-run table: the columns of :data:`ONE_RUN_DTYPES`, typed and sorted by :data:`SORT_KEYS`."""
    if "arm" not in rows.columns:  # rows collected before the arm was recorded
        rows = rows.assign(arm=[
            row_arm_label(epsilon=float(e), clip=float(c)) for e, c in zip(rows["epsilon"], rows["clip"], strict=True)
        ])  # fmt: skip
    missing = [name for name in ONE_RUN_DTYPES if name not in rows.columns]
    if missing:
        raise ValueError(f"one-run rows lack the columns {missing}")
    table = rows[list(ONE_RUN_DTYPES)].copy()
    for name, dtype in ONE_RUN_DTYPES.items():
        table[name] = as_column_dtype(table[name], dtype) if dtype != "int64" else table[name].astype("int64")
    return table.sort_values(list(SORT_KEYS), na_position="last", kind="stable").reset_index(drop=True)


@FORMATTERS.register("one_run_guesses")
def _guesses(values: tuple[Any, ...], style: Style) -> str:
    """Correct guesses of those made, "v / r (k₊ + k₋)"."""
    correct, guesses, k_plus, k_minus = values
    return f"{int(correct)} / {int(guesses)} ({int(k_plus)} + {int(k_minus)})"


@FORMATTERS.register("one_run_regime")
def _regime(values: tuple[Any, ...], style: Style) -> str:
    """The run's "n, q, σ, steps"."""
    n_train, q, sigma, steps = values
    return f"{int(n_train)}, {float(q):.3g}, {float(sigma):.3g}, {int(steps)}"


TABLES.add(
    "one_run",
    TableSpec(
        name="one_run",
        title="One-run audits (ε lower bounds)",
        columns=(
            Column(("dataset",), "Dataset", "Dataset", "text", numeric=False),
            Column(("arm",), "Arm", "Arm", "text", numeric=False),
            Column(("epsilon",), "ε (claimed)", r"$\varepsilon$ (claimed)", "epsilon"),
            Column(("clip",), "C", "$C$", "clip"),
            Column(("alpha",), "α", r"$\alpha$", "num"),
            Column(("seed",), "Seed", "Seed", "int"),
            Column(("canaries",), "Canaries", "Canaries", "int"),
            Column(("correct", "guesses", "k_plus", "k_minus"), "Correct / guesses (k+ + k−)",
                   r"Correct / guesses ($k_+ + k_-$)", "one_run_guesses"),
            Column(("confidence",), "Confidence", "Confidence", "num"),
            Column(("epsilon_lower_bound",), "ε lower bound", r"$\varepsilon$ lower bound", "prob"),
            Column(("test_accuracy",), "Test acc. of the run", "Test acc. of the run", "prob"),
            Column(("n_train", "sample_rate", "noise_multiplier", "steps"), "Run: n, q, σ, steps",
                   r"Run: $n$, $q$, $\sigma$, steps", "one_run_regime", numeric=False),
            Column(("epsilon_spent",), "ε spent", r"$\varepsilon$ spent", "epsilon"),
        ),
    ),
)  # fmt: skip

NOTE = (
    "One-run audits (Steinke, Nasr & Jagielski 2023): m canaries drawn from the audited trial's training set, each "
    "trained on with probability 1/2 in one run with the trial's recipe and its q, σ and steps (fixed at the trial's "
    "full training set); guesses 'included' on the k+ highest and 'excluded' on the k− lowest logit-scaled "
    "confidences. The ε lower bound (Theorem 3.1, with the claimed δ) holds with the stated confidence if the run is "
    "(ε, δ)-DP for adding or removing one canary; with black-box input-space canaries it is usually far below the "
    "claimed ε."
)
