"""A sweep's LiRA audits as the reducer and ``sweep status`` see them: rows per attack and subset, ROC curves."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from acadp.lira.results import AuditResult, LiraRow
from acadp.lira.settings import AuditConfig
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.sweep.plan import SweepPlan
from acadp.sweep.status import StoredResult, read_result

RocCurves = dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]


@dataclass
class AuditRows:
    """Rows in the reducer's LiRA schema (``acadp.reduce.lira_tables.LIRA_COLUMNS``, then each row's counts
    ``n_targets``, ``n_examples``) and pooled ROC curves."""

    rows: pd.DataFrame
    roc_curves: RocCurves = field(default_factory=dict)


def stored_audit_result(store: ResultsStore, audit: AuditConfig) -> StoredResult[AuditResult]:
    """The audit's ``result.json``, validated (see :func:`acadp.sweep.status.read_result`)."""
    return read_result(store, LAYOUT.audit(audit.key()).result, AuditResult)


def audit_state(store: ResultsStore, audit: AuditConfig) -> tuple[str, int]:
    """(status, finished shadows) of one audit: ``completed`` (a valid result.json) or ``pending`` (with shadows
    saved so far; an unreadable result.json is re-scored from them)."""
    if stored_audit_result(store, audit).value is not None:
        return "completed", audit.lira.shadows
    paths = LAYOUT.audit(audit.key())
    done = sum(store.exists(paths.shadow_meta(i)) for i in range(audit.lira.shadows))
    return "pending", done


def _completed_rows(audit: AuditConfig, result: AuditResult) -> list[dict[str, Any]]:
    """One row per stored :class:`LiraRow`; its counts become floats, like the metrics (NaN-able table columns)."""
    base = _base(audit, "completed")
    rows = []
    for row in result.rows:
        values = row.model_dump()
        rows.append({**base, **values, **{name: float(values[name]) for name in LiraRow.count_names()}})
    return rows


def _base(audit: AuditConfig, status: str) -> dict[str, Any]:
    trial = audit.trial
    return {
        "audit_key": audit.key(),
        "dataset": trial.dataset,
        "alpha": trial.alpha,
        "epsilon": trial.epsilon,
        "clip": math.nan if trial.clip is None else trial.clip,
        "n_shadows": float(audit.lira.shadows),
        "status": status,
    }


def _pending_rows(audit: AuditConfig) -> list[dict[str, Any]]:
    """One row per attack with every metric missing, so unfinished audits show as such."""
    base = {**_base(audit, "pending"), **dict.fromkeys(LiraRow.metric_names(), math.nan), "subset": "all"}
    return [{**base, "attack": attack} for attack in audit.lira.attacks]


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
        if result is not None:
            rows.extend(_completed_rows(audit, result))
            curves.update(_roc(store, audit))
        else:
            rows.extend(_pending_rows(audit))
    return AuditRows(rows=pd.DataFrame(rows), roc_curves=curves)
