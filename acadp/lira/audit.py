"""From the shadows' logits to the audit's numbers: scores, leave-one-out attacks under each reported convention and
each variant (:class:`acadp.config.lira.Variant`), metrics per member subset, ROC curves and the per-target ε lower
bound. Pure numpy.

Shapes: ``logits`` (n_models, n_examples, n_queries, n_classes); ``labels`` (n_examples,) the labels the models were
trained with; ``keep`` (n_models, n_examples) bool; ``collective`` and ``placebo`` (n_examples,) bool.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from acadp.config.lira import DEFAULT_VARIANT, Variant
from acadp.lira.attacks import AttackResult
from acadp.lira.conventions import REPORTED_CONVENTIONS, Convention, run_leave_one_out
from acadp.lira.metrics import LOW_FPRS, metric_key, roc, summarize
from acadp.lira.results import HEADLINE_CONVENTION, LiraRow, Subset, headline_first
from acadp.lira.scores import logit_scaled_confidence
from acadp.lira.subsets import member_subsets
from acadp.lira.target_bound import held_out_target_bound

# FPR grid on which pooled ROC curves are stored (log-spaced, for log-log plots), from 1e-5 to 1
ROC_GRID = np.logspace(-5, 0, 200)


@dataclass(frozen=True)
class AuditReport:
    """Metrics rows (per attack, convention and non-empty subset; the headline row first) and, per attack, the pooled
    ROC curve on :data:`ROC_GRID` under the headline convention."""

    rows: tuple[LiraRow, ...]
    roc_curves: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def pooled_roc(results: Sequence[AttackResult]) -> tuple[np.ndarray, np.ndarray]:
    """ROC of all targets' predictions pooled, as the highest TPR at FPR ≤ each point of :data:`ROC_GRID` (a picture
    of the attack, not a statistic: pooled predictions share shadows)."""
    predictions = np.concatenate([np.asarray(r.predictions) for r in results])
    members = np.concatenate([np.asarray(r.members) for r in results])
    curve = roc(predictions, members)
    index = np.searchsorted(curve.fpr, ROC_GRID, side="right") - 1
    return ROC_GRID.copy(), curve.tpr[np.clip(index, 0, None)]


@dataclass(frozen=True)
class RowContext:
    """What every row of one audit shares: the claimed δ, the bound's confidence and the audit seed."""

    delta: float
    confidence: float
    seed: int


@dataclass(frozen=True)
class AuditViews:
    """Everything an audit's variants are scored from (shapes in the module docstring).

    ``logits``: the audited models on every example as they trained on it; ``signal``: the same models on g(x) of
    every example (None when no variant asks). ``clean`` / ``clean_signal``: the same two of the clean models — the
    same pool, keep matrix and seeds, no collective (the audit's own at α = 0; None when there are none).
    ``labels``: as trained; ``original_labels``: before the collective acted; ``planted`` (n_examples,) bool: the
    examples whose trained input carries the signal (a clean model is asked about them on g(x))."""

    logits: np.ndarray
    labels: np.ndarray
    original_labels: np.ndarray
    planted: np.ndarray
    signal: np.ndarray | None = None
    clean: np.ndarray | None = None
    clean_signal: np.ndarray | None = None


def _scores(logits: np.ndarray | None, labels: np.ndarray, what: str) -> np.ndarray:
    if logits is None:
        raise ValueError(f"this variant needs {what}, which the audit did not save")
    return logit_scaled_confidence(logits, labels)


def variant_scores(variant: Variant, views: AuditViews) -> tuple[np.ndarray, np.ndarray] | None:
    """(scores of the targets, scores the Gaussians are fitted on), each (n_models, n_examples, n_queries), under
    ``variant``; None when it needs clean models and there are none (a withholding collective's audit)."""
    labels = views.labels if variant.label == "trained" else views.original_labels
    asked = views.logits if variant.queries == "as_trained" else views.signal
    targets = _scores(asked, labels, "the models' logits on g(x)")
    if variant.shadows == "collective":
        return targets, targets
    if views.clean is None:
        return None
    clean_signal = _scores(views.clean_signal, labels, "the clean models' logits on g(x)")
    if variant.queries == "signal":
        return targets, clean_signal
    planted = np.asarray(views.planted, dtype=bool)[None, :, None]  # a planted input is g(x): ask the clean model so
    return targets, np.where(planted, clean_signal, _scores(views.clean, labels, "the clean models' logits"))


def lira_row(
    *,
    attack: str,
    convention: Convention,
    subset: Subset,
    results: Sequence[AttackResult],
    mask: np.ndarray,
    context: RowContext,
    variant: Variant = DEFAULT_VARIANT,
) -> LiraRow:
    """The :class:`LiraRow` of one attack's leave-one-out ``results`` under ``convention`` and ``variant``, over the
    examples of ``mask`` ``(n_examples,)`` bool."""
    summary = summarize(results, subset_mask=mask)
    bound = held_out_target_bound(results, mask, delta=context.delta, confidence=context.confidence, seed=context.seed)
    low, one = (metric_key(f) for f in LOW_FPRS)  # 0.1 % and 1 %
    return LiraRow(
        attack=attack, convention=convention, subset=subset, variant=variant.name,
        auc_mean=summary["auc_mean"], auc_std=summary["auc_std"],
        auc_ci_low=summary["auc_ci_low"], auc_ci_high=summary["auc_ci_high"],
        tpr_at_0_1_fpr_mean=summary[f"{low}_mean"], tpr_at_0_1_fpr_std=summary[f"{low}_std"],
        tpr_at_1_fpr_mean=summary[f"{one}_mean"], tpr_at_1_fpr_std=summary[f"{one}_std"],
        n_members_mean=summary["n_members_mean"], n_non_members_mean=summary["n_non_members_mean"],
        epsilon_lower_bound=bound.epsilon,
        n_targets=int(summary["auc_n_targets"]),
        n_targets_tpr_at_0_1_fpr=int(summary[f"{low}_n_targets"]),
        n_targets_tpr_at_1_fpr=int(summary[f"{one}_n_targets"]),
        n_members_min=int(summary["n_members_min"]), n_non_members_min=int(summary["n_non_members_min"]),
        n_examples=int(mask.sum()), epsilon_n_targets=bound.n_targets,
    )  # fmt: skip


def score_audit(
    *,
    logits: np.ndarray,
    labels: np.ndarray,
    keep: np.ndarray,
    collective: np.ndarray,
    attacks: Sequence[str],
    delta: float,
    confidence: float = 0.95,
    placebo: np.ndarray | None = None,
    seed: int = 0,
) -> AuditReport:
    """:func:`score_variants` of the audit as it always was (the default variant only): ``logits`` as trained,
    scored on the trained ``labels``, the models themselves as shadows."""
    views = AuditViews(logits=logits, labels=labels, original_labels=labels, planted=np.zeros(labels.shape, bool))
    return score_variants(
        views, keep=keep, collective=collective, attacks=attacks, variants=(DEFAULT_VARIANT,), delta=delta,
        confidence=confidence, placebo=placebo, seed=seed,
    )  # fmt: skip


def score_variants(
    views: AuditViews,
    *,
    keep: np.ndarray,
    collective: np.ndarray,
    attacks: Sequence[str],
    variants: Sequence[Variant],
    delta: float,
    confidence: float = 0.95,
    placebo: np.ndarray | None = None,
    seed: int = 0,
) -> AuditReport:
    """Run every attack leave-one-out over the models under each of :data:`REPORTED_CONVENTIONS`, for each variant
    the views can give (:func:`variant_scores`), and summarise it over every non-empty subset of
    :func:`acadp.lira.subsets.member_subsets` (all, collective, non-collective, placebo when ``placebo`` is given).

    ``delta`` is the δ the learner claims and ``confidence`` the confidence of the ε lower bound; ``seed`` (the
    audit's stream seed) draws the bound's decision pairs. Rows come variant by variant (in ``variants``' order),
    attack by attack (the headline attack first), each under every convention (the headline convention first), each
    over every subset. ROC curves are the first variant's.
    """
    subsets = member_subsets(collective, placebo)
    context = RowContext(delta=delta, confidence=confidence, seed=seed)
    rows: list[LiraRow] = []
    curves: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for index, variant in enumerate(variants):
        scored = variant_scores(variant, views)
        if scored is None:
            continue
        targets, fitted = scored
        for attack in headline_first(attacks):
            for convention in REPORTED_CONVENTIONS:
                results = run_leave_one_out(
                    scores=targets, keep=keep, attack=attack, convention=convention, shadow_scores=fitted
                )
                if convention == HEADLINE_CONVENTION and index == 0:
                    curves[attack] = pooled_roc(results)
                rows.extend(
                    lira_row(attack=attack, convention=convention, subset=subset, results=results, mask=mask,
                             context=context, variant=variant)
                    for subset, mask in subsets.items()
                )  # fmt: skip
    return AuditReport(rows=tuple(rows), roc_curves=curves)
