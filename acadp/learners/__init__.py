"""Learners — arrays in, trained model out (no trials, Ray or MLflow here). Registered by sampling scheme:
``poisson`` (every arm of the shared recipe: SGD, clipping only, DP-SGD) and ``shuffle`` (tuned non-private recipes).
``poisson_gdro`` is online Group-DRO on the Poisson engine (:mod:`acadp.learners.gdro`). May import: ``config``,
``registry``, ``seeding``, ``errors`` and opacus.

The names below (``LEARNERS`` and the types a learner is built from) import torch and register every learner when
first asked for, so that the σ table of :mod:`acadp.learners.noise` can be imported where nothing trains.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acadp.learners.base import LEARNERS, EpochStats, LearnerInputs, PrivacyTarget, TrainingRun

__all__ = ["LEARNERS", "EpochStats", "LearnerInputs", "PrivacyTarget", "TrainingRun"]


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'acadp.learners' has no attribute {name!r}")
    from acadp.learners import base, gdro, poisson, shuffle  # noqa: F401  (importing registers the learners)

    return getattr(base, name)
