"""The critical-mass table's ``search`` column for a searched sweep: how each alpha* was found (trials used, final
bracket and its state, from :func:`acadp.reduce.search_core.assess` on the completed trials)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from acadp.config.search import AlphaSearch
from acadp.reduce.collect import with_arm_columns
from acadp.reduce.curves import group_keys
from acadp.reduce.search_core import Design, SearchReport, SearchSettings, assess, least_budget
from acadp.reduce.search_dose import replay


@dataclass(frozen=True)
class SearchBounds:
    """A sweep's alpha search, as the reducer needs it (``grid.alpha.search`` of the sweep file)."""

    low: float
    high: float
    tolerance: float
    budget: int
    design: Design = "bisection"
    # a dose-response search is replayed over the grid's seeds and the search's thresholds (its rounds depend on both)
    seeds: tuple[int, ...] = ()
    thresholds: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.design == "dose_response" and not (self.seeds and self.thresholds):
            raise ValueError("a dose-response search is replayed over its seeds and thresholds: give both")

    @classmethod
    def of(cls, search: AlphaSearch, seeds: Sequence[int]) -> SearchBounds:
        """The bounds of a sweep file's ``grid.alpha.search`` with its grid's ``seeds``."""
        return cls(
            low=search.low, high=search.high, tolerance=search.tolerance, budget=search.budget, design=search.design,
            seeds=tuple(seeds), thresholds=tuple(search.thresholds),
        )  # fmt: skip


def _same(value: object, wanted: object) -> bool:
    both_missing = pd.isna(value) and pd.isna(wanted) if not isinstance(value, str) else False
    return both_missing or value == wanted


def _report(group: pd.DataFrame, threshold: float, bounds: SearchBounds) -> SearchReport:
    done = group[(group["status"] == "completed") & group["success"].notna()]
    n_seeds = int(group["seed"].nunique())
    settings = SearchSettings(
        low=bounds.low, high=bounds.high, thresholds=(threshold,), tolerance=bounds.tolerance,
        budget=max(bounds.budget, least_budget(bounds.design, n_seeds)), n_seeds=n_seeds, design=bounds.design,
    )  # fmt: skip
    if bounds.design == "dose_response":
        rows = zip(done["alpha"], done["seed"], done["success"], strict=True)
        points = {(float(a), int(s)): float(v) for a, s, v in rows}
        state = replay(dataclasses.replace(settings, thresholds=bounds.thresholds), bounds.seeds, points)
        return state.report(settings)  # the search's path, read at this row's S*
    results = {float(a): block["success"].astype(float).tolist() for a, block in done.groupby("alpha")}
    pending = {float(a) for a in group["alpha"]} - set(results)
    return assess(settings, results, pending=pending)


def _search_text(group: pd.DataFrame, threshold: float, bounds: SearchBounds) -> str:
    report = _report(group, threshold, bounds)
    return f"{report.trials_used} trials · {report.brackets[0].describe()}"


def with_search_column(table: pd.DataFrame, trials: pd.DataFrame, bounds: SearchBounds) -> pd.DataFrame:
    """``table`` (:func:`acadp.reduce.critical_mass.critical_mass_table`) with a ``search`` column on its success
    rows (lift rows: empty), read from ``trials`` (the trials table of the same sweep)."""
    frame = with_arm_columns(trials)
    keys = group_keys(frame)
    texts = []
    for _, row in table.iterrows():
        if row["metric"] != "success" or not math.isfinite(float(row["threshold"])):
            texts.append("")
            continue
        mask = pd.Series(True, index=frame.index)
        for key in keys:
            mask &= frame[key].map(lambda value, wanted=row[key]: _same(value, wanted))
        group = frame[mask]
        texts.append(_search_text(group, float(row["threshold"]), bounds) if not group.empty else "")
    return table.assign(search=texts)
