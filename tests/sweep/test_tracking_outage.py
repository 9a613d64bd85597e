"""Tracking failures never fail the science: fast checks of the guard, the HTTP budget and the backfill (no server)."""

from __future__ import annotations

import math
import socket
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from acadp.config.options import TrialOptions, build_trial_config
from acadp.config.trial import TrialConfig
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.sweep.backfill import backfill_trial
from acadp.sweep.outage import HTTP_BUDGET, GuardedRun, TrackingHealth, http_budget
from acadp.sweep.tracking import TrackingTarget, TrialTracker, setup_sweep_tracking
from acadp.trial.result import EpochRecord, TrialResult


def closed_port() -> int:
    """A port nothing listens on (bound, read, released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def config() -> TrialConfig:
    return build_trial_config(
        TrialOptions(dataset="mnist5k", alpha=0.1, epsilon=8.0, clip=1.0, n_train=64, n_test=32, training={"epochs": 3})
    )


def result_of(trial: TrialConfig) -> TrialResult:
    """A finished result with one history record per epoch (epoch 2 not evaluated: no test metrics)."""
    history = tuple(
        EpochRecord(
            epoch=epoch, train_loss=1.0 / epoch, clipped_fraction=0.5, seconds=0.1 * epoch,
            test_accuracy=accuracy, success=success,
        )
        for epoch, accuracy, success in ((1, 0.6, 0.1), (2, None, None), (3, 0.8, 0.3))
    )  # fmt: skip
    return TrialResult(
        trial_key=trial.key(), label=trial.label(), config=trial, dataset=trial.dataset, alpha=trial.alpha,
        epsilon=trial.epsilon, delta=trial.delta, clip=trial.clip, seed=trial.seed, target_class=trial.target_class,
        n_train=64, n_test=32, n_collective=6, n_planted=6, test_accuracy=0.8, success=0.3, success_all=0.4,
        train_loss=1 / 3, epsilon_spent=7.9, noise_multiplier=1.1, sample_rate=0.1, steps=30,
        accountant=trial.accountant, epochs=3, seconds=1.0, history=history,
    )  # fmt: skip


def test_the_http_budget_is_short_by_default_and_the_users_variables_win() -> None:
    assert http_budget({}) == dict(HTTP_BUDGET)
    assert int(HTTP_BUDGET["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]) <= 3  # MLflow's default is 7 with backoff 2
    mine = http_budget({"MLFLOW_HTTP_REQUEST_TIMEOUT": "60"})
    assert mine["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "60"
    assert mine["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == HTTP_BUDGET["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]


def test_health_warns_once_when_tracking_goes_down_and_once_when_it_is_back() -> None:
    lines: list[str] = []
    health = TrackingHealth(emit=lines.append, retry_after=60)
    for _ in range(5):
        health.failed(RuntimeError("connection refused"))
    assert len(lines) == 1 and "unreachable" in lines[0] and "sweep sync" in lines[0]
    assert not health.should_try()  # within retry_after: new runs are not even tried
    health.succeeded()
    health.succeeded()
    assert len(lines) == 2 and "reachable again" in lines[1]
    assert health.should_try()


def test_a_tracker_at_a_closed_port_fails_fast_marks_the_result_and_never_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")
    store, trial = ResultsStore(tmp_path), config()
    marker = LAYOUT.trial(trial.key()).untracked
    target = TrackingTarget(f"http://127.0.0.1:{closed_port()}", "1", "parent")
    lines: list[str] = []
    health = TrackingHealth(emit=lines.append, retry_after=60)

    opened: list[int] = []

    def open_tracker() -> TrialTracker:
        opened.append(1)
        return TrialTracker(target, trial)

    run = GuardedRun(store, marker, open_tracker, health=health)  # how fast: benchmarks/bench_tracking.py
    assert opened == [1] and not run.active and store.exists(marker)
    assert "127.0.0.1" in str(store.read_json(marker)["reason"])
    assert run.call(lambda tracker: tracker.log_epoch(result_of(trial).history[0])) is False
    assert run.finish(lambda tracker: tracker.finish(result_of(trial))) is False
    assert store.exists(marker), "the marker stays until the backfill"

    store.delete(marker)
    again = GuardedRun(store, marker, open_tracker, health=health)
    assert opened == [1], "a process that just failed does not spend the retry budget again"
    assert not again.active and store.exists(marker)
    assert len(lines) == 1 and "Traceback" not in lines[0]


def test_an_unusable_sqlite_store_is_caught_and_marked(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the database's folder should be")
    target = TrackingTarget(f"sqlite:///{blocker / 'mlflow.db'}", "1", "parent")
    store, trial = ResultsStore(tmp_path / "store"), config()
    lines: list[str] = []
    run = GuardedRun(
        store, LAYOUT.trial(trial.key()).untracked, lambda: TrialTracker(target, trial),
        health=TrackingHealth(emit=lines.append),
    )  # fmt: skip
    assert not run.active and store.exists(LAYOUT.trial(trial.key()).untracked)
    assert len(lines) == 1


def test_backfill_completes_a_partly_logged_run_once_without_duplicates(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    target = setup_sweep_tracking(
        tracking_uri=uri, experiment="outage", sweep_dir=str(tmp_path), artifact_root=tmp_path / "art", spec_files=[]
    )
    store, trial = ResultsStore(tmp_path / "store"), config()
    result = result_of(trial)
    store.write_json(LAYOUT.trial(trial.key()).result, result.to_json())
    TrialTracker(target, trial).log_epoch(result.history[0])  # logged live before the server went down

    run_ids = {backfill_trial(target, store, trial) for _ in range(2)}  # twice: idempotent
    client = MlflowClient(tracking_uri=uri)
    children = client.search_runs([target.experiment_id], filter_string=f"tags.`acadp.trial_key` = '{trial.key()}'")
    assert len(run_ids) == 1 and len(children) == 1
    run = children[0]
    assert run.info.status == "FINISHED" and run.data.tags["acadp.status"] == "completed"
    assert run.data.params["noise_multiplier"] == "1.1" and run.data.params["alpha"] == "0.1"
    history = client.get_metric_history(run.info.run_id, "train_loss")
    assert sorted(m.step for m in history) == [1, 2, 3]
    assert [m.value for m in sorted(history, key=lambda m: m.step)] == pytest.approx([1.0, 0.5, 1 / 3])
    success = client.get_metric_history(run.info.run_id, "success")
    assert sorted((m.step, m.value) for m in success) == [(1, 0.1), (3, 0.3)]  # final = last epoch: one point
    assert run.data.metrics["epsilon_spent"] == pytest.approx(7.9)
    assert math.isclose(run.data.metrics["clipped_fraction"], 0.5)
