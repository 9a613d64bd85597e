"""A sweep's LiRA audits as the reducer and ``sweep status`` see them: rows per attack and subset, ROC curves."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from acadp.config.lira import AuditConfig
from acadp.lira.results import REGIME_FIELDS, AuditResult, LiraRow, regime_column_names
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.sweep.plan import SweepPlan
from acadp.sweep.status import read_result, stored_audit_result
from acadp.trial.result import TrialResult

RocCurves = dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]


@dataclass
class AuditRows:
    """Rows in the reducer's LiRA schema (``acadp.reduce.lira_tables.LIRA_COLUMNS``, then each audit's regime
    columns, :func:`regime_columns`) and pooled ROC curves."""

    rows: pd.DataFrame
    roc_curves: RocCurves = field(default_factory=dict)


def regime_columns(store: ResultsStore, audit: AuditConfig, result: AuditResult | None) -> dict[str, float]:
    """``shadow_<field>`` from the result's :class:`~acadp.lira.results.ShadowRegime` and ``trial_<field>`` from the
    audited grid trial's stored result, for every field of :data:`REGIME_FIELDS` (NaN when absent: a pending audit,
    a trial not yet complete, an audit stored before the regime was, or the trial's train accuracy, not recorded)."""
    columns = dict.fromkeys(regime_column_names(), math.nan)
    regime = result.shadow_regime if result is not None else None
    if regime is not None:
        for name in REGIME_FIELDS:
            columns[f"shadow_{name}"] = float(getattr(regime, f"{name}_mean"))
    trial = _grid_trial_result(store, audit)
    if trial is not None:
        for name in REGIME_FIELDS:
            columns[f"trial_{name}"] = float(getattr(trial, name, math.nan))
    return columns


def _grid_trial_result(store: ResultsStore, audit: AuditConfig) -> TrialResult | None:
    if audit.grid_trial_key is None:
        return None
    return read_result(store, LAYOUT.trial(audit.grid_trial_key).result, TrialResult).value


def _completed_rows(audit: AuditConfig, result: AuditResult) -> list[dict[str, Any]]:
    """One row per stored :class:`LiraRow`; its counts become floats, like the metrics (NaN-able table columns)."""
    base = _base(audit, "completed")
    rows = []
    for row in result.rows:
        values = row.model_dump()
        rows.append({**base, **values, **{name: float(values[name]) for name in LiraRow.count_names()}})
    return rows


def _base(audit: AuditConfig, status: str) -> dict[str, Any]:
    """The audited point's coordinates: the arm (ε, C, recipe — "" for the shared one — and its name), the
    collective's strategy, α and the audited seed."""
    trial = audit.trial
    return {
        "audit_key": audit.key(),
        "dataset": trial.dataset,
        "alpha": trial.alpha,
        "epsilon": trial.epsilon,
        "clip": math.nan if trial.clip is None else trial.clip,
        "recipe": trial.recipe or "",
        "arm": trial.arm,
        "strategy": trial.strategy,
        "seed": float(trial.seed),
        "n_shadows": float(audit.lira.shadows),
        "status": status,
    }


def _pending_rows(audit: AuditConfig) -> list[dict[str, Any]]:
    """One row per attack and variant with every metric missing, so unfinished audits show as such."""
    base = {**_base(audit, "pending"), **dict.fromkeys(LiraRow.metric_names(), math.nan), "subset": "all"}
    return [
        {**base, "attack": attack, "variant": variant.name}
        for variant in audit.lira.variants
        for attack in audit.lira.attacks
    ]


def _roc(store: ResultsStore, audit: AuditConfig) -> RocCurves:
    with np.load(io.BytesIO(store.read_bytes(LAYOUT.audit(audit.key()).roc)), allow_pickle=False) as arrays:
        label = f"α={audit.trial.alpha:g}, ε={'∞' if not audit.trial.private else f'{audit.trial.epsilon:g}'}"
        return {(label, attack): (arrays[f"{attack}/fpr"], arrays[f"{attack}/tpr"]) for attack in audit.lira.attacks}


def collect_audit_rows(plan: SweepPlan, store: ResultsStore) -> AuditRows:
    """Rows of every audit the sweep plans (pending audits as one NaN row per attack)."""
    rows: list[dict[str, Any]] = []
    curves: RocCurves = {}
    for audit in plan.spec.audit_configs(smoke=plan.smoke):
        result = stored_audit_result(store, audit).value
        regime = regime_columns(store, audit, result)
        if result is not None:
            rows.extend({**row, **regime} for row in _completed_rows(audit, result))
            curves.update(_roc(store, audit))
        else:
            rows.extend({**row, **regime} for row in _pending_rows(audit))
    return AuditRows(rows=pd.DataFrame(rows), roc_curves=curves)
