"""Learners — arrays in, trained model out (no trials, Ray or MLflow here). Registered by sampling scheme:
``poisson`` (every arm of the shared recipe: SGD, clipping only, DP-SGD) and ``shuffle`` (tuned non-private recipes).
``poisson_gdro`` is online Group-DRO on the Poisson engine (:mod:`acadp.learners.gdro`). Importing this package
registers them all. May import: ``config``, ``registry``, ``seeding``, ``errors`` and opacus.
"""

from acadp.learners import gdro, poisson, shuffle  # noqa: F401  (registers the learners)
from acadp.learners.base import LEARNERS, EpochStats, LearnerInputs, PrivacyTarget, TrainingRun

__all__ = ["LEARNERS", "EpochStats", "LearnerInputs", "PrivacyTarget", "TrainingRun"]
