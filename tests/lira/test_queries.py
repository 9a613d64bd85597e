"""A LiRA query the dataset cannot honour (the mirror of tabular rows) is refused when the settings are loaded."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from acadp.cli.lira import lira
from acadp.config.options import TrialOptions, build_trial_config
from acadp.config.sweep import load_spec
from acadp.errors import SpecError
from acadp.lira.settings import AuditConfig, LiraSettings, query_problem, valid_queries

MESSAGE = "lira.queries: 'mirror' cannot be asked of dataset 'bank'"


def test_valid_queries_follow_the_dataset_modality() -> None:
    assert valid_queries("bank") == ("original",)
    assert valid_queries("mnist5k") == ("original", "mirror")
    assert valid_queries("cifar10") == ("original", "mirror")
    assert query_problem(("original", "mirror"), dataset="mnist5k") is None
    assert query_problem(("original",), dataset="bank") is None
    problem = query_problem(("original", "mirror"), dataset="bank")
    assert problem is not None and problem.startswith(MESSAGE) and problem.endswith("valid queries for bank: original")


def test_an_audit_config_refuses_the_mirror_on_tabular_data() -> None:
    trial = build_trial_config(TrialOptions(dataset="bank", alpha=0.1, epsilon=math.inf))
    with pytest.raises(ValidationError, match=MESSAGE):
        AuditConfig(trial=trial, lira=LiraSettings(queries=("original", "mirror")))
    assert AuditConfig(trial=trial, lira=LiraSettings(queries=("original",))).lira.queries == ("original",)


def sweep_file(path: Path, *, queries: list[str], audited: list[str] | None = None) -> Path:
    lira_section: dict = {"points": {"alpha": [0.1], "epsilon": ["inf"]}, "shadows": 4, "queries": queries}
    if audited is not None:
        lira_section["points"]["datasets"] = audited
    spec = {
        "name": "queries",
        "datasets": {"mnist5k": {}, "bank": {}},
        "grid": {"alpha": [0.0, 0.1], "epsilon": [8, "inf"], "clip": [1.0], "seed": [0]},
        "lira": lira_section,
    }
    path.write_text(yaml.safe_dump(spec))
    return path


def test_a_sweep_file_auditing_tabular_data_with_the_mirror_is_refused_at_load_time(tmp_path: Path) -> None:
    path = sweep_file(tmp_path / "sweep.yaml", queries=["original", "mirror"])
    with pytest.raises(SpecError, match=MESSAGE) as caught:
        load_spec(path)
    assert str(caught.value).startswith(f"{path}: lira.queries:")
    assert "valid queries for bank: original" in str(caught.value)


def test_the_mirror_is_fine_when_only_image_datasets_are_audited(tmp_path: Path) -> None:
    spec = load_spec(sweep_file(tmp_path / "sweep.yaml", queries=["original", "mirror"], audited=["mnist5k"]))
    assert {audit.trial.dataset for audit in spec.audit_configs()} == {"mnist5k"}
    spec = load_spec(sweep_file(tmp_path / "both.yaml", queries=["original"]))
    assert {audit.trial.dataset for audit in spec.audit_configs()} == {"mnist5k", "bank"}


def test_the_lira_command_refuses_the_mirror_on_tabular_data_before_loading_data(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=MESSAGE):
        lira(dataset="bank", queries="original,mirror", shadows=4, out_dir=tmp_path / "out", data_dir=tmp_path)
    assert not (tmp_path / "out").exists()
