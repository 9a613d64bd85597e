"""The rows a LiRA audit reports (acadp.lira.audit.score_audit) and how they are named for MLflow."""

from __future__ import annotations

import math

import numpy as np
import pytest

from acadp.lira.audit import score_audit
from acadp.lira.keep import balanced_keep_matrix
from acadp.lira.results import LiraRow, headline_first, is_headline, row_metrics

N_MODELS, N_EXAMPLES, N_CLASSES = 8, 300, 4


def _logits(keep: np.ndarray, labels: np.ndarray, *, leak: float) -> np.ndarray:
    """(n_models, n_examples, 1 query, n_classes) logits whose true-class logit rises by ``leak`` on members."""
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(*keep.shape, 1, N_CLASSES))
    true_class = labels[:, None] == np.arange(N_CLASSES)[None, :]  # (n_examples, n_classes)
    boost = leak * keep + 2.0  # (n_models, n_examples)
    return logits + boost[:, :, None, None] * true_class[None, :, None, :]


@pytest.fixture(scope="module")
def rows() -> tuple[LiraRow, ...]:
    keep = balanced_keep_matrix(n_models=N_MODELS, n_examples=N_EXAMPLES, pkeep=0.5, seed=0)
    labels = np.arange(N_EXAMPLES) % N_CLASSES
    collective = np.arange(N_EXAMPLES) < 30
    placebo = np.arange(N_EXAMPLES) >= 270
    report = score_audit(
        logits=_logits(keep, labels, leak=3.0), labels=labels, keep=keep, collective=collective,
        attacks=("online", "online_fixed_variance", "global_threshold"), delta=1e-5, placebo=placebo, seed=0,
    )  # fmt: skip
    assert set(report.roc_curves) == {"online", "online_fixed_variance", "global_threshold"}
    return report.rows


def test_every_attack_convention_and_subset_has_a_row_the_headline_first(rows: tuple[LiraRow, ...]) -> None:
    keys = [(r.attack, r.convention, r.subset) for r in rows]
    assert keys[0] == ("online_fixed_variance", "balanced", "all") and is_headline(rows[0].model_dump())
    assert sum(is_headline(r.model_dump()) for r in rows) == 1
    expected = {
        (a, c, s)
        for a in ("online", "online_fixed_variance", "global_threshold")
        for c in ("balanced", "reference")
        for s in ("all", "collective", "non_collective", "placebo")
    }
    assert set(keys) == expected and len(keys) == len(expected)
    assert [k[0] for k in keys[::8]] == ["online_fixed_variance", "online", "global_threshold"]


def test_row_counts_and_undefined_tprs(rows: tuple[LiraRow, ...]) -> None:
    by_key = {(r.attack, r.convention, r.subset): r for r in rows}
    every = by_key["online", "reference", "all"]
    # 8 models, each example IN for 4: every target holds 150 ± a few members of 300
    assert every.n_examples == N_EXAMPLES and every.n_targets == N_MODELS
    assert every.n_members_mean + every.n_non_members_mean == N_EXAMPLES
    assert every.n_members_min <= every.n_members_mean
    # < 1000 non-members per target: TPR at 0.1 % is undefined everywhere; ≥ 100 on `all`: TPR at 1 % is defined
    assert every.n_targets_tpr_at_0_1_fpr == 0 and math.isnan(every.tpr_at_0_1_fpr_mean)
    assert every.n_targets_tpr_at_1_fpr == N_MODELS and every.tpr_at_1_fpr_mean > 0.0
    small = by_key["online", "reference", "collective"]  # 30 examples: ~15 non-members per target
    assert small.n_examples == 30 and small.n_targets_tpr_at_1_fpr == 0 and math.isnan(small.tpr_at_1_fpr_mean)
    assert every.auc_ci_low <= every.auc_mean <= every.auc_ci_high
    assert every.auc_mean > 0.8  # the planted leak is large
    assert every.epsilon_n_targets == N_MODELS // 2 and every.epsilon_lower_bound == 0.0  # 4 judged targets


def test_metric_names_keep_the_old_names_for_the_headline_convention(rows: tuple[LiraRow, ...]) -> None:
    headline = row_metrics(rows[0].plain())
    assert headline["online_fixed_variance.all.auc_mean"] == headline["headline.auc_mean"] == rows[0].auc_mean
    assert "online_fixed_variance.all.n_targets" in headline
    assert not any("convention" in name for name in headline)
    assert all(math.isfinite(value) for value in headline.values())
    assert "online_fixed_variance.all.tpr_at_0_1_fpr_mean" not in headline  # NaN is not logged
    reference = next(r for r in rows if (r.attack, r.convention, r.subset) == ("online", "reference", "collective"))
    names = row_metrics(reference.plain())
    assert "online.collective.reference.auc_mean" in names and not any(n.startswith("headline.") for n in names)


def test_headline_first_keeps_the_order_of_the_others() -> None:
    assert headline_first(["online", "offline", "online_fixed_variance", "global_threshold"]) == [
        "online_fixed_variance",
        "online",
        "offline",
        "global_threshold",
    ]
    assert headline_first(["online", "offline"]) == ["online", "offline"]


def test_a_row_round_trips_as_strict_json(rows: tuple[LiraRow, ...]) -> None:
    for row in rows[:4]:  # NaN fields (TPR at 0.1 %) travel as null and come back as NaN
        assert row.plain()["tpr_at_0_1_fpr_mean"] is None
        assert LiraRow.model_validate(row.plain()).plain() == row.plain()


def test_the_lira_command_prints_the_headline_first_and_says_why_a_tpr_is_undefined(
    rows: tuple[LiraRow, ...], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from acadp.cli.lira import _print, lira_summary
    from acadp.config.lira import AuditConfig, LiraSettings
    from acadp.config.options import TrialOptions, build_trial_config
    from acadp.lira.results import AuditResult

    trial = build_trial_config(TrialOptions(dataset="mnist5k", alpha=0.1, epsilon=math.inf, n_train=N_EXAMPLES))
    audit = AuditConfig(trial=trial, lira=LiraSettings(shadows=N_MODELS, pool=N_EXAMPLES))
    record = AuditResult.of(audit, rows, n_pool=N_EXAMPLES, n_collective=30, seconds=1.0, provenance={}).plain()
    summary = lira_summary(record)
    assert summary["headline"] == rows[0].plain()
    monkeypatch.setenv("COLUMNS", "400")  # one table row per line
    _print(summary)
    lines = [line for line in capsys.readouterr().out.splitlines() if "│" in line and "balanced" in line]
    assert "online_fixed_variance" in lines[0] and "all" in lines[0]
    assert "undefined (< 1000" in lines[0]  # TPR at 0.1 % on 300 examples


def test_mlflow_audit_metrics_are_the_row_metrics_of_every_row(rows: tuple[LiraRow, ...]) -> None:
    from acadp.sweep.tracking import audit_metrics

    record = {"rows": [row.plain() for row in rows]}
    logged = {metric.key: metric.value for metric in audit_metrics(record)}
    expected = {name: value for row in record["rows"] for name, value in row_metrics(row).items()}
    assert logged == expected
    assert "online.all.auc_mean" in logged and "online.all.reference.auc_mean" in logged
    assert logged["headline.auc_mean"] == logged["online_fixed_variance.all.auc_mean"]
