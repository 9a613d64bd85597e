"""The LiRA claim table and figure: the headline attack's AUC with its CI per audited point, convention and subset."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from acadp.reduce.collect import trials_frame
from acadp.reduce.lira_tables import lira_claim_table, lira_table
from acadp.reduce.plots_lira import plot_lira_auc
from acadp.reduce.report import compute_tables, sweep_figures
from acadp.reduce.tables import render_table

from .builders import lira_row, synthetic_records

HEADLINE = "online_fixed_variance"


def _audits() -> pd.DataFrame:
    rows = []
    for alpha, subsets in ((0.0, ("all", "non_collective", "placebo")), (0.1, ("all", "collective", "non_collective"))):
        for convention in ("balanced", "reference"):
            for index, subset in enumerate(subsets):
                auc = 0.7 + 0.01 * index + (0.05 if convention == "reference" else 0.0) + alpha
                rows.append(lira_row(
                    audit_key=f"k{alpha}", alpha=alpha, epsilon=math.inf, clip=math.nan, attack=HEADLINE,
                    convention=convention, subset=subset, auc_mean=auc, auc_ci_low=auc - 0.02,
                    auc_ci_high=auc + 0.02, n_members_min=40.0 if subset != "all" else 470.0,
                ))  # fmt: skip
    rows.append(lira_row(audit_key="k0.0", alpha=0.0, epsilon=math.inf, clip=math.nan, attack="online", auc_mean=0.9))
    return pd.DataFrame(rows)


def test_one_row_per_point_and_convention_with_every_subset_as_columns() -> None:
    claim = lira_claim_table(lira_table(_audits()))
    assert list(zip(claim["convention"], claim["alpha"], strict=True)) == [
        ("balanced", 0.0), ("balanced", 0.1), ("reference", 0.0), ("reference", 0.1),
    ]  # fmt: skip
    zero, tenth = claim.iloc[0], claim.iloc[1]
    assert zero["all_auc_mean"] == pytest.approx(0.7) and zero["placebo_auc_mean"] == pytest.approx(0.72)
    assert math.isnan(zero["collective_auc_mean"])
    assert tenth["collective_auc_mean"] == pytest.approx(0.81) and math.isnan(tenth["placebo_auc_mean"])
    assert claim["all_auc_mean"].max() < 0.9  # only the headline attack: the online attack's 0.9 is not here
    markdown = render_table("lira_claim", claim).markdown
    assert "0.800 [0.780, 0.820] (470/1940)" in markdown  # all members at α = 0.1, balanced
    assert "| – |" in markdown  # no collective at α = 0


def test_pending_audits_make_no_claim_rows() -> None:
    pending = lira_row(attack=HEADLINE, status="pending", auc_mean=math.nan)
    assert lira_claim_table(lira_table(pd.DataFrame([pending]))).empty


def test_the_report_has_the_claim_table_and_figure() -> None:
    trials = trials_frame(synthetic_records(seeds=(0, 1)))
    tables = compute_tables(trials, lira_rows=_audits(), thresholds=(0.5,), n_boot=20)
    assert "lira_claim" in tables and len(tables["lira_claim"]) == 4
    names = [figure.name for figure in sweep_figures(trials, tables, None)]
    assert "lira_auc" in names
    figure = plot_lira_auc(tables["lira_claim"])
    (axis,) = figure.axes
    assert len(axis.get_xticklabels()) == 2  # α = 0 and 0.1 as categories
    assert len(axis.containers) == 8  # 4 subsets drawn where present × 2 conventions; none for absent subsets
