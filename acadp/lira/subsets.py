"""The member subsets a LiRA row is computed over.

* ``all`` — every example of the audit pool;
* ``collective`` / ``non_collective`` — the collective's members (planted) and the other examples;
* ``placebo`` — only in audits of α = 0 with ``lira.placebo_alpha`` set: the examples the audited seed *would* have
  drawn as the collective at that α (:func:`acadp.collective.choose_members`, the very function and stream trials
  use), left unmodified. Comparing ``collective`` at α > 0 with ``placebo`` at α = 0 separates what planting the
  signal does to the members' privacy from what being those examples does.
"""

from __future__ import annotations

import numpy as np

from acadp.collective import choose_members
from acadp.config.lira import AuditConfig
from acadp.lira.results import Subset


def placebo_members(audit: AuditConfig, *, n_pool: int) -> np.ndarray | None:
    """``(n_pool,)`` bool: the collective the audited trial's seed draws at ``audit.lira.placebo_alpha`` over a pool of
    ``n_pool`` examples; None unless the audited α is 0 and a placebo α is set."""
    placebo_alpha = audit.lira.placebo_alpha
    if placebo_alpha is None or audit.trial.alpha != 0.0:
        return None
    return choose_members(alpha=placebo_alpha, n=n_pool, seed=audit.trial.seed)


def keep_stratum(audit: AuditConfig, *, n_pool: int) -> np.ndarray | None:
    """``(n_pool,)`` bool: the examples every shadow keeps its share of (``audit.lira.stratify_alpha``), the
    collective the audited trial's seed draws at that α over a pool of ``n_pool`` examples — the same at every α of
    the seed, so an audit and its clean twin share their keep matrix; None when the setting is unset."""
    alpha = audit.lira.stratify_alpha
    return None if alpha is None else choose_members(alpha=alpha, n=n_pool, seed=audit.trial.seed)


def member_subsets(collective: np.ndarray, placebo: np.ndarray | None = None) -> dict[Subset, np.ndarray]:
    """Subset name → ``(n_examples,)`` bool mask, in table order, leaving out subsets without examples.

    ``collective`` ``(n_examples,)`` bool marks the collective's members; ``placebo`` (same shape) the placebo
    members, or None for no placebo subset.
    """
    collective = np.asarray(collective, dtype=bool)
    subsets: dict[Subset, np.ndarray] = {
        "all": np.ones_like(collective),
        "collective": collective,
        "non_collective": ~collective,
    }
    if placebo is not None:
        placebo = np.asarray(placebo)
        if placebo.shape != collective.shape or placebo.dtype != np.bool_:
            raise ValueError(
                f"placebo must be a bool array of shape {collective.shape}, got {placebo.dtype} {placebo.shape}"
            )
        subsets["placebo"] = placebo
    return {name: mask for name, mask in subsets.items() if mask.any()}
