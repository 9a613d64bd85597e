"""Figures against the privacy budget ε: the critical mass α* and the clean test accuracy.

* :func:`plot_critical_mass` — α*(S*) against ε (log axis), one panel per S*: the DP arms of one clipping norm C as
  one line with its bootstrap intervals as bars, the non-private arms as horizontal lines with their intervals shaded.
  "Not reached" is never a point on the α* scale: it is an arrow (an α*, or an interval's upper bound) or a line (a
  non-private arm) in a shaded band above the axis, labelled "not reached".
* :func:`plot_accuracy` — test accuracy against ε at the grid's smallest α, on an axis zoomed to the values shown,
  with a narrow ε = ∞ axis on the right for the non-private arms.

Arms keep their colour and marker across both figures, and their colour in S(α) (:mod:`acadp.reduce.style`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from acadp.reduce.collect import with_arm_columns
from acadp.reduce.plots import (
    EPSILON_LABEL,
    LEGEND_WIDTH,
    PANEL_HEIGHT,
    PANEL_WIDTH,
    empty_figure,
    error_bars,
    house_style,
    new_figure,
    outside_legend,
    set_epsilon_ticks,
)
from acadp.reduce.style import LINESTYLES, REFERENCE_ARM, ArmStyle, dp_family, style_book

if TYPE_CHECKING:
    from matplotlib.typing import LineStyleType

NOT_REACHED = "not\nreached"
STRIP_COLOR = "#ededed"
DODGE = 1.07  # neighbouring DP lines at one ε sit this factor apart on the log axis


def _styles(table: pd.DataFrame) -> dict[str, ArmStyle]:
    """Line → style: the DP families by C (from the rows' clipping norms), then the non-private arms."""
    finite = np.isfinite(table["epsilon"].to_numpy(float))
    clips = sorted(table.loc[finite, "clip"].unique())
    return style_book([dp_family(clip) for clip in clips] + list(dict.fromkeys(table.loc[~finite, "arm"])))


def _reference_linestyle(arm: str, index: int) -> LineStyleType:
    return "-" if arm == REFERENCE_ARM else LINESTYLES[1 + index % (len(LINESTYLES) - 1)]


# --------------------------------------------------------------------------------------------------- critical mass


def _critical_mass_top(table: pd.DataFrame) -> float:
    values = table[["alpha_star", "ci_low", "ci_high"]].to_numpy(float)
    finite = values[np.isfinite(values)]
    return float(finite.max() * 1.15) if finite.size and finite.max() > 0 else 1.0


def _arrow(strip: Axes, x: float, color: str, *, dotted: bool = False) -> None:
    """An upward arrow at ``x`` in the "not reached" band (dotted: an interval's bound, solid: the estimate)."""
    props = {"arrowstyle": "-|>", "color": color, "linewidth": 1.0 if dotted else 1.8, "mutation_scale": 12}
    if dotted:
        props["linestyle"] = ":"
    transform = strip.get_xaxis_transform()  # x in data, y in axes fraction
    strip.annotate("", xy=(x, 0.9), xytext=(x, 0.0), xycoords=transform, textcoords=transform, arrowprops=props)


def _draw_dp_line(main: Axes, strip: Axes, rows: pd.DataFrame, *, style: ArmStyle, shift: float, top: float) -> None:
    """One DP family (one C) against ε: reached α* with bars, arrows in the band for what is not reached."""
    rows = rows[rows["alpha_star"].notna()].sort_values("epsilon")  # NaN: no completed trial, nothing to draw
    x = rows["epsilon"].to_numpy(float) * shift
    star, high = rows["alpha_star"].to_numpy(float), rows["ci_high"].to_numpy(float)
    reached = np.isfinite(star)
    y = np.where(reached, star, np.nan)  # NaN breaks the line where α* is not reached
    bars = error_bars(np.nan_to_num(y), rows["ci_low"].to_numpy(float), high, top)
    main.errorbar(x, y, yerr=np.where(reached, bars, 0.0), capsize=3, markersize=6, linewidth=1.5,
                  **style.kwargs())  # fmt: skip
    for xi in x[~reached]:
        _arrow(strip, float(xi), style.color)
    for xi in x[reached & np.isinf(high)]:
        _arrow(strip, float(xi), style.color, dotted=True)


def _draw_reference(
    main: Axes, strip: Axes, row: pd.Series, *, style: ArmStyle, linestyle: LineStyleType, level: float
) -> None:
    """A non-private arm: its α* as a horizontal line with a shaded interval, or a line in the band at ``level``."""
    star, low, high = (float(row[name]) for name in ("alpha_star", "ci_low", "ci_high"))
    if math.isinf(star):
        strip.axhline(level, color=style.color, linestyle=linestyle, linewidth=2.0)
        return
    main.axhline(star, color=style.color, linestyle=linestyle, linewidth=1.4)
    if math.isfinite(low):
        main.axhspan(low, high if math.isfinite(high) else main.get_ylim()[1], color=style.color, alpha=0.1, lw=0)
    if math.isinf(high):
        strip.axhline(level, color=style.color, linestyle=":", linewidth=1.0)


def _critical_mass_panel(main: Axes, strip: Axes, rows: pd.DataFrame, styles: Mapping[str, ArmStyle]) -> None:
    top = main.get_ylim()[1]
    private = rows[np.isfinite(rows["epsilon"])]
    clips = sorted(private["clip"].unique())
    for index, clip in enumerate(clips):
        shift = DODGE ** (index - (len(clips) - 1) / 2)
        line = private[private["clip"] == clip]
        _draw_dp_line(main, strip, line, style=styles[dp_family(clip)], shift=shift, top=top)
    reference = rows[~np.isfinite(rows["epsilon"]) & rows["alpha_star"].notna()]
    for index, (_, row) in enumerate(reference.iterrows()):
        arm = str(row["arm"])
        level = (index + 1) / (len(reference) + 1)
        linestyle = _reference_linestyle(arm, index)
        _draw_reference(main, strip, row, style=styles[arm], linestyle=linestyle, level=level)


def _critical_mass_axes(figure: Figure, n_panels: int, top: float) -> tuple[list[Axes], list[Axes]]:
    """(bands, mains): per panel a narrow "not reached" band on top of its α* axis."""
    grid = figure.subplots(2, n_panels, sharex="col", sharey="row", squeeze=False,
                           gridspec_kw={"height_ratios": [1, 5]})  # fmt: skip
    figure.get_layout_engine().set(hspace=0.0)  # type: ignore[union-attr, call-arg]
    strips, mains = list(grid[0]), list(grid[1])
    for strip, main in zip(strips, mains, strict=True):
        strip.set_facecolor(STRIP_COLOR)
        strip.set_ylim(0, 1)
        strip.tick_params(axis="both", which="both", left=False, bottom=False, labelleft=False, labelbottom=False)
        main.set_xscale("log")
        main.set_ylim(0, top)
        main.set_xlabel(EPSILON_LABEL)
        main.grid(True, alpha=0.3)
    strips[0].set_ylabel(NOT_REACHED, rotation=0, ha="right", va="center")
    mains[0].set_ylabel("critical mass α*\n(fraction of training data)")
    return strips, mains


@house_style
def plot_critical_mass(table: pd.DataFrame, *, title: str) -> Figure:
    """α*(S*) against ε for one setting (rows of :func:`acadp.reduce.critical_mass.critical_mass_table`), one panel per
    S* (only ``metric = "success"`` rows); see the module docstring for what is drawn how."""
    if "metric" in table.columns:
        table = table[table["metric"] == "success"]
    if table.empty:
        return empty_figure(title, "no critical mass to draw")
    table = with_arm_columns(table)
    thresholds = sorted(table["threshold"].unique())
    styles = _styles(table)
    figure = new_figure(PANEL_WIDTH * len(thresholds) + LEGEND_WIDTH, PANEL_HEIGHT + 1.4, title)
    strips, mains = _critical_mass_axes(figure, len(thresholds), _critical_mass_top(table))
    for strip, main, threshold in zip(strips, mains, thresholds, strict=True):
        _critical_mass_panel(main, strip, table[table["threshold"] == threshold], styles)
        strip.set_title(f"S* = {threshold:g}")
        set_epsilon_ticks(main, table["epsilon"].to_numpy(float))
        _pad_epsilon_limits(main, table["epsilon"].to_numpy(float))
    _legend(figure, table, styles)
    return figure


def _pad_epsilon_limits(axis: Axes, epsilons: np.ndarray) -> None:
    """Room on the log ε axis beyond the smallest and largest ε, so an arrow at either end is not on the frame (the
    axis would otherwise end at the last point with a value)."""
    values = np.unique(epsilons[np.isfinite(epsilons)])
    if values.size > 1:
        pad = max(1.2, float(values[-1] / values[0]) ** 0.08)
        axis.set_xlim(values[0] / pad, values[-1] * pad)


def _legend(figure: Figure, table: pd.DataFrame, styles: Mapping[str, ArmStyle]) -> None:
    """One entry per line: the DP families (line and marker), then the non-private arms (their line style)."""
    handles: list[Line2D] = []
    labels: list[str] = []
    references = list(dict.fromkeys(table.loc[~np.isfinite(table["epsilon"].to_numpy(float)), "arm"]))
    for family, style in styles.items():
        if family in references:
            index = references.index(family)
            handles.append(Line2D([], [], color=style.color, linestyle=_reference_linestyle(family, index)))
            labels.append(f"{family} (ε = ∞)")
        else:
            handles.append(Line2D([], [], linestyle="-", **style.kwargs()))
            labels.append(family)
    outside_legend(figure, handles, labels)


# -------------------------------------------------------------------------------------------------------- accuracy


def _epsilon_axes(figure: Figure) -> tuple[Axes, Axes]:
    """A broken x axis: log-scale finite ε on the left, a narrow ε = ∞ axis on the right."""
    main, infinite = figure.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [6, 1], "wspace": 0.02})
    main.set_xscale("log")
    main.set_xlabel(EPSILON_LABEL)
    main.spines["right"].set_visible(False)
    infinite.spines["left"].set_visible(False)
    infinite.tick_params(axis="y", left=False)
    infinite.set_xlim(-1, 1)
    infinite.set_xticks([0], ["∞"])
    infinite.set_xlabel("non-private")
    for axis, x in ((main, 1.0), (infinite, 0.0)):  # the "//" marks of the axis break
        axis.plot([x, x], [0, 0], transform=axis.transAxes, marker=[(-1, -2), (1, 2)], markersize=10,
                  linestyle="none", color="k", mec="k", mew=1, clip_on=False)  # fmt: skip
    for axis in (main, infinite):
        axis.grid(True, alpha=0.3)
    return main, infinite


def zoomed_limits(
    low: np.ndarray, high: np.ndarray, *, floor: float = 0.0, ceiling: float = 1.0
) -> tuple[float, float]:
    """y limits that show the differences between values in [``low``, ``high``] (NaN ignored): the data's range
    padded by 15% of it (at least 0.005), kept within [``floor``, ``ceiling``]; the full range without data."""
    values = np.concatenate([low, high])
    values = values[np.isfinite(values)]
    if values.size == 0:
        return floor, ceiling
    lo, hi = float(values.min()), float(values.max())
    pad = max(0.15 * (hi - lo), 0.005)
    return max(floor, lo - pad), min(ceiling, hi + pad)


def _bounds(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper ends of what is drawn: the CI where there is one, else the mean."""
    mean = rows["mean"].to_numpy(float)
    low, high = rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float)
    return np.where(np.isfinite(low), low, mean), np.where(np.isfinite(high), high, mean)


@house_style
def plot_accuracy(accuracy: pd.DataFrame, *, title: str) -> Figure:
    """Test accuracy against ε for one setting, at the grid's smallest α (rows of
    :func:`acadp.reduce.curves.accuracy_by_epsilon`): one line per DP family (C), the non-private arms side by side
    at ε = ∞; the accuracy axis is zoomed to the values (with their intervals) shown."""
    if accuracy.empty:
        return empty_figure(title, "no accuracy to draw")
    alpha = float(accuracy["alpha"].min())
    rows = with_arm_columns(accuracy[accuracy["alpha"] == alpha])
    styles = _styles(rows)
    figure = new_figure(6.4 + LEGEND_WIDTH, PANEL_HEIGHT + 0.9, f"{title} (α = {alpha:g})")
    main, infinite = _epsilon_axes(figure)
    private = rows[np.isfinite(rows["epsilon"])]
    for clip, unsorted in private.groupby("clip", sort=True):
        line = unsorted.sort_values("epsilon")
        mean = line["mean"].to_numpy(float)
        bars = error_bars(mean, line["ci_low"].to_numpy(float), line["ci_high"].to_numpy(float), 1.0)
        main.errorbar(line["epsilon"].to_numpy(float), mean, yerr=bars, capsize=3, markersize=6,
                      label=dp_family(float(clip)), **styles[dp_family(float(clip))].kwargs())  # fmt: skip
    reference = rows[~np.isfinite(rows["epsilon"])]
    arms = list(dict.fromkeys(reference["arm"]))
    offsets = np.linspace(-0.5, 0.5, len(arms)) if len(arms) > 1 else np.zeros(len(arms))
    for arm, x in zip(arms, offsets, strict=True):  # non-private arms side by side at ε = ∞
        point = reference[reference["arm"] == arm]
        mean = point["mean"].to_numpy(float)
        bars = error_bars(mean, point["ci_low"].to_numpy(float), point["ci_high"].to_numpy(float), 1.0)
        infinite.errorbar(np.full(len(mean), x), mean, yerr=bars, capsize=3, markersize=7, linestyle="none",
                          label=f"{arm} (ε = ∞)", **styles[arm].kwargs())  # fmt: skip
    set_epsilon_ticks(main, rows["epsilon"].to_numpy(float))
    main.set_ylim(*zoomed_limits(*_bounds(rows)))
    main.set_ylabel("clean test accuracy")
    handles, labels = main.get_legend_handles_labels()
    more_handles, more_labels = infinite.get_legend_handles_labels()
    outside_legend(figure, handles + more_handles, labels + more_labels)
    return figure
