"""Learners: ``sgd`` (non-private) and ``dpsgd`` (DP-SGD); importing this package registers both."""

from acadp.learners import dpsgd, sgd  # noqa: F401  (registers the learners)
from acadp.learners.base import LEARNERS, EpochStats, LearnerInputs, PrivacyTarget, TrainingRun

__all__ = ["LEARNERS", "EpochStats", "LearnerInputs", "PrivacyTarget", "TrainingRun"]
