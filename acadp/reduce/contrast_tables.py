"""The tables of the paired statistics, registered in :data:`acadp.reduce.tables.TABLES`: ``contrasts`` (one row per
contrast × metric × S*, :mod:`acadp.reduce.contrasts`) and ``seed_alpha_star`` (alpha* of every seed,
:mod:`acadp.reduce.seed_alpha`), with their method notes."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from acadp.reduce.contrasts import CONFIDENCE, LEVEL, MIN_SEEDS
from acadp.reduce.tables import _ARM, _CLIP, _DATASET, _EPSILON, FORMATTERS, TABLES, Column, Style, TableSpec


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@FORMATTERS.register("delta")
def _delta(values: tuple[Any, ...], style: Style) -> str:
    return "n/a" if _missing(values[0]) else format(float(values[0]), "+.3g")


@FORMATTERS.register("delta_ci")
def _delta_ci(values: tuple[Any, ...], style: Style) -> str:
    low, high, n_seeds = values
    if _missing(low) or _missing(high):
        return "n/a"
    return f"[{float(low):.3g}, {float(high):.3g}] (t, {int(n_seeds)} seeds)"


@FORMATTERS.register("p_value")
def _p_value(values: tuple[Any, ...], style: Style) -> str:
    return "n/a" if _missing(values[0]) else format(float(values[0]), ".2g")


@FORMATTERS.register("pair_counts")
def _pair_counts(values: tuple[Any, ...], style: Style) -> str:
    return f"{int(values[0])} / {int(values[1])}"


TABLES.add(
    "contrasts",
    TableSpec(
        name="contrasts",
        title="Paired contrasts Δα* = α*(A) − α*(B) per seed",
        columns=(
            _DATASET,
            Column(("contrast",), "Contrast", "Contrast", "text", numeric=False),
            Column(("a",), "A", "A", "text", numeric=False),
            Column(("b",), "B", "B", "text", numeric=False),
            Column(("metric",), "Metric", "Metric", "text", numeric=False),
            Column(("threshold",), "S*", "$S^*$", "num"),
            Column(("n_seeds",), "Seeds", "Seeds", "int"),
            Column(("not_reached_a", "not_reached_b"), "Not reached (A / B)", "Not reached (A / B)", "pair_counts"),
            Column(("delta_mean",), "Mean Δα*", r"Mean $\Delta\alpha^*$", "delta"),
            Column(("ci_low", "ci_high", "n_seeds"), "95% CI", r"95\% CI", "delta_ci"),
            Column(("p_value",), "p", "$p$", "p_value"),
            Column(("p_holm",), "p (Holm)", r"$p$ (Holm)", "p_value"),
            Column(("verdict",), "Verdict", "Verdict", "text", numeric=False),
            Column(("note",), "Note", "Note", "text", numeric=False),
        ),
    ),
)  # fmt: skip
TABLES.add(
    "seed_alpha_star",
    TableSpec(
        name="seed_alpha_star",
        title="Critical mass α*(S*) of every seed",
        columns=(
            _DATASET, _ARM, _EPSILON, _CLIP,
            Column(("metric",), "Metric", "Metric", "text", numeric=False),
            Column(("threshold",), "S*", "$S^*$", "num"),
            Column(("seed",), "Seed", "Seed", "int"),
            Column(("alpha_star",), "α*", r"$\alpha^*$", "alpha_star"),
            Column(("method",), "Method", "Method", "text", numeric=False),
            Column(("crossing_alpha",), "Crossing α", r"Crossing $\alpha$", "num"),
            Column(("collapsed",), "Collapsed", "Collapsed", "flag", numeric=False),
            Column(("note",), "Note", "Note", "text", numeric=False),
        ),
    ),
)  # fmt: skip


def contrast_notes(contrasts: pd.DataFrame | None) -> dict[str, str]:
    """Table name → its method note for the paired tables (``n_tests`` read off the contrasts table)."""
    n_tests = int(contrasts["n_tests"].iloc[0]) if contrasts is not None and len(contrasts) else 0
    return {
        "contrasts": f"Δα* = α*(A) − α*(B) in each seed both arms have (paired: same collective draw, initialisation "
        f"and batches), α* per seed as in seed_alpha_star.csv. Mean Δα* with its {CONFIDENCE:.0%} CI = Student-t "
        f"interval over the n paired seeds (column Seeds); p = paired two-sided t-test (scipy ttest_rel); p (Holm) = "
        f"Holm's step-down correction over all {n_tests} tests of the sweep (every contrast × S* × metric with a "
        f"p-value). Statistics need every paired seed to reach S* on both sides. Verdict: yes (Δ > 0, p_Holm < "
        f"{LEVEL:g}), no (Δ < 0, p_Holm < {LEVEL:g}), undetermined (a side not reached or collapsed in a seed, all "
        f"Δ tied, or p_Holm ≥ {LEVEL:g}), not meaningful (fewer than {MIN_SEEDS} seeds, or a --smoke run).",
        "seed_alpha_star": "α* of each seed's own curve: first crossing of S* (interpolated as the critical-mass "
        "table), or, for a dose-response search, a logistic fit in log α with a slope common to the arm's seeds and "
        "one intercept per seed, read within the α range the arm ran (column Method). Crossing α = the first α at "
        "or above α* the seed ran; Collapsed = that trial's model collapsed.",
    }
