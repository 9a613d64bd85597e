"""Paired contrasts of alpha* between arms, Holm's correction over a sweep, and one verdict per contrast.

Arms that share a seed share its collective draw, initialisation and batches, so arms are compared seed by seed.
For a contrast (A, B), each S* and each metric (:mod:`acadp.reduce.seed_alpha` gives alpha* per seed):

* the paired seeds are those where both arms have an alpha* (reached or not); a seed that only one arm has is
  counted in the note;
* delta_s = alpha*(A)_s − alpha*(B)_s is defined when both sides reached S*; the statistics are computed only when
  every paired seed has both sides reached: the mean delta, the two-sided 95% Student-t interval over the n seeds
  (``mean ± t_{0.975, n−1} · sd / sqrt(n)``, sd with ddof = 1: "t-interval over n seeds") and the p-value of the
  paired two-sided t-test (``scipy.stats.ttest_rel``). When every delta_s is the same number up to float rounding
  ("all tied", e.g. both arms reach S* at the same grid alpha in every seed) the interval is that point and there is
  no p-value;
* Holm's step-down correction (``statsmodels.stats.multitest.multipletests(method="holm")``) is taken over every
  row of the sweep's table that has a p-value — all contrasts × thresholds × metrics, the ε steps of
  :mod:`acadp.reduce.verdict` included — and ``n_tests`` says how many that is.

Verdict of a row (the first rule that applies):

1. "not meaningful (n seeds)" — a ``--smoke`` run, or fewer than :data:`MIN_SEEDS` paired seeds;
2. "undetermined" — a side does not reach S* in some seed (a "not reached" is never ordered), a side's model
   collapsed at its crossing in some seed (:mod:`acadp.reduce.seed_alpha`), a side reaches S* already at alpha = 0
   in some seed (success without a collective says nothing about the collective; compare alpha* on lift), every
   delta_s is tied, or p_Holm >= :data:`LEVEL`;
3. "yes" when the mean delta > 0 (A needs a larger collective), "no" when it is < 0.

Contrasts: ``reduce.contrasts`` of the sweep file (:class:`acadp.config.contrasts.Contrast`), each in every setting;
a setting without one of its arms gives a row with no seeds. Without that key, the defaults, only those whose arms
exist in the setting: each DP arm vs the clip-only arm at its C (the noise), each clip-only arm vs SGD on the shared
recipe (the clipping), SGD [matched] vs SGD [tuned] (the utility), each clip-only arm vs SGD [matched] (the clipping
beyond its utility cost). Either way the steps of the "alpha* rises as epsilon falls" chain (role ``ε step``:
SGD → DP at the largest ε → … → the smallest ε, at each C) join the table, so the verdict that reads them is covered
by the same Holm correction.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from acadp.config.arms import arm_label
from acadp.config.contrasts import Contrast

CONFIDENCE = 0.95
LEVEL = 0.05  # family-wise error rate of Holm's procedure
MIN_SEEDS = 5  # fewer paired seeds: "not meaningful"
TIE_TOLERANCE = 1e-12  # deltas of alpha* (fractions of the data) this close are equal up to float rounding
ARM_COLUMNS: tuple[str, ...] = ("recipe", "epsilon", "clip", "arm", "arm_kind")
CONTRAST_COLUMNS: tuple[str, ...] = (
    "contrast", "role", "question", "a", "b", "chain_clip", "metric", "threshold", "n_seeds", "not_reached_a",
    "not_reached_b", "collapsed_a", "collapsed_b", "delta_mean", "ci_low", "ci_high", "p_value", "p_holm", "n_tests",
    "verdict", "text", "note",
)  # fmt: skip
Role = Literal["contrast", "ε step"]


@dataclass(frozen=True)
class PlannedContrast:
    """One contrast of one setting: alpha*(``a``) − alpha*(``b``); ``question`` is the claim a "yes" makes."""

    name: str
    question: str
    a: str
    b: str
    role: Role = "contrast"
    chain_clip: float = math.nan  # the C of an ε step's chain


def _eps_c(epsilon: float, clip: float) -> str:
    return f"ε = {epsilon:g}, C = {clip:g}"


def default_contrasts(arms: pd.DataFrame) -> list[PlannedContrast]:
    """The default contrasts among ``arms`` (one row per arm, columns :data:`ARM_COLUMNS`; module docstring)."""
    labels = set(arms["arm"])
    dp = arms[arms["arm_kind"] == "dpsgd"].sort_values(["clip", "epsilon"], ascending=[True, False])
    clipped = arms[arms["arm_kind"] == "clip"].sort_values("clip")
    out = []
    for _, row in dp.iterrows():
        clip_only = arm_label(epsilon=math.inf, clip=float(row["clip"]))
        if clip_only in labels:
            where = _eps_c(row["epsilon"], row["clip"])
            out.append(PlannedContrast(f"noise at {where}", f"Noise raises α* beyond clipping at {where}", row["arm"],
                                       clip_only))  # fmt: skip
    for _, row in clipped.iterrows() if "SGD" in labels else ():
        where = f"C = {row['clip']:g}"
        out.append(PlannedContrast(f"clipping at {where}", f"Clipping raises α* at {where}", row["arm"], "SGD"))
    if {"SGD [matched]", "SGD [tuned]"} <= labels:
        question = "Lower utility (SGD [matched] vs SGD [tuned]) raises α*"
        out.append(PlannedContrast("utility", question, "SGD [matched]", "SGD [tuned]"))
    for _, row in clipped.iterrows() if "SGD [matched]" in labels else ():
        where = f"C = {row['clip']:g}"
        out.append(PlannedContrast(f"clipping beyond utility at {where}",
                                   f"Clipping raises α* beyond its utility cost at {where}", row["arm"],
                                   "SGD [matched]"))  # fmt: skip
    return out


def epsilon_steps(arms: pd.DataFrame) -> list[PlannedContrast]:
    """The consecutive pairs of SGD → DP at the largest ε → … → the smallest ε, for each C of the DP arms (without an
    SGD arm the chain starts at the largest ε)."""
    dp = arms[arms["arm_kind"] == "dpsgd"]
    out = []
    for clip in sorted(dp["clip"].dropna().unique()):
        chain = dp[dp["clip"] == clip].sort_values("epsilon", ascending=False)
        names = ["SGD"] if "SGD" in set(arms["arm"]) else []
        names += chain["arm"].tolist()
        epsilons = ([math.inf] if names[0] == "SGD" else []) + chain["epsilon"].tolist()
        for (b, eps_b), (a, eps_a) in pairwise(zip(names, epsilons, strict=True)):
            start = "SGD" if math.isinf(eps_b) else f"ε = {eps_b:g}"
            out.append(PlannedContrast(
                f"ε step {start} → ε = {eps_a:g}, C = {clip:g}",
                f"α* rises from {start} to ε = {eps_a:g} at C = {clip:g}", a, b, role="ε step", chain_clip=float(clip),
            ))  # fmt: skip
    return out


def planned_contrasts(arms: pd.DataFrame, given: Sequence[Contrast] | None) -> list[PlannedContrast]:
    """The contrasts of one setting: ``given`` (all of them) or the defaults, then the ε steps not already listed
    (every contrast that is an ε step has the chain's C in ``chain_clip``)."""
    if given is None:
        planned = default_contrasts(arms)
    else:
        planned = [PlannedContrast(c.label, f"{c.label}: α*({c.a}) > α*({c.b})", c.a, c.b) for c in given]
    steps = {(step.a, step.b): step for step in epsilon_steps(arms)}
    # a listed contrast that is also an ε step stands for it (one test, one row): it carries the chain's C
    planned = [replace(p, chain_clip=steps[(p.a, p.b)].chain_clip) if (p.a, p.b) in steps else p for p in planned]
    pairs = {(p.a, p.b) for p in planned}
    return planned + [step for pair, step in steps.items() if pair not in pairs]


@dataclass(frozen=True)
class PairedStatistics:
    """Mean of the paired differences, its t-interval over the n seeds and the paired t-test's p-value."""

    n: int
    delta_mean: float
    ci_low: float
    ci_high: float
    p_value: float
    tied: bool


def paired_statistics(a: np.ndarray, b: np.ndarray, *, confidence: float = CONFIDENCE) -> PairedStatistics:
    """delta = a − b per seed: mean, two-sided Student-t interval over seeds, paired two-sided t-test p-value.

    Args:
        a, b: (n_seeds,) finite alpha* of the two arms, paired by position.
        confidence: coverage of the interval.

    Returns:
        NaN interval and p-value with fewer than two seeds; with every delta equal (``tied``) the interval is that
        point and the p-value NaN (the test cannot decide).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    delta = a - b
    n = int(delta.size)
    if n == 0:
        return PairedStatistics(0, math.nan, math.nan, math.nan, math.nan, tied=False)
    mean = float(delta.mean())
    tied = bool(np.ptp(delta) <= TIE_TOLERANCE)
    if n < 2:
        return PairedStatistics(n, mean, math.nan, math.nan, math.nan, tied=tied)
    if tied:
        return PairedStatistics(n, mean, mean, mean, math.nan, tied=True)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * delta.std(ddof=1) / math.sqrt(n))
    p_value = float(stats.ttest_rel(a, b).pvalue)
    return PairedStatistics(n, mean, mean - half, mean + half, p_value, tied=False)


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values of the finite entries of ``p_values`` (one family); NaN stays NaN."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, math.nan)
    finite = np.isfinite(p)
    if finite.any():
        from statsmodels.stats.multitest import multipletests  # deferred: a heavy import only the reducer needs

        adjusted[finite] = multipletests(p[finite], alpha=LEVEL, method="holm")[1]
    return adjusted


def _side(seed_alpha: pd.DataFrame, arm: str, metric: str, threshold: float) -> pd.DataFrame:
    rows = seed_alpha[(seed_alpha["arm"] == arm) & (seed_alpha["metric"] == metric)]
    rows = rows[np.isclose(rows["threshold"], threshold)]
    return rows[rows["alpha_star"].notna()].set_index("seed")[["alpha_star", "collapsed"]]


def _pair_row(seed_alpha: pd.DataFrame, planned: PlannedContrast, metric: str, threshold: float) -> dict:
    """The statistics of one contrast at one (metric, S*) before Holm (``verdict`` is filled in later)."""
    side_a, side_b = (_side(seed_alpha, arm, metric, threshold) for arm in (planned.a, planned.b))
    paired = side_a.join(side_b, how="inner", lsuffix="_a", rsuffix="_b")
    a, b = paired["alpha_star_a"].to_numpy(float), paired["alpha_star_b"].to_numpy(float)
    reached = bool(np.isfinite(a).all() and np.isfinite(b).all())
    nothing = PairedStatistics(len(paired), math.nan, math.nan, math.nan, math.nan, tied=False)
    result = paired_statistics(a, b) if reached else nothing
    notes = []
    unpaired = len(side_a) + len(side_b) - 2 * len(paired)
    if unpaired:
        notes.append(f"{unpaired} seed(s) with only one arm's α*")
    at_zero = [arm for arm, values in ((planned.a, a), (planned.b, b)) if np.any(values == 0)]
    if at_zero:
        notes.append(f"{' and '.join(at_zero)} reach{'es' if len(at_zero) == 1 else ''} S* at α = 0")
    return {
        "contrast": planned.name, "role": planned.role, "question": planned.question, "a": planned.a,
        "b": planned.b, "chain_clip": planned.chain_clip, "metric": metric, "threshold": float(threshold),
        "n_seeds": len(paired), "not_reached_a": int(np.isinf(a).sum()), "not_reached_b": int(np.isinf(b).sum()),
        "collapsed_a": int(paired["collapsed_a"].astype(bool).sum()),
        "collapsed_b": int(paired["collapsed_b"].astype(bool).sum()), "delta_mean": result.delta_mean,
        "ci_low": result.ci_low, "ci_high": result.ci_high, "p_value": result.p_value, "tied": result.tied,
        "at_zero": bool(at_zero), "note": "; ".join(notes),
    }  # fmt: skip


def _undetermined_reason(row: pd.Series) -> str | None:
    n = int(row["n_seeds"])
    missing = [f"{row[side]} in {row[f'not_reached_{side}']} of {n} seeds" for side in ("a", "b")
               if row[f"not_reached_{side}"]]  # fmt: skip
    if missing:
        return f"S* not reached: {' and '.join(missing)}"
    for side in ("a", "b"):
        if row[f"collapsed_{side}"]:
            return f"{row[side]}'s model collapsed at its crossing in {row[f'collapsed_{side}']} of {n} seeds"
    if row["at_zero"]:
        return "an arm reaches S* at α = 0, without a collective (compare α* on lift)"
    if row["tied"]:
        return f"all Δα* tied ({row['delta_mean']:+.3g} in every seed)"
    if not row["p_holm"] < LEVEL:
        return f"p_Holm = {row['p_holm']:.2g} ≥ {LEVEL:g}"
    return None


def row_verdict(row: pd.Series, *, smoke: bool) -> tuple[str, str]:
    """(verdict, reason) of one contrast row after Holm (module docstring for the rules)."""
    n = int(row["n_seeds"])
    if smoke or n < MIN_SEEDS:
        why = "a --smoke run" if smoke else f"fewer than {MIN_SEEDS} paired seeds"
        return f"not meaningful ({n} seed{'' if n == 1 else 's'})", why
    reason = _undetermined_reason(row)
    if reason is not None:
        return "undetermined", reason
    return ("yes", "Δα* > 0") if row["delta_mean"] > 0 else ("no", "Δα* < 0")


def statistics_text(row: pd.Series) -> str:
    """``+0.012 [0.006, 0.018], p_Holm = 0.01`` (the mean Δα*, its t-interval, the Holm-adjusted p); "" when the
    row has no interval."""
    if not (np.isfinite(row["ci_low"]) and np.isfinite(row["ci_high"])):
        return ""
    p = "n/a" if not np.isfinite(row["p_holm"]) else f"{row['p_holm']:.2g}"
    return f"{row['delta_mean']:+.3g} [{row['ci_low']:.3g}, {row['ci_high']:.3g}], p_Holm = {p}"


def _setting_columns(seed_alpha: pd.DataFrame) -> list[str]:
    columns = list(seed_alpha.columns)
    return columns[: columns.index("recipe")]


def contrast_table(
    seed_alpha: pd.DataFrame, *, contrasts: Sequence[Contrast] | None = None, smoke: bool = False
) -> pd.DataFrame:
    """Every contrast × metric × S* of every setting, with Holm over the whole table (module docstring).

    Args:
        seed_alpha: :func:`acadp.reduce.seed_alpha.seed_alpha_table`.
        contrasts: the sweep file's ``reduce.contrasts``; None for the defaults.
        smoke: a ``--smoke`` run (every verdict "not meaningful").

    Returns:
        The setting keys followed by :data:`CONTRAST_COLUMNS`.
    """
    keys = _setting_columns(seed_alpha)
    rows: list[dict[str, Hashable]] = []
    for setting, block in seed_alpha.groupby(keys, dropna=False, sort=True):
        values = setting if isinstance(setting, tuple) else (setting,)
        arms = block[list(ARM_COLUMNS)].drop_duplicates("arm")
        combinations = block[["metric", "threshold"]].drop_duplicates().itertuples(index=False)
        by_metric = [(str(metric), float(threshold)) for metric, threshold in combinations]
        for planned in planned_contrasts(arms, contrasts):
            for metric, threshold in by_metric:
                row = _pair_row(block, planned, metric, threshold)
                rows.append(dict(zip(keys, values, strict=True)) | row)
    table = pd.DataFrame(rows, columns=[*keys, *CONTRAST_COLUMNS, "tied", "at_zero"])
    table["p_holm"] = holm(table["p_value"].to_numpy(float))
    table["n_tests"] = int(np.isfinite(table["p_value"].to_numpy(float)).sum())
    verdicts = [row_verdict(row, smoke=smoke) for _, row in table.iterrows()]
    table["verdict"] = [verdict for verdict, _ in verdicts]
    table["text"] = [_text(row, verdict, reason) for (_, row), (verdict, reason) in zip(table.iterrows(), verdicts,
                                                                                          strict=True)]  # fmt: skip
    reasons = [reason if verdict == "undetermined" else "" for verdict, reason in verdicts]
    table["note"] = ["; ".join(filter(None, (r, n))) for r, n in zip(reasons, table["note"].fillna(""), strict=True)]
    for name in ("n_seeds", "not_reached_a", "not_reached_b", "collapsed_a", "collapsed_b", "n_tests"):
        table[name] = table[name].astype("int64")
    return table.drop(columns=["tied", "at_zero"]).reset_index(drop=True)


def _text(row: pd.Series, verdict: str, reason: str) -> str:
    detail = statistics_text(row)
    if not detail and verdict == "undetermined":
        detail = reason
    return f"{row['question']}: {verdict}" + (f" ({detail})" if detail and "not meaningful" not in verdict else "")


def contrast_lines(table: pd.DataFrame, *, metric: str = "success") -> list[str]:
    """One line per contrast (role ``contrast``) on ``metric``, e.g. ``mnist, S* = 0.5: Noise raises α* beyond
    clipping at ε = 2, C = 1: yes (+0.012 [0.006, 0.018], p_Holm = 0.01)``."""
    keys = list(table.columns[: list(table.columns).index("contrast")])
    chosen = table[(table["role"] == "contrast") & (table["metric"] == metric)]
    lines = []
    for _, row in chosen.iterrows():
        setting = ", ".join(str(row[key]) if key == "dataset" else f"{key}={row[key]}" for key in keys)
        lines.append(f"{setting}, S* = {row['threshold']:g}: {row['text']}")
    return lines
