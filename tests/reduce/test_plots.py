"""Figures: panels, the non-private reference, the epsilon = inf axis, log-log ROC, self-contained SVG and PNG."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from acadp.reduce.collect import trials_frame
from acadp.reduce.critical_mass import critical_mass_table
from acadp.reduce.curves import accuracy_by_epsilon, success_curves
from acadp.reduce.plots import (
    REFERENCE_COLOR,
    figure_bytes,
    figure_file,
    plot_accuracy,
    plot_critical_mass,
    plot_roc,
    plot_success_curves,
)

from .builders import synthetic_records


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    records = synthetic_records(epsilons=(1.0, 4.0, math.inf))
    table = trials_frame(records)
    second_clip = table[np.isfinite(table["epsilon"])].assign(clip=0.1)
    return pd.concat([table, second_clip], ignore_index=True)


def _data_axes(figure: Figure) -> list:
    return [axis for axis in figure.axes if axis.get_xlabel()]


def test_success_curves_all_arms_on_one_panel_with_sgd_reference(frame: pd.DataFrame) -> None:
    figure = plot_success_curves(success_curves(frame.drop(columns="arm")), title="toy")
    (axis,) = _data_axes(figure)
    labels = {line.get_label(): line for line in axis.get_lines()}
    assert {"DP ε=1 C=0.1", "DP ε=4 C=0.1", "DP ε=1 C=1", "DP ε=4 C=1", "SGD"} <= set(labels)
    assert labels["SGD"].get_color() == REFERENCE_COLOR
    assert "fraction of training data" in axis.get_xlabel()


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
    assert "no completed seed" in [text.get_text() for legend in figure.legends for text in legend.get_texts()]


def test_non_private_only_sweep_has_a_single_panel() -> None:
    frame = trials_frame(synthetic_records(epsilons=(math.inf,)))
    figure = plot_success_curves(success_curves(frame), title="toy")
    assert [axis.get_title() for axis in _data_axes(figure)] == ["all arms"]


def test_critical_mass_non_dp_arms_are_horizontal_references(frame: pd.DataFrame) -> None:
    table = critical_mass_table(frame.drop(columns="arm"), n_boot=50)
    figure = plot_critical_mass(table, title="toy")
    (main,) = figure.axes
    assert main.get_xscale() == "log"
    sgd = table[(table["arm"] == "SGD") & (table["threshold"] == 0.5)].iloc[0]
    references = [line for line in main.get_lines() if line.get_label() == "S* = 0.5, SGD"]
    assert references and list(references[0].get_ydata()) == [sgd["alpha_star"], sgd["alpha_star"]]
    assert list(references[0].get_xdata()) == [0, 1]  # spans the axis (axes coordinates)


def test_critical_mass_marks_not_reached_points() -> None:
    frame = trials_frame(synthetic_records(epsilons=(0.1, math.inf)))  # epsilon 0.1 never reaches 0.9
    table = critical_mass_table(frame, thresholds=(0.9,), n_boot=20)
    assert not table.loc[table["epsilon"] == 0.1, "reached"].any()
    figure = plot_critical_mass(table, title="toy")
    triangles = [line for line in figure.axes[0].get_lines() if line.get_marker() == "^"]
    assert triangles and triangles[0].get_markerfacecolor() == "white"


def test_accuracy_plot(frame: pd.DataFrame) -> None:
    figure = plot_accuracy(accuracy_by_epsilon(frame), title="toy")
    main, infinite = figure.axes
    assert "accuracy" in main.get_ylabel()
    assert [tick.get_text() for tick in infinite.get_xticklabels()] == ["∞"]
    assert "α = 0" in figure.get_suptitle()


def test_roc_is_log_log() -> None:
    fpr = np.array([0.0, 1e-4, 1e-2, 1.0])
    figure = plot_roc({("eps=8", "online"): (fpr, np.sqrt(fpr)), ("eps=8", "offline"): (fpr, fpr)})
    (axis,) = figure.axes
    assert axis.get_xscale() == "log" and axis.get_yscale() == "log"
    assert {line.get_label() for line in axis.get_lines()} >= {"eps=8 — online", "eps=8 — offline"}


def test_figure_files_are_self_contained_and_deterministic(frame: pd.DataFrame) -> None:
    figure = plot_success_curves(success_curves(frame), title="toy")
    rendered = figure_file(figure, name="s", title="S")
    assert rendered.png.startswith(b"\x89PNG\r\n\x1a\n") and rendered.wide
    svg = rendered.svg.decode()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert not re.search(r"""(href|src)\s*=\s*["']?https?:|url\(\s*["']?https?:""", svg)  # nothing fetched
    assert "@font-face" not in svg and "<text" not in svg  # text as paths: no fonts needed
    again = figure_file(plot_success_curves(success_curves(frame), title="toy"), name="s", title="S")
    assert (again.svg, again.png) == (rendered.svg, rendered.png)
    assert figure_bytes(figure, "png").startswith(b"\x89PNG")


def test_critical_mass_skips_groups_without_data() -> None:
    table = critical_mass_table(trials_frame(synthetic_records(epsilons=(2.0,), status_of=lambda a, e, s: "pending")))
    assert table["alpha_star"].isna().all()
    figure = plot_critical_mass(table, title="toy")
    assert not [line for line in figure.axes[0].get_lines() if line.get_marker() == "^"]
