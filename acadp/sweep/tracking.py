"""MLflow tracking: one experiment per sweep, one parent run per sweep, one child run per trial.

The driver creates the experiment and the parent run before any trial starts (many processes creating a new SQLite
database at once corrupt it). A trial finds its own child run by the tag ``acadp.trial_key`` and continues it after a
resume, so a grid point never gets two runs. Everything goes through an explicit :class:`mlflow.MlflowClient` (no
global "active run" state, which reused Ray actors would share between trials).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from mlflow.entities import Metric, Param, RunTag
from mlflow.tracking import MlflowClient

from acadp.clock import epoch_ms
from acadp.config.trial import TrialConfig
from acadp.store.layout import LAYOUT
from acadp.trial.result import EpochRecord, TrialResult

METRICS_PER_BATCH = 1000  # the most metrics MLflow takes in one log_batch call
TAG_ROLE = "acadp.role"
TAG_SWEEP_DIR = "acadp.sweep_dir"
TAG_TRIAL_KEY = "acadp.trial_key"
TAG_STATUS = "acadp.status"
PARENT_TAG = "mlflow.parentRunId"
# MLflow 3's experiment type: a model-training experiment (runs and metrics), not a GenAI one (traces). MLflow UIs
# with the experiment-kind selector open it on its runs; later ones follow the `workflowType` parameter in the link
# that `acadp ui` prints
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
# Tags every child run carries, to group, filter and sort by in MLflow (``tags.arm = 'SGD'``, "Group by: arm")
GROUPING_TAGS: tuple[str, ...] = ("dataset", "arm", "alpha", "seed")
# The run list a sweep opens on: a view stored as an experiment tag, which the MLflow UI applies when the page's
# address names its key (``viewStateShareKey``, as the UI's own "share view" does). Sorted by run name, the runs show
# as one flat list (sorted by creation time, the UI folds the children under their collapsed parent) with the
# grouping tags and then the headline metrics as the first columns.
RUN_LIST_VIEW_KEY = "acadp"
RUN_LIST_VIEW_TAG = f"mlflow.sharedViewState.{RUN_LIST_VIEW_KEY}"
RUN_LIST_METRICS: tuple[str, ...] = (
    "success", "lift", "base_rate", "test_accuracy", "epsilon_spent", "headline.auc_mean", "trial_seconds",
)  # fmt: skip


def run_list_view() -> str:
    """The run-list view as the MLflow UI reads it: JSON of its search facets and column choices and order (column
    keys are ``<tags|metrics>.`<name>```)."""
    columns = [f"tags.`{name}`" for name in GROUPING_TAGS] + [f"metrics.`{name}`" for name in RUN_LIST_METRICS]
    view = {
        "orderByKey": "tags.`mlflow.runName`",
        "orderByAsc": True,
        "selectedColumns": columns,
        "columnOrder": columns,
    }
    return json.dumps(view, ensure_ascii=False)


@dataclass(frozen=True)
class TrackingTarget:
    """Where trials log: tracking URI, experiment id and the sweep's parent run id (plain data, sent to workers)."""

    tracking_uri: str
    experiment_id: str
    parent_run_id: str


def default_tracking_uri(sweep_dir: Path) -> str:
    """The default store: a SQLite database inside the sweep's results directory."""
    return f"sqlite:///{sweep_dir / LAYOUT.mlflow_db}"


def setup_sweep_tracking(
    *, tracking_uri: str, experiment: str, sweep_dir: str, artifact_root: Path | None, spec_files: list[Path]
) -> TrackingTarget:
    """Create (or find) the sweep's experiment and parent run; mark the parent run RUNNING.

    The sweep file and the resolved spec are logged as artifacts (not params: a sweep file may grow new grid values
    between invocations, and MLflow params cannot change).
    """
    client = MlflowClient(tracking_uri=tracking_uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        location = artifact_root.resolve().as_uri() if artifact_root is not None else None
        experiment_id = client.create_experiment(
            experiment, artifact_location=location, tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND}
        )
    else:
        experiment_id = found.experiment_id
        if EXPERIMENT_KIND_TAG not in found.tags:  # created before acadp set the kind
            client.set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
    client.set_experiment_tag(experiment_id, RUN_LIST_VIEW_TAG, run_list_view())  # this version's view
    parent_id = _find_run(client, experiment_id, {TAG_ROLE: "sweep", TAG_SWEEP_DIR: sweep_dir})
    if parent_id is not None:
        client.update_run(parent_id, status="RUNNING")
    else:
        parent = client.create_run(
            experiment_id,
            run_name=experiment,
            tags={TAG_ROLE: "sweep", TAG_SWEEP_DIR: sweep_dir},
        )
        parent_id = parent.info.run_id
    for path in spec_files:
        client.log_artifact(parent_id, str(path), artifact_path="spec")
    return TrackingTarget(tracking_uri=tracking_uri, experiment_id=experiment_id, parent_run_id=parent_id)


def find_sweep_tracking(*, tracking_uri: str, experiment: str, sweep_dir: str) -> TrackingTarget | None:
    """The sweep's experiment and parent run, if a driver created them (None otherwise; nothing is created)."""
    client = MlflowClient(tracking_uri=tracking_uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return None
    parent_id = _find_run(client, found.experiment_id, {TAG_ROLE: "sweep", TAG_SWEEP_DIR: sweep_dir})
    return None if parent_id is None else TrackingTarget(tracking_uri, found.experiment_id, parent_id)


def _find_run(client: MlflowClient, experiment_id: str, tags: Mapping[str, str]) -> str | None:
    """The id of the run of ``experiment_id`` carrying all ``tags``, or None."""
    condition = " and ".join(f"tags.`{name}` = '{_quote(value)}'" for name, value in tags.items())
    runs = client.search_runs([experiment_id], filter_string=condition, max_results=1)
    return runs[0].info.run_id if runs else None


def finish_sweep_run(target: TrackingTarget, *, status: str, counts: Mapping[str, int]) -> None:
    """Close the parent run: ``FINISHED`` when every trial completed, ``FAILED`` or ``KILLED`` otherwise."""
    client = MlflowClient(tracking_uri=target.tracking_uri)
    metrics = [Metric(f"trials_{state}", float(n), epoch_ms(), 0) for state, n in counts.items()]
    client.log_batch(target.parent_run_id, metrics=metrics)
    client.set_terminated(target.parent_run_id, status=status)


def log_sweep_artifacts(target: TrackingTarget, paths: list[Path], *, base: Path) -> None:
    """Log reducer outputs as artifacts of the parent run, keeping their layout under ``base``."""
    client = MlflowClient(tracking_uri=target.tracking_uri)
    for path in paths:
        relative = path.parent.relative_to(base)
        client.log_artifact(target.parent_run_id, str(path), artifact_path=str(Path(LAYOUT.reduced) / relative))


def _quote(value: str) -> str:
    return value.replace("'", "\\'")


def flatten(prefix: str, value: Any) -> dict[str, str]:
    """Nested config → flat MLflow params: ``{"training": {"lr": 0.1}}`` → ``{"training.lr": "0.1"}``."""
    if isinstance(value, Mapping):
        flat: dict[str, str] = {}
        for key, item in value.items():
            flat.update(flatten(f"{prefix}.{key}" if prefix else str(key), item))
        return flat
    return {prefix: str(value)}


class _ChildRun:
    """A child run of the sweep's parent run, identified by one tag (``key_tag`` = ``key``): found again after a
    resume (and given this version's ``name`` and ``tags``), or created with ``name``, ``params`` and ``tags``."""

    def __init__(
        self, target: TrackingTarget, *, key_tag: str, key: str, name: str, params: Mapping[str, str],
        tags: Mapping[str, str],
    ) -> None:  # fmt: skip
        self.client = MlflowClient(tracking_uri=target.tracking_uri)
        self.key = key
        identity = {key_tag: key, PARENT_TAG: target.parent_run_id}
        existing = _find_run(self.client, target.experiment_id, identity)
        self.created = existing is None  # False: a run of an earlier attempt, possibly logged in part
        if existing is not None:
            self.run_id = existing
            self.client.update_run(self.run_id, status="RUNNING", name=name)
            running = [RunTag(TAG_STATUS, "running"), *(RunTag(k, v) for k, v in tags.items())]
            self.client.log_batch(self.run_id, tags=running)
            return
        all_tags = {**identity, TAG_STATUS: "running", **tags}
        self.run_id = self.client.create_run(target.experiment_id, run_name=name, tags=all_tags).info.run_id
        self.client.log_batch(self.run_id, params=[Param(k, v[:6000]) for k, v in sorted(params.items())])

    def fail(self, error: BaseException) -> None:
        self.client.set_tag(self.run_id, TAG_STATUS, "failed")
        self.client.set_tag(self.run_id, "acadp.error", f"{type(error).__name__}: {error}"[:5000])
        self.client.set_terminated(self.run_id, status="FAILED")


def run_name(config: TrialConfig) -> str:
    """A trial's child-run name, the arm first so that MLflow's narrow name column still tells runs apart:
    ``DP ε=8 C=1 · α=0.05 · s3`` (the dataset is a tag and a column of the run list)."""
    return f"{config.arm} · α={config.alpha:g} · s{config.seed}"


def grouping_tags(config: TrialConfig, *, role: str) -> dict[str, str]:
    """The tags of :data:`GROUPING_TAGS` for a run of ``config`` (α as written in the name), and its role."""
    values = (config.dataset, config.arm, f"{config.alpha:g}", str(config.seed))
    return {TAG_ROLE: role, **dict(zip(GROUPING_TAGS, values, strict=True))}


def trial_config_params(config: TrialConfig) -> dict[str, str]:
    """A trial's MLflow params: every config field, and the arm by name ("SGD", "clip C=1", "DP ε=8 C=1")."""
    return {**flatten("", config.canonical()), "arm": config.arm, "arm_kind": config.arm_kind}


class TrialTracker(_ChildRun):
    """The MLflow child run of one trial (found by its key, or created)."""

    def __init__(self, target: TrackingTarget, config: TrialConfig) -> None:
        super().__init__(
            target, key_tag=TAG_TRIAL_KEY, key=config.key(), name=run_name(config),
            params=trial_config_params(config), tags=grouping_tags(config, role="trial"),
        )  # fmt: skip

    def log_epoch(self, record: EpochRecord) -> None:
        self.client.log_batch(self.run_id, metrics=epoch_metrics(record))

    def finish(self, result: TrialResult) -> None:
        self.client.log_batch(
            self.run_id,
            metrics=trial_final_metrics(result),
            params=[Param(k, v) for k, v in trial_result_params(result).items()],
            tags=[RunTag(TAG_STATUS, "completed")],
        )
        self.client.set_terminated(self.run_id, status="FINISHED")


def epoch_metrics(record: EpochRecord) -> list[Metric]:
    """The metrics of one epoch, at step ``record.epoch`` (live and at backfill alike; finite values only). Test
    metrics and the ε spent so far are there on evaluated epochs (every ``eval_every``-th and the last)."""
    values = {
        "train_loss": record.train_loss,
        "test_accuracy": record.test_accuracy,
        "success": record.success,
        "base_rate": record.base_rate,
        "lift": None if record.success is None or record.base_rate is None else record.success - record.base_rate,
        "worst_group_accuracy": record.worst_group_accuracy,
        "epsilon_spent": record.epsilon_spent,
        "clipped_fraction": record.clipped_fraction,
        "epoch_seconds": record.seconds,
    }
    return _finite_metrics(values, step=record.epoch)


def trial_final_metrics(result: TrialResult) -> list[Metric]:
    """A finished trial's summary metrics, at step ``result.epochs``."""
    final = {
        "test_accuracy": result.test_accuracy,
        "success": result.success,
        "success_all": result.success_all,
        "base_rate": result.base_rate,
        "lift": result.lift,
        "epsilon_spent": result.epsilon_spent,
        "trial_seconds": result.seconds,
    }
    return _finite_metrics(final, step=result.epochs)


def _finite_metrics(values: Mapping[str, float | None], *, step: int) -> list[Metric]:
    """MLflow metrics at ``step`` for the values that are set and finite (MLflow refuses NaN and inf)."""
    stamp = epoch_ms()
    return [
        Metric(name, float(value), stamp, step)
        for name, value in values.items()
        if value is not None and math.isfinite(value)
    ]


def trial_result_params(result: TrialResult) -> dict[str, str]:
    """Params known only once a trial ran (σ, sampling rate, steps)."""
    return {
        "noise_multiplier": str(result.noise_multiplier),
        "sample_rate": str(result.sample_rate),
        "steps": str(result.steps),
    }


TAG_AUDIT_KEY = "acadp.audit_key"


class AuditTracker(_ChildRun):
    """The MLflow child run of one LiRA audit (found by ``acadp.audit_key``, or created)."""

    def __init__(self, target: TrackingTarget, audit: Any) -> None:
        name = f"LiRA · {run_name(audit.trial)} · {audit.lira.shadows} shadows"
        super().__init__(
            target, key_tag=TAG_AUDIT_KEY, key=audit.key(), name=name, params=flatten("", audit.plain()),
            tags=grouping_tags(audit.trial, role="audit"),
        )  # fmt: skip

    def finish(self, record: dict[str, Any], store: Any) -> None:
        """Log every attack × subset metric and the ROC curves (arrays and a log-log figure) as artifacts (metrics in
        batches of at most :data:`METRICS_PER_BATCH`: an audit with several variants has thousands)."""
        metrics = audit_metrics(record)
        for start in range(0, len(metrics), METRICS_PER_BATCH):
            self.client.log_batch(self.run_id, metrics=metrics[start : start + METRICS_PER_BATCH])
        self.client.set_tag(self.run_id, TAG_STATUS, "completed")
        self.log_roc(record, store, existing=set())
        self.client.set_terminated(self.run_id, status="FINISHED")

    def log_roc(self, record: dict[str, Any], store: Any, *, existing: set[str]) -> None:
        """Log ``roc.npz`` and ``roc.png`` (those not named in ``existing``) from the store."""
        import tempfile

        if {ROC_ARRAYS, ROC_FIGURE} <= existing:
            return
        with tempfile.TemporaryDirectory(prefix="acadp-audit-") as tmp:
            roc_path = Path(tmp) / ROC_ARRAYS  # the artifact keeps the store file's name
            roc_path.write_bytes(store.read_bytes(LAYOUT.audit(record["audit_key"]).roc))
            if ROC_ARRAYS not in existing:
                self.client.log_artifact(self.run_id, str(roc_path))
            if ROC_FIGURE not in existing:
                figure_path = _roc_figure(roc_path, Path(tmp) / ROC_FIGURE, title=record["label"])
                self.client.log_artifact(self.run_id, str(figure_path))


ROC_ARRAYS = PurePosixPath(LAYOUT.audit("key").roc).name
ROC_FIGURE = "roc.png"


def audit_metrics(record: dict[str, Any]) -> list[Metric]:
    """Every attack × convention × subset metric of an audit's ``result.json`` record, at step 0, named by
    :func:`acadp.lira.results.row_metrics` (``<attack>.<subset>.<field>`` under the headline convention, with
    ``.<convention>`` after the subset under the others, and ``headline.<field>`` for the headline row), and the
    shadows' regime as ``shadow_regime.<field>`` (its finite numbers: training size, q, σ, steps, ε, accuracies)."""
    from acadp.lira.results import json_number, row_metrics

    stamp = epoch_ms()
    metrics = [Metric(name, value, stamp, 0) for row in record["rows"] for name, value in row_metrics(row).items()]
    regime = {name: json_number(value) for name, value in (record.get("shadow_regime") or {}).items()}
    metrics += [
        Metric(f"shadow_regime.{name}", float(value), stamp, 0)
        for name, value in regime.items()
        if isinstance(value, int | float) and math.isfinite(value)
    ]
    return metrics


def _roc_figure(roc_path: Path, out: Path, *, title: str) -> Path:
    import numpy as np

    from acadp.reduce.plots import figure_bytes
    from acadp.reduce.plots_lira import plot_roc

    with np.load(roc_path, allow_pickle=False) as arrays:
        attacks = sorted({name.split("/")[0] for name in arrays.files})
        curves = {("audit", attack): (arrays[f"{attack}/fpr"], arrays[f"{attack}/tpr"]) for attack in attacks}
    out.write_bytes(figure_bytes(plot_roc(curves, title=title), "png"))
    return out
