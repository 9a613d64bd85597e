"""Figures of a sweep (matplotlib, object-oriented API only: no pyplot, no display, no global backend switch).

* :func:`plot_success_curves` (here) — S(alpha) of every arm of a setting on one panel, each with its 95% CI band and
  its base rate as a faint dashed line of the same colour; collapsed points are hollow circles. Grid points without a
  completed seed break the line and are marked with an ``x`` on the bottom edge.
* :func:`acadp.reduce.plots_privacy.plot_critical_mass` — alpha* against epsilon, one panel per S*; "not reached" as
  arrows in a band above the axis.
* :func:`acadp.reduce.plots_privacy.plot_accuracy` — test accuracy against epsilon on an axis zoomed to the values.
* :func:`acadp.reduce.plots_lira.plot_roc`, :func:`acadp.reduce.plots_lira.plot_lira_auc` — LiRA.

Every arm has one colour and one marker (:mod:`acadp.reduce.style`), legends sit outside the data, and every figure
has a caption stating its intervals (:mod:`acadp.reduce.captions`). :func:`figure_file` renders a figure to PNG and
SVG bytes (SVG text as paths: no fonts needed).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, ParamSpec, TypeVar

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from acadp.reduce.collect import with_arm_columns
from acadp.reduce.dose_response import LogisticFit
from acadp.reduce.style import ArmStyle, LineStyle, arm_styles

ALPHA_LABEL = "collective size α (fraction of training data)"
EPSILON_LABEL = "privacy budget ε (at fixed δ)"
PANEL_WIDTH, PANEL_HEIGHT = 4.2, 3.4  # inches
LEGEND_WIDTH = 2.2  # inches beside the panels for a legend outside the data
# figures are drawn at this font size (points) and shown full-width in the dashboard
FONT: dict[Any, Any] = {"font.size": 10.5, "axes.titlesize": "medium", "legend.fontsize": "small"}
ImageFormat = Literal["png", "svg"]
P = ParamSpec("P")
R = TypeVar("R")


def house_style(plot: Callable[P, R]) -> Callable[P, R]:
    """Run a plotting function under the house font sizes (:data:`FONT`): matplotlib reads them as artists are made."""

    @functools.wraps(plot)
    def styled(*args: P.args, **kwargs: P.kwargs) -> R:
        with rc_context(FONT):
            return plot(*args, **kwargs)

    return styled


@dataclass(frozen=True)
class FigureFile:
    """A rendered figure: file stem, title, caption (what is drawn and what its intervals are), PNG and SVG bytes."""

    name: str
    title: str
    png: bytes
    svg: bytes
    caption: str = ""

    def text(self) -> str:
        """The figure's title and caption as the text file written next to the image (``<name>.txt``)."""
        return f"{self.title}\n\n{self.caption}\n" if self.caption else f"{self.title}\n"


def figure_bytes(figure: Figure, fmt: ImageFormat) -> bytes:
    """``figure`` encoded as PNG (150 dpi) or SVG (no date, fixed id salt: reruns give identical files)."""
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    with rc_context({**FONT, "svg.hashsalt": "acadp", "svg.fonttype": "path"}):
        figure.savefig(buffer, format=fmt, dpi=150, metadata=metadata)
    return buffer.getvalue()


def figure_file(figure: Figure, *, name: str, title: str, caption: str = "") -> FigureFile:
    """Render ``figure`` to both formats."""
    return FigureFile(
        name=name, title=title, png=figure_bytes(figure, "png"), svg=figure_bytes(figure, "svg"), caption=caption
    )


def new_figure(width: float, height: float, title: str) -> Figure:
    """An empty figure of ``width`` × ``height`` inches with a title."""
    figure = Figure(figsize=(width, height), layout="constrained")
    figure.suptitle(title)
    return figure


def new_panels(n_panels: int, title: str) -> tuple[Figure, list[Axes]]:
    """A figure of ``n_panels`` side by side (shared y), with room for a legend on the right."""
    figure = new_figure(PANEL_WIDTH * n_panels + LEGEND_WIDTH, PANEL_HEIGHT + 0.9, title)
    axes = figure.subplots(1, n_panels, sharey=True, squeeze=False)[0]
    return figure, list(axes)


@house_style
def empty_figure(title: str, message: str) -> Figure:
    """A figure that says why there is nothing to draw."""
    figure, (axis,) = new_panels(1, title)
    axis.text(0.5, 0.5, message, ha="center", va="center", transform=axis.transAxes)
    axis.set_axis_off()
    return figure


def outside_legend(figure: Figure, handles: list[Any], labels: list[str]) -> None:
    """The figure's legend to the right of the panels, outside every data area."""
    if handles:
        figure.legend(handles, labels, loc="outside right upper", frameon=False)


def error_bars(y: np.ndarray, low: np.ndarray, high: np.ndarray, top: float) -> np.ndarray:
    """(2, n) asymmetric error bar lengths; an infinite bound runs to ``top``, a NaN bound draws nothing."""
    low = np.where(np.isinf(low), top, low)
    high = np.where(np.isinf(high), top, high)
    return np.nan_to_num(np.stack([y - low, high - y]), nan=0.0).clip(min=0.0)


def set_epsilon_ticks(axis: Axes, epsilons: np.ndarray) -> None:
    """Ticks at the grid's finite ε values (a decade of room around a single one)."""
    values = np.unique(epsilons[np.isfinite(epsilons)])
    if values.size == 1:  # a log axis around a single value: give it a decade of room
        axis.set_autoscalex_on(False)
        axis.set_xlim(values[0] / 3.0, values[0] * 3.0)
    if 0 < values.size <= 8:
        axis.set_xticks(values, [f"{v:g}" for v in values])
        axis.minorticks_off()


def arm_coordinates(table: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Arm name → (ε, C) (C NaN: no clipping) of a table with ``epsilon`` and ``clip`` columns, in its order."""
    rows = with_arm_columns(table).drop_duplicates("arm")
    return {str(r["arm"]): (float(r["epsilon"]), float(r["clip"])) for _, r in rows.iterrows()}


# ------------------------------------------------------------------------------------------------- success curves


def _draw_curve(axis: Axes, curve: pd.DataFrame, *, label: str, style: ArmStyle, linestyle: LineStyle) -> bool:
    """One S(alpha) line with its CI band; returns whether the curve has missing points (marked on the x axis)."""
    curve = curve.sort_values("alpha")
    alpha, mean = curve["alpha"].to_numpy(float), curve["mean"].to_numpy(float)
    axis.plot(alpha, mean, label=label, markersize=5, linewidth=1.5, linestyle=linestyle, **style.kwargs())
    axis.fill_between(alpha, curve["ci_low"].to_numpy(float), curve["ci_high"].to_numpy(float),
                      color=style.color, alpha=0.15, linewidth=0)  # fmt: skip
    missing = np.isnan(mean)
    if missing.any():
        axis.plot(alpha[missing], np.full(missing.sum(), 0.02), linestyle="none", marker="x",
                  color=style.color, transform=axis.get_xaxis_transform(), clip_on=False)  # fmt: skip
    return bool(missing.any())


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


def _draw_fit(axis: Axes, curve: pd.DataFrame, fit: LogisticFit, *, label: str, style: ArmStyle) -> None:
    """The mean S at each alpha run as points (one trial at most alphas of a dose-response search) and the fitted
    logistic as the arm's line, over the alphas it was fitted on."""
    curve = curve.sort_values("alpha")
    axis.plot(curve["alpha"].to_numpy(float), curve["mean"].to_numpy(float), linestyle="none", markersize=5,
              label="_nolegend_", **style.kwargs())  # fmt: skip
    alpha = np.geomspace(fit.alpha_min, fit.alpha_max, 200)
    line = 1.0 / (1.0 + np.exp(-(fit.slope * np.log(alpha) + fit.intercept)))
    axis.plot(alpha, line, color=style.color, linewidth=1.5, label=label)


@house_style
def plot_success_curves(curves: pd.DataFrame, *, title: str, fits: Mapping[str, LogisticFit] | None = None) -> Figure:
    """S(alpha) of one setting (rows of :func:`acadp.reduce.curves.success_curves` for one dataset/setting).

    All arms on one panel, in the table's order (strongest privacy first), each with its own marker and its family's
    colour (:func:`acadp.reduce.style.arm_styles`, SGD black): seed mean with its 95% t-interval band; each arm's
    base rate (Pr[f(x) = y*] without the signal) as a faint dashed line of the same colour; collapsed points (see
    :func:`acadp.reduce.curves.collapse_flags`) as hollow circles. The legend sits on the right, outside the data.
    An arm in ``fits`` (a dose-response search: mostly one seed per alpha) is drawn as the mean at each alpha, as
    points, with its fitted logistic curve (:mod:`acadp.reduce.dose_response`) as the line instead.
    """
    if curves.empty:
        return empty_figure(title, "no grid points")
    figure = new_figure(2 * PANEL_WIDTH + LEGEND_WIDTH, PANEL_HEIGHT + 0.6, title)
    axis = figure.subplots(1, 1)
    curves = with_arm_columns(curves)
    any_missing = any_base = any_collapsed = False
    for arm, (style, linestyle) in arm_styles(arm_coordinates(curves)).items():
        curve = curves[curves["arm"] == arm]
        if fits is not None and arm in fits:
            _draw_fit(axis, curve, fits[arm], label=f"{arm} (logistic fit)", style=style)
        else:
            any_missing |= _draw_curve(axis, curve, label=arm, style=style, linestyle=linestyle)
        any_base |= _draw_base_rate(axis, curve, style.color)
        any_collapsed |= _draw_collapsed(axis, curve, style.color)
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
    outside_legend(figure, handles, labels)
