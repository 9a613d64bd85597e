"""Leave-one-out over a keep matrix: each model in turn is the target and the others its shadows, under a named
*convention* for which shadows each example's Gaussians are fitted on.

With acadp's balanced keep matrix every example is IN for exactly k of the M models. Leaving the target out leaves,
for an example, k − 1 IN and M − k OUT shadows where the target is IN, but k IN and M − k − 1 OUT where it is OUT:
the shadow counts depend on the target's own membership. Gaussians fitted to fewer samples fit fresh scores worse on
average, so an attack on useless models leans *against* membership (AUC ≈ 0.4 with 8 models). The conventions:

* ``reference`` — the published LiRA code (tensorflow/privacy ``research/mi_lira_2021/plot.py``, ``generate_ours``):
  per side, every example keeps the *first* c shadows in model order, c = the smallest count of that side's shadows
  over the pool's examples. On a balanced keep matrix that is k − 1 IN and M − k − 1 OUT for every example: the
  published truncation drops the last shadow (in model order) of the side the target's membership spared. (The
  published script attacks one target, the last model; acadp attacks every model in turn.)
* ``balanced`` — acadp's correction (:func:`balancing_mask`): the same counts, but the dropped shadow is chosen at
  random per example, so no model's position decides which shadows are used.
* ``unbalanced`` — all the other models, nothing dropped: the textbook leave-one-out, with the bias above. Not
  reported by audits; kept to show the bias and for comparison.

:data:`REPORTED_CONVENTIONS` are the ones every audit reports, the headline one first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from acadp.lira.attacks import ATTACKS, Attack, AttackResult
from acadp.registry import Registry

Convention = Literal["reference", "balanced", "unbalanced"]
REPORTED_CONVENTIONS: tuple[Convention, ...] = ("balanced", "reference")  # headline first


@dataclass(frozen=True)
class ShadowSelection:
    """A convention: ``mask(keep, target)`` gives the ``(n_models - 1, n_examples)`` bool mask of the shadows each
    example's fits may use (None: all of them); ``min_models`` is the fewest models it works with."""

    mask: Callable[[np.ndarray, int], np.ndarray | None]
    min_models: int


CONVENTIONS: Registry[ShadowSelection] = Registry("leave-one-out convention")


def _others(keep: np.ndarray, target: int) -> np.ndarray:
    """The keep rows of every model but ``target``: ``(n_models - 1, n_examples)``."""
    return keep[np.arange(keep.shape[0]) != target]


def balancing_mask(keep: np.ndarray, target: int, *, seed: int = 0) -> np.ndarray:
    """Which of the other models may act as shadows of ``target``, per example: ``(n_models - 1, n_examples)`` bool.

    Drops, per example, one shadow (chosen at random from ``seed`` and ``target``) from the side the target's own
    membership spared — one OUT shadow where the target is IN, one IN shadow where it is OUT — leaving k − 1 IN and
    M − k − 1 OUT either way, so the fits no longer depend on the target's membership (module docstring).
    """
    shadow_keep = _others(keep, target)  # (n_shadows, n_examples)
    member = keep[target]  # (n_examples,)
    spared_side = np.where(member[None, :], ~shadow_keep, shadow_keep)  # the side holding one extra shadow
    priority = np.random.default_rng([seed, target]).random(shadow_keep.shape)
    priority = np.where(spared_side, priority, -1.0)
    drop = priority.argmax(axis=0)  # (n_examples,) index of the dropped shadow
    mask = np.ones_like(shadow_keep)
    has_spare = spared_side.any(axis=0)
    mask[drop[has_spare], np.flatnonzero(has_spare)] = False
    return mask


def _first_of_side(side: np.ndarray) -> np.ndarray:
    """Of the shadows marked in ``side`` ``(n_shadows, n_examples)``, the first c per example in model order, c = the
    smallest count over examples (``plot.py``: ``x[:in_size]`` with ``in_size = min(map(len, dat_in))``)."""
    limit = int(side.sum(axis=0).min())
    rank = np.cumsum(side, axis=0)  # 1-based position among this side's shadows, in model order
    return side & (rank <= limit)


def reference_mask(keep: np.ndarray, target: int) -> np.ndarray:
    """The shadows the published LiRA code fits on for ``target``: ``(n_models - 1, n_examples)`` bool.

    Per side (IN, OUT), each example keeps its first c shadows in model order, c = the side's smallest count over all
    examples of the pool (module docstring). A side with an example that has no shadow on it keeps none at all, as in
    the published code; an attack that needs that side then raises.
    """
    shadow_keep = _others(keep, target)
    return _first_of_side(shadow_keep) | _first_of_side(~shadow_keep)


def all_shadows(keep: np.ndarray, target: int) -> None:
    """The ``unbalanced`` convention: every other model is a shadow for every example (no mask)."""
    del keep, target


CONVENTIONS.add("reference", ShadowSelection(mask=reference_mask, min_models=4))
CONVENTIONS.add("balanced", ShadowSelection(mask=balancing_mask, min_models=4))
CONVENTIONS.add("unbalanced", ShadowSelection(mask=all_shadows, min_models=2))


def _check_models(scores: np.ndarray, keep: np.ndarray, convention: str) -> None:
    if scores.ndim != 3 or keep.shape != scores.shape[:2]:
        raise ValueError(
            f"scores must be (n_models, n_examples, n_queries) and keep (n_models, n_examples); got {scores.shape} "
            f"and {keep.shape}"
        )
    needed = CONVENTIONS.get(convention).min_models
    if scores.shape[0] < needed:
        raise ValueError(
            f"leave-one-out needs at least {needed} models under the {convention!r} convention, got {scores.shape[0]}"
        )


def run_leave_one_out(
    *,
    scores: np.ndarray,
    keep: np.ndarray,
    attack: str | Attack,
    convention: Convention = "balanced",
    shadow_scores: np.ndarray | None = None,
) -> list[AttackResult]:
    """Attack each model in turn, with the other models as its shadows under ``convention``.

    Args:
        scores: ``(n_models, n_examples, n_queries)`` scores of every model on every example.
        keep: ``(n_models, n_examples)`` bool keep matrix (:func:`acadp.lira.keep.balanced_keep_matrix`).
        attack: a registered attack name (see ``ATTACKS.names()``) or an attack function.
        convention: which shadows each example's fits use (module docstring; ``CONVENTIONS.names()``).
        shadow_scores: the scores the Gaussians are fitted on, ``scores``' shape, of models trained under the same
            ``keep`` (model m on the examples ``keep[m]`` marks, e.g. the same pool without a collective); model m
            is left out when m is the target, as in the default, where the shadows are the targets themselves.

    Returns:
        One :class:`AttackResult` per model, in model order; ``members`` is that model's row of ``keep``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    fitted = scores if shadow_scores is None else np.asarray(shadow_scores, dtype=np.float64)
    keep = np.asarray(keep)
    _check_models(scores, keep, convention)
    if fitted.shape != scores.shape:
        raise ValueError(f"shadow_scores must have the shape of scores, {scores.shape}; got {fitted.shape}")
    selection = CONVENTIONS.get(convention)
    attack_fn: Callable[..., np.ndarray] = ATTACKS.get(attack) if isinstance(attack, str) else attack
    results = []
    for target in range(scores.shape[0]):
        shadows = np.arange(scores.shape[0]) != target
        predictions = attack_fn(
            target_scores=scores[target],
            shadow_scores=fitted[shadows],
            shadow_keep=keep[shadows],
            shadow_mask=selection.mask(keep, target),
        )
        results.append(AttackResult(target=target, predictions=predictions, members=keep[target].copy()))
    return results
