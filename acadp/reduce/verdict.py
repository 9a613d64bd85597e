"""A one-line verdict per (setting, S*) from the critical-mass table: does alpha* rise as epsilon falls?

Rule (alpha* on success, ``metric = "success"``; one verdict per setting, S* and clipping norm C of the DP arms):

* the arms read, in order: SGD (shared recipe, no clipping, no noise), then the DP arms of that C from the largest
  epsilon to the smallest;
* "yes" when their alpha* point estimates increase along that order — a not-reached alpha* (``inf``) counts as above
  every reached one, so once an arm does not reach S* every later (smaller-epsilon) arm must not reach it either
  (not-reached arms tie; every reached value must be strictly larger than the one before) — *and* the 95% bootstrap CIs
  of SGD and of the smallest-epsilon arm are disjoint (SGD's upper bound below that arm's lower bound; an infinite
  bound is "not reached", above every finite one);
* "no" otherwise; "n/a" when the SGD arm or every DP arm is missing, or an arm has no completed trial or no CI, or
  an arm reaches S* already at α = 0 (alpha* 0: the model predicts y* on signed points without any collective, e.g.
  a collapsed model or a spurious shortcut; its alpha* says nothing about the collective, alpha* on lift does).

Clip-only arms and named recipes are shown in the α* figure as references but do not enter the verdict.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from itertools import pairwise

import numpy as np
import pandas as pd

VERDICT_COLUMNS: tuple[str, ...] = ("threshold", "clip", "verdict", "text", "reason")
QUESTION = "α* rises as ε falls"


def _alpha_text(value: float) -> str:
    return "not reached" if math.isinf(value) else f"{value:.3g}"


def _increasing(values: Sequence[float]) -> bool:
    """Reached values strictly increase; an ``inf`` (not reached) may only be followed by ``inf``."""
    return all(b > a or (math.isinf(a) and math.isinf(b)) for a, b in pairwise(values))


def judge(sgd: pd.Series, dp_arms: pd.DataFrame) -> tuple[str, str]:
    """(verdict, reason) for one SGD row and the DP rows of one C (critical-mass rows; any order).

    Returns:
        ``("yes" | "no" | "n/a", reason)``; the reason lists the ordered alpha* values.
    """
    if dp_arms.empty:
        return "n/a", "no DP arm"
    ordered = dp_arms.sort_values("epsilon", ascending=False)
    rows = [sgd, *(row for _, row in ordered.iterrows())]
    stars = [float(row["alpha_star"]) for row in rows]
    if any(math.isnan(star) for star in stars):
        return "n/a", "an arm has no completed trial"
    free = [str(row["arm"]) for row, star in zip(rows, stars, strict=True) if star == 0]
    if free:
        verb = "reaches" if len(free) == 1 else "reach"
        return "n/a", f"{', '.join(free)} {verb} S* at α = 0, without a collective (compare α* on lift)"
    order = " < ".join(f"{row['arm']}: {_alpha_text(star)}" for row, star in zip(rows, stars, strict=True))
    if not _increasing(stars):
        return "no", f"α* not ordered ({order})"
    verdict, why = _intervals(sgd, rows[-1])
    return verdict, f"{why} ({order})"


def _intervals(sgd: pd.Series, smallest: pd.Series) -> tuple[str, str]:
    """The CI half of the rule for an ordered sequence: SGD's CI entirely below the smallest-ε arm's."""
    low, high = float(smallest["ci_low"]), float(sgd["ci_high"])
    if math.isnan(low) or math.isnan(high):
        return "n/a", "ordered, but no bootstrap CI"
    if math.isinf(float(sgd["alpha_star"])):
        return "no", "SGD does not reach S*"
    if not high < low:
        return "no", f"ordered, but the CIs of SGD and {smallest['arm']} overlap"
    return "yes", f"ordered, CIs of SGD and {smallest['arm']} disjoint"


def _setting_columns(table: pd.DataFrame) -> list[str]:
    """The setting keys of a critical-mass table: the columns before the arm's keys."""
    columns = list(table.columns)
    return columns[: columns.index("recipe")] if "recipe" in columns else ["dataset"]


def verdict_table(table: pd.DataFrame) -> pd.DataFrame:
    """Verdicts from :func:`acadp.reduce.critical_mass.critical_mass_table` (module docstring for the rule).

    Returns:
        One row per (setting, S*, C of the DP arms): the setting keys, then :data:`VERDICT_COLUMNS` — ``verdict``
        (yes/no/n/a), ``text`` (the one-line verdict, e.g. "α* rises as ε falls: yes") and ``reason``.
    """
    keys = _setting_columns(table)
    rows: list[dict[str, Hashable]] = []
    success = table[table["metric"] == "success"] if "metric" in table.columns else table
    shared = success[success["recipe"].fillna("") == ""] if "recipe" in success.columns else success
    for setting, by_setting in shared.groupby(keys, dropna=False, sort=True):
        values = setting if isinstance(setting, tuple) else (setting,)
        for threshold, rows_t in by_setting.groupby("threshold", sort=True):
            unclipped = ~np.isfinite(rows_t["epsilon"]) & rows_t["clip"].isna()
            # the plain-SGD arm only (other unclipped, noiseless arms, e.g. Group-DRO, are not the reference)
            sgd = rows_t[unclipped & (rows_t["arm"] == "SGD")] if "arm" in rows_t.columns else rows_t[unclipped]
            private = rows_t[np.isfinite(rows_t["epsilon"])]
            for clip in sorted(private["clip"].dropna().unique()) or [math.nan]:
                dp_arms = private[private["clip"] == clip]
                verdict, reason = ("n/a", "no SGD arm") if sgd.empty else judge(sgd.iloc[0], dp_arms)
                row = dict(zip(keys, values, strict=True)) | {"threshold": float(threshold), "clip": float(clip)}
                rows.append(row | {"verdict": verdict, "text": f"{QUESTION}: {verdict}", "reason": reason})
    return pd.DataFrame(rows, columns=[*keys, *VERDICT_COLUMNS])


def verdict_lines(verdicts: pd.DataFrame) -> list[str]:
    """One line per verdict row for a terminal or a page, e.g. ``mnist, S* = 0.9, C = 1: α* rises as ε falls: yes``."""
    lines = []
    keys = list(verdicts.columns[: list(verdicts.columns).index("threshold")])
    for _, row in verdicts.iterrows():
        setting = ", ".join(str(row[key]) if key == "dataset" else f"{key}={row[key]}" for key in keys)
        clip = "" if pd.isna(row["clip"]) else f", C = {row['clip']:g}"
        lines.append(f"{setting}, S* = {row['threshold']:g}{clip}: {row['text']} — {row['reason']}")
    return lines
