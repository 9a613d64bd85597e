"""The balanced keep matrix: which examples of the audit pool each LiRA model trains on.

Carlini et al. 2022 ("Membership Inference Attacks From First Principles"), reference code
tensorflow/privacy ``research/mi_lira_2021/train.py``: rather than letting every model keep each example
independently with probability ``pkeep`` (after which some examples are, by chance, always IN or always OUT), one
uniform random matrix is drawn from a single seed and ranked along the model axis; an example is IN for the models
whose rank is below ``pkeep * n_models``. Every example is then IN for exactly the same number of models.

A stratified keep matrix (:func:`stratified_keep_matrix`) also fixes what each model keeps of a marked set (e.g.
the collective the audited seed draws) and of the rest, so that every target holds the same number of its members.
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
    return _balanced(np.random.default_rng(seed), n_models=n_models, n_examples=n_examples, pkeep=pkeep)


def _balanced(rng: np.random.Generator, *, n_models: int, n_examples: int, pkeep: float) -> np.ndarray:
    n_in = n_in_models(n_models=n_models, pkeep=pkeep)
    if n_examples < 1:
        raise ValueError(f"n_examples must be at least 1, got {n_examples}")
    uniform = rng.uniform(size=(n_models, n_examples))
    # rank[m, j] = position of model m when column j is sorted: a uniformly random permutation of 0..n_models-1
    rank = uniform.argsort(axis=0).argsort(axis=0)
    return rank < n_in


def stratum_share(n_stratum: int, *, n_models: int, pkeep: float) -> tuple[int, int]:
    """The fewest and most examples of a stratum of ``n_stratum`` a model of a stratified keep matrix keeps: the
    stratum's ``n_stratum * n_in`` IN entries shared out as evenly as the models allow (equal when they divide)."""
    total = n_stratum * n_in_models(n_models=n_models, pkeep=pkeep)
    return total // n_models, -(-total // n_models)


def stratified_keep_matrix(
    *, n_models: int, n_examples: int, pkeep: float, seed: int, stratum: np.ndarray
) -> np.ndarray:
    """:func:`balanced_keep_matrix` (the same seed's matrix) with entries then moved within columns until every
    model keeps its share (:func:`stratum_share`) of the examples ``stratum`` ``(n_examples,)`` bool marks, and of
    the others: every example stays IN for exactly ``round(pkeep * n_models)`` models, and with the usual ``pkeep =
    0.5`` and an even number of models every model keeps exactly half of the stratum and half of the rest.

    Each move takes an example of the stratum (or of the rest) from a model holding more than its share to one
    holding fewer, choosing the two models (among those over and under) and the example at random from the stream
    that drew the matrix; each move brings both closer, so it ends. Which models keep one more where the share is
    not whole is drawn from that stream too. The same arguments always give the same matrix."""
    stratum = np.asarray(stratum)
    if stratum.shape != (n_examples,) or stratum.dtype != np.bool_:
        raise ValueError(f"stratum must be a bool array of shape ({n_examples},), got {stratum.dtype} {stratum.shape}")
    rng = np.random.default_rng(seed)
    keep = _balanced(rng, n_models=n_models, n_examples=n_examples, pkeep=pkeep)
    for part in (stratum, ~stratum):
        columns = np.flatnonzero(part)
        low, high = stratum_share(columns.size, n_models=n_models, pkeep=pkeep)
        share = np.full(n_models, low)
        share[rng.permutation(n_models)[: int(keep[:, columns].sum()) - low * n_models]] = high
        block = keep[:, columns]
        held = block.sum(axis=1)
        while (over := np.flatnonzero(held > share)).size:
            # a model over its share holds more of the part than one under it: some example is IN for the first only
            giver, taker = rng.choice(over), rng.choice(np.flatnonzero(held < share))
            moved = rng.choice(np.flatnonzero(block[giver] & ~block[taker]))
            block[giver, moved], block[taker, moved] = False, True
            held[giver] -= 1
            held[taker] += 1
        keep[:, columns] = block
    return keep


def keep_matrix_problem(
    keep: np.ndarray, *, n_models: int, n_examples: int, pkeep: float, stratum: np.ndarray | None = None
) -> str | None:
    """Why ``keep`` cannot be the keep matrix of ``n_models`` models over ``n_examples`` examples with ``pkeep`` (a
    wrong shape or dtype, an example not IN for exactly ``round(pkeep * n_models)`` models, or, for a ``stratum``, a
    model not keeping its share of it or of the rest); None when it can, whichever seed drew it."""
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
    for name, part in () if stratum is None else (("the stratum", stratum), ("the rest", ~stratum)):
        low, high = stratum_share(int(part.sum()), n_models=n_models, pkeep=pkeep)
        held = keep[:, part].sum(axis=1)
        uneven = np.flatnonzero((held < low) | (held > high))
        if uneven.size:
            share = str(low) if low == high else f"{low} or {high}"
            return f"model {int(uneven[0])} keeps {int(held[uneven[0]])} examples of {name}, not its share {share}"
    return None
