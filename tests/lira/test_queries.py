"""LiRA's queries follow training augmentation: by default the original plus the views of the augmentations the
audited trial trained with; a query training did not use is refused in one line naming the field when the settings
are loaded (sweep file, ``acadp lira``, audit config), before any data is touched."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from acadp.cli.lira import lira
from acadp.config.lira import AuditConfig, LiraSettings, query_problem, training_queries
from acadp.config.options import TrialOptions, build_trial_config
from acadp.config.sweep import load_spec
from acadp.config.trial import TrainingConfig, TrialConfig
from acadp.errors import SpecError
from acadp.lira.shadow import query_views

SHIFTS = ("shift_up", "shift_down", "shift_left", "shift_right")
MIRROR_REFUSED = (
    "lira.queries: 'mirror' is a query training did not use (training.augment: none); add flip to training.augment "
    "or use [original]"
)
TABULAR_REFUSED = (
    "lira.queries: 'mirror' is a view of an image, but bank is tabular data, whose models are queried with their "
    "original examples only; use [original]"
)


def trial(dataset: str = "mnist5k", augment: str = "none") -> TrialConfig:
    return build_trial_config(TrialOptions(dataset=dataset, alpha=0.1, epsilon=math.inf, training={"augment": augment}))


def recipe(augment: list[str]) -> TrainingConfig:
    return TrainingConfig.model_validate({"epochs": 1, "batch_size": 8, "lr": 1.0, "augment": augment})


def test_the_default_queries_are_the_original_plus_the_augmentations_training_used() -> None:
    assert training_queries(recipe([])) == ("original",)
    assert training_queries(recipe(["flip"])) == ("original", "mirror")
    assert training_queries(recipe(["shift"])) == ("original", *SHIFTS)
    assert training_queries(recipe(["shift", "flip"])) == ("original", "mirror", *SHIFTS)
    assert AuditConfig(trial=trial(), lira=LiraSettings()).lira.queries == ("original",)
    audit = AuditConfig(trial=trial(augment="flip,shift"), lira=LiraSettings())
    assert audit.queries == audit.lira.queries == ("original", "mirror", *SHIFTS)
    assert audit.plain()["lira"]["queries"] == ["original", "mirror", *SHIFTS]  # what config.json records


def test_a_query_training_did_not_use_is_refused_in_one_line() -> None:
    assert query_problem(("original", "mirror"), training=recipe([])) == MIRROR_REFUSED
    assert query_problem(("original", "mirror"), training=recipe(["flip"])) is None
    assert query_problem(None, training=recipe([])) is None
    problem = query_problem(("original", "mirror", "shift_left"), training=recipe(["flip"]))
    assert problem == (
        "lira.queries: 'shift_left' is a query training did not use (training.augment: flip); add shift to "
        "training.augment or use [original, mirror]"
    )
    with pytest.raises(ValidationError, match=re.escape(MIRROR_REFUSED)):
        AuditConfig(trial=trial(), lira=LiraSettings(queries=("original", "mirror")))
    with pytest.raises(ValidationError, match=re.escape("lira.queries: 'shift_up' is a query training did not use")):
        AuditConfig(trial=trial(augment="flip"), lira=LiraSettings(queries=("original", "shift_up")))


def test_tabular_models_are_asked_only_the_original() -> None:
    bank = trial("bank")
    assert AuditConfig(trial=bank, lira=LiraSettings()).queries == ("original",)
    with pytest.raises(ValidationError, match=re.escape(TABULAR_REFUSED)):  # a view of an image, whatever training did
        AuditConfig(trial=bank, lira=LiraSettings(queries=("original", "mirror")))


def test_an_audit_asking_what_it_asked_before_keeps_its_key() -> None:
    """Explicit [original] (the shipped sweeps) and the default on an unaugmented trial are one audit."""
    explicit = AuditConfig(trial=trial(), lira=LiraSettings(queries=("original",)))
    assert AuditConfig(trial=trial(), lira=LiraSettings()).key() == explicit.key()
    assert AuditConfig.model_validate(explicit.plain()).key() == explicit.key()
    flipped = AuditConfig(trial=trial(augment="flip"), lira=LiraSettings())
    assert flipped.key() != AuditConfig(trial=trial(augment="flip"), lira=LiraSettings(queries=("original",))).key()


def test_query_views_are_the_mirror_and_the_one_axis_shifts() -> None:
    x = np.arange(2 * 1 * 5 * 5, dtype=np.float32).reshape(2, 1, 5, 5) + 1
    views = query_views(x, ("original", "mirror", *SHIFTS), shift=2)
    assert [v.shape for v in views] == [x.shape] * 6
    original, mirror, up, down, left, right = views
    assert original is x
    assert np.array_equal(mirror, x[..., ::-1])
    assert np.array_equal(down[..., 2:, :], x[..., :3, :]) and not down[..., :2, :].any()
    assert np.array_equal(up[..., :3, :], x[..., 2:, :]) and not up[..., 3:, :].any()
    assert np.array_equal(right[..., :, 2:], x[..., :, :3]) and not right[..., :, :2].any()
    assert np.array_equal(left[..., :, :3], x[..., :, 2:]) and not left[..., :, 3:].any()
    assert np.array_equal(query_views(x, ("shift_right",), shift=1)[0][..., 1:], x[..., :4])
    rows = np.ones((4, 3), dtype=np.float32)
    assert query_views(rows, ("original",), shift=2)[0] is rows
    with pytest.raises(SpecError, match=re.escape("lira.queries: 'mirror' needs images")):
        query_views(rows, ("original", "mirror"), shift=2)


def sweep_file(
    path: Path, *, queries: list[str] | None, audited: list[str] | None = None, mnist_augment: list[str] | None = None
) -> Path:
    lira_section: dict = {"points": {"alpha": [0.1], "epsilon": ["inf"]}, "shadows": 4}
    if queries is not None:
        lira_section["queries"] = queries
    if audited is not None:
        lira_section["points"]["datasets"] = audited
    mnist: dict = {} if mnist_augment is None else {"training": {"augment": mnist_augment}}
    spec = {
        "name": "queries",
        "datasets": {"mnist5k": mnist, "bank": {}},
        "grid": {"alpha": [0.0, 0.1], "epsilon": [8, "inf"], "clip": [1.0], "seed": [0]},
        "lira": lira_section,
    }
    path.write_text(yaml.safe_dump(spec))
    return path


def test_a_sweep_file_asking_a_query_training_did_not_use_is_refused_at_load_time(tmp_path: Path) -> None:
    path = sweep_file(tmp_path / "sweep.yaml", queries=["original", "mirror"], mnist_augment=["flip"])
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value) == (f"{path}: {TABULAR_REFUSED}")


def test_a_sweep_file_queries_what_each_audited_dataset_trained_with(tmp_path: Path) -> None:
    spec = load_spec(
        sweep_file(tmp_path / "sweep.yaml", queries=["original", "mirror"], audited=["mnist5k"], mnist_augment=["flip"])
    )
    assert {audit.trial.dataset: audit.queries for audit in spec.audit_configs()} == {"mnist5k": ("original", "mirror")}
    spec = load_spec(sweep_file(tmp_path / "default.yaml", queries=None, mnist_augment=["flip", "shift"]))
    by_dataset = {audit.trial.dataset: audit.queries for audit in spec.audit_configs(smoke=True)}
    assert by_dataset == {"mnist5k": ("original", "mirror", *SHIFTS), "bank": ("original",)}


def test_the_lira_command_refuses_a_query_training_did_not_use_before_loading_data(tmp_path: Path) -> None:
    with pytest.raises(
        SpecError, match=re.escape("lira options: lira.queries: 'mirror' is a query training did not use")
    ):
        lira(dataset="mnist5k", queries="original,mirror", shadows=4, out_dir=tmp_path / "out", data_dir=tmp_path)
    with pytest.raises(SpecError, match=re.escape(TABULAR_REFUSED)):
        lira(dataset="bank", queries="original,mirror", shadows=4, out_dir=tmp_path / "out", data_dir=tmp_path)
    with pytest.raises(SpecError, match=r"training\.augment: \[flip\] augments images only"):
        lira(dataset="bank", set_training=["augment=flip"], shadows=4, out_dir=tmp_path / "out", data_dir=tmp_path)
    assert not (tmp_path / "out").exists()


def test_an_augmented_audit_trains_augmented_shadows_and_asks_every_view(tmp_path: Path) -> None:
    from acadp.store.layout import LAYOUT
    from acadp.store.results import ResultsStore
    from acadp.sweep.audit_runner import run_audit

    config = build_trial_config(
        TrialOptions(
            dataset="mnist5k", alpha=0.1, epsilon=math.inf, n_train=64, n_test=50,
            training={"epochs": 1, "augment": "flip,shift"},
        )
    )  # fmt: skip
    audit = AuditConfig(trial=config, lira=LiraSettings(shadows=4, pool=64, concurrent_shadows=1))
    store = ResultsStore(tmp_path)
    record = run_audit(audit, store=store)
    assert record["audit"]["lira"]["queries"] == ["original", "mirror", *SHIFTS]
    logits = np.load(tmp_path / LAYOUT.audit(audit.key()).shadow_logits(0))
    assert logits.shape == (64, 6, 10)
    assert not np.array_equal(logits[:, 0], logits[:, 1])  # the mirror is another view
