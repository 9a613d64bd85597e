"""What a sweep of the token signal (text; Hardt et al. 2023) adds to the reducer's outputs.

* ``token_critical_mass.{csv,md,tex}`` — the critical-mass table's rows of token settings, each named by its
  strategy, token and ξ (the seed-mean fraction of clean training documents already holding the token, as the trials
  recorded it): α*(S*) per strategy and token, the numbers the signal's uniqueness is read from.
* ``epoch_curves.csv`` — success S and clean test accuracy after every evaluated epoch, per (setting, arm, α, epoch)
  over seeds (mean, sample std, 95% Student-t interval as :func:`acadp.reduce.curves.t_interval`), from the trials'
  epoch histories: "success grows with training" is read off it. A data file (not shown on the dashboard).
* figures ``success_by_epoch_<setting>`` — S against epochs, one panel per arm, one line per α with its CI band; and
  ``critical_mass_vs_xi_<setting>`` — α*(S*) against ξ, one line per arm, for every setting that ran two or more
  tokens (their bound, α > (1 − α)·Δ·ξ, says α* grows with ξ).

Nothing here runs for a sweep without token trials. The reducer reads files only: epoch histories come from the
trial records the caller collected.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from acadp.reduce.captions import LEVEL, count_text, t_interval_sentence
from acadp.reduce.collect import CONFIG_COLUMNS, coerce_trials_frame, with_arm_columns
from acadp.reduce.columns import config_row
from acadp.reduce.curves import group_keys, setting_keys, t_interval
from acadp.reduce.plots import (
    LEGEND_WIDTH,
    PANEL_HEIGHT,
    PANEL_WIDTH,
    FigureFile,
    arm_coordinates,
    error_bars,
    figure_file,
    house_style,
    new_figure,
    outside_legend,
)
from acadp.reduce.style import ArmStyle, LineStyle, arm_styles
from acadp.reduce.tables import TABLES, Column, TableSpec

if TYPE_CHECKING:
    from acadp.trial.record import TrialRecord

TOKEN_SIGNAL = "token"
EPOCH_METRICS: tuple[str, ...] = ("success", "test_accuracy")
# setting columns that tell tokens apart; the α*-vs-ξ figure joins the settings that differ only in them
TOKEN_COLUMNS: tuple[str, ...] = ("signal", "signal_params")

TEXT_NOTES: dict[str, str] = {
    "token_critical_mass": "α*(S*) of the critical-mass table (same interpolation and bootstrap) for each setting of "
    "the token signal; ξ = seed-mean share of the clean training documents whose first seq_len word pieces already "
    "hold the token (Hardt et al. 2023's uniqueness of the signal).",
}


def is_text_sweep(trials: pd.DataFrame) -> bool:
    """Whether any trial of ``trials`` plants the token signal."""
    return "signal" in trials.columns and bool((trials["signal"] == TOKEN_SIGNAL).any())


# ------------------------------------------------------------------------------------------------------ per epoch


def epochs_frame(records: Sequence[TrialRecord]) -> pd.DataFrame:
    """One row per evaluated epoch of every completed token trial: its config columns (as the trials table's), the
    ``epoch`` and the epoch's ``success``, ``test_accuracy`` and ``base_rate``."""
    rows = []
    for record in records:
        if record.status != "completed" or record.result is None or record.config.signal.name != TOKEN_SIGNAL:
            continue
        config = config_row(record.config)
        for epoch in record.result.history:
            if epoch.success is None:
                continue  # not evaluated (eval_every)
            rows.append({**config, "epoch": epoch.epoch, "success": epoch.success,
                         "test_accuracy": epoch.test_accuracy, "base_rate": epoch.base_rate})  # fmt: skip
    columns = [*CONFIG_COLUMNS, "epoch", "success", "test_accuracy", "base_rate"]
    frame = pd.DataFrame(rows, columns=columns)
    return coerce_trials_frame(frame).astype({"epoch": "int64"})


def epoch_curves(trials: pd.DataFrame, epochs: pd.DataFrame) -> pd.DataFrame:
    """Per (setting, arm, alpha, epoch) — settings as the trials table defines them (:func:`group_keys`) — the seed
    count and mean, sample std and 95% t-interval of every :data:`EPOCH_METRICS` metric."""
    keys = [*group_keys(trials), "alpha", "epoch"]
    if epochs.empty:
        return pd.DataFrame(columns=[*keys, "n_seeds", *_metric_columns()])
    grouped = with_arm_columns(epochs).groupby(keys, dropna=False, sort=True)
    out = grouped.size().rename("n_seeds").reset_index()
    for metric in EPOCH_METRICS:
        stats = grouped[metric].agg(["mean", "std"]).reset_index(drop=True)
        interval = t_interval(stats["mean"].to_numpy(), stats["std"].to_numpy(), out["n_seeds"].to_numpy())
        out[f"{metric}_mean"], out[f"{metric}_std"] = stats["mean"].to_numpy(), stats["std"].to_numpy()
        out[f"{metric}_ci_low"], out[f"{metric}_ci_high"] = interval[:, 0], interval[:, 1]
    return out.sort_values(keys, na_position="last", kind="stable").reset_index(drop=True)


def _metric_columns() -> list[str]:
    return [f"{metric}_{part}" for metric in EPOCH_METRICS for part in ("mean", "std", "ci_low", "ci_high")]


# ------------------------------------------------------------------------------------------------ per token


def token_of(signal_params: Any) -> str:
    """The token of a ``signal_params`` cell (the signal's parameters as JSON); "" when there is none."""
    try:
        return str(json.loads(signal_params).get("token", ""))
    except (TypeError, ValueError, AttributeError):
        return ""


def _setting_facts(trials: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per setting of the token trials: strategy, token, signal interval and seed-mean ξ of its completed trials."""
    work = trials[trials["signal"] == TOKEN_SIGNAL].copy()
    work["token"] = [token_of(value) for value in work["signal_params"]]
    work["every"] = [json.loads(value).get("every") if token else None
                     for value, token in zip(work["signal_params"], work["token"], strict=True)]  # fmt: skip
    work["xi"] = work["xi"].where(work["status"] == "completed")
    wanted = {"strategy": "first", "token": "first", "every": "first", "xi": "mean"}
    named = {name: (name, how) for name, how in wanted.items() if name not in keys}
    return work.groupby(keys, dropna=False, sort=True).agg(**named).reset_index()


def token_table(trials: pd.DataFrame, critical_mass: pd.DataFrame) -> pd.DataFrame:
    """The critical-mass rows of every token setting with its strategy, token, interval and ξ (see the module
    docstring); empty for a sweep without token trials."""
    if not is_text_sweep(trials) or critical_mass.empty:
        return pd.DataFrame()
    keys = setting_keys(trials)
    facts = _setting_facts(trials, keys)
    extra = [name for name in ("strategy", "token", "every", "xi") if name not in keys]
    merged = critical_mass.merge(facts[[*keys, *extra]], on=keys, how="inner").drop(
        columns=[name for name in TOKEN_COLUMNS if name in keys]  # the token and interval columns say it
    )
    first = ["dataset", "strategy", *[k for k in keys if k not in {"dataset", "strategy", *TOKEN_COLUMNS}]]
    first += ["token", "every", "xi"]
    rest = [column for column in merged.columns if column not in first]
    return merged[first + rest].reset_index(drop=True)


TABLES.add(
    "token_critical_mass",
    TableSpec(
        name="token_critical_mass",
        title="Critical mass α*(S*) per strategy and token",
        columns=(
            Column(("dataset",), "Dataset", "Dataset", "text", numeric=False),  # then strategy and other settings
            Column(("token",), "Token", "Token", "text", numeric=False),
            Column(("xi",), "ξ", r"$\xi$", "num"),
            Column(("arm",), "Arm", "Arm", "text", numeric=False, optional=True),
            Column(("metric",), "Metric", "Metric", "text", numeric=False, optional=True),
            Column(("threshold",), "S*", "$S^*$", "num"),
            Column(("alpha_star",), "α*", r"$\alpha^*$", "alpha_star"),
            Column(("ci_low", "ci_high"), "95% CI", r"95\% CI", "alpha_ci"),
            Column(("frac_reached",), "Reached (bootstrap)", "Reached (bootstrap)", "frac"),
            Column(("n_seeds",), "Seeds", "Seeds", "int"),
        ),
    ),
)  # fmt: skip


def text_tables(trials: pd.DataFrame, critical_mass: pd.DataFrame, epochs: pd.DataFrame | None) -> dict[str, Any]:
    """The tables a token sweep adds (none for other sweeps): ``token_critical_mass`` and ``epoch_curves``."""
    if not is_text_sweep(trials):
        return {}
    tables = {"token_critical_mass": token_table(trials, critical_mass)}
    if epochs is not None:
        tables["epoch_curves"] = epoch_curves(trials, epochs)
    return tables


TABLES.add(
    "epoch_curves",
    TableSpec(
        name="epoch_curves",
        title="Success and accuracy after every epoch",
        columns=(
            Column(("dataset",), "Dataset", "Dataset", "text", numeric=False),
            Column(("arm",), "Arm", "Arm", "text", numeric=False, optional=True),
            Column(("alpha",), "α", r"$\alpha$", "num"),
            Column(("epoch",), "Epoch", "Epoch", "int"),
            Column(("n_seeds",), "Seeds", "Seeds", "int"),
            Column(("success_mean", "success_std", "n_seeds"), "S (mean ± std)", "$S$ (mean $\\pm$ std)", "mean_std"),
            Column(("test_accuracy_mean", "test_accuracy_std", "n_seeds"), "Accuracy (mean ± std)",
                   "Accuracy (mean $\\pm$ std)", "mean_std"),
        ),
    ),
)  # fmt: skip


# ------------------------------------------------------------------------------------------------------ figures


@house_style
def plot_success_by_epoch(curves: pd.DataFrame, *, title: str) -> Figure:
    """S against epochs for one setting (rows of :func:`epoch_curves`): one panel per arm, one line per α (darker =
    larger) with its 95% CI band; the legend to the right, outside the data."""
    arms = list(dict.fromkeys(curves["arm"].tolist()))
    figure = _panels_figure(len(arms), title)
    axes = figure.subplots(1, len(arms), sharey=True, squeeze=False)[0]
    alphas = sorted(curves["alpha"].unique())
    colours = _alpha_colours(len(alphas))
    for axis, arm in zip(axes, arms, strict=True):
        rows = curves[curves["arm"] == arm]
        for colour, alpha in zip(colours, alphas, strict=True):
            line = rows[rows["alpha"] == alpha].sort_values("epoch")
            epoch = line["epoch"].to_numpy(float)
            axis.plot(epoch, line["success_mean"].to_numpy(float), color=colour, marker=".", label=f"α = {alpha:g}")
            axis.fill_between(epoch, line["success_ci_low"].to_numpy(float), line["success_ci_high"].to_numpy(float),
                              color=colour, alpha=0.12, linewidth=0)  # fmt: skip
        axis.set_title(str(arm), fontsize="medium")
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_ylim(-0.02, 1.02)
        axis.grid(True, alpha=0.3)
    axes[0].set_ylabel("success S (rate on signed test documents)")
    handles, labels = axes[0].get_legend_handles_labels()
    outside_legend(figure, handles, labels)
    return figure


def success_by_epoch_caption(rows: pd.DataFrame) -> str:
    """The caption of :func:`plot_success_by_epoch` for its ``rows``: what is drawn and its intervals."""
    return (
        "Success S = Pr[f(g(x)) = y*] on test documents whose label is not y*, after every evaluated epoch, seed mean; "
        "one panel per arm, one line per collective size α (darker = larger). "
        f"{t_interval_sentence('Bands', rows['n_seeds'])}"
    )


def _panels_figure(panels: int, title: str) -> Figure:
    """A figure with room for ``panels`` panels and the legend on their right; ``title`` (a setting's label can be
    long) is wrapped to the panels' width and centred over them, clear of the legend."""
    width = PANEL_WIDTH * panels
    wrapped = "\n".join(textwrap.wrap(title, width=int(30 * panels)))
    figure = new_figure(width + LEGEND_WIDTH, PANEL_HEIGHT + 0.8, wrapped)
    figure.suptitle(wrapped, x=0.5 * width / (width + LEGEND_WIDTH))
    return figure


def _alpha_colours(count: int) -> list[tuple[float, float, float, float]]:
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    return [cmap(0.9 - 0.8 * index / max(count - 1, 1)) for index in range(count)]


@house_style
def plot_alpha_star_vs_xi(table: pd.DataFrame, *, title: str) -> Figure:
    """α*(S*) against ξ for settings that differ only in their token (rows of :func:`token_table`, metric
    ``success``): one panel per S*, one line per arm in the colours and markers of the sweep's other figures
    (:func:`acadp.reduce.style.arm_styles`); an unreached α* is an open triangle at the top, CIs are error bars (an
    unreached bound runs to the top)."""
    table = _success_rows(table)
    thresholds = sorted(table["threshold"].unique())
    figure = _panels_figure(len(thresholds), title)
    axes = figure.subplots(1, len(thresholds), sharey=True, squeeze=False)[0]
    values = table[["alpha_star", "ci_low", "ci_high"]].to_numpy(float)
    finite = values[np.isfinite(values) & (values > 0)]
    top = float(finite.max() * 2.0) if finite.size else 1.0
    styles = arm_styles(arm_coordinates(table))
    for axis, threshold in zip(axes, thresholds, strict=True):
        rows = table[table["threshold"] == threshold]
        for arm, (style, linestyle) in styles.items():
            _draw_arm(axis, rows[rows["arm"] == arm].sort_values("xi"), top=top, style=style, linestyle=linestyle,
                      label=arm)  # fmt: skip
        axis.set_title(f"S* = {threshold:g}", fontsize="medium")
        axis.set_xlabel("ξ (clean documents holding the token)")
        axis.set_yscale("log")
        axis.grid(True, alpha=0.3, which="both")
    axes[0].set_ylabel("critical mass α*")
    handles, labels = axes[0].get_legend_handles_labels()
    handles.append(Line2D([], [], linestyle="none", marker="^", markerfacecolor="white", color="0.3"))
    labels.append("S* not reached on the α grid")
    outside_legend(figure, handles, labels)
    return figure


def _success_rows(table: pd.DataFrame) -> pd.DataFrame:
    return table[table["metric"] == "success"] if "metric" in table.columns else table


def alpha_star_vs_xi_caption(rows: pd.DataFrame) -> str:
    """The caption of :func:`plot_alpha_star_vs_xi` for its ``rows``: what is drawn and its intervals."""
    rows = _success_rows(rows)
    counted = rows[rows["n_seeds"] > 0]
    boots = sorted({int(b) for b in counted["n_boot"].dropna()}) if "n_boot" in rows.columns else []
    resamples = f"{boots[0]} resamples" if len(boots) == 1 else "resamples"
    n = count_text(rows["n_seeds"], "seed")
    single = all(pd.isna(c) or c <= 1 for c in rows["n_seeds"])
    interval = (
        f"Bars: none ({n}: a bootstrap over one seed has zero width)."
        if single
        else f"Bars: {LEVEL} percentile-bootstrap intervals over seeds ({resamples} of the seeds, {n} per point)."
    )
    return (
        "Critical mass α*(S*), the smallest collective size at which the seed-mean success reaches S*, against ξ, the "
        "share of clean training documents already holding the token (seed mean); one panel per S*, one line per arm. "
        f"{interval} An open triangle at the top: S* not reached on the α grid; a bar running to the top: an interval "
        "whose upper bound is not reached."
    )


def _draw_arm(axis: Any, rows: pd.DataFrame, *, top: float, style: ArmStyle, linestyle: LineStyle, label: str) -> None:
    """One arm's α* against ξ with CI bars; an infinite bound (not reached) runs to ``top``."""
    rows = rows[rows["xi"].notna() & rows["alpha_star"].notna()]
    xi = rows["xi"].to_numpy(float)
    star = rows["alpha_star"].to_numpy(float)
    reached = np.isfinite(star)
    bars = error_bars(star, rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float), top)
    axis.errorbar(xi[reached], star[reached], yerr=bars[:, reached], capsize=3, markersize=5, label=label,
                  linestyle=linestyle, **style.kwargs())  # fmt: skip
    if (~reached).any():  # not reached within the grid: an open triangle at the top, joined to nothing
        axis.plot(xi[~reached], np.full((~reached).sum(), top), linestyle="none", marker="^", markerfacecolor="white",
                  markersize=8, color=style.color)  # fmt: skip


def text_figures(tables: dict[str, pd.DataFrame], trials: pd.DataFrame, slug: Any) -> list[FigureFile]:
    """The figures of a token sweep (none for other sweeps): S by epoch per setting, α* against ξ where a setting
    ran two or more tokens. ``slug`` turns a label into a file-name part."""
    figures: list[FigureFile] = []
    keys = setting_keys(trials)
    curves = tables.get("epoch_curves")
    if curves is not None and not curves.empty:
        for values, rows in curves.groupby(keys, dropna=False, sort=True):
            label = _label(dict(zip(keys, _tuple(values), strict=True)))
            title = f"Success S by epoch — {label}"
            figure = plot_success_by_epoch(rows, title=title)
            name, caption = f"success_by_epoch_{slug(label)}", success_by_epoch_caption(rows)
            figures.append(figure_file(figure, name=name, title=title, caption=caption))
    tokens = tables.get("token_critical_mass")
    if tokens is not None and not tokens.empty:
        joined = [key for key in keys if key not in TOKEN_COLUMNS]
        for values, rows in tokens.groupby(joined, dropna=False, sort=True):
            if rows["token"].nunique() < 2:
                continue
            label = _label(dict(zip(joined, _tuple(values), strict=True)))
            title = f"Critical mass α* against the token's ξ — {label}"
            figure = plot_alpha_star_vs_xi(rows, title=title)
            name, caption = f"critical_mass_vs_xi_{slug(label)}", alpha_star_vs_xi_caption(rows)
            figures.append(figure_file(figure, name=name, title=title, caption=caption))
    return figures


def _tuple(values: Any) -> tuple[Any, ...]:
    return values if isinstance(values, tuple) else (values,)


def _label(setting: dict[str, Any]) -> str:
    return ", ".join(f"{value}" if key == "dataset" else f"{key}={value}" for key, value in setting.items())
