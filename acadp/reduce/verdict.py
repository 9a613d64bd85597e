"""A one-line verdict per (setting, S*, C) read off the paired contrasts: does alpha* rise as epsilon falls?

Rule (alpha* on success, ``metric = "success"``; :mod:`acadp.reduce.contrasts` computes every step):

* the chain, at one clipping norm C of the DP arms: SGD (shared recipe, no clipping, no noise), then the DP arms of
  that C from the largest epsilon to the smallest (without an SGD arm the chain starts at the largest epsilon);
* each consecutive pair (B → A) is an ``ε step`` contrast (or a listed contrast of the same two arms; its row has
  the chain's C in ``chain_clip``), delta alpha* = alpha*(A) − alpha*(B) per seed, with its
  t-interval over seeds and its Holm-adjusted p-value (Holm over every contrast of the sweep);
* "not meaningful (n seeds)" when any step is (a ``--smoke`` run, or fewer than 5 paired seeds; n is the fewest);
  otherwise "yes" when every step is "yes" (alpha* rises significantly at every step), "no" when any step is "no"
  (it falls significantly somewhere), and "undetermined" otherwise — a step whose side is not reached, whose model
  collapsed, whose deltas are all tied, or whose p_Holm >= 0.05 decides nothing, and a "not reached" is never
  ordered.

The reason lists every step with its own verdict and statistics. A setting with fewer than two arms in a chain has no
row. Clip-only arms and named recipes do not enter this verdict: their contrasts are in the contrasts table.
"""

from __future__ import annotations

from collections.abc import Hashable

import pandas as pd

from acadp.reduce.contrasts import statistics_text

VERDICT_COLUMNS: tuple[str, ...] = ("threshold", "clip", "verdict", "text", "reason")
QUESTION = "α* rises as ε falls"


def _step_text(row: pd.Series) -> str:
    detail = statistics_text(row) or (row["note"] if row["verdict"] == "undetermined" else "")
    return f"{row['b']} → {row['a']}: {row['verdict']}" + (f" ({detail})" if detail else "")


def chain_verdict(steps: pd.DataFrame) -> tuple[str, str]:
    """(verdict, reason) of one chain from its ε-step rows (contrast-table rows, in chain order)."""
    verdicts = steps["verdict"].tolist()
    reason = "; ".join(_step_text(row) for _, row in steps.iterrows())
    if any(v.startswith("not meaningful") for v in verdicts):
        n = int(steps["n_seeds"].min())
        return f"not meaningful ({n} seed{'' if n == 1 else 's'})", reason
    if all(v == "yes" for v in verdicts):
        return "yes", reason
    return ("no" if "no" in verdicts else "undetermined"), reason


def verdict_table(contrasts: pd.DataFrame) -> pd.DataFrame:
    """Verdicts from :func:`acadp.reduce.contrasts.contrast_table` (module docstring for the rule).

    Returns:
        One row per (setting, S*, C of a chain): the setting keys, then :data:`VERDICT_COLUMNS` — ``verdict`` (yes,
        no, undetermined, not meaningful (n seeds)), ``text`` (the one-line verdict, e.g. "α* rises as ε falls:
        yes") and ``reason`` (each step).
    """
    keys = list(contrasts.columns[: list(contrasts.columns).index("contrast")])
    steps = contrasts[contrasts["chain_clip"].notna() & (contrasts["metric"] == "success")]
    rows: list[dict[str, Hashable]] = []
    for group, chain in steps.groupby([*keys, "threshold", "chain_clip"], dropna=False, sort=True):
        *values, threshold, clip = group
        verdict, reason = chain_verdict(chain)
        row = dict(zip(keys, values, strict=True)) | {"threshold": float(threshold), "clip": float(clip)}
        rows.append(row | {"verdict": verdict, "text": f"{QUESTION}: {verdict}", "reason": reason})
    return pd.DataFrame(rows, columns=[*keys, *VERDICT_COLUMNS])


def verdict_lines(verdicts: pd.DataFrame) -> list[str]:
    """One line per verdict row for a terminal or a page, e.g. ``mnist, S* = 0.9, C = 1: α* rises as ε falls: yes —
    SGD → DP ε=8 C=1: yes (...); ...``."""
    lines = []
    keys = list(verdicts.columns[: list(verdicts.columns).index("threshold")])
    for _, row in verdicts.iterrows():
        setting = ", ".join(str(row[key]) if key == "dataset" else f"{key}={row[key]}" for key in keys)
        clip = "" if pd.isna(row["clip"]) else f", C = {row['clip']:g}"
        lines.append(f"{setting}, S* = {row['threshold']:g}{clip}: {row['text']} — {row['reason']}")
    return lines
