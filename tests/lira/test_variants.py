"""The readings of an audit (variants): which label is scored, which models the Gaussians are fitted on (the
audited ones or their clean twins, the twin of the target left out) and what is queried — as pure functions of
logits, and end to end with the clean twin's shadows trained once and reused."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from acadp.config.lira import ALL_VARIANTS, DEFAULT_VARIANT, AuditConfig, LiraSettings, Variant
from acadp.config.options import TrialOptions, build_trial_config
from acadp.lira.audit import AuditViews, score_audit, score_variants, variant_scores
from acadp.lira.conventions import run_leave_one_out
from acadp.lira.keep import balanced_keep_matrix
from acadp.lira.scores import logit_scaled_confidence
from acadp.lira.shadow import stream_seed
from acadp.store.layout import LAYOUT
from acadp.store.results import ResultsStore
from acadp.sweep.audit_runner import run_audit

MODELS, EXAMPLES, CLASSES = 6, 40, 3


def _views(*, clean: bool = True, signal: bool = True) -> AuditViews:
    rng = np.random.default_rng(3)
    shape = (MODELS, EXAMPLES, 1, CLASSES)
    labels = rng.integers(0, CLASSES, EXAMPLES)
    original = labels.copy()
    planted = np.zeros(EXAMPLES, dtype=bool)
    planted[:5] = True
    original[:5] = (labels[:5] + 1) % CLASSES  # a planted member was relabelled
    return AuditViews(
        logits=rng.normal(size=shape), labels=labels, original_labels=original, planted=planted,
        signal=rng.normal(size=shape) if signal else None, clean=rng.normal(size=shape) if clean else None,
        clean_signal=rng.normal(size=shape) if clean else None,
    )  # fmt: skip


def test_each_variant_scores_its_label_on_its_queries_against_its_shadows() -> None:
    views = _views()
    targets, fitted = variant_scores(DEFAULT_VARIANT, views)  # type: ignore[misc]
    np.testing.assert_array_equal(targets, logit_scaled_confidence(views.logits, views.labels))
    assert fitted is targets
    original = Variant(label="original")
    targets, _ = variant_scores(original, views)  # type: ignore[misc]
    np.testing.assert_array_equal(targets, logit_scaled_confidence(views.logits, views.original_labels))
    targets, fitted = variant_scores(Variant(shadows="clean", queries="signal"), views)  # type: ignore[misc]
    np.testing.assert_array_equal(targets, logit_scaled_confidence(views.signal, views.labels))
    np.testing.assert_array_equal(fitted, logit_scaled_confidence(views.clean_signal, views.labels))
    # a clean model is asked about a planted example on g(x): the input the audited models trained on
    _, fitted = variant_scores(Variant(shadows="clean"), views)  # type: ignore[misc]
    np.testing.assert_array_equal(fitted[:, :5], logit_scaled_confidence(views.clean_signal, views.labels)[:, :5])
    np.testing.assert_array_equal(fitted[:, 5:], logit_scaled_confidence(views.clean, views.labels)[:, 5:])


def test_without_clean_models_clean_variants_are_left_out_and_missing_logits_are_named() -> None:
    assert variant_scores(Variant(shadows="clean"), _views(clean=False)) is None
    with pytest.raises(ValueError, match="logits on g\\(x\\)"):
        variant_scores(Variant(queries="signal"), _views(signal=False))


def test_the_targets_own_clean_twin_is_never_one_of_its_shadows() -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(MODELS, EXAMPLES, 1))
    keep = balanced_keep_matrix(n_models=MODELS, n_examples=EXAMPLES, pkeep=0.5, seed=1)
    plain = run_leave_one_out(scores=scores, keep=keep, attack="online")
    same = run_leave_one_out(scores=scores, keep=keep, attack="online", shadow_scores=scores)
    for a, b in zip(plain, same, strict=True):
        np.testing.assert_array_equal(a.predictions, b.predictions)
    twisted = scores.copy()
    twisted[0] += 100.0  # model 0's twin: only the other targets' fits see it
    moved = run_leave_one_out(scores=scores, keep=keep, attack="online", shadow_scores=twisted)
    np.testing.assert_array_equal(moved[0].predictions, plain[0].predictions)
    assert not np.allclose(moved[1].predictions, plain[1].predictions)


def test_rows_come_variant_by_variant_and_the_default_reads_as_the_audit_always_did() -> None:
    views = _views(clean=False)
    keep = balanced_keep_matrix(n_models=MODELS, n_examples=EXAMPLES, pkeep=0.5, seed=1)
    collective = views.planted
    report = score_variants(
        views, keep=keep, collective=collective, attacks=("online",), variants=ALL_VARIANTS, delta=1e-5
    )
    names = list(dict.fromkeys(row.variant for row in report.rows))
    assert names == [v.name for v in ALL_VARIANTS if v.shadows == "collective"]  # no clean models: 4 of the 8
    plain = score_audit(
        logits=views.logits, labels=views.labels, keep=keep, collective=collective, attacks=("online",), delta=1e-5
    )
    default = [row.plain() for row in report.rows if row.variant == DEFAULT_VARIANT.name]
    assert default == [row.plain() for row in plain.rows]  # plain: NaN (undefined TPRs) compares equal as null


def _audit(*, alpha: float, seed: int, strategy: str = "feature_label", pool: int = 80) -> AuditConfig:
    training = {"epochs": 1, "batch_size": 20, "lr": 0.05}
    trial = build_trial_config(
        TrialOptions(
            dataset="mnist5k", alpha=alpha, epsilon=math.inf, seed=seed, n_train=pool, n_test=50, strategy=strategy,
            training=training,
        )
    )  # fmt: skip
    lira = LiraSettings(shadows=4, pool=pool, concurrent_shadows=1, attacks=("online",), variants=ALL_VARIANTS)
    return AuditConfig(trial=trial, lira=lira)


def _auc(record: dict, variant: str, subset: str = "all") -> float:
    return next(
        r["auc_mean"]
        for r in record["rows"]
        if (r["variant"], r["subset"], r["convention"]) == (variant, subset, "balanced")
    )


def test_an_audit_trains_its_clean_twins_shadows_once_and_the_twin_reuses_them(tmp_path: Path) -> None:
    store = ResultsStore(tmp_path)
    audit, twin = _audit(alpha=0.1, seed=1), _audit(alpha=0.0, seed=1)
    assert audit.clean_twin() is not None and audit.clean_twin().key() == twin.key()  # type: ignore[union-attr]
    record = run_audit(audit, store=store)
    assert {row["variant"] for row in record["rows"]} == {v.name for v in ALL_VARIANTS}
    twin_paths = LAYOUT.audit(twin.key())
    for index in range(4):
        assert store.exists(twin_paths.shadow_meta(index)) and store.exists(twin_paths.shadow_signal_logits(index))
    keep = np.load(tmp_path / LAYOUT.audit(audit.key()).keep)
    np.testing.assert_array_equal(keep, np.load(tmp_path / twin_paths.keep))  # the same keep matrix
    trained: list[int] = []
    twin_record = run_audit(twin, store=store, on_shadow=trained.append)
    assert trained == []  # every shadow of the twin was there already
    # at α = 0 the audit is its own clean twin and nothing was relabelled: the four as-trained readings agree
    readings = {_auc(twin_record, v.name) for v in ALL_VARIANTS if v.queries == "as_trained"}
    assert len(readings) == 1
    # each audited seed is its own shadow set; the twin shares the audit's
    assert stream_seed(audit) == stream_seed(twin) != stream_seed(_audit(alpha=0.1, seed=2))
    assert stream_seed(_audit(alpha=0.1, seed=0)) == 0  # seed 0: the stream audits always drew from
    other = np.load(tmp_path / LAYOUT.audit(audit.key()).keep)
    assert not np.array_equal(
        other, balanced_keep_matrix(n_models=4, n_examples=80, pkeep=0.5, seed=stream_seed(_audit(alpha=0.1, seed=2)))
    )


def test_a_withholding_collective_is_audited_on_the_pool_without_it(tmp_path: Path) -> None:
    record = run_audit(_audit(alpha=0.1, seed=0, strategy="withhold"), store=ResultsStore(tmp_path))
    assert record["n_pool"] == 72 and record["n_collective"] == 0  # 8 of the 80 took their points out
    assert {row["variant"] for row in record["rows"]} == {v.name for v in ALL_VARIANTS if v.shadows == "collective"}
    assert {row["subset"] for row in record["rows"]} == {"all", "non_collective"}
