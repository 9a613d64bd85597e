"""The LiRA audit table: one row per (audit, variant, attack, convention, member subset), tidy and sorted for papers.

The rows come from the LiRA audit stage (one per audited trial — arm, strategy, α and audited seed — variant, attack,
leave-one-out convention and subset); this module only checks their schema, orders them and fixes dtypes. Within an
audited point the headline variant comes first, the headline attack (``online_fixed_variance``) first, then the
other attacks by name; within an attack the headline convention (``balanced``) first; subsets are ordered ``all``,
``collective``, ``non_collective``, ``placebo``. The claim tables over audited seeds are :mod:`acadp.reduce.lira_claim`.
"""

from __future__ import annotations

import math

import pandas as pd

from acadp.errors import SpecError
from acadp.lira.conventions import REPORTED_CONVENTIONS
from acadp.lira.results import (
    HEADLINE_ATTACK,
    HEADLINE_VARIANT,
    REGIME_FIELDS,
    REGIME_WHO,
    SUBSETS,
    LiraRow,
    regime_column_names,
    variant_rank,
)
from acadp.reduce.collect import as_column_dtype, row_arm_label

# columns only completed audits have (a pending audit's placeholder rows leave them out): added as missing if absent
COMPLETED_ONLY: tuple[str, ...] = ("convention", *LiraRow.count_names())
# columns rows stored before audited seeds, strategies, arm recipes and variants were recorded lack: filled so
# (arm is derived from epsilon, clip and recipe)
LATER_COLUMNS: dict[str, object] = {
    "recipe": "", "strategy": "", "seed": math.nan, "variant": HEADLINE_VARIANT,
}  # fmt: skip


def _lira_columns() -> dict[str, str]:
    """The audited point's coordinates (arm, strategy, α, audited seed), the fields of :class:`LiraRow` (its counts
    as float columns, NaN for pending audits), the audit's shadow count and its status."""
    columns = {
        "audit_key": "str", "dataset": "str", "alpha": "float64", "epsilon": "float64", "clip": "float64",
        "recipe": "str", "arm": "str", "strategy": "str", "seed": "float64",
    }  # fmt: skip
    for name in LiraRow.model_fields:
        if name == "epsilon_lower_bound":
            columns["n_shadows"] = "float64"  # float so that an unfinished audit can leave it NaN
        numeric = name in LiraRow.metric_names() or name in LiraRow.count_names()
        columns[name] = "float64" if numeric else "str"
    columns["status"] = "str"
    return columns


# column name → dtype of the audit rows the LiRA stage produces
LIRA_COLUMNS: dict[str, str] = _lira_columns()
SORT_KEYS: tuple[str, ...] = ("dataset", "epsilon", "alpha", "attack", "convention", "subset")


def with_later_columns(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with the :data:`LATER_COLUMNS` they lack (or leave empty) filled in, and ``arm`` derived where it is
    missing."""
    rows = rows.assign(**{
        name: rows[name].fillna(value) if name in rows.columns else value
        for name, value in LATER_COLUMNS.items()
        if not (isinstance(value, float) and math.isnan(value))
    })  # fmt: skip
    rows = rows if "seed" in rows.columns else rows.assign(seed=math.nan)
    derived = [
        row_arm_label(epsilon=float(e), clip=float(c), recipe=str(r))
        for e, c, r in zip(rows["epsilon"], rows["clip"], rows["recipe"], strict=True)
    ]
    arm = rows["arm"].where(rows["arm"].notna(), pd.Series(derived, index=rows.index)) if "arm" in rows else derived
    return rows.assign(arm=arm)


def _check_schema(rows: pd.DataFrame) -> None:
    optional = {*COMPLETED_ONLY, *LATER_COLUMNS, "arm"}
    missing = [name for name in LIRA_COLUMNS if name not in rows.columns and name not in optional]
    if missing:
        raise SpecError(f"LiRA rows lack the columns {missing}; expected the columns {list(LIRA_COLUMNS)}")
    unknown = sorted(set(rows["subset"].dropna()) - set(SUBSETS))
    if unknown:
        raise SpecError(f"LiRA rows have unknown subsets {unknown}; valid subsets: {list(SUBSETS)}")


def _ranks(table: pd.DataFrame) -> pd.DataFrame:
    """Sort keys putting the headline variant and attack first, the headline convention first and subsets in table
    order."""
    return table.assign(
        _variant_rank=table["variant"].map(variant_rank),
        _headline_rank=(table["attack"] != HEADLINE_ATTACK).astype(int),
        _convention_rank=table["convention"].map({name: rank for rank, name in enumerate(REPORTED_CONVENTIONS)}),
        _subset_rank=table["subset"].map({name: rank for rank, name in enumerate(SUBSETS)}),
    )


def lira_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The LiRA table: the columns of :data:`LIRA_COLUMNS` (extra columns kept after them), typed, sorted by
    dataset, epsilon (inf last), recipe, strategy, alpha, seed, variant, attack, convention and subset (module
    docstring).

    An empty input (with or without columns) gives an empty table with the expected columns. Rows of pending audits
    may lack the :data:`COMPLETED_ONLY` columns, older rows the :data:`LATER_COLUMNS`; they are filled in.
    """
    if rows.empty and not set(LIRA_COLUMNS) <= set(rows.columns):
        rows = pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in LIRA_COLUMNS.items()})
    _check_schema(rows)
    rows = rows.assign(**{name: math.nan for name in COMPLETED_ONLY if name not in rows.columns})
    rows = with_later_columns(rows)
    extra = [name for name in rows.columns if name not in LIRA_COLUMNS]
    table = rows[[*LIRA_COLUMNS, *extra]].copy()
    for name, dtype in LIRA_COLUMNS.items():
        table[name] = as_column_dtype(table[name], dtype)
    ranks = ["_variant_rank", "_headline_rank", "_convention_rank", "_subset_rank"]
    keys = [*SORT_KEYS[:2], "recipe", "strategy", "alpha", "seed", ranks[0], "variant", ranks[1], "attack",
            *ranks[2:], "clip"]  # fmt: skip
    table = _ranks(table).sort_values(keys, na_position="last", kind="stable").drop(columns=ranks)
    return table.reset_index(drop=True)


# who trained in the regime of a row of the regime table: the audited grid trial, or the audit's shadows (their mean)
REGIME_LABELS = {"trial": "grid trial", "shadow": "shadows (mean)"}


def split_regime(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """``rows`` without their regime columns (``trial_<field>``, ``shadow_<field>``), and the regime table built from
    them (:func:`lira_regime_table`; None when the rows have none)."""
    names = [name for name in regime_column_names() if name in rows.columns]
    if not names:
        return rows, None
    return rows.drop(columns=names), lira_regime_table(rows)


def lira_regime_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The regime each audit's models trained in, two rows per audited point: its grid trial (from that trial's
    result) and its shadows (means over shadows), with training-set size, sampling rate q, noise multiplier σ,
    steps, ε spent, train and test accuracy; sorted like :func:`lira_table`'s points."""
    point = ["audit_key", "dataset", "alpha", "epsilon", "clip", "recipe", "arm", "strategy", "seed", "n_shadows"]
    audits = with_later_columns(rows.drop_duplicates("audit_key"))
    long = []
    for who in REGIME_WHO:
        part = audits[point].copy()
        part["models"] = REGIME_LABELS[who]
        for name in REGIME_FIELDS:
            column = f"{who}_{name}"
            part[name] = audits[column].astype("float64") if column in audits.columns else math.nan
        long.append(part)
    table = pd.concat(long, ignore_index=True)
    table["_who"] = table["models"].map({label: rank for rank, label in enumerate(REGIME_LABELS.values())})
    table = table.sort_values(
        [*SORT_KEYS[:2], "recipe", "strategy", "alpha", "seed", "clip", "_who"], na_position="last", kind="stable"
    )
    return table.drop(columns="_who").reset_index(drop=True)
