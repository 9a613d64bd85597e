"""A result.json that cannot be read is not a finished stage: ``sweep status`` says so and the driver re-runs it.

Both read it through :func:`acadp.sweep.status.read_result`; the end-to-end check (the driver really re-runs such a
trial) is in ``test_sweep_e2e.py``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from rich.console import Console

from acadp.config.lira import AuditConfig, LiraSettings
from acadp.config.options import TrialOptions, build_trial_config
from acadp.config.trial import TrialConfig
from acadp.lira.results import AuditResult, LiraRow
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.sweep.driver import _needs_run
from acadp.sweep.status import audit_state, read_result, status_payload, trial_record
from acadp.trial.result import TrialResult

UNREADABLE = {
    "cut short": '{"trial_key": "abc", "dataset": "mnis',
    "not JSON": "not json at all\n",
    "a list": "[1, 2, 3]\n",
    "missing fields": '{"trial_key": "abc"}\n',
    "wrong type": '{"trial_key": "abc", "epochs": "many"}\n',
}


def config() -> TrialConfig:
    return build_trial_config(TrialOptions(dataset="mnist5k", alpha=0.1, epsilon=math.inf, n_train=64, n_test=32))


def result_of(trial: TrialConfig) -> TrialResult:
    """A plausible finished result of ``trial``."""
    return TrialResult(
        trial_key=trial.key(), label=trial.label(), config=trial, dataset=trial.dataset, alpha=trial.alpha,
        epsilon=trial.epsilon, delta=trial.delta, clip=trial.clip, seed=trial.seed, target_class=trial.target_class,
        n_train=64, n_test=32, n_collective=6, n_planted=6, test_accuracy=0.9, success=0.4, success_all=0.5,
        train_loss=0.2, epsilon_spent=math.inf, noise_multiplier=0.0, sample_rate=0.1, steps=10,
        accountant=trial.accountant, epochs=trial.training.epochs, seconds=1.0,
    )  # fmt: skip


@pytest.mark.parametrize("text", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_status_shows_an_unreadable_trial_result_as_pending_with_the_reason(tmp_path: Path, text: str) -> None:
    store, trial = ResultsStore(tmp_path), config()
    rel = LAYOUT.trial(trial.key()).result
    store.write_bytes(rel, text.encode())
    record = trial_record(store, trial, live_invocation=None)
    assert record.status == "pending" and record.result is None
    assert record.error is not None
    assert record.error.startswith(f"{rel} unreadable (") and record.error.endswith("will be re-run")
    entry = status_payload([record])["trials"][0]
    assert entry["status"] == "pending" and entry["error"] == record.error


@pytest.mark.parametrize("text", UNREADABLE.values(), ids=UNREADABLE.keys())
def test_the_driver_deletes_an_unreadable_trial_result_and_runs_the_trial(tmp_path: Path, text: str) -> None:
    store, trial = ResultsStore(tmp_path), config()
    rel = LAYOUT.trial(trial.key()).result
    store.write_bytes(rel, text.encode())
    console = Console(record=True, width=400)
    assert _needs_run(store, rel, TrialResult, console)
    assert not store.exists(rel), "the bad file must go, so that the re-run writes a fresh one"
    said = console.export_text()
    assert f"{rel} unreadable" in said and "deleted" in said
    assert trial_record(store, trial, live_invocation=None).error is None


def test_a_valid_result_is_complete_for_status_and_driver_alike(tmp_path: Path) -> None:
    store, trial = ResultsStore(tmp_path), config()
    rel = LAYOUT.trial(trial.key()).result
    store.write_json(rel, result_of(trial).to_json())
    stored = read_result(store, rel, TrialResult)
    assert stored.problem is None and stored.value == result_of(trial)
    record = trial_record(store, trial, live_invocation=None)
    assert record.status == "completed" and record.error is None
    assert not _needs_run(store, rel, TrialResult, Console(record=True))
    assert store.exists(rel)


def test_a_missing_result_is_neither_value_nor_problem(tmp_path: Path) -> None:
    stored = read_result(ResultsStore(tmp_path), "trials/x/result.json", TrialResult)
    assert stored.value is None and stored.problem is None


def audit_of(trial: TrialConfig) -> AuditConfig:
    return AuditConfig(trial=trial, lira=LiraSettings(shadows=4, pool=64, queries=("original",)))


def test_an_unreadable_audit_result_is_pending_and_rescored(tmp_path: Path) -> None:
    store, audit = ResultsStore(tmp_path), audit_of(config())
    rel = LAYOUT.audit(audit.key()).result
    store.write_json(rel, {"audit_key": audit.key(), "rows": "not rows"})
    assert audit_state(store, audit) == ("pending", 0)
    assert read_result(store, rel, AuditResult).problem is not None
    console = Console(record=True, width=400)
    assert _needs_run(store, rel, AuditResult, console)
    assert not store.exists(rel)


def test_an_audit_result_round_trips_with_nan_and_inf_as_strict_json(tmp_path: Path) -> None:
    store, audit = ResultsStore(tmp_path), audit_of(config())
    row = LiraRow(
        attack="online", convention="balanced", subset="collective", auc_mean=0.7, auc_std=math.nan,
        auc_ci_low=math.nan, auc_ci_high=math.nan, tpr_at_0_1_fpr_mean=0.01, tpr_at_0_1_fpr_std=0.0,
        tpr_at_1_fpr_mean=0.05, tpr_at_1_fpr_std=0.01, n_members_mean=3.0, n_non_members_mean=3.0,
        epsilon_lower_bound=math.inf, n_targets=1, n_targets_tpr_at_0_1_fpr=0, n_targets_tpr_at_1_fpr=0,
        n_members_min=3, n_non_members_min=3, n_examples=6, epsilon_n_targets=0,
    )  # fmt: skip
    result = AuditResult.of(audit, (row,), n_pool=64, n_collective=6, seconds=2.0, provenance={"acadp": "test"})
    rel = LAYOUT.audit(audit.key()).result
    store.write_json(rel, result.plain())  # strict JSON: write_json refuses NaN and inf
    stored = json.loads((tmp_path / rel).read_text())
    assert stored["rows"][0]["auc_std"] is None and stored["rows"][0]["epsilon_lower_bound"] == "inf"
    assert stored["epsilon"] == "inf"
    back = read_result(store, rel, AuditResult).value
    assert back is not None and audit_state(store, audit) == ("completed", 4)
    assert math.isnan(back.rows[0].auc_std) and back.rows[0].epsilon_lower_bound == math.inf
    assert back.plain() == result.plain()
