"""Figure captions: what is drawn and, for every interval, its kind, level, what it is over and n.

A caption is read from the very rows a figure is drawn from (the seed counts, the bootstrap resamples, the number of
target models), so it cannot disagree with the figure. The reducer writes it as alt text and caption in the dashboard
and as ``figures/<name>.txt`` next to the image.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from acadp.lira.conventions import REPORTED_CONVENTIONS
from acadp.lira.results import HEADLINE_ATTACK, MIN_INTERPRETABLE_MEMBERS
from acadp.reduce.curves import CONFIDENCE
from acadp.reduce.style import attack_label, format_number

LEVEL = f"{CONFIDENCE:.0%}"


def count_text(counts: Iterable[float], unit: str) -> str:
    """``n = 5 seeds``, ``n = 3–5 seeds`` or ``n = 1 seed`` from the counts of the points drawn (missing and zero
    counts are points without data, left out); ``n = 0 <unit>s`` when no point has data."""
    values = np.asarray([c for c in counts if pd.notna(c) and c > 0], dtype=float)
    if values.size == 0:
        return f"n = 0 {unit}s"
    low, high = int(values.min()), int(values.max())
    plural = "" if high == 1 else "s"
    return f"n = {low} {unit}{plural}" if low == high else f"n = {low}–{high} {unit}s"


def t_interval_sentence(what: str, counts: Iterable[float], *, over: str = "seeds", unit: str = "seed") -> str:
    """``<what>: 95% Student-t intervals of the mean over <over>, n = … per point.`` (one seed: no interval)."""
    counts = list(counts)
    n = count_text(counts, unit)
    if all(pd.isna(c) or c <= 1 for c in counts):
        return f"{what}: none drawn ({n} per point: a {LEVEL} Student-t interval over {over} needs two)."
    return f"{what}: {LEVEL} Student-t intervals of the mean over {over}, {n} per point."


def success_caption(rows: pd.DataFrame, *, fitted: bool = False) -> str:
    """The caption of :func:`acadp.reduce.plots.plot_success_curves` for its ``rows``."""
    parts = [
        "Success S(α) = Pr[f(g(x)) = y*] on test points whose label is not y*, seed mean per arm"
        + (" (points; lines: a logistic fit in log α over every trial, dose response)." if fitted else ".")
    ]
    if not fitted:
        parts.append(t_interval_sentence("Bands", rows["n_seeds"]))
    if "base_rate_mean" in rows.columns and rows["base_rate_mean"].notna().any():
        parts.append("Dashed, same colour: the arm's base rate Pr[f(x) = y*] on the same points without the signal.")
    if "collapsed" in rows.columns and rows["collapsed"].astype(bool).any():
        parts.append("Hollow circles: collapsed points (accuracy fell, or the base rate reached S*).")
    if rows["mean"].isna().any():
        parts.append("× on the α axis: grid points with no completed seed.")
    return " ".join(parts)


INTERPOLATION_WORDS = {
    "linear": "interpolated linearly in α",
    "log": "interpolated in log α",
    "logistic": "read off a logistic fit in log α (dose response)",
}


def critical_mass_caption(rows: pd.DataFrame) -> str:
    """The caption of :func:`acadp.reduce.plots_privacy.plot_critical_mass` for its ``rows`` (success metric)."""
    if "metric" in rows.columns:
        rows = rows[rows["metric"] == "success"]
    methods = sorted({INTERPOLATION_WORDS.get(str(m), str(m)) for m in rows.get("interpolation", pd.Series([]))})
    method = f" ({'; '.join(methods)})" if methods else ""
    counted = rows[rows["n_seeds"] > 0]  # groups without a completed seed were not resampled
    boots = sorted({int(b) for b in counted["n_boot"].dropna()}) if "n_boot" in rows.columns else []
    resamples = f"{boots[0]} resamples" if len(boots) == 1 else "resamples"
    n = count_text(rows["n_seeds"], "seed")
    single = all(pd.isna(c) or c <= 1 for c in rows["n_seeds"])
    interval = (
        f"Bars: none ({n}: a bootstrap over one seed has zero width)."
        if single
        else f"Bars: {LEVEL} percentile-bootstrap intervals over seeds ({resamples} of the seeds, {n} per arm)."
    )
    return (
        f"Critical mass α*(S*): the smallest collective size at which the seed-mean success reaches S*{method}; one "
        f"panel per S*, DP arms of one clipping norm C joined across ε. {interval} An arrow in the band above the "
        "axis: S* not reached on the α grid (by the estimate, or by an interval's upper bound); a line in that band: "
        "a non-private arm that does not reach S*. Horizontal lines: non-private arms, their intervals shaded."
    )


def accuracy_caption(rows: pd.DataFrame) -> str:
    """The caption of :func:`acadp.reduce.plots_privacy.plot_accuracy` for its ``rows`` (it draws the smallest α's)."""
    smallest = float(rows["alpha"].min()) if not rows.empty else float("nan")
    rows = rows[rows["alpha"] == smallest]
    return (
        f"Clean test accuracy at α = {format_number(smallest)}, seed mean per arm: DP arms of one clipping norm C "
        f"joined across ε, non-private arms at ε = ∞. {t_interval_sentence('Bars', rows['n_seeds'])} The accuracy "
        "axis is zoomed to the values shown: it does not start at 0."
    )


def _targets(lira: pd.DataFrame | None) -> str:
    """``, n = 4 target models per audit`` from the LiRA table's headline rows (empty without them)."""
    if lira is None or lira.empty or "n_targets" not in lira.columns:
        return ""
    headline = lira[(lira["attack"] == HEADLINE_ATTACK) & (lira["status"] == "completed")]
    text = count_text(headline["n_targets"], "target model")
    return "" if text.startswith("n = 0") else f", {text} per audit"


def lira_auc_caption(summary: pd.DataFrame | None) -> str:
    """The caption of :func:`acadp.reduce.plots_lira.plot_lira_auc`; ``summary`` is the table it draws
    (:func:`acadp.reduce.lira_claim.lira_summary_table`), for n."""
    seeds = [] if summary is None or summary.empty else summary["n_seeds"]
    bars = t_interval_sentence("Bars", seeds, over="audited seeds (each an independent collective draw and shadow set)")
    return (
        f"AUC of the headline attack ({attack_label(HEADLINE_ATTACK)}, {REPORTED_CONVENTIONS[0]} leave-one-out "
        "convention) per member subset: each audited seed's mean over its target models, averaged over seeds. "
        f"{bars} Hollow markers: fewer than {MIN_INTERPRETABLE_MEMBERS} members or non-members of the subset per "
        "target, not interpretable. One panel per arm and variant (label scored / shadows / queries) or control. "
        "Dotted: a random guess (AUC 0.5)."
    )


def roc_caption(lira: pd.DataFrame | None) -> str:
    """The caption of :func:`acadp.reduce.plots_lira.plot_roc`; ``lira`` is the LiRA table (for n)."""
    return (
        f"ROC curves of each attack under the {REPORTED_CONVENTIONS[0]} convention: the predictions of all target "
        f"models of an audit pooled{_targets(lira)}, each model in turn the target of the others. No interval: "
        "pooled predictions share shadow models, so a curve pictures the attack and is not a statistic (the AUC "
        "intervals are in the LiRA tables). Dotted: a random guess."
    )
