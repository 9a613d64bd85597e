"""The LiRA claim tables and figure: AUC over audited seeds (t-interval over seeds, the per-target spread beside it),
member counts and interpretability marks per subset, variants and the "collective removed" control, paired
differences from α = 0."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from acadp.reduce.collect import trials_frame
from acadp.reduce.lira_claim import REMOVED, lira_claim_table, lira_summary_table
from acadp.reduce.lira_tables import lira_table
from acadp.reduce.plots_lira import plot_lira_auc
from acadp.reduce.report import compute_tables, sweep_figures
from acadp.reduce.tables import render_table

from .builders import lira_row, synthetic_records

HEADLINE = "online_fixed_variance"
DEFAULT = "trained/collective/as_trained"
SIGNAL = "original/clean/signal"
# AUC over all examples per (strategy, variant, α) and audited seed: seed s adds 0.01·s
BASE = {
    ("feature_label", DEFAULT, 0.0): 0.70, ("feature_label", DEFAULT, 0.01): 0.72,
    ("feature_label", SIGNAL, 0.0): 0.60, ("feature_label", SIGNAL, 0.01): 0.50,
    ("withhold", DEFAULT, 0.01): 0.69, ("withhold", SIGNAL, 0.01): 0.55,
}  # fmt: skip


def _subsets(alpha: float, strategy: str) -> tuple[str, ...]:
    if alpha == 0.0:
        return ("all", "non_collective", "placebo")
    return ("all", "non_collective") if strategy == "withhold" else ("all", "collective", "non_collective")


def _row(strategy: str, variant: str, alpha: float, *, seed: int, subset: str, convention: str) -> dict[str, object]:
    auc = BASE[(strategy, variant, alpha)] + 0.01 * seed + (0.1 if subset == "collective" else 0.0)
    auc += 0.05 if convention == "reference" else 0.0
    small = subset in ("collective", "placebo")
    return lira_row(
        audit_key=f"{strategy}-{alpha}-{seed}", alpha=alpha, epsilon=math.inf, clip=math.nan, recipe="",
        arm="SGD", strategy=strategy, seed=float(seed), variant=variant, attack=HEADLINE, convention=convention,
        subset=subset, auc_mean=auc, auc_std=0.01 * (seed + 1), n_members_min=10.0 + seed if small else 1950.0,
        n_non_members_min=12.0 if small else 1940.0, n_targets_tpr_at_0_1_fpr=0.0 if small else 16.0,
        tpr_at_0_1_fpr_mean=math.nan if small else 0.01 * (seed + 1),
    )  # fmt: skip


def _audits(seeds: tuple[int, ...] = (0, 1, 2)) -> pd.DataFrame:
    rows = [
        _row(strategy, variant, alpha, seed=seed, subset=subset, convention=convention)
        for (strategy, variant, alpha) in BASE
        for seed in seeds
        for subset in _subsets(alpha, strategy)
        for convention in ("balanced", "reference")
    ]
    rows.append(lira_row(alpha=0.0, epsilon=math.inf, clip=math.nan, attack="online", auc_mean=0.99))
    return pd.DataFrame(rows)


def _t_interval(values: list[float]) -> tuple[float, float]:
    array = np.asarray(values)
    half = stats.t.ppf(0.975, array.size - 1) * array.std(ddof=1) / math.sqrt(array.size)
    return float(array.mean() - half), float(array.mean() + half)


def test_the_claim_table_gives_each_point_its_mean_and_interval_over_audited_seeds() -> None:
    claim = lira_claim_table(lira_table(_audits()))
    assert len(claim) == len(BASE) * 2  # every (strategy, variant, α) under both conventions; the online attack absent
    point = claim[(claim["strategy"] == "feature_label") & (claim["variant"] == DEFAULT) & (claim["alpha"] == 0.01)
                  & (claim["convention"] == "balanced")].iloc[0]  # fmt: skip
    seeds = [0.72, 0.73, 0.74]
    assert point["n_seeds"] == 3 and point["all_auc_mean"] == pytest.approx(np.mean(seeds))
    assert (point["all_auc_ci_low"], point["all_auc_ci_high"]) == pytest.approx(_t_interval(seeds))
    assert point["all_auc_target_sd"] == pytest.approx(0.02)  # the mean over seeds of the per-target sd
    assert point["collective_auc_mean"] == pytest.approx(0.83)
    assert point["collective_n_members_min"] == 10 and point["collective_interpretable"] == 0.0  # 10 < 20 per target
    assert point["all_interpretable"] == 1.0 and point["all_tpr_at_0_1_fpr"] == pytest.approx(0.02)
    assert math.isnan(point["placebo_auc_mean"]) and math.isnan(point["collective_tpr_at_0_1_fpr"])
    # the headline variant first, then the others; the reference convention after the balanced one
    first = claim.iloc[0]
    assert (first["strategy"], first["variant"], first["convention"], first["alpha"]) == (
        "feature_label", DEFAULT, "balanced", 0.0)  # fmt: skip


def test_rendered_cells_carry_the_interval_the_spread_the_counts_and_the_mark() -> None:
    audits = _audits()
    withheld = (audits["strategy"] == "withhold") & (audits["subset"] == "all")
    audits.loc[withheld, ["n_targets_tpr_at_0_1_fpr", "tpr_at_0_1_fpr_mean"]] = (0.0, math.nan)  # < 1000 non-members
    claim = lira_claim_table(lira_table(audits))
    markdown = render_table("lira_claim", claim).markdown
    low, high = _t_interval([0.82, 0.83, 0.84])
    assert f"0.830 [{low:.3f}, {high:.3f}] sd 0.020 (10/12) not interpretable" in markdown
    assert markdown.count("undefined (< 1000 non-members)") == 4  # the control's two variants, two conventions
    single = lira_claim_table(lira_table(_audits(seeds=(0,))))
    assert "0.700 [n/a] sd 0.010 (1950/1940)" in render_table("lira_claim", single).markdown  # one seed: no interval


def test_the_summary_has_every_variant_and_the_removed_control_with_paired_differences_from_alpha_zero() -> None:
    table = lira_table(_audits())
    summary = lira_summary_table(table, lira_claim_table(table))
    assert list(dict.fromkeys(summary["comparison"])) == [DEFAULT, SIGNAL, REMOVED]
    removed = summary[summary["comparison"] == REMOVED]
    assert list(removed["alpha"]) == [0.0, 0.01]  # its α = 0 row is the collective's own (no collective, same firm)
    default = summary[summary["comparison"] == DEFAULT]
    assert removed["all_auc_mean"].iloc[0] == default["all_auc_mean"].iloc[0]
    # Δ all at α = 0.01 against α = 0, per seed 0.72 − 0.70 (every seed alike): +0.02 with a zero-width interval
    at = default[default["alpha"] == 0.01].iloc[0]
    assert at["delta_all_mean"] == pytest.approx(0.02) and at["delta_all_n"] == 3
    assert at["delta_all_ci_low"] == pytest.approx(0.02) and at["delta_all_ci_high"] == pytest.approx(0.02)
    assert removed["delta_rest_mean"].iloc[1] == pytest.approx(-0.01)  # 0.69 − 0.70 over the rest
    signal = summary[(summary["comparison"] == SIGNAL) & (summary["alpha"] == 0.01)].iloc[0]
    assert signal["delta_all_mean"] == pytest.approx(-0.10)
    assert math.isnan(default["delta_all_mean"].iloc[0])  # α = 0 has nothing to differ from


def test_a_seed_missing_at_alpha_zero_is_left_out_of_the_paired_difference() -> None:
    audits = _audits()
    audits = audits[~((audits["alpha"] == 0.0) & (audits["seed"] == 2.0))]
    table = lira_table(audits)
    summary = lira_summary_table(table, lira_claim_table(table))
    at = summary[(summary["comparison"] == DEFAULT) & (summary["alpha"] == 0.01)].iloc[0]
    assert at["delta_all_n"] == 2 and at["n_seeds"] == 3


def test_pending_audits_make_no_claim_rows() -> None:
    pending = lira_row(attack=HEADLINE, status="pending", auc_mean=math.nan)
    assert lira_claim_table(lira_table(pd.DataFrame([pending]))).empty


def test_the_report_has_the_claim_and_summary_tables_and_one_figure_panel_per_arm_and_comparison() -> None:
    trials = trials_frame(synthetic_records(seeds=(0, 1)))
    tables = compute_tables(trials, lira_rows=_audits(), thresholds=(0.5,), n_boot=20)
    assert len(tables["lira_claim"]) == 12 and len(tables["lira_summary"]) == 6
    names = [figure.name for figure in sweep_figures(trials, tables, None)]
    assert "lira_auc" in names
    figure = plot_lira_auc(tables["lira_summary"])
    titles = [axis.get_title() for axis in figure.axes if axis.get_title()]
    assert len(titles) == 3 and all("SGD" in title for title in titles)
    axis = next(axis for axis in figure.axes if REMOVED in axis.get_title())
    assert len(axis.get_xticklabels()) == 2  # α = 0 and 0.01 as categories
    assert len(axis.containers) == 3  # all, the rest and the placebo (at α = 0); no collective when removed
