"""LiRA figures: ROC curves on log-log axes and the claim figure (AUC by collective size and member subset).

Attacks are named in words (:func:`acadp.reduce.style.attack_label`); legends sit to the right, outside the curves.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from acadp.reduce.collect import row_arm_label
from acadp.reduce.plots import ALPHA_LABEL, house_style, new_panels, outside_legend
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


SUBSET_LABELS = {"all": "all members", "collective": "the collective", "non_collective": "non-collective",
                 "placebo": "placebo (α = 0)"}  # fmt: skip


@house_style
def plot_lira_auc(claim: pd.DataFrame, *, title: str = "LiRA AUC by collective size") -> Figure:
    """The claim figure: the headline attack's AUC (mean over target models, 95% CI bars) per member subset against
    α, one panel per (dataset, ε, C); solid = balanced convention, dashed = reference. α values are evenly spaced
    categories (α = 0 included); the dotted line is a random guess (0.5). The legend sits to the right.

    Args:
        claim: :func:`acadp.reduce.lira_tables.lira_claim_table`.
        title: figure title.
    """
    panels = list(claim.groupby(["dataset", "epsilon", "clip"], dropna=False, sort=True))
    figure, axes = new_panels(max(1, len(panels)), title)
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
        axis.set_xticks(range(len(alphas)), [format_number(a) for a in alphas])
        axis.set_xlabel(ALPHA_LABEL)
        axis.set_title(f"{dataset}, {row_arm_label(epsilon=float(epsilon), clip=float(clip))}", fontsize="medium")
        axis.grid(True, alpha=0.3)
    axes[0].set_ylabel("LiRA AUC (mean over targets, 95% CI)")
    handles, labels = axes[0].get_legend_handles_labels()
    for axis in axes[1:]:  # entries of subsets that only a later panel has
        for handle, label in zip(*axis.get_legend_handles_labels(), strict=True):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    outside_legend(figure, handles, labels)
    return figure
