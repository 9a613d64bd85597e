"""LiRA (Carlini et al. 2022, "Membership Inference Attacks From First Principles") as pure numpy functions.

Keep masks (:mod:`.keep`), per-query scores (:mod:`.scores`), attacks and their registry (:mod:`.attacks`), metrics
(:mod:`.metrics`) and empirical ε lower bounds (:mod:`.epsilon`). Nothing here imports torch, Ray or MLflow.
"""

from acadp.lira.attacks import (
    ATTACKS,
    Attack,
    AttackResult,
    global_threshold,
    offline,
    online,
    online_fixed_variance,
    run_leave_one_out,
)
from acadp.lira.epsilon import (
    EpsilonBound,
    Interval,
    clopper_pearson,
    epsilon_lower_bound,
    epsilon_lower_bound_from_scores,
)
from acadp.lira.keep import balanced_keep_matrix
from acadp.lira.metrics import RocCurve, auc, roc, summarize, tpr_at_fpr
from acadp.lira.scores import logit_scaled_confidence

__all__ = [
    "ATTACKS",
    "Attack",
    "AttackResult",
    "EpsilonBound",
    "Interval",
    "RocCurve",
    "auc",
    "balanced_keep_matrix",
    "clopper_pearson",
    "epsilon_lower_bound",
    "epsilon_lower_bound_from_scores",
    "global_threshold",
    "logit_scaled_confidence",
    "offline",
    "online",
    "online_fixed_variance",
    "roc",
    "run_leave_one_out",
    "summarize",
    "tpr_at_fpr",
]
