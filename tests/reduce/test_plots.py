"""Figures a paper can take: one colour per arm family and one marker per arm, legends outside the data, "not
reached" drawn beyond the α* axis (never as a value on it), an accuracy axis zoomed to the values, attacks named in
words, log-log ROC, self-contained and deterministic SVG and PNG."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Annotation

from acadp.reduce.collect import trials_frame
from acadp.reduce.critical_mass import critical_mass_table
from acadp.reduce.curves import accuracy_by_epsilon, success_curves
from acadp.reduce.plots import figure_bytes, figure_file, plot_success_curves
from acadp.reduce.plots_lira import plot_roc
from acadp.reduce.plots_privacy import NOT_REACHED, plot_accuracy, plot_critical_mass, zoomed_limits
from acadp.reduce.style import REFERENCE_COLOR, arm_styles, attack_label, style_book

from .builders import synthetic_records


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    records = synthetic_records(epsilons=(1.0, 4.0, math.inf))
    table = trials_frame(records)
    second_clip = table[np.isfinite(table["epsilon"])].assign(clip=0.1)
    return pd.concat([table, second_clip], ignore_index=True).drop(columns="arm")  # arms named from (ε, C) again


def _data_axes(figure: Figure) -> list:
    return [axis for axis in figure.axes if axis.get_xlabel()]


def _legend_texts(figure: Figure) -> list[str]:
    return [text.get_text() for legend in figure.legends for text in legend.get_texts()]


def assert_legend_outside_the_data(figure: Figure) -> None:
    """One figure legend, no legend inside any axes, and the legend's box overlaps no axes' box once drawn."""
    FigureCanvasAgg(figure)
    figure.draw_without_rendering()
    assert len(figure.legends) == 1 and all(axis.get_legend() is None for axis in figure.axes)
    legend = figure.legends[0].get_window_extent()
    for axis in figure.axes:
        assert not legend.overlaps(axis.get_window_extent()), axis


def test_success_curves_all_arms_on_one_panel_with_sgd_reference(frame: pd.DataFrame) -> None:
    figure = plot_success_curves(success_curves(frame), title="toy")
    (axis,) = _data_axes(figure)
    labels = {line.get_label(): line for line in axis.get_lines()}
    assert {"DP ε=1 C=0.1", "DP ε=4 C=0.1", "DP ε=1 C=1", "DP ε=4 C=1", "SGD"} <= set(labels)
    assert labels["SGD"].get_color() == REFERENCE_COLOR
    assert "fraction of training data" in axis.get_xlabel()
    # the DP arms of one C share their family's colour and differ by marker and line style
    assert labels["DP ε=1 C=1"].get_color() == labels["DP ε=4 C=1"].get_color() != labels["DP ε=1 C=0.1"].get_color()
    assert labels["DP ε=4 C=1"].get_linestyle() == "-" != labels["DP ε=1 C=1"].get_linestyle()
    arms = [label for label in labels if not label.startswith("_")]
    assert len({labels[arm].get_marker() for arm in arms}) == len(arms)  # one marker per arm
    assert_legend_outside_the_data(figure)


def test_an_arm_has_its_family_colour_in_every_figure() -> None:
    arms = {
        "DP ε=2 C=1": (2.0, 1.0),
        "DP ε=8 C=1": (8.0, 1.0),
        "clip C=1": (math.inf, 1.0),
        "SGD": (math.inf, math.nan),
    }
    per_arm = arm_styles(arms)
    families = style_book(["DP C=1", "clip C=1", "SGD"])
    assert per_arm["DP ε=2 C=1"][0].color == per_arm["DP ε=8 C=1"][0].color == families["DP C=1"].color
    assert per_arm["clip C=1"][0] == families["clip C=1"] and per_arm["SGD"][0] == families["SGD"]
    assert per_arm["DP ε=8 C=1"][0].marker == families["DP C=1"].marker  # the largest ε carries the family's marker
    assert len({style.marker for style, _ in per_arm.values()}) == len(arms)


def test_markers_and_colours_never_repeat_together() -> None:
    book = style_book([f"arm {i}" for i in range(40)])
    assert len({(style.color, style.marker) for style in book.values()}) == 40
    assert "^" not in {style.marker for style in book.values()}  # a triangle would read as a "not reached" arrow


def test_success_curves_draw_base_rates_dashed_and_collapsed_points_hollow() -> None:
    records = synthetic_records(alphas=(0.0, 0.1), epsilons=(1.0, math.inf), seeds=(0, 1))
    table = trials_frame(records)
    table["base_rate"] = 0.1
    table.loc[(table["epsilon"] == 1.0) & (table["alpha"] == 0.1), "test_accuracy"] = 0.5  # collapsed
    curves = success_curves(table)
    assert curves["collapsed"].tolist() == [False, True, False, False]
    figure = plot_success_curves(curves, title="toy")
    (axis,) = _data_axes(figure)
    lines = axis.get_lines()
    colour = next(line.get_color() for line in lines if line.get_label() == "DP ε=1 C=1")
    dashed = [line for line in lines if line.get_linestyle() == "--" and line.get_color() == colour]
    assert dashed and dashed[0].get_ydata().tolist() == pytest.approx([0.1, 0.1])
    hollow = [line for line in lines if line.get_marker() == "o" and line.get_markerfacecolor() == "white"]
    assert len(hollow) == 1 and hollow[0].get_xdata().tolist() == [0.1]


def test_missing_points_are_marked(frame: pd.DataFrame) -> None:
    curves = success_curves(frame)
    curves.loc[curves.index[3], ["mean", "n_seeds"]] = [math.nan, 0]
    figure = plot_success_curves(curves, title="toy")
    markers = [line for axis in figure.axes for line in axis.get_lines() if line.get_marker() == "x"]
    assert len(markers) == 1
    assert "no completed seed" in _legend_texts(figure)


def _panels(figure: Figure) -> tuple[list, list]:
    """(bands, α* axes) of a critical-mass figure."""
    mains = [axis for axis in figure.axes if "critical mass" in axis.get_ylabel() or axis.get_xlabel()]
    return [axis for axis in figure.axes if axis not in mains], mains


def test_critical_mass_has_a_panel_per_threshold_and_non_dp_arms_as_horizontal_lines(frame: pd.DataFrame) -> None:
    table = critical_mass_table(frame, thresholds=(0.5, 0.9), n_boot=50)
    figure = plot_critical_mass(table, title="toy")
    strips, mains = _panels(figure)
    assert len(mains) == len(strips) == 2
    assert [strip.get_title() for strip in strips] == ["S* = 0.5", "S* = 0.9"]
    assert all(main.get_xscale() == "log" for main in mains)
    sgd = table[(table["arm"] == "SGD") & (table["threshold"] == 0.5)].iloc[0]
    references = [line for line in mains[0].get_lines() if line.get_color() == REFERENCE_COLOR]
    assert references and list(references[0].get_ydata()) == [sgd["alpha_star"], sgd["alpha_star"]]
    assert list(references[0].get_xdata()) == [0, 1]  # spans the axis (axes coordinates)
    # the legend: the two DP families and the non-private arms, nothing that is not drawn
    assert _legend_texts(figure) == ["DP C=0.1", "DP C=1", "SGD (ε = ∞)"]
    assert_legend_outside_the_data(figure)


def test_not_reached_is_an_arrow_beyond_the_axis_never_a_value_on_it() -> None:
    frame = trials_frame(synthetic_records(epsilons=(0.1, 4.0, math.inf)))  # epsilon 0.1 never reaches 0.9
    table = critical_mass_table(frame, thresholds=(0.9,), n_boot=20)
    assert not table.loc[table["epsilon"] == 0.1, "reached"].any()
    figure = plot_critical_mass(table, title="toy")
    (strip,), (main,) = _panels(figure)
    assert strip.get_ylabel() == NOT_REACHED
    arrows = [child for child in strip.get_children() if isinstance(child, Annotation)]
    solid = [arrow.xy[0] for arrow in arrows if arrow.arrow_patch.get_linestyle() in ("-", "solid")]
    assert solid == pytest.approx([0.1])
    low, high = main.get_xlim()
    assert low < 0.1 / 1.1 and high > 4.0 * 1.1  # the arrow at the smallest ε is inside the band, not on its frame
    top = main.get_ylim()[1]
    for line in main.get_lines():  # on the α* axis only reached values, all inside it
        y = np.asarray(line.get_ydata(), dtype=float)
        if line.get_marker() not in ("None", "", None):
            assert np.all(np.isnan(y) | (y < top))
    (dp,) = [line for line in main.get_lines() if line.get_marker() == style_book(["DP C=1"])["DP C=1"].marker]
    drawn = np.asarray(dp.get_xdata())[np.isfinite(np.asarray(dp.get_ydata(), dtype=float))]
    assert 4.0 in drawn and 0.1 not in drawn  # ε = 0.1 is an arrow in the band, not a point


def test_a_non_private_arm_that_does_not_reach_is_a_line_in_the_band() -> None:
    table = critical_mass_table(trials_frame(synthetic_records(epsilons=(4.0, math.inf))), thresholds=(0.9,), n_boot=20)
    table.loc[table["arm"] == "SGD", ["alpha_star", "ci_low", "ci_high"]] = math.inf
    figure = plot_critical_mass(table, title="toy")
    (strip,), (main,) = _panels(figure)
    assert [line.get_color() for line in strip.get_lines()] == [REFERENCE_COLOR]
    assert REFERENCE_COLOR not in [line.get_color() for line in main.get_lines()]
    assert "SGD (ε = ∞)" in _legend_texts(figure)


def test_critical_mass_skips_groups_without_data() -> None:
    table = critical_mass_table(trials_frame(synthetic_records(epsilons=(2.0,), status_of=lambda a, e, s: "pending")))
    assert table["alpha_star"].isna().all()
    figure = plot_critical_mass(table, title="toy")
    strips, _ = _panels(figure)
    assert not [child for strip in strips for child in strip.get_children() if isinstance(child, Annotation)]


def test_accuracy_axis_shows_the_differences_with_one_marker_per_arm(frame: pd.DataFrame) -> None:
    table = frame.copy()
    rank = {1.0: 0.89, 4.0: 0.91, math.inf: 0.93}
    bump = np.where(table["clip"] == 0.1, 0.005, 0.0)
    table["test_accuracy"] = table["epsilon"].map(rank) + bump
    figure = plot_accuracy(accuracy_by_epsilon(table), title="toy")
    main, infinite = figure.axes
    low, high = main.get_ylim()
    assert 0.85 < low < 0.89 and 0.93 < high < 0.97  # not 0–1: the 0.89–0.93 differences fill the axis
    assert [tick.get_text() for tick in infinite.get_xticklabels()] == ["∞"]
    assert "α = 0" in figure.get_suptitle()
    markers = {bars.get_label(): bars.lines[0].get_marker() for axis in (main, infinite) for bars in axis.containers}
    assert set(markers) == {"DP C=0.1", "DP C=1", "SGD (ε = ∞)"}
    assert len(set(markers.values())) == len(markers)
    assert_legend_outside_the_data(figure)


def test_zoomed_limits_pad_the_range_and_stay_within_the_bounds() -> None:
    assert zoomed_limits(np.array([0.89, np.nan]), np.array([0.93, 0.91])) == pytest.approx((0.884, 0.936))
    assert zoomed_limits(np.array([0.999]), np.array([1.0])) == pytest.approx((0.994, 1.0))
    assert zoomed_limits(np.array([np.nan]), np.array([np.nan])) == (0.0, 1.0)


def test_roc_is_log_log_with_attacks_in_words_and_the_legend_outside() -> None:
    fpr = np.array([0.0, 1e-4, 1e-2, 1.0])
    curves = {("ε=8", "online_fixed_variance"): (fpr, np.sqrt(fpr)), ("ε=8", "global_threshold"): (fpr, fpr)}
    figure = plot_roc(curves)
    (axis,) = figure.axes
    assert axis.get_xscale() == "log" and axis.get_yscale() == "log"
    assert _legend_texts(figure) == ["online, fixed variance", "global threshold", "random guess"]
    two_audits = plot_roc({**curves, ("ε=2", "global_threshold"): (fpr, fpr)})
    assert "ε=2: global threshold" in _legend_texts(two_audits)
    assert not any("_" in text for text in _legend_texts(two_audits))
    assert_legend_outside_the_data(figure)


def test_attack_labels_name_every_attack_in_words() -> None:
    from acadp.config.lira import ATTACK_NAMES

    assert attack_label("online_fixed_variance") == "online, fixed variance"
    assert all("_" not in attack_label(name) for name in ATTACK_NAMES)


def test_figure_files_are_self_contained_and_deterministic(frame: pd.DataFrame) -> None:
    figure = plot_success_curves(success_curves(frame), title="toy")
    rendered = figure_file(figure, name="s", title="S", caption="Bands: 95% intervals.")
    assert rendered.png.startswith(b"\x89PNG\r\n\x1a\n")
    assert rendered.text() == "S\n\nBands: 95% intervals.\n"
    svg = rendered.svg.decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert not re.search(r"""(href|src)\s*=\s*["']?https?:|url\(\s*["']?https?:""", svg)  # nothing fetched
    assert "@font-face" not in svg and "<text" not in svg  # text as paths: no fonts needed
    again = figure_file(plot_success_curves(success_curves(frame), title="toy"), name="s", title="S")
    assert (again.svg, again.png) == (rendered.svg, rendered.png)
    assert figure_bytes(figure, "png").startswith(b"\x89PNG")
