"""The LiRA table: schema check, ordering, empty input."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from acadp.errors import SpecError
from acadp.reduce.lira_tables import LIRA_COLUMNS, lira_table
from acadp.reduce.tables import render_table

from .builders import lira_row


def test_sorted_by_dataset_epsilon_alpha_attack_subset() -> None:
    rows = pd.DataFrame(
        [
            lira_row(epsilon=math.inf, clip=math.nan),
            lira_row(subset="non_collective"),
            lira_row(subset="collective"),
            lira_row(attack="offline"),
            lira_row(alpha=0.01),
            lira_row(dataset="cifar10"),
            lira_row(),
        ]
    )
    table = lira_table(rows)
    order = list(zip(table["dataset"], table["epsilon"], table["alpha"], table["attack"], table["subset"], strict=True))
    assert order == [
        ("cifar10", 8.0, 0.05, "online", "all"),
        ("mnist", 8.0, 0.01, "online", "all"),
        ("mnist", 8.0, 0.05, "offline", "all"),
        ("mnist", 8.0, 0.05, "online", "all"),
        ("mnist", 8.0, 0.05, "online", "collective"),
        ("mnist", 8.0, 0.05, "online", "non_collective"),
        ("mnist", math.inf, 0.05, "online", "all"),
    ]
    assert list(table.columns) == list(LIRA_COLUMNS)


def test_empty_input_gives_empty_table_with_columns() -> None:
    for rows in (pd.DataFrame(), pd.DataFrame(columns=list(LIRA_COLUMNS))):
        table = lira_table(rows)
        assert table.empty and list(table.columns) == list(LIRA_COLUMNS)
        assert render_table("lira", table).markdown.count("\n") == 2  # header and rule only


def test_missing_columns_and_unknown_subsets_are_refused() -> None:
    with pytest.raises(SpecError, match="auc_mean"):
        lira_table(pd.DataFrame([lira_row()]).drop(columns="auc_mean"))
    with pytest.raises(SpecError, match="members"):
        lira_table(pd.DataFrame([lira_row(subset="members")]))


def test_rendered_row() -> None:
    line = render_table("lira", lira_table(pd.DataFrame([lira_row()]))).markdown.splitlines()[2]
    cells = ["mnist", "8", "1", "0.05", "online", "all", "0.610 ± 0.020", "0.0031 ± 0.0004", "0.021 ± 0.003", "16",
             "0.4", "completed"]  # fmt: skip
    assert line == "| " + " | ".join(cells) + " |"
