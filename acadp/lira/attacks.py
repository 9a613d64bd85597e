"""LiRA attacks and the global-threshold baseline, as pure functions of score arrays.

Carlini et al. 2022 ("Membership Inference Attacks From First Principles"); reference code tensorflow/privacy
``research/mi_lira_2021/plot.py`` and its tested library form ``advanced_mia.py``. Every attack takes

* ``target_scores``  ``(n_examples, n_queries)``: the target model's logit-scaled confidences (see ``scores.py``);
* ``shadow_scores``  ``(n_shadows, n_examples, n_queries)``: the same for each shadow model;
* ``shadow_keep``    ``(n_shadows, n_examples)`` bool: True where the example was in that shadow's training set,

and returns ``(n_examples,)`` float64 membership predictions, HIGHER = MORE LIKELY A MEMBER, always finite.

Choices (the reference's behaviour is noted where ours differs):

* Gaussians are fitted by maximum likelihood: the mean and the population standard deviation (ddof=0) over shadows,
  per example and query. The reference code uses the median as location; with half of 16 shadows per side the two
  differ little, and the mean is the Gaussian fit the paper describes.
* A standard deviation of 0 (constant scores, or a single shadow on a side) gets ``STD_FLOOR`` = 1e-30 added, as in
  the reference, so log-densities stay finite (they may be very large in magnitude).
* Fixed variance (the paper's variant for few shadows) uses one σ per side: the standard deviation of all that
  side's scores about their own example's mean, pooled over examples, shadows and queries (``advanced_mia.py``).
  ``plot.py`` instead takes ``np.std`` of the raw scores, which also counts the spread *between* examples' means.
* An example with no IN (or no OUT) shadow borrows that side's location from the average over examples of the
  per-example means (per query) and that side's pooled σ, so its prediction stays finite (``advanced_mia.py``
  fills such gaps with column means likewise). If no example has a shadow on a side the attack needs, it raises.
* Online and offline predictions are summed over queries (the reference averages; within one target model this is
  the same ranking, since n_queries is fixed). The global threshold averages, as the reference does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from acadp.registry import Registry

STD_FLOOR = 1e-30  # added to every σ, as in the reference plot.py / advanced_mia.py


class Attack(Protocol):
    """The signature every registered attack has."""

    def __call__(
        self,
        *,
        target_scores: np.ndarray,
        shadow_scores: np.ndarray,
        shadow_keep: np.ndarray,
        shadow_mask: np.ndarray | None = None,
    ) -> np.ndarray: ...


ATTACKS: Registry[Attack] = Registry("attack")


@dataclass(frozen=True)
class SideFit:
    """Gaussians fitted to one side (IN or OUT) of the shadow scores.

    ``mean`` and ``std`` are ``(n_examples, n_queries)`` per-example fits (with the fallback of the module docstring
    filled in where ``has_shadows`` is False); ``pooled_std`` is the fixed-variance σ of that side.
    """

    mean: np.ndarray  # (n_examples, n_queries)
    std: np.ndarray  # (n_examples, n_queries)
    pooled_std: float
    has_shadows: np.ndarray  # (n_examples,) bool


@dataclass(frozen=True)
class AttackResult:
    """One target model's attack outcome: ``predictions`` and true ``members`` are ``(n_examples,)``."""

    target: int
    predictions: np.ndarray  # (n_examples,) float64, higher = member
    members: np.ndarray  # (n_examples,) bool, the target's keep row


def check_attack_inputs(
    target_scores: np.ndarray, shadow_scores: np.ndarray, shadow_keep: np.ndarray, shadow_mask: np.ndarray | None = None
) -> None:
    """Raise ``ValueError`` unless the arrays have the shapes and dtypes of the module docstring."""
    if shadow_mask is not None and (shadow_mask.shape != shadow_keep.shape or shadow_mask.dtype != np.bool_):
        raise ValueError(
            f"shadow_mask must be bool of shape {shadow_keep.shape}, got {shadow_mask.dtype} {shadow_mask.shape}"
        )
    if target_scores.ndim != 2:
        raise ValueError(f"target_scores must be (n_examples, n_queries), got shape {target_scores.shape}")
    if shadow_scores.ndim != 3 or shadow_scores.shape[1:] != target_scores.shape:
        raise ValueError(
            f"shadow_scores must be (n_shadows, n_examples, n_queries) = (n_shadows, {target_scores.shape[0]}, "
            f"{target_scores.shape[1]}), got shape {shadow_scores.shape}"
        )
    if shadow_keep.shape != shadow_scores.shape[:2]:
        raise ValueError(
            f"shadow_keep must be (n_shadows, n_examples) = {shadow_scores.shape[:2]}, got {shadow_keep.shape}"
        )
    if shadow_keep.dtype != np.bool_:
        raise ValueError(f"shadow_keep must be a bool array, got dtype {shadow_keep.dtype}")
    if target_scores.shape[1] < 1:
        raise ValueError("n_queries must be at least 1")
    if not (np.all(np.isfinite(target_scores)) and np.all(np.isfinite(shadow_scores))):
        raise ValueError("scores contain NaN or infinite values; recompute them with logit_scaled_confidence")


def fit_side(shadow_scores: np.ndarray, side_keep: np.ndarray, *, side: Literal["IN", "OUT"]) -> SideFit:
    """Fit per-example Gaussians to the scores of the shadows where ``side_keep`` is True.

    Args:
        shadow_scores: ``(n_shadows, n_examples, n_queries)``.
        side_keep: ``(n_shadows, n_examples)`` bool, the shadows on this side for each example (``keep`` for IN,
            ``~keep`` for OUT).
        side: ``"IN"`` or ``"OUT"``, for the error message.
    """
    weight = side_keep[:, :, None].astype(np.float64)  # (n_shadows, n_examples, 1)
    count = weight.sum(axis=0)  # (n_examples, 1)
    has_shadows = count[:, 0] > 0
    if not np.any(has_shadows):
        raise ValueError(f"no example has an {side} shadow model; this attack needs at least one")
    safe_count = np.maximum(count, 1.0)
    mean = (weight * shadow_scores).sum(axis=0) / safe_count  # (n_examples, n_queries)
    squared_residual = weight * (shadow_scores - mean) ** 2  # zero off this side
    std = np.sqrt(squared_residual.sum(axis=0) / safe_count)
    n_queries = shadow_scores.shape[2]
    pooled_std = float(np.sqrt(squared_residual.sum() / (count.sum() * n_queries)))
    fallback_mean = mean[has_shadows].mean(axis=0)  # (n_queries,)
    mean = np.where(has_shadows[:, None], mean, fallback_mean)
    std = np.where(has_shadows[:, None], std, pooled_std)
    return SideFit(mean=mean, std=std, pooled_std=pooled_std, has_shadows=has_shadows)


def _log_density(scores: np.ndarray, fit: SideFit, *, fixed_variance: bool) -> np.ndarray:
    """``log N(scores; μ, σ + STD_FLOOR)`` elementwise, ``(n_examples, n_queries)``."""
    from scipy.stats import norm  # scipy.stats costs ~1 s to import: only when an attack runs

    std = fit.pooled_std if fixed_variance else fit.std
    return np.asarray(norm.logpdf(scores, loc=fit.mean, scale=std + STD_FLOOR), dtype=np.float64)


def _sides(shadow_keep: np.ndarray, shadow_mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(IN, OUT) membership of the shadows an attack may use for each example."""
    use = np.ones_like(shadow_keep) if shadow_mask is None else shadow_mask
    return shadow_keep & use, ~shadow_keep & use


def _online(
    target_scores: np.ndarray,
    shadow_scores: np.ndarray,
    shadow_keep: np.ndarray,
    shadow_mask: np.ndarray | None,
    *,
    fixed_variance: bool,
) -> np.ndarray:
    check_attack_inputs(target_scores, shadow_scores, shadow_keep, shadow_mask)
    side_in, side_out = _sides(shadow_keep, shadow_mask)
    fit_in = fit_side(shadow_scores, side_in, side="IN")
    fit_out = fit_side(shadow_scores, side_out, side="OUT")
    log_in = _log_density(target_scores, fit_in, fixed_variance=fixed_variance)
    log_out = _log_density(target_scores, fit_out, fixed_variance=fixed_variance)
    return (log_in - log_out).sum(axis=1)


@ATTACKS.register("online")
def online(
    *,
    target_scores: np.ndarray,
    shadow_scores: np.ndarray,
    shadow_keep: np.ndarray,
    shadow_mask: np.ndarray | None = None,
) -> np.ndarray:
    """Online LiRA: Σ over queries of log N(s; μ_in, σ_in) − log N(s; μ_out, σ_out), per-example σ.

    Shapes as in the module docstring; returns ``(n_examples,)`` float64, higher = member.
    """
    return _online(target_scores, shadow_scores, shadow_keep, shadow_mask, fixed_variance=False)


@ATTACKS.register("online_fixed_variance")
def online_fixed_variance(
    *,
    target_scores: np.ndarray,
    shadow_scores: np.ndarray,
    shadow_keep: np.ndarray,
    shadow_mask: np.ndarray | None = None,
) -> np.ndarray:
    """Online LiRA with one pooled σ_in and one pooled σ_out for all examples (per-example means).

    Shapes as in the module docstring; returns ``(n_examples,)`` float64, higher = member.
    """
    return _online(target_scores, shadow_scores, shadow_keep, shadow_mask, fixed_variance=True)


def offline(
    *,
    target_scores: np.ndarray,
    shadow_scores: np.ndarray,
    shadow_keep: np.ndarray,
    shadow_mask: np.ndarray | None = None,
    fixed_variance: bool = False,
) -> np.ndarray:
    """Offline LiRA: only OUT shadows; Σ over queries of −log Pr[Z > s], Z ~ N(μ_out, σ_out).

    The paper's one-sided test (a score far above what OUT models give is evidence of membership), so the prediction
    grows with the target's score. (The reference plot.py ranks by the two-sided OUT log-density instead.) IN shadows
    are ignored; ``shadow_keep`` only says which shadows are OUT. Shapes as in the module docstring; returns
    ``(n_examples,)`` float64, higher = member.
    """
    from scipy.stats import norm

    check_attack_inputs(target_scores, shadow_scores, shadow_keep, shadow_mask)
    fit_out = fit_side(shadow_scores, _sides(shadow_keep, shadow_mask)[1], side="OUT")
    std = fit_out.pooled_std if fixed_variance else fit_out.std
    log_tail = norm.logsf(target_scores, loc=fit_out.mean, scale=std + STD_FLOOR)  # log Pr[Z > s]
    return -np.asarray(log_tail, dtype=np.float64).sum(axis=1)


@ATTACKS.register("offline")
def offline_per_example_variance(
    *,
    target_scores: np.ndarray,
    shadow_scores: np.ndarray,
    shadow_keep: np.ndarray,
    shadow_mask: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`offline` with per-example σ_out."""
    return offline(
        target_scores=target_scores, shadow_scores=shadow_scores, shadow_keep=shadow_keep, shadow_mask=shadow_mask
    )


@ATTACKS.register("offline_fixed_variance")
def offline_fixed_variance(
    *,
    target_scores: np.ndarray,
    shadow_scores: np.ndarray,
    shadow_keep: np.ndarray,
    shadow_mask: np.ndarray | None = None,
) -> np.ndarray:
    """:func:`offline` with one pooled σ_out for all examples."""
    return offline(
        target_scores=target_scores,
        shadow_scores=shadow_scores,
        shadow_keep=shadow_keep,
        shadow_mask=shadow_mask,
        fixed_variance=True,
    )


@ATTACKS.register("global_threshold")
def global_threshold(
    *,
    target_scores: np.ndarray,
    shadow_scores: np.ndarray,
    shadow_keep: np.ndarray,
    shadow_mask: np.ndarray | None = None,
) -> np.ndarray:
    """The baseline (Yeom et al. 2018): the target's score averaged over queries; shadows are not used.

    Shapes as in the module docstring (the shadow arrays are validated but ignored); returns ``(n_examples,)``.
    """
    check_attack_inputs(target_scores, shadow_scores, shadow_keep, shadow_mask)
    return np.asarray(target_scores, dtype=np.float64).mean(axis=1)
