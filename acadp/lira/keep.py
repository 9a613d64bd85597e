"""The balanced keep matrix: which examples of the audit pool each LiRA model trains on.

Carlini et al. 2022 ("Membership Inference Attacks From First Principles"), reference code
tensorflow/privacy ``research/mi_lira_2021/train.py``: rather than letting every model keep each example
independently with probability ``pkeep`` (after which some examples are, by chance, always IN or always OUT), one
uniform random matrix is drawn from a single seed and ranked along the model axis; an example is IN for the models
whose rank is below ``pkeep * n_models``. Every example is then IN for exactly the same number of models.
"""

from __future__ import annotations

import numpy as np


def n_in_models(*, n_models: int, pkeep: float) -> int:
    """How many models each example is IN for: ``round(pkeep * n_models)``, validated.

    Raises ``ValueError`` unless ``0 < pkeep < 1``, ``n_models >= 2`` and ``1 <= round(pkeep * n_models) < n_models``
    (each example needs at least one IN and one OUT model).
    """
    if not 0.0 < pkeep < 1.0:
        raise ValueError(f"pkeep must lie strictly between 0 and 1, got {pkeep}")
    if n_models < 2:
        raise ValueError(f"n_models must be at least 2 (one target and one shadow), got {n_models}")
    n_in = round(pkeep * n_models)
    if not 1 <= n_in < n_models:
        raise ValueError(
            f"round(pkeep * n_models) = round({pkeep} * {n_models}) = {n_in} models per example is IN; it must be at "
            f"least 1 and below n_models so that each example has IN and OUT models: raise n_models or move pkeep "
            f"towards 0.5"
        )
    return n_in


def balanced_keep_matrix(*, n_models: int, n_examples: int, pkeep: float, seed: int) -> np.ndarray:
    """A ``(n_models, n_examples)`` bool matrix; entry ``[m, j]`` says example ``j`` is in model ``m``'s training set.

    Each column has exactly ``round(pkeep * n_models)`` True entries (Python's ``round``: halves go to the even
    integer), chosen uniformly at random, independently per column, from the stream ``np.random.default_rng(seed)``;
    the same arguments always give the same matrix.
    Note that the reference code uses ``int(pkeep * n_models)`` (floor); the two agree whenever ``pkeep * n_models``
    is an integer, as with the usual ``pkeep = 0.5`` and an even number of models.
    """
    n_in = n_in_models(n_models=n_models, pkeep=pkeep)
    if n_examples < 1:
        raise ValueError(f"n_examples must be at least 1, got {n_examples}")
    uniform = np.random.default_rng(seed).uniform(size=(n_models, n_examples))
    # rank[m, j] = position of model m when column j is sorted: a uniformly random permutation of 0..n_models-1
    rank = uniform.argsort(axis=0).argsort(axis=0)
    return rank < n_in


def keep_matrix_problem(keep: np.ndarray, *, n_models: int, n_examples: int, pkeep: float) -> str | None:
    """Why ``keep`` cannot be the keep matrix of ``n_models`` models over ``n_examples`` examples with ``pkeep`` (a
    wrong shape or dtype, or an example not IN for exactly ``round(pkeep * n_models)`` models); None when it can,
    whichever seed drew it."""
    if keep.shape != (n_models, n_examples):
        return f"its shape is {keep.shape}, but the audit has {n_models} shadows over a pool of {n_examples} examples"
    if keep.dtype != np.bool_:
        return f"its dtype is {keep.dtype}, not bool"
    n_in = n_in_models(n_models=n_models, pkeep=pkeep)
    unbalanced = np.flatnonzero(keep.sum(axis=0) != n_in)
    if unbalanced.size:
        return (
            f"{unbalanced.size} examples (e.g. pool index {int(unbalanced[0])}) are not IN for exactly "
            f"round(pkeep × shadows) = {n_in} shadows"
        )
    return None
