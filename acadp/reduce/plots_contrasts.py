"""The forest plot of a sweep's paired contrasts (:mod:`acadp.reduce.contrasts`): one panel per metric, one row per
contrast × S*, the mean Δα* as a point with its 95% t-interval over seeds as a horizontal bar, a dashed line at
Δ = 0, and the Holm-adjusted p and the verdict printed at the right. Rows without an interval (a side not reached,
fewer than two seeds) say why at the right; a single seed's Δ is drawn as a point without a bar. Filled points are
verdicts ("yes"/"no"), hollow ones are not.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from acadp.reduce.contrasts import CONFIDENCE
from acadp.reduce.plots import PANEL_HEIGHT, PANEL_WIDTH
from acadp.reduce.style import PALETTE, REFERENCE_COLOR

ROW_HEIGHT = 0.32  # inches per contrast row
METRIC_TITLES = {"success": "α* on S", "success_all": "α* on success over all test points", "lift": "α* on lift"}


def _row_label(row: pd.Series) -> str:
    return f"{row['contrast']}, S* = {row['threshold']:g} (n = {int(row['n_seeds'])})"


def _why_no_interval(row: pd.Series) -> str:
    n = int(row["n_seeds"])
    seeds = f"{n} seed{'' if n == 1 else 's'}"
    if row["not_reached_a"] or row["not_reached_b"]:
        return f"not reached in A {int(row['not_reached_a'])}, B {int(row['not_reached_b'])} of {seeds}"
    return f"no interval ({seeds})"


def _draw_panel(axis: Axes, rows: pd.DataFrame, title: str) -> None:
    y = np.arange(len(rows))[::-1]  # first row at the top
    axis.axvline(0.0, color=REFERENCE_COLOR, linestyle="--", linewidth=0.8)
    for position, (_, row) in zip(y, rows.iterrows(), strict=True):
        color = PALETTE[0] if row["verdict"] in ("yes", "no") else PALETTE[1]
        has_interval = math.isfinite(row["ci_low"]) and math.isfinite(row["ci_high"])
        if has_interval:
            axis.errorbar(
                [row["delta_mean"]], [position], xerr=[[row["delta_mean"] - row["ci_low"]], [row["ci_high"] -
                row["delta_mean"]]], color=color, marker="o", capsize=3, linewidth=1.4,
                markerfacecolor=color if row["verdict"] in ("yes", "no") else "white",
            )  # fmt: skip
            p = "n/a" if not math.isfinite(row["p_holm"]) else f"{row['p_holm']:.2g}"
            note = f"p_Holm = {p}, {row['verdict']}"
        else:
            if math.isfinite(row["delta_mean"]):  # one seed: its Δ, without an interval
                axis.plot([row["delta_mean"]], [position], marker="o", color=color, markerfacecolor="white")
            note = _why_no_interval(row)
        axis.annotate(note, xy=(1.02, position), xycoords=("axes fraction", "data"), va="center", fontsize=7)
    axis.set_yticks(y, [_row_label(row) for _, row in rows.iterrows()], fontsize=7)
    axis.set_ylim(-0.7, len(rows) - 0.3)
    axis.set_xlabel("Δα* = α*(A) − α*(B)")
    axis.set_title(title, fontsize=9)


def plot_contrasts(table: pd.DataFrame, *, title: str) -> Figure:
    """The forest plot of one setting's contrast rows (:func:`acadp.reduce.contrasts.contrast_table`).

    One panel per metric (in the table's order), stacked vertically; each panel lists every contrast × S*.
    """
    metrics = list(dict.fromkeys(table["metric"].tolist()))
    heights = [max(1.5, ROW_HEIGHT * len(table[table["metric"] == m]) + 0.9) for m in metrics]
    figure = Figure(figsize=(PANEL_WIDTH * 2.2, max(PANEL_HEIGHT, sum(heights) + 0.8)), layout="constrained")
    axes = figure.subplots(len(metrics), 1, squeeze=False, height_ratios=heights)[:, 0]
    for axis, metric in zip(axes, metrics, strict=True):
        _draw_panel(axis, table[table["metric"] == metric], METRIC_TITLES.get(metric, f"α* on {metric}"))
    figure.suptitle(title)
    return figure


def contrasts_caption(table: pd.DataFrame) -> str:
    """The figure's caption: what is drawn and which interval (kind, level, over what, n)."""
    n = sorted({int(v) for v in table["n_seeds"]})
    seeds = f"{n[0]}" if len(n) == 1 else f"{n[0]}–{n[-1]}"
    n_tests = int(table["n_tests"].iloc[0]) if len(table) else 0
    return (
        f"Paired contrasts: mean Δα* over seeds with its {CONFIDENCE:.0%} Student-t interval over the n = {seeds} "
        f"paired seeds (n per row); p_Holm = paired t-test, Holm over the sweep's {n_tests} tests"
    )
