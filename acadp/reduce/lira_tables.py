"""The LiRA audit table: one row per (audit, attack, member subset), tidy and sorted for papers.

The rows come from the LiRA audit stage (one per audited trial, attack and subset); this module only checks their
schema, orders them and fixes dtypes. Subsets are ordered ``all``, ``collective``, ``non_collective``.
"""

from __future__ import annotations

import pandas as pd

from acadp.errors import SpecError
from acadp.lira.results import SUBSETS, LiraRow
from acadp.reduce.collect import as_column_dtype


def _lira_columns() -> dict[str, str]:
    """The audited point's coordinates, the fields of :class:`LiraRow` (its counts ``n_targets``/``n_examples`` are
    kept as extra columns after these), the audit's shadow count and its status."""
    columns = {"audit_key": "str", "dataset": "str", "alpha": "float64", "epsilon": "float64", "clip": "float64"}
    for name in LiraRow.model_fields:
        if name in LiraRow.count_names():
            continue
        if name == "epsilon_lower_bound":
            columns["n_shadows"] = "float64"  # float so that an unfinished audit can leave it NaN
        columns[name] = "float64" if name in LiraRow.metric_names() else "str"
    columns["status"] = "str"
    return columns


# column name → dtype of the audit rows the LiRA stage produces
LIRA_COLUMNS: dict[str, str] = _lira_columns()
SORT_KEYS: tuple[str, ...] = ("dataset", "epsilon", "alpha", "attack", "subset")


def _check_schema(rows: pd.DataFrame) -> None:
    missing = [name for name in LIRA_COLUMNS if name not in rows.columns]
    if missing:
        raise SpecError(f"LiRA rows lack the columns {missing}; expected the columns {list(LIRA_COLUMNS)}")
    unknown = sorted(set(rows["subset"].dropna()) - set(SUBSETS))
    if unknown:
        raise SpecError(f"LiRA rows have unknown subsets {unknown}; valid subsets: {list(SUBSETS)}")


def lira_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The LiRA table: the columns of :data:`LIRA_COLUMNS` (extra columns kept after them), typed, sorted by
    dataset, epsilon (inf last), alpha, attack and subset (all, collective, non_collective).

    An empty input (with or without columns) gives an empty table with the expected columns.
    """
    if rows.empty and not set(LIRA_COLUMNS) <= set(rows.columns):
        rows = pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in LIRA_COLUMNS.items()})
    _check_schema(rows)
    extra = [name for name in rows.columns if name not in LIRA_COLUMNS]
    table = rows[[*LIRA_COLUMNS, *extra]].copy()
    for name, dtype in LIRA_COLUMNS.items():
        table[name] = as_column_dtype(table[name], dtype)
    subset_rank = table["subset"].map({name: rank for rank, name in enumerate(SUBSETS)})
    table = table.assign(_subset_rank=subset_rank)
    keys = [*SORT_KEYS[:-1], "_subset_rank", "clip"]
    table = table.sort_values(keys, na_position="last", kind="stable").drop(columns="_subset_rank")
    return table.reset_index(drop=True)
