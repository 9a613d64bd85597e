"""Does a collective lower LiRA's AUC? The claim tables of a LiRA study, with intervals over audited seeds.

Every audited seed is an independent audit — its own collective draw and its own shadow set
(:func:`acadp.lira.shadow.stream_seed`) — so the intervals are over audited seeds: the mean over seeds of each
seed's AUC (itself the mean over its target models) with a 95% Student-t interval of that mean (n = the seeds with
the AUC defined; none from one seed). Beside it stands the per-target spread, the mean over seeds of the standard
deviation of the AUC over one audit's targets, which share shadows: a spread, not an interval. A subset's counts are
the fewest members / non-members any target of any seed holds; below :data:`MIN_INTERPRETABLE_MEMBERS` of either,
its AUC is shown but marked not interpretable. TPR at 0.1% FPR is given only where a target holds ≥ 1,000
non-members (:func:`acadp.lira.results.min_non_members`).

* ``lira_claim`` — the headline attack, one row per (dataset, arm, strategy, variant, convention, α), every subset
  as columns ``<subset>_<value>`` (:data:`SUBSET_VALUES`).
* ``lira_summary`` — the headline attack and convention, one row per (dataset, arm, comparison, α), a comparison
  being a variant of a collective that plants, or the control "collective removed" (strategy ``withhold``, the
  headline variant), whose α = 0 row is the collective's own (no collective: the same firm). Each α > 0 row also has
  the paired difference from α = 0 over the seeds both audited (same seed: same keep matrix and shadow seeds).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from acadp.lira.conventions import REPORTED_CONVENTIONS
from acadp.lira.metrics import t_interval
from acadp.lira.results import (
    HEADLINE_ATTACK,
    HEADLINE_CONVENTION,
    HEADLINE_VARIANT,
    MIN_INTERPRETABLE_MEMBERS,
    SUBSETS,
    variant_rank,
)
from acadp.reduce.tables import FORMATTERS, TABLES, Column, Style, TableSpec, latex_escape

ARM_POINT: tuple[str, ...] = ("dataset", "epsilon", "clip", "recipe", "arm")
CLAIM_POINT: tuple[str, ...] = (*ARM_POINT, "strategy", "variant", "convention", "alpha")
SUBSET_VALUES: tuple[str, ...] = (
    "auc_mean", "auc_ci_low", "auc_ci_high", "auc_target_sd", "n_members_min", "n_non_members_min",
    "interpretable", "tpr_at_0_1_fpr",
)  # fmt: skip
WITHHOLD = "withhold"
REMOVED = "collective removed"  # the control's name in the summary's comparison column
SUMMARY_SUBSETS: tuple[str, ...] = ("all", "collective", "non_collective", "placebo")


def _over_seeds(rows: pd.DataFrame) -> dict[str, float]:
    """The :data:`SUBSET_VALUES` of one (point, subset) from its per-seed rows (module docstring)."""
    aucs = rows["auc_mean"].to_numpy(dtype=float)
    aucs = aucs[~np.isnan(aucs)]
    low, high = t_interval(aucs)
    members, non_members = float(rows["n_members_min"].min()), float(rows["n_non_members_min"].min())
    defined = rows[rows["n_targets_tpr_at_0_1_fpr"] > 0]["tpr_at_0_1_fpr_mean"]
    return {
        "auc_mean": float(aucs.mean()) if aucs.size else math.nan,
        "auc_ci_low": float(np.clip(low, 0.0, 1.0)), "auc_ci_high": float(np.clip(high, 0.0, 1.0)),
        "auc_target_sd": float(rows["auc_std"].mean()), "n_members_min": members, "n_non_members_min": non_members,
        "interpretable": float(min(members, non_members) >= MIN_INTERPRETABLE_MEMBERS),
        "tpr_at_0_1_fpr": float(defined.mean()) if len(defined) else math.nan,
        "n_seeds": float(aucs.size),
    }  # fmt: skip


def _headline_rows(table: pd.DataFrame) -> pd.DataFrame:
    return table[(table["attack"] == HEADLINE_ATTACK) & (table["status"] == "completed")]


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series([], dtype="float64") for name in columns})


def _variant_rank(variants: pd.Series) -> pd.Series:
    """The variants in table order (:func:`acadp.lira.results.variant_rank`: the headline one first)."""
    return variants.map(variant_rank)


def lira_claim_table(table: pd.DataFrame) -> pd.DataFrame:
    """The claim table of :func:`acadp.reduce.lira_tables.lira_table`'s completed headline-attack rows (module
    docstring): the point columns, ``n_seeds`` and ``<subset>_<value>`` for every subset and value (NaN where the
    audits have no such subset: the collective at α = 0, the placebo at α > 0)."""
    columns = [f"{subset}_{value}" for subset in SUBSETS for value in SUBSET_VALUES]
    headline = _headline_rows(table)
    if headline.empty:
        return _empty([*CLAIM_POINT, "n_seeds", *columns])
    records = []
    for point, rows in headline.groupby(list(CLAIM_POINT), dropna=False, sort=False):
        record: dict[str, Any] = dict(zip(CLAIM_POINT, point, strict=True))
        every = rows[rows["subset"] == "all"]
        record["n_seeds"] = _over_seeds(every)["n_seeds"] if not every.empty else 0.0
        for subset in SUBSETS:
            part = rows[rows["subset"] == subset]
            values = _over_seeds(part) if not part.empty else dict.fromkeys(SUBSET_VALUES, math.nan)
            record.update({f"{subset}_{value}": values[value] for value in SUBSET_VALUES})
        records.append(record)
    wide = pd.DataFrame(records)
    ranks = {
        "_variant": _variant_rank(wide["variant"]),
        "_convention": wide["convention"].map({name: rank for rank, name in enumerate(REPORTED_CONVENTIONS)}),
    }
    order = ["dataset", "epsilon", "clip", "recipe", "strategy", "_variant", "_convention", "alpha"]
    wide = wide.assign(**ranks).sort_values(order, na_position="last", kind="stable")
    return wide.drop(columns=list(ranks)).reset_index(drop=True)


def _comparison(claim: pd.DataFrame) -> pd.DataFrame:
    """The headline convention's claim rows, each with its ``comparison``: the variant, or :data:`REMOVED` for the
    control's headline variant (its other variants are left out), the control's α = 0 row borrowed from the
    collective's."""
    rows = claim[claim["convention"] == HEADLINE_CONVENTION]
    planting = rows[rows["strategy"] != WITHHOLD].assign(comparison=lambda frame: frame["variant"])
    control = rows[(rows["strategy"] == WITHHOLD) & (rows["variant"] == HEADLINE_VARIANT)]
    if control.empty:
        return planting
    zero = planting[(planting["alpha"] == 0.0) & (planting["variant"] == HEADLINE_VARIANT)]
    arms = control[list(ARM_POINT)].drop_duplicates()
    borrowed = zero.merge(arms, on=list(ARM_POINT)).assign(strategy=WITHHOLD)
    return pd.concat([planting, pd.concat([borrowed, control]).assign(comparison=REMOVED)], ignore_index=True)


def _matches(rows: pd.DataFrame, name: str, value: Any) -> pd.Series:
    """``rows[name] == value``, NaN matching NaN (no clipping)."""
    column = rows[name]
    return column.isna() if _missing(value) else column == value


def _seed_aucs(rows: pd.DataFrame, row: pd.Series, *, alpha: float, subset: str) -> pd.Series:
    """The AUC per audited seed of ``row``'s arm and variant at ``alpha`` over ``subset``: at α = 0 the collective's
    (any strategy but withhold: the grid runs its first there), else ``row``'s own strategy's."""
    mask = (rows["alpha"] == alpha) & (rows["subset"] == subset) & (rows["variant"] == row["variant"])
    for name in ARM_POINT:
        mask &= _matches(rows, name, row[name])
    mask &= rows["strategy"] != WITHHOLD if alpha == 0.0 else rows["strategy"] == row["strategy"]
    return rows[mask].drop_duplicates("seed").set_index("seed")["auc_mean"].astype(float)


def _paired_delta(rows: pd.DataFrame, row: pd.Series, subset: str) -> tuple[float, float, float, float]:
    """(mean, CI low, CI high, seeds) of AUC(α) − AUC(0) over the seeds audited at both, for ``row``'s arm and
    variant; at α = 0 there is no collective, so its "rest" is every example (``all``)."""
    if row["alpha"] == 0.0:
        return math.nan, math.nan, math.nan, math.nan
    here = _seed_aucs(rows, row, alpha=float(row["alpha"]), subset=subset)
    zero = _seed_aucs(rows, row, alpha=0.0, subset="all")
    difference = (here - zero).dropna().to_numpy(dtype=float)
    if difference.size == 0:
        return math.nan, math.nan, math.nan, math.nan
    low, high = t_interval(difference)
    return float(difference.mean()), low, high, float(difference.size)


def lira_summary_table(table: pd.DataFrame, claim: pd.DataFrame) -> pd.DataFrame:
    """The per-variant and per-control summary (module docstring) from :func:`lira_table`'s rows (``table``, for the
    paired differences) and their :func:`lira_claim_table` (``claim``)."""
    values = [f"{subset}_{value}" for subset in SUMMARY_SUBSETS for value in SUBSET_VALUES]
    deltas = [f"delta_{subset}_{part}" for subset in ("all", "rest") for part in ("mean", "ci_low", "ci_high", "n")]
    rows = _comparison(claim) if not claim.empty else claim
    if rows.empty:
        return _empty([*ARM_POINT, "comparison", "alpha", "n_seeds", *values, *deltas])
    headline = _headline_rows(table)
    headline = headline[headline["convention"] == HEADLINE_CONVENTION]
    summary = rows[[*ARM_POINT, "comparison", "strategy", "variant", "alpha", "n_seeds", *values]].copy()
    for name, subset in (("all", "all"), ("rest", "non_collective")):
        deltas_ = [_paired_delta(headline, row, subset) for _, row in summary.iterrows()]
        for index, part in enumerate(("mean", "ci_low", "ci_high", "n")):
            summary[f"delta_{name}_{part}"] = [delta[index] for delta in deltas_]
    summary["_comparison"] = _variant_rank(summary["comparison"])  # the control (not a variant) last
    order = ["dataset", "epsilon", "clip", "recipe", "_comparison", "alpha"]
    summary = summary.sort_values(order, na_position="last", kind="stable").drop(columns="_comparison")
    return summary.reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------- rendering


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


@FORMATTERS.register("auc_over_seeds")
def _auc_over_seeds(values: tuple[Any, ...], style: Style) -> str:
    """ "mean [95% CI over seeds] sd per-target (fewest members/non-members)", marked when not interpretable."""
    mean, low, high, spread, members, non_members, interpretable = values
    if _missing(mean):
        return "–" if style == "text" else "--"
    ci = " [n/a]" if _missing(low) or _missing(high) else f" [{float(low):.3f}, {float(high):.3f}]"
    sd = "" if _missing(spread) else f" sd {float(spread):.3f}"
    cell = f"{float(mean):.3f}{ci}{sd} ({int(members)}/{int(non_members)})"
    return cell if interpretable else f"{cell} not interpretable"


@FORMATTERS.register("auc_delta")
def _auc_delta(values: tuple[Any, ...], style: Style) -> str:
    """A paired difference "+0.012 [−0.004, +0.028]" (its CI over the seeds both points audited)."""
    mean, low, high, n = values
    if _missing(mean):
        return "–" if style == "text" else "--"
    ci = "[n/a]" if _missing(low) else f"[{float(low):+.3f}, {float(high):+.3f}]"
    return f"{float(mean):+.3f} {ci} ({int(n)} seed{'' if int(n) == 1 else 's'})"


@FORMATTERS.register("tpr_low_fpr")
def _tpr_low_fpr(values: tuple[Any, ...], style: Style) -> str:
    (tpr,) = values
    return "undefined (< 1000 non-members)" if _missing(tpr) else f"{float(tpr):.3g}"


def _auc_column(subset: str, header: str) -> Column:
    sources = tuple(
        f"{subset}_{value}"
        for value in ("auc_mean", "auc_ci_low", "auc_ci_high", "auc_target_sd", "n_members_min",
                      "n_non_members_min", "interpretable")
    )  # fmt: skip
    return Column(sources, header, latex_escape(header), "auc_over_seeds")


_POINT_COLUMNS = (
    Column(("dataset",), "Dataset", "Dataset", "text", numeric=False),
    Column(("arm",), "Arm", "Arm", "text", numeric=False),
    Column(("alpha",), "α", r"$\alpha$", "num"),
    Column(("n_seeds",), "Seeds", "Seeds", "int"),
)
_SUBSET_COLUMNS = (
    _auc_column("all", "All members"),
    _auc_column("collective", "The collective"),
    _auc_column("non_collective", "The rest"),
    _auc_column("placebo", "Placebo (α = 0)"),
    Column(("all_tpr_at_0_1_fpr",), "TPR@0.1%FPR (all)", r"TPR@0.1\%FPR (all)", "tpr_low_fpr"),
)
TABLES.add(
    "lira_claim",
    TableSpec(
        name="lira_claim",
        title="Does a collective lower LiRA's AUC? Headline attack, over audited seeds",
        columns=(
            _POINT_COLUMNS[0], _POINT_COLUMNS[1],
            Column(("variant",), "Variant (label/shadows/queries)", "Variant (label/shadows/queries)", "text",
                   numeric=False),
            Column(("convention",), "Convention", "Convention", "text", numeric=False),
            *_POINT_COLUMNS[2:], *_SUBSET_COLUMNS,
        ),
    ),
)  # fmt: skip
TABLES.add(
    "lira_summary",
    TableSpec(
        name="lira_summary",
        title="LiRA AUC per variant and control across α (headline attack and convention, over audited seeds)",
        columns=(
            _POINT_COLUMNS[0], _POINT_COLUMNS[1],
            Column(("comparison",), "Variant or control", "Variant or control", "text", numeric=False),
            *_POINT_COLUMNS[2:], *_SUBSET_COLUMNS[:4],
            Column(("delta_all_mean", "delta_all_ci_low", "delta_all_ci_high", "delta_all_n"), "Δ all vs α = 0",
                   r"$\Delta$ all vs $\alpha = 0$", "auc_delta"),
            Column(("delta_rest_mean", "delta_rest_ci_low", "delta_rest_ci_high", "delta_rest_n"),
                   "Δ rest vs α = 0", r"$\Delta$ rest vs $\alpha = 0$", "auc_delta"),
            _SUBSET_COLUMNS[4],
        ),
    ),
)  # fmt: skip

NOTE = (
    "Headline attack: online LiRA with fixed variance. AUC = mean over audited seeds of each seed's mean over its "
    "target models, [95% Student-t interval over audited seeds] (n = Seeds; each seed an independent collective "
    "draw and shadow set; n/a from one seed), sd = the per-target standard deviation within an audit (mean over "
    "seeds; targets share shadows, so it is a spread, not an interval), (fewest members / non-members of the subset "
    f"per target, over seeds). 'not interpretable': fewer than {MIN_INTERPRETABLE_MEMBERS} members or non-members "
    "per target. Variant = label scored (trained: y* for a member of the collective; original) / shadows the "
    "Gaussians are fitted on (collective: the audited models themselves; clean: the same pool, keep matrix and "
    "seeds without a collective) / queries (as_trained; signal: g(x) for every example). The collective: its own "
    "members; the rest: every other example; placebo (α = 0): the examples the seed would draw as the collective at "
    "lira.placebo_alpha, unmodified. Collective removed (strategy withhold): the firm and its shadows train on the "
    "non-collective points only; its α = 0 row is the collective's. Δ vs α = 0: AUC(α) − AUC(0) paired by audited "
    "seed, 95% t-interval over those seeds. TPR at 0.1% FPR only where a target holds ≥ 1000 non-members."
)
