"""A sweep's LiRA audits as the reducer and ``sweep status`` see them: rows per attack and subset, ROC curves."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from acadp.lira.settings import AuditConfig
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.sweep.plan import SweepPlan

RocCurves = dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]


@dataclass
class AuditRows:
    """Rows in the reducer's LiRA schema (``acadp.reduce.lira_tables.LIRA_COLUMNS``) and pooled ROC curves."""

    rows: pd.DataFrame
    roc_curves: RocCurves = field(default_factory=dict)


def audit_state(store: ResultsStore, audit: AuditConfig) -> tuple[str, int]:
    """(status, finished shadows) of one audit: ``completed`` or ``pending`` (with shadows saved so far)."""
    paths = LAYOUT.audit(audit.key())
    if store.exists(paths.result):
        return "completed", audit.lira.shadows
    done = sum(store.exists(paths.shadow_meta(i)) for i in range(audit.lira.shadows))
    return "pending", done


def _number(value: Any) -> float:
    if value is None:
        return math.nan
    return math.inf if value == "inf" else float(value)


def _completed_rows(audit: AuditConfig, result: dict[str, Any]) -> list[dict[str, Any]]:
    """The stored rows with JSON's null and "inf" turned back into numbers."""
    rows = []
    for row in result["rows"]:
        numbers = {key: _number(value) for key, value in row.items() if key not in ("attack", "subset")}
        rows.append({**_base(audit, "completed"), **numbers, "attack": row["attack"], "subset": row["subset"]})
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


METRICS = (
    "auc_mean", "auc_std", "tpr_at_0_1_fpr_mean", "tpr_at_0_1_fpr_std", "tpr_at_1_fpr_mean", "tpr_at_1_fpr_std",
    "epsilon_lower_bound",
)  # fmt: skip


def _pending_rows(audit: AuditConfig) -> list[dict[str, Any]]:
    """One row per attack with every metric missing, so unfinished audits show as such."""
    base = {**_base(audit, "pending"), **dict.fromkeys(METRICS, math.nan), "subset": "all"}
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
        result_path = LAYOUT.audit(audit.key()).result
        if store.exists(result_path):
            rows.extend(_completed_rows(audit, store.read_json(result_path)))
            curves.update(_roc(store, audit))
        else:
            rows.extend(_pending_rows(audit))
    return AuditRows(rows=pd.DataFrame(rows), roc_curves=curves)
