"""What a sweep's MLflow experiment shows: readable child-run names, tags to group and filter by, the per-epoch
history of an evaluated trial, and the run-list view that ``acadp ui`` opens."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from acadp.config.lira import AuditConfig, LiraSettings
from acadp.config.options import TrialOptions, build_trial_config
from acadp.config.trial import TrialConfig
from acadp.sweep.tracking import (
    RUN_LIST_VIEW_TAG,
    AuditTracker,
    TrackingTarget,
    TrialTracker,
    run_name,
    setup_sweep_tracking,
)
from acadp.trial.result import EpochRecord
from acadp.trial.run import run_trial


def _config(*, epsilon: float, alpha: float = 0.05, seed: int = 3, eval_every: int = 1) -> TrialConfig:
    options = TrialOptions(
        dataset="mnist5k", alpha=alpha, epsilon=epsilon, clip=None if math.isinf(epsilon) else 1.0, seed=seed,
        n_train=300, n_test=150, eval_every=eval_every, training={"epochs": 2, "batch_size": 75},
    )  # fmt: skip
    return build_trial_config(options)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite store for the module (creating its tables takes seconds); each test has its own experiment."""
    return tmp_path_factory.mktemp("views") / "mlflow.db"


def _target(database: Path, request: pytest.FixtureRequest) -> TrackingTarget:
    name = request.node.name
    return setup_sweep_tracking(
        tracking_uri=f"sqlite:///{database}",
        experiment=name,
        sweep_dir=str(database.parent / name),
        artifact_root=database.parent / "mlflow-artifacts",
        spec_files=[],
    )


def test_run_names_lead_with_the_arm_then_alpha_and_seed() -> None:
    assert run_name(_config(epsilon=8.0)) == "DP ε=8 C=1 · α=0.05 · s3"
    assert run_name(_config(epsilon=math.inf, alpha=0.0, seed=0)) == "SGD · α=0 · s0"


def test_trial_and_audit_runs_carry_the_grouping_tags(database: Path, request: pytest.FixtureRequest) -> None:
    target = _target(database, request)
    config = _config(epsilon=8.0)
    trial = TrialTracker(target, config)
    audit = AuditTracker(target, AuditConfig(trial=config, lira=LiraSettings(shadows=4)))
    client = MlflowClient(tracking_uri=target.tracking_uri)

    trial_run, audit_run = client.get_run(trial.run_id), client.get_run(audit.run_id)
    assert trial_run.info.run_name == "DP ε=8 C=1 · α=0.05 · s3"
    assert audit_run.info.run_name == "LiRA · DP ε=8 C=1 · α=0.05 · s3 · 4 shadows"
    expected = {"dataset": "mnist5k", "arm": "DP ε=8 C=1", "alpha": "0.05", "seed": "3"}
    for run, role in ((trial_run, "trial"), (audit_run, "audit")):
        assert {name: run.data.tags.get(name) for name in expected} == expected
        assert run.data.tags["acadp.role"] == role
    # the tags are what a user filters by in the UI's search box
    found = client.search_runs([target.experiment_id], "tags.arm = 'DP ε=8 C=1' and tags.alpha = '0.05'")
    assert {run.info.run_id for run in found} == {trial.run_id, audit.run_id}


def test_a_resumed_run_of_an_older_version_gets_the_new_name_and_tags(
    database: Path, request: pytest.FixtureRequest
) -> None:
    target = _target(database, request)
    config = _config(epsilon=math.inf, alpha=0.0, seed=0)
    client = MlflowClient(tracking_uri=target.tracking_uri)
    old = client.create_run(
        target.experiment_id,
        run_name=config.label(),  # the name an earlier version gave it
        tags={"acadp.trial_key": config.key(), "mlflow.parentRunId": target.parent_run_id},
    ).info.run_id

    tracker = TrialTracker(target, config)

    assert tracker.run_id == old and not tracker.created
    run = client.get_run(old)
    assert run.info.run_name == "SGD · α=0 · s0"
    assert run.data.tags["arm"] == "SGD" and run.data.tags["seed"] == "0"


def _history(client: MlflowClient, run_id: str, key: str) -> list[tuple[int, float]]:
    return sorted((metric.step, metric.value) for metric in client.get_metric_history(run_id, key))


@pytest.mark.parametrize(("eval_every", "evaluated"), [(1, [1, 2]), (100, [2])], ids=["every-epoch", "last-only"])
def test_evaluated_epochs_log_success_accuracy_and_epsilon(
    database: Path, request: pytest.FixtureRequest, eval_every: int, evaluated: list[int]
) -> None:
    target = _target(database, request)
    config = _config(epsilon=8.0, eval_every=eval_every)
    tracker = TrialTracker(target, config)

    def on_epoch(record: EpochRecord, run: object) -> None:
        tracker.log_epoch(record)

    result = run_trial(config, threads=1, on_epoch=on_epoch)
    tracker.finish(result)

    client = MlflowClient(tracking_uri=target.tracking_uri)
    assert [step for step, _ in _history(client, tracker.run_id, "train_loss")] == [1, 2]
    for key in ("success", "test_accuracy", "base_rate", "lift", "epsilon_spent"):
        assert sorted({step for step, _ in _history(client, tracker.run_id, key)}) == evaluated, key
    by_epoch = {record.epoch: record for record in result.history}
    assert _history(client, tracker.run_id, "success")[0][1] == pytest.approx(by_epoch[evaluated[0]].success)
    spent = [value for _, value in _history(client, tracker.run_id, "epsilon_spent")]
    assert spent == sorted(spent) and spent[-1] == pytest.approx(result.epsilon_spent)


def test_the_experiment_stores_the_run_list_view(database: Path, request: pytest.FixtureRequest) -> None:
    target = _target(database, request)
    client = MlflowClient(tracking_uri=target.tracking_uri)
    view = json.loads(client.get_experiment(target.experiment_id).tags[RUN_LIST_VIEW_TAG])
    columns = view["selectedColumns"]
    assert [c for c in columns if c.startswith("tags.")] == [
        "tags.`dataset`",
        "tags.`arm`",
        "tags.`alpha`",
        "tags.`seed`",
    ]
    assert {"metrics.`success`", "metrics.`test_accuracy`"} <= set(columns)
    assert view["columnOrder"] == columns  # the grouping tags first, then the metrics
    # sorted by anything but creation time, MLflow lists the children flat instead of folded under the parent
    assert view["orderByKey"] == "tags.`mlflow.runName`" and view["orderByAsc"] is True
    # the view's sort key is one the tracking store can sort by
    client.create_run(target.experiment_id, run_name="b")
    client.create_run(target.experiment_id, run_name="a")
    names = [
        run.info.run_name for run in client.search_runs([target.experiment_id], order_by=["tags.`mlflow.runName` ASC"])
    ]
    assert names == sorted(names)
