"""Figures of a sweep (matplotlib, object-oriented API only: no pyplot, no display, no global backend switch).

* :func:`plot_success_curves` — S(alpha) of every arm of a setting on one panel, each with its 95% CI band and its
  base rate as a faint dashed line of the same colour; collapsed points are hollow circles. Grid points without a
  completed seed break the line and are marked with an ``x`` on the bottom edge.
* :func:`plot_critical_mass` — alpha* of the DP arms against epsilon (log axis), one line per (S*, C); SGD, clip-only
  and named-recipe arms as horizontal reference lines. An unreached alpha* is an open triangle at the top of the axis;
  CIs are error bars (an unreached bound runs to the top).
* :func:`plot_accuracy` — test accuracy against epsilon, one line per C, at the smallest alpha of the grid.
* :func:`plot_roc` — LiRA ROC curves on log-log axes.

Colours are the Okabe–Ito colour-blind-safe palette; lines also differ in marker or style, so figures survive
grey-scale printing. :func:`figure_file` renders a figure to PNG and SVG bytes (SVG text as paths: no fonts needed).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from acadp.reduce.collect import row_arm_label
from acadp.reduce.dose_response import LogisticFit

# Okabe & Ito (2008), "Color Universal Design", ordered for contrast on white (yellow last)
PALETTE: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442")
REFERENCE_COLOR = "#000000"
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES: tuple[str, ...] = ("-", "--", ":", "-.")
ALPHA_LABEL = "collective size α (fraction of training data)"
EPSILON_LABEL = "privacy budget ε (at fixed δ)"
PANEL_WIDTH, PANEL_HEIGHT = 4.2, 3.4  # inches
ImageFormat = Literal["png", "svg"]


@dataclass(frozen=True)
class FigureFile:
    """A rendered figure: file stem, a caption, and the PNG and SVG bytes."""

    name: str
    title: str
    png: bytes
    svg: bytes
    wide: bool = False  # wider than one panel: the dashboard gives it a full row


def figure_bytes(figure: Figure, fmt: ImageFormat) -> bytes:
    """``figure`` encoded as PNG (150 dpi) or SVG (no date, fixed id salt: reruns give identical files)."""
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    with rc_context({"svg.hashsalt": "acadp", "svg.fonttype": "path"}):
        figure.savefig(buffer, format=fmt, dpi=150, metadata=metadata)
    return buffer.getvalue()


def figure_file(figure: Figure, *, name: str, title: str) -> FigureFile:
    """Render ``figure`` to both formats."""
    return FigureFile(
        name=name,
        title=title,
        png=figure_bytes(figure, "png"),
        svg=figure_bytes(figure, "svg"),
        wide=figure.get_figwidth() > 1.9 * PANEL_WIDTH,
    )


def _style(index: int) -> dict[str, Any]:
    return {"color": PALETTE[index % len(PALETTE)], "marker": MARKERS[index % len(MARKERS)]}


def _format_number(value: float) -> str:
    return "∞" if math.isinf(value) else f"{value:g}"


def _new_figure(n_panels: int, title: str) -> tuple[Figure, list[Axes]]:
    figure = Figure(figsize=(PANEL_WIDTH * n_panels, PANEL_HEIGHT + 0.9), layout="constrained")
    axes = figure.subplots(1, n_panels, sharey=True, squeeze=False)[0]
    figure.suptitle(title)
    return figure, list(axes)


def _empty_figure(title: str, message: str) -> Figure:
    figure, (axis,) = _new_figure(1, title)
    axis.text(0.5, 0.5, message, ha="center", va="center", transform=axis.transAxes)
    axis.set_axis_off()
    return figure


# ------------------------------------------------------------------------------------------------- success curves


def _draw_curve(axis: Axes, curve: pd.DataFrame, *, label: str, style: Mapping[str, Any]) -> bool:
    """One S(alpha) line with its CI band; returns whether the curve has missing points (marked on the x axis)."""
    curve = curve.sort_values("alpha")
    alpha, mean = curve["alpha"].to_numpy(float), curve["mean"].to_numpy(float)
    axis.plot(alpha, mean, label=label, markersize=4, linewidth=1.5, **style)
    axis.fill_between(alpha, curve["ci_low"].to_numpy(float), curve["ci_high"].to_numpy(float),
                      color=style["color"], alpha=0.15, linewidth=0)  # fmt: skip
    missing = np.isnan(mean)
    if missing.any():
        axis.plot(alpha[missing], np.full(missing.sum(), 0.02), linestyle="none", marker="x",
                  color=style["color"], transform=axis.get_xaxis_transform(), clip_on=False)  # fmt: skip
    return bool(missing.any())


def _arms(curves: pd.DataFrame) -> list[str]:
    """The arm names of ``curves`` in the table's order (strongest privacy first); "SGD" when there is no arm column."""
    if "arm" not in curves.columns:
        return ["SGD"]
    return list(dict.fromkeys(curves["arm"].tolist()))


def _arm_rows(curves: pd.DataFrame, arm: str) -> pd.DataFrame:
    return curves if "arm" not in curves.columns else curves[curves["arm"] == arm]


def _arm_style(index: int, arm: str) -> dict[str, Any]:
    """SGD in black (the reference), every other arm a palette colour and marker."""
    if arm == "SGD":
        return {"color": REFERENCE_COLOR, "marker": "."}
    return _style(index)


def _draw_base_rate(axis: Axes, curve: pd.DataFrame, color: str) -> bool:
    if "base_rate_mean" not in curve.columns or curve["base_rate_mean"].isna().all():
        return False
    curve = curve.sort_values("alpha")
    axis.plot(curve["alpha"].to_numpy(float), curve["base_rate_mean"].to_numpy(float), color=color, linestyle="--",
              linewidth=1.0, alpha=0.45, label="_nolegend_")  # fmt: skip
    return True


def _draw_collapsed(axis: Axes, curve: pd.DataFrame, color: str) -> bool:
    """Hollow markers over the collapsed points of one arm; returns whether there were any."""
    if "collapsed" not in curve.columns:
        return False
    flagged = curve[curve["collapsed"].astype(bool)]
    if flagged.empty:
        return False
    axis.plot(flagged["alpha"].to_numpy(float), flagged["mean"].to_numpy(float), linestyle="none", marker="o",
              markersize=8, markerfacecolor="white", markeredgecolor=color, label="_nolegend_", zorder=3)  # fmt: skip
    return True


def _draw_fit(axis: Axes, curve: pd.DataFrame, fit: LogisticFit, *, label: str, style: Mapping[str, Any]) -> None:
    """The mean S at each alpha run as points (one trial at most alphas of a dose-response search) and the fitted
    logistic as the arm's line, over the alphas it was fitted on."""
    curve = curve.sort_values("alpha")
    axis.plot(curve["alpha"].to_numpy(float), curve["mean"].to_numpy(float), linestyle="none", markersize=4,
              label="_nolegend_", **{k: v for k, v in style.items() if k != "linestyle"})  # fmt: skip
    alpha = np.geomspace(fit.alpha_min, fit.alpha_max, 200)
    line = 1.0 / (1.0 + np.exp(-(fit.slope * np.log(alpha) + fit.intercept)))
    axis.plot(alpha, line, color=style["color"], linewidth=1.5, label=label)


def plot_success_curves(curves: pd.DataFrame, *, title: str, fits: Mapping[str, LogisticFit] | None = None) -> Figure:
    """S(alpha) of one setting (rows of :func:`acadp.reduce.curves.success_curves` for one dataset/setting).

    All arms on one panel, in the table's order (strongest privacy first): seed mean with its 95% t-interval band,
    SGD in black; each arm's base rate (Pr[f(x) = y*] without the signal) as a faint dashed line of the same colour;
    collapsed points (see :func:`acadp.reduce.curves.collapse_flags`) as hollow circles. The legend sits on the right.
    An arm in ``fits`` (a dose-response search: mostly one seed per alpha) is drawn as the mean at each alpha, as
    points, with its fitted logistic curve (:mod:`acadp.reduce.dose_response`) as the line instead.
    """
    if curves.empty:
        return _empty_figure(title, "no grid points")
    figure = Figure(figsize=(2 * PANEL_WIDTH, PANEL_HEIGHT + 0.6), layout="constrained")
    axis = figure.subplots(1, 1)
    figure.suptitle(title)
    any_missing = any_base = any_collapsed = False
    for index, arm in enumerate(_arms(curves)):
        curve = _arm_rows(curves, arm)
        style = _arm_style(index, arm)
        if fits is not None and arm in fits:
            _draw_fit(axis, curve, fits[arm], label=f"{arm} (logistic fit)", style=style)
        else:
            any_missing |= _draw_curve(axis, curve, label=arm, style=style)
        any_base |= _draw_base_rate(axis, curve, style["color"])
        any_collapsed |= _draw_collapsed(axis, curve, style["color"])
    axis.set_title("all arms")
    axis.set_xlabel(ALPHA_LABEL)
    axis.set_ylabel("success S(α) (rate on signed test points)")
    axis.set_ylim(-0.02, 1.02)
    axis.grid(True, alpha=0.3)
    _success_legend(figure, axis, missing=any_missing, base=any_base, collapsed=any_collapsed)
    return figure


def _success_legend(figure: Figure, axis: Axes, *, missing: bool, base: bool, collapsed: bool) -> None:
    handles, labels = axis.get_legend_handles_labels()
    extras = (
        (base, Line2D([], [], color="0.3", linestyle="--", alpha=0.45), "base rate (no signal), same colour"),
        (collapsed, Line2D([], [], linestyle="none", marker="o", markerfacecolor="white", color="0.3"),
         "collapsed (accuracy or base rate)"),
        (missing, Line2D([], [], linestyle="none", marker="x", color="0.3"), "no completed seed"),
    )  # fmt: skip
    for shown, handle, label in extras:
        if shown:
            handles.append(handle)
            labels.append(label)
    if handles:
        figure.legend(handles, labels, loc="outside right center", frameon=False, fontsize="small")


# ---------------------------------------------------------------------------------------- epsilon axes (broken)


def _epsilon_axes(title: str, y_label: str) -> tuple[Figure, Axes, Axes]:
    """A figure with a broken x axis: log-scale finite epsilon on the left, a narrow epsilon = inf axis on the right."""
    figure = Figure(figsize=(6.4, PANEL_HEIGHT + 0.9), layout="constrained")
    main, infinite = figure.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [6, 1], "wspace": 0.02})
    figure.suptitle(title)
    main.set_xscale("log")
    main.set_xlabel(EPSILON_LABEL)
    main.set_ylabel(y_label)
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
    return figure, main, infinite


def _set_epsilon_ticks(axis: Axes, epsilons: np.ndarray) -> None:
    values = np.unique(epsilons[np.isfinite(epsilons)])
    if values.size == 1:  # a log axis around a single value: give it a decade of room
        axis.set_autoscalex_on(False)
        axis.set_xlim(values[0] / 3.0, values[0] * 3.0)
    if 0 < values.size <= 8:
        axis.set_xticks(values, [f"{v:g}" for v in values])
        axis.minorticks_off()


def _error_bars(y: np.ndarray, low: np.ndarray, high: np.ndarray, top: float) -> np.ndarray:
    """(2, n) asymmetric error bar lengths; an infinite bound runs to ``top``, a NaN bound draws nothing."""
    low = np.where(np.isinf(low), top, low)
    high = np.where(np.isinf(high), top, high)
    return np.nan_to_num(np.stack([y - low, high - y]), nan=0.0).clip(min=0.0)


# --------------------------------------------------------------------------------------------------- critical mass


def _critical_mass_top(table: pd.DataFrame) -> float:
    values = table[["alpha_star", "ci_low", "ci_high"]].to_numpy(float)
    finite = values[np.isfinite(values)]
    return float(finite.max() * 1.15) if finite.size else 1.0


def _draw_alpha_star(axis: Axes, x: np.ndarray, rows: pd.DataFrame, top: float, style: Mapping[str, Any]) -> None:
    """alpha* points with CI bars; unreached ones as open triangles at the top; groups without data (NaN) skipped."""
    has_data = rows["alpha_star"].notna().to_numpy()
    x, rows = x[has_data], rows[has_data]
    star = rows["alpha_star"].to_numpy(float)
    reached = np.isfinite(star)
    y = np.where(reached, star, top * 0.97)
    bars = _error_bars(y, rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float), top)
    axis.errorbar(x[reached], y[reached], yerr=bars[:, reached], capsize=3, markersize=5, **style)
    if (~reached).any():
        unreached = {**style, "marker": "^", "linestyle": "none", "markerfacecolor": "white", "label": "_nolegend_"}
        axis.plot(x[~reached], y[~reached], markersize=7, **unreached)


def _draw_reference(axis: Axes, row: pd.Series, *, color: str, linestyle: str, label: str) -> bool:
    """A non-DP arm's alpha* as a horizontal line with its CI as a faint band; returns False when not reached."""
    star = float(row["alpha_star"])
    if not math.isfinite(star):
        return False
    axis.axhline(star, color=color, linestyle=linestyle, linewidth=1.2, label=label)
    low, high = float(row["ci_low"]), float(row["ci_high"])
    if math.isfinite(low) and math.isfinite(high):
        axis.axhspan(low, high, color=color, alpha=0.08, linewidth=0)
    return True


def plot_critical_mass(table: pd.DataFrame, *, title: str) -> Figure:
    """alpha*(S*) against epsilon for one setting (rows of :func:`acadp.reduce.critical_mass.critical_mass_table`).

    DP arms on the log epsilon axis (colour = clipping norm C, line style = S*); the non-DP arms — SGD in black,
    clip-only and named recipes in palette colours — as horizontal lines (alpha* with a faint CI band) across the
    axis; an unreached non-DP alpha* is named in the legend. Only ``metric = "success"`` rows are drawn.
    """
    if "metric" in table.columns:
        table = table[table["metric"] == "success"]
    figure = Figure(figsize=(6.4, PANEL_HEIGHT + 0.9), layout="constrained")
    main = figure.subplots(1, 1)
    figure.suptitle(title)
    main.set_xscale("log")
    main.set_xlabel(EPSILON_LABEL)
    main.set_ylabel("critical mass α* (fraction of training data)")
    main.grid(True, alpha=0.3)
    top = _critical_mass_top(table)
    private = table[np.isfinite(table["epsilon"])]
    clips = sorted(private["clip"].unique())
    for t_index, (threshold, by_threshold) in enumerate(table.groupby("threshold", sort=True)):
        linestyle = LINESTYLES[t_index % len(LINESTYLES)]
        for c_index, clip in enumerate(clips):
            rows = private[(private["threshold"] == threshold) & (private["clip"] == clip)].sort_values("epsilon")
            style = {**_style(c_index), "linestyle": linestyle, "label": f"S* = {threshold:g}, DP C = {clip:g}"}
            _draw_alpha_star(main, rows["epsilon"].to_numpy(float), rows, top, style)
        _draw_references(main, by_threshold, threshold=float(threshold), linestyle=linestyle, first=len(clips))
    main.set_ylim(0, top)
    main.margins(x=0.08)
    _set_epsilon_ticks(main, table["epsilon"].to_numpy(float))
    handles, labels = main.get_legend_handles_labels()
    handles.append(Line2D([], [], linestyle="none", marker="^", markerfacecolor="white", color="0.3"))
    labels.append("open ▲ = S* not reached")
    figure.legend(handles, labels, loc="outside lower center", ncols=min(len(handles), 3), frameon=False,
                  fontsize="small")  # fmt: skip
    return figure


def _draw_references(axis: Axes, rows: pd.DataFrame, *, threshold: float, linestyle: str, first: int) -> None:
    """The non-DP arms of one S* as horizontal lines (colours after the DP arms'; SGD black)."""
    reference = rows[~np.isfinite(rows["epsilon"]) & rows["alpha_star"].notna()]
    for index, (_, row) in enumerate(reference.iterrows()):
        arm = str(row["arm"]) if "arm" in row.index else "SGD"
        color = _arm_style(first + index, arm)["color"]
        label = f"S* = {threshold:g}, {arm}"
        if not _draw_reference(axis, row, color=color, linestyle=linestyle, label=label):
            axis.plot([], [], color=color, linestyle="none", marker="^", markerfacecolor="white",
                      label=f"{label}: not reached")  # fmt: skip


def _epsilon_legend(figure: Figure, main: Axes, infinite: Axes, note: str | None = None) -> None:
    handles, labels = main.get_legend_handles_labels()
    more_handles, more_labels = infinite.get_legend_handles_labels()
    handles, labels = handles + more_handles, labels + more_labels
    if note is not None:
        handles.append(Line2D([], [], linestyle="none", marker="^", markerfacecolor="white", color="0.3"))
        labels.append(note)
    if handles:
        figure.legend(handles, labels, loc="outside lower center", ncols=min(len(handles), 3), frameon=False,
                      fontsize="small")  # fmt: skip


# -------------------------------------------------------------------------------------------------------- accuracy


def plot_accuracy(accuracy: pd.DataFrame, *, title: str) -> Figure:
    """Test accuracy against epsilon for one setting, at the grid's smallest alpha (rows of
    :func:`acadp.reduce.curves.accuracy_by_epsilon`); one line per C, epsilon = inf on the broken axis's right."""
    alpha = float(accuracy["alpha"].min()) if not accuracy.empty else math.nan
    rows = accuracy[accuracy["alpha"] == alpha]
    figure, main, infinite = _epsilon_axes(f"{title} (α = {alpha:g})", "test accuracy (fraction correct)")
    private = rows[np.isfinite(rows["epsilon"])]
    for index, (clip, unsorted) in enumerate(private.groupby("clip", sort=True)):
        line = unsorted.sort_values("epsilon")
        mean = line["mean"].to_numpy(float)
        bars = _error_bars(mean, line["ci_low"].to_numpy(float), line["ci_high"].to_numpy(float), 1.0)
        main.errorbar(line["epsilon"].to_numpy(float), mean, yerr=bars, capsize=3, label=f"C = {clip:g}",
                      **_style(index))  # fmt: skip
    reference = rows[~np.isfinite(rows["epsilon"])]
    arms = _arms(reference) if not reference.empty else []
    offsets = np.linspace(-0.5, 0.5, len(arms)) if len(arms) > 1 else np.zeros(len(arms))
    for index, (arm, x) in enumerate(zip(arms, offsets, strict=True)):  # non-DP arms side by side at ε = ∞
        point = _arm_rows(reference, arm)
        mean = point["mean"].to_numpy(float)
        bars = _error_bars(mean, point["ci_low"].to_numpy(float), point["ci_high"].to_numpy(float), 1.0)
        style = {**_arm_style(index, arm), "marker": "D" if arm == "SGD" else MARKERS[index % len(MARKERS)]}
        label = "ε = ∞ (non-private)" if arm == "SGD" else f"ε = ∞, {arm}"
        infinite.errorbar(np.full(len(mean), x), mean, yerr=bars, capsize=3, linestyle="none", label=label, **style)
    _set_epsilon_ticks(main, rows["epsilon"].to_numpy(float))
    main.set_ylim(0, 1.02)
    _epsilon_legend(figure, main, infinite)
    return figure


# ------------------------------------------------------------------------------------------------------------- ROC

RocCurves = Mapping[tuple[str, str], tuple[np.ndarray, np.ndarray]]


def plot_roc(curves: RocCurves, *, title: str = "LiRA ROC curves") -> Figure:
    """ROC curves of LiRA audits on log-log axes.

    Args:
        curves: (audit label, attack) → (fpr, tpr), each a (n_points,) array in [0, 1]; zeros are not drawn.
        title: figure title.

    Colour = audit label, line style = attack; the dotted diagonal is a random guess.
    """
    figure, (axis,) = _new_figure(1, title)
    audits = list(dict.fromkeys(label for label, _ in curves))
    attacks = list(dict.fromkeys(attack for _, attack in curves))
    smallest = 1.0
    for (audit, attack), arrays in curves.items():
        fpr, tpr = (np.asarray(values, dtype=float) for values in arrays)
        keep = (fpr > 0) & (tpr > 0)
        smallest = min(smallest, float(fpr[keep].min()) if keep.any() else 1.0)
        color = PALETTE[audits.index(audit) % len(PALETTE)]
        linestyle = LINESTYLES[attacks.index(attack) % len(LINESTYLES)]
        axis.plot(fpr[keep], tpr[keep], color=color, linestyle=linestyle, label=f"{audit} — {attack}")
    low = min(1e-3, smallest)
    axis.plot([low, 1], [low, 1], color="0.5", linestyle=":", label="random guess")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlim(low, 1)
    axis.set_ylim(low, 1)
    axis.set_xlabel("false positive rate")
    axis.set_ylabel("true positive rate")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize="small", frameon=False)
    return figure


SUBSET_LABELS = {"all": "all members", "collective": "the collective", "non_collective": "non-collective",
                 "placebo": "placebo (α = 0)"}  # fmt: skip


def plot_lira_auc(claim: pd.DataFrame, *, title: str = "LiRA AUC by collective size") -> Figure:
    """The claim figure: the headline attack's AUC (mean over target models, 95% CI bars) per member subset against
    α, one panel per (dataset, ε, C); solid = balanced convention, dashed = reference. α values are evenly spaced
    categories (α = 0 included); the dotted line is a random guess (0.5).

    Args:
        claim: :func:`acadp.reduce.lira_tables.lira_claim_table`.
        title: figure title.
    """
    panels = list(claim.groupby(["dataset", "epsilon", "clip"], dropna=False, sort=True))
    figure, axes = _new_figure(max(1, len(panels)), title)
    conventions = list(dict.fromkeys(claim["convention"]))
    for axis, ((dataset, epsilon, clip), rows) in zip(axes, panels, strict=False):
        alphas = sorted(set(rows["alpha"]))
        for s_index, subset in enumerate(SUBSET_LABELS):
            for c_index, convention in enumerate(conventions):
                part = rows[rows["convention"] == convention].sort_values("alpha")
                mean = part[f"{subset}_auc_mean"].to_numpy(dtype=float)
                keep = ~np.isnan(mean)
                if not keep.any():
                    continue
                x = np.array([alphas.index(a) for a in part["alpha"]], dtype=float)[keep] + 0.06 * (s_index - 1.5)
                low = part[f"{subset}_auc_ci_low"].to_numpy(dtype=float)[keep]
                high = part[f"{subset}_auc_ci_high"].to_numpy(dtype=float)[keep]
                errors = np.vstack([mean[keep] - low, high - mean[keep]])
                axis.errorbar(
                    x, mean[keep], yerr=np.nan_to_num(errors), color=PALETTE[s_index % len(PALETTE)],
                    marker=MARKERS[s_index % len(MARKERS)], linestyle=LINESTYLES[c_index % len(LINESTYLES)],
                    capsize=3, label=f"{SUBSET_LABELS[subset]} ({convention})",
                )  # fmt: skip
        axis.axhline(0.5, color="0.5", linestyle=":", linewidth=1)
        axis.set_xticks(range(len(alphas)), [_format_number(a) for a in alphas])
        axis.set_xlabel(ALPHA_LABEL)
        axis.set_title(f"{dataset}, {row_arm_label(epsilon=float(epsilon), clip=float(clip))}", fontsize="medium")
        axis.grid(True, alpha=0.3)
    axes[0].set_ylabel("LiRA AUC (mean over targets, 95% CI)")
    axes[-1].legend(fontsize="x-small", frameon=False, loc="best")
    return figure
