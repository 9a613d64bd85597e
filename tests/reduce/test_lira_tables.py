"""The LiRA table: schema check, ordering (the headline row first), empty input, pending audits, rendering."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from acadp.errors import SpecError
from acadp.lira.results import LiraRow
from acadp.reduce.lira_tables import LIRA_COLUMNS, lira_table
from acadp.reduce.tables import render_table

from .builders import lira_row


def test_sorted_by_dataset_epsilon_alpha_then_headline_attack_convention_subset() -> None:
    rows = pd.DataFrame(
        [
            lira_row(epsilon=math.inf, clip=math.nan),
            lira_row(subset="placebo"),
            lira_row(subset="non_collective"),
            lira_row(subset="collective"),
            lira_row(convention="reference"),
            lira_row(attack="offline"),
            lira_row(attack="online_fixed_variance", convention="reference"),
            lira_row(attack="online_fixed_variance"),
            lira_row(alpha=0.01),
            lira_row(dataset="cifar10"),
            lira_row(),
        ]
    )
    table = lira_table(rows)
    keys = ["dataset", "epsilon", "alpha", "attack", "convention", "subset"]
    order = list(zip(*(table[k] for k in keys), strict=True))
    assert order == [
        ("cifar10", 8.0, 0.05, "online", "balanced", "all"),
        ("mnist", 8.0, 0.01, "online", "balanced", "all"),
        ("mnist", 8.0, 0.05, "online_fixed_variance", "balanced", "all"),  # the headline row first
        ("mnist", 8.0, 0.05, "online_fixed_variance", "reference", "all"),
        ("mnist", 8.0, 0.05, "offline", "balanced", "all"),
        ("mnist", 8.0, 0.05, "online", "balanced", "all"),
        ("mnist", 8.0, 0.05, "online", "balanced", "collective"),
        ("mnist", 8.0, 0.05, "online", "balanced", "non_collective"),
        ("mnist", 8.0, 0.05, "online", "balanced", "placebo"),
        ("mnist", 8.0, 0.05, "online", "reference", "all"),
        ("mnist", math.inf, 0.05, "online", "balanced", "all"),
    ]
    assert list(table.columns) == list(LIRA_COLUMNS)


def test_pending_audits_without_conventions_or_counts_are_shown_as_missing() -> None:
    completed_only = ["convention", *LiraRow.count_names()]
    pending = lira_row(status="pending", **dict.fromkeys(LiraRow.metric_names(), math.nan))
    table = lira_table(pd.DataFrame([pending]).drop(columns=completed_only))
    assert list(table.columns) == list(LIRA_COLUMNS)
    cells = render_table("lira", table).markdown.splitlines()[2].split(" | ")
    assert cells[9] == "–" and "missing" in cells and cells[-1] == "pending |"  # no convention yet


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
    # a row stored before strategies, recipes, audited seeds and variants were recorded: "" and – where it has none
    cells = ["mnist", "", "8", "1", "0.05", "", "–", "trained/collective/as_trained", "online", "balanced", "all",
             "1950 / 1940", "0.610 ± 0.020", "[0.600, 0.620]", "0.0031 ± 0.0004", "0.021 ± 0.003", "16",
             "0.4 (8 targets)", "completed"]  # fmt: skip
    assert line == "| " + " | ".join(cells) + " |"


def test_undefined_tprs_say_why_and_partly_defined_ones_say_over_how_many_targets() -> None:
    row = lira_row(
        n_non_members_min=60.0, tpr_at_0_1_fpr_mean=math.nan, tpr_at_0_1_fpr_std=math.nan,
        n_targets_tpr_at_0_1_fpr=0.0, n_targets_tpr_at_1_fpr=12.0, epsilon_lower_bound=math.nan,
    )  # fmt: skip
    rendered = render_table("lira", lira_table(pd.DataFrame([row])))
    cells = rendered.markdown.splitlines()[2].split(" | ")
    assert cells[14] == "undefined (< 1000 non-members)"
    assert cells[15] == "0.021 ± 0.003 (12 of 16 targets)"
    assert cells[17] == "n/a (8 targets)"
    assert r"undefined ($<$ 1000 non-members)" in rendered.latex


def test_points_sort_by_recipe_strategy_alpha_and_seed_the_headline_variant_first() -> None:
    other = "original/clean/signal"
    rows = pd.DataFrame(
        [
            lira_row(strategy="withhold", seed=0.0, variant="trained/collective/as_trained"),
            lira_row(strategy="feature_label", seed=1.0, variant=other),
            lira_row(strategy="feature_label", seed=1.0, variant="trained/collective/as_trained"),
            lira_row(strategy="feature_label", seed=0.0, variant=other),
            lira_row(strategy="feature_label", seed=0.0, recipe="usable", arm="DP ε=8 C=1 [usable]"),
        ]
    )
    table = lira_table(rows)
    order = list(zip(table["recipe"], table["strategy"], table["seed"], table["variant"], strict=True))
    assert order == [
        ("", "feature_label", 0.0, other),
        ("", "feature_label", 1.0, "trained/collective/as_trained"),
        ("", "feature_label", 1.0, other),
        ("", "withhold", 0.0, "trained/collective/as_trained"),
        ("usable", "feature_label", 0.0, "trained/collective/as_trained"),
    ]
    assert list(table["arm"])[:2] == ["DP ε=8 C=1", "DP ε=8 C=1"]  # derived where the rows do not name it
