"""A saved keep matrix that does not fit its audit stops the audit (never redrawn under shadows already trained); a
stratified audit and its clean twin draw one matrix that gives every target its share of the collective."""

from __future__ import annotations

import io
import math
import re
from pathlib import Path

import numpy as np
import pytest

from acadp.config.lira import AuditConfig, LiraSettings
from acadp.config.options import TrialOptions, build_trial_config
from acadp.errors import AcadpError, AuditStateError
from acadp.lira.keep import balanced_keep_matrix, keep_matrix_problem
from acadp.lira.subsets import keep_stratum
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.sweep.audit_runner import load_or_draw_keep, run_audit
from acadp.trial.data import prepare_trial_data

SHADOWS, POOL = 4, 64


def audit() -> AuditConfig:
    trial = build_trial_config(
        TrialOptions(dataset="mnist5k", alpha=0.1, epsilon=math.inf, n_train=POOL, n_test=50, training={"epochs": 1})
    )
    settings = LiraSettings(shadows=SHADOWS, pool=POOL, concurrent_shadows=1, queries=("original",))
    return AuditConfig(trial=trial, lira=settings)


def save_npy(store: ResultsStore, rel: str, array: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    store.write_bytes(rel, buffer.getvalue())


def test_keep_matrix_problem_names_shape_dtype_and_balance() -> None:
    keep = balanced_keep_matrix(n_models=4, n_examples=10, pkeep=0.5, seed=0)
    assert keep_matrix_problem(keep, n_models=4, n_examples=10, pkeep=0.5) is None
    assert "shape is (4, 10)" in str(keep_matrix_problem(keep, n_models=4, n_examples=12, pkeep=0.5))
    assert "shape is (4, 10)" in str(keep_matrix_problem(keep, n_models=6, n_examples=10, pkeep=0.5))
    assert "dtype" in str(keep_matrix_problem(keep.astype(np.int8), n_models=4, n_examples=10, pkeep=0.5))
    unbalanced = keep.copy()
    unbalanced[:, 3] = True  # example 3 IN for every model
    assert "pool index 3" in str(keep_matrix_problem(unbalanced, n_models=4, n_examples=10, pkeep=0.5))
    assert "exactly" in str(keep_matrix_problem(keep, n_models=4, n_examples=10, pkeep=0.25))


def test_a_fitting_keep_matrix_is_drawn_once_then_reused(tmp_path: Path) -> None:
    config, store = audit(), ResultsStore(tmp_path)
    paths = LAYOUT.audit(config.key())
    first = load_or_draw_keep(config, store, paths, POOL)
    assert first.shape == (SHADOWS, POOL) and store.exists(paths.keep)
    mtime = (tmp_path / paths.keep).stat().st_mtime_ns
    np.testing.assert_array_equal(load_or_draw_keep(config, store, paths, POOL), first)
    assert (tmp_path / paths.keep).stat().st_mtime_ns == mtime


@pytest.mark.parametrize(
    ("saved", "expected"),
    [
        (np.zeros((SHADOWS, POOL - 4), dtype=bool), "shape is (4, 60)"),  # another pool size
        (np.zeros((SHADOWS + 2, POOL), dtype=bool), "shape is (6, 64)"),  # another number of shadows
        (np.ones((SHADOWS, POOL), dtype=bool), "not IN for exactly"),  # not balanced for pkeep 0.5
    ],
    ids=["pool", "shadows", "unbalanced"],
)
def test_an_inconsistent_keep_matrix_is_refused_not_redrawn(tmp_path: Path, saved: np.ndarray, expected: str) -> None:
    config, store = audit(), ResultsStore(tmp_path)
    paths = LAYOUT.audit(config.key())
    save_npy(store, paths.keep, saved)
    with pytest.raises(AuditStateError, match=re.escape(expected)) as caught:
        load_or_draw_keep(config, store, paths, POOL)
    message = str(caught.value)
    assert isinstance(caught.value, AcadpError)
    assert "keep.npy" in message and f"delete the audit directory {store.uri}/{paths.root}/" in message
    np.testing.assert_array_equal(np.load(tmp_path / paths.keep), saved)  # left as it was


def test_an_unreadable_keep_matrix_is_refused(tmp_path: Path) -> None:
    config, store = audit(), ResultsStore(tmp_path)
    paths = LAYOUT.audit(config.key())
    store.write_bytes(paths.keep, b"not a numpy file")
    with pytest.raises(AuditStateError, match="cannot be read"):
        load_or_draw_keep(config, store, paths, POOL)


def test_shadows_trained_under_another_matrix_are_refused(tmp_path: Path) -> None:
    """keep.npy gone but a shadow saved: a redrawn matrix must match what that shadow trained on."""
    config, store = audit(), ResultsStore(tmp_path)
    paths = LAYOUT.audit(config.key())
    keep = balanced_keep_matrix(n_models=SHADOWS, n_examples=POOL, pkeep=0.5, seed=config.lira.seed)
    store.write_json(paths.shadow_meta(1), {"index": 1, "seconds": 1.0, "n_train": int(keep[1].sum()) + 3})
    with pytest.raises(AuditStateError, match="shadow 1 trained on"):
        load_or_draw_keep(config, store, paths, POOL)
    assert not store.exists(paths.keep)


def test_run_audit_stops_before_training_any_shadow(tmp_path: Path) -> None:
    config, store = audit(), ResultsStore(tmp_path)
    paths = LAYOUT.audit(config.key())
    save_npy(store, paths.keep, np.zeros((SHADOWS, POOL + 10), dtype=bool))
    trained: list[int] = []
    with pytest.raises(AuditStateError, match=re.escape(f"{paths.root}/")):
        run_audit(config, store=store, on_shadow=trained.append)
    assert trained == [] and not store.exists(paths.shadows)


def _stratified(alpha: float) -> AuditConfig:
    base = audit()
    trial = base.trial.model_copy(update={"alpha": alpha})
    return AuditConfig(trial=trial, lira=base.lira.model_copy(update={"stratify_alpha": 0.125}))


def test_a_stratified_audit_gives_every_target_its_share_of_the_collective_and_its_twin_the_same_matrix(
    tmp_path: Path,
) -> None:
    store = ResultsStore(tmp_path)
    at_claim, at_zero, above = _stratified(0.125), _stratified(0.0), _stratified(0.25)
    assert at_claim.clean_twin() == at_zero and above.clean_twin() == at_zero
    assert len({audit().key(), at_claim.key(), _stratified(0.1).key()}) == 3  # the setting is in the key
    keeps = [load_or_draw_keep(c, store, LAYOUT.audit(c.key()), POOL) for c in (at_claim, at_zero, above)]
    np.testing.assert_array_equal(keeps[0], keeps[1])
    np.testing.assert_array_equal(keeps[0], keeps[2])
    collective = prepare_trial_data(at_claim.trial).planted.members  # the 8 members of 64 at α = 0.125
    np.testing.assert_array_equal(collective, keep_stratum(at_claim, n_pool=POOL))
    np.testing.assert_array_equal(keeps[0][:, collective].sum(axis=1), np.full(SHADOWS, 4))
    np.testing.assert_array_equal(keeps[0].sum(axis=1), np.full(SHADOWS, POOL // 2))
    assert keep_stratum(audit(), n_pool=POOL) is None


def test_a_saved_matrix_that_is_not_stratified_is_refused(tmp_path: Path) -> None:
    config, store = _stratified(0.125), ResultsStore(tmp_path)
    paths = LAYOUT.audit(config.key())
    stratum = keep_stratum(config, n_pool=POOL)
    assert stratum is not None
    saved = balanced_keep_matrix(n_models=SHADOWS, n_examples=POOL, pkeep=0.5, seed=0)
    assert keep_matrix_problem(saved, n_models=SHADOWS, n_examples=POOL, pkeep=0.5) is None  # balanced, uneven:
    save_npy(store, paths.keep, saved)
    with pytest.raises(AuditStateError, match="of the stratum, not its share 4"):
        load_or_draw_keep(config, store, paths, POOL)
