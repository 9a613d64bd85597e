"""LiRA figures: ROC curves on log-log axes and the claim figure (AUC by collective size and member subset, one
panel per arm and variant or control, intervals over audited seeds).

Attacks are named in words (:func:`acadp.reduce.style.attack_label`); legends sit to the right, outside the curves.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from acadp.reduce.plots import (
    ALPHA_LABEL,
    LEGEND_WIDTH,
    PANEL_HEIGHT,
    PANEL_WIDTH,
    house_style,
    new_figure,
    new_panels,
    outside_legend,
)
from acadp.reduce.style import LINESTYLES, MARKERS, PALETTE, attack_label, format_number

RocCurves = Mapping[tuple[str, str], tuple[np.ndarray, np.ndarray]]


@house_style
def plot_roc(curves: RocCurves, *, title: str = "LiRA ROC curves") -> Figure:
    """ROC curves of LiRA audits on log-log axes.

    Args:
        curves: (audit label, attack) → (fpr, tpr), each a (n_points,) array in [0, 1]; zeros are not drawn.
        title: figure title.

    Line style = attack (named in words); colour = audit label, or the attack too when there is one audit. The
    dotted diagonal is a random guess.
    """
    figure, (axis,) = new_panels(1, title)
    audits = list(dict.fromkeys(label for label, _ in curves))
    attacks = list(dict.fromkeys(attack for _, attack in curves))
    smallest = 1.0
    for (audit, attack), arrays in curves.items():
        fpr, tpr = (np.asarray(values, dtype=float) for values in arrays)
        keep = (fpr > 0) & (tpr > 0)
        smallest = min(smallest, float(fpr[keep].min()) if keep.any() else 1.0)
        color = PALETTE[(audits.index(audit) if len(audits) > 1 else attacks.index(attack)) % len(PALETTE)]
        linestyle = LINESTYLES[attacks.index(attack) % len(LINESTYLES)]
        label = f"{audit}: {attack_label(attack)}" if len(audits) > 1 else attack_label(attack)
        axis.plot(fpr[keep], tpr[keep], color=color, linestyle=linestyle, linewidth=1.5, label=label)
    low = min(1e-3, smallest)
    axis.plot([low, 1], [low, 1], color="0.5", linestyle=":", label="random guess")
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlim(low, 1)
    axis.set_ylim(low, 1)
    axis.set_xlabel("false positive rate")
    axis.set_ylabel("true positive rate")
    axis.grid(True, which="both", alpha=0.3)
    if len(audits) == 1:
        axis.set_title(f"audit {audits[0]}")
    outside_legend(figure, *axis.get_legend_handles_labels())
    return figure


SUBSET_LABELS = {"all": "all members", "collective": "the collective", "non_collective": "the rest",
                 "placebo": "placebo (α = 0)"}  # fmt: skip
COLUMNS = 3  # panels per row of the claim figure


def _auc_panel(axis: Axes, rows: pd.DataFrame, alphas: list[float]) -> None:
    """One panel: each subset's seed-mean AUC with its 95% interval over audited seeds against α (evenly spaced
    categories); a hollow marker where the subset has too few members per target to be read."""
    part = rows.sort_values("alpha")
    for index, subset in enumerate(SUBSET_LABELS):
        mean = part[f"{subset}_auc_mean"].to_numpy(dtype=float)
        keep = ~np.isnan(mean)
        if not keep.any():
            continue
        x = np.array([alphas.index(a) for a in part["alpha"]], dtype=float)[keep] + 0.06 * (index - 1.5)
        low = part[f"{subset}_auc_ci_low"].to_numpy(dtype=float)[keep]
        high = part[f"{subset}_auc_ci_high"].to_numpy(dtype=float)[keep]
        errors = np.nan_to_num(np.vstack([mean[keep] - low, high - mean[keep]]))
        readable = part[f"{subset}_interpretable"].to_numpy(dtype=float)[keep] == 1.0
        color, marker = PALETTE[index % len(PALETTE)], MARKERS[index % len(MARKERS)]
        axis.errorbar(x, mean[keep], yerr=errors, color=color, linestyle=LINESTYLES[0], capsize=3,
                      label=SUBSET_LABELS[subset])  # fmt: skip
        for hollow in (False, True):
            chosen = readable != hollow
            axis.plot(x[chosen], mean[keep][chosen], linestyle="none", marker=marker, color=color,
                      markerfacecolor="white" if hollow else color)  # fmt: skip
    axis.axhline(0.5, color="0.5", linestyle=":", linewidth=1)
    axis.set_xticks(range(len(alphas)), [format_number(a) for a in alphas])
    axis.set_xlabel(ALPHA_LABEL)
    axis.grid(True, alpha=0.3)


@house_style
def plot_lira_auc(summary: pd.DataFrame, *, title: str = "LiRA AUC by collective size") -> Figure:
    """The claim figure from :func:`acadp.reduce.lira_claim.lira_summary_table`: one panel per (dataset, arm,
    variant or control), each member subset's AUC (mean over audited seeds, 95% CI bars over seeds) against α
    (evenly spaced categories, α = 0 included); a hollow marker is a subset with too few members per target to be
    interpreted; the dotted line is a random guess (0.5). The legend sits to the right.

    Args:
        summary: :func:`acadp.reduce.lira_claim.lira_summary_table`.
        title: figure title.
    """
    panels = list(summary.groupby(["dataset", "arm", "comparison"], dropna=False, sort=False))
    rows_, columns = max(1, -(-len(panels) // COLUMNS)), min(COLUMNS, max(1, len(panels)))
    figure = new_figure(PANEL_WIDTH * columns + LEGEND_WIDTH, PANEL_HEIGHT * rows_ + 0.9, title)
    axes = list(figure.subplots(rows_, columns, sharey=True, squeeze=False).ravel())
    alphas = sorted(set(summary["alpha"]))
    for axis, ((dataset, arm, comparison), rows) in zip(axes, panels, strict=False):
        _auc_panel(axis, rows, alphas)
        axis.set_title(f"{dataset}, {arm}\n{comparison}", fontsize="small")
    for axis in axes[len(panels) :]:
        axis.set_axis_off()
    for axis in axes[::columns]:
        axis.set_ylabel("LiRA AUC (seed mean, 95% CI)")
    handles, labels = axes[0].get_legend_handles_labels()
    for axis in axes[1 : len(panels)]:  # entries of subsets that only a later panel has
        for handle, label in zip(*axis.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    outside_legend(figure, handles, labels)
    return figure
