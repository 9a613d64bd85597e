"""The sweep's MLflow experiment is typed as model training, so MLflow's UI does not open it as a GenAI experiment."""

from __future__ import annotations

from pathlib import Path

from mlflow.tracking import MlflowClient

from acadp.sweep.tracking import setup_sweep_tracking


def _setup(tracking_uri: str, tmp_path: Path) -> str:
    target = setup_sweep_tracking(
        tracking_uri=tracking_uri,
        experiment="kind-sweep",
        sweep_dir=str(tmp_path / "kind-sweep"),
        artifact_root=tmp_path / "mlflow-artifacts",
        spec_files=[],
    )
    return target.experiment_id


def test_a_new_sweep_experiment_is_a_model_training_experiment(tmp_path: Path) -> None:
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    experiment_id = _setup(tracking_uri, tmp_path)
    experiment = MlflowClient(tracking_uri=tracking_uri).get_experiment(experiment_id)
    assert experiment.tags.get("mlflow.experimentKind") == "custom_model_development"


def test_an_untyped_experiment_of_an_earlier_run_gets_the_kind_on_resume(tmp_path: Path) -> None:
    tracking_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=tracking_uri)
    created = client.create_experiment("kind-sweep", artifact_location=(tmp_path / "mlflow-artifacts").as_uri())
    assert "mlflow.experimentKind" not in client.get_experiment(created).tags

    assert _setup(tracking_uri, tmp_path) == created
    assert client.get_experiment(created).tags.get("mlflow.experimentKind") == "custom_model_development"
