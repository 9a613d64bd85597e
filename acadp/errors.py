"""The errors acadp raises on purpose.

Every message says what is wrong, where (file, field, dataset) and what to do about it. The command line turns an
:class:`AcadpError` into a one-line message and a non-zero exit code, without a traceback.
"""

from __future__ import annotations


class AcadpError(Exception):
    """Base class of every error acadp raises for a user to act on."""


class SpecError(AcadpError):
    """A sweep file, trial option or configuration value is invalid."""


class RegistryError(AcadpError):
    """A name was looked up in a registry that does not hold it, or registered twice."""


class DataMissingError(AcadpError):
    """A dataset's files are not where they were expected and cannot be downloaded."""


class DataFetchError(DataMissingError):
    """A dataset or model asset could not be fetched from its package-registry archive (nothing was changed)."""


class DataFormatError(AcadpError):
    """A dataset file exists but is not in the expected on-disk format."""


class PrivacyInfeasibleError(AcadpError):
    """No noise multiplier reaches the requested (epsilon, delta) for the planned training."""


class UnsupportedLayerError(AcadpError):
    """A model contains a trainable layer the chosen per-sample-gradient mode cannot handle."""


class CheckpointError(AcadpError):
    """A checkpoint does not belong to the trial that tries to resume from it, or is damaged."""


class SweepLockedError(AcadpError):
    """Another live driver is already running the same sweep."""


class ClusterUnreachableError(AcadpError):
    """The Ray cluster a sweep was told to run on does not answer."""


class StoreError(AcadpError):
    """The results store cannot be read or written."""


class StoreFullError(StoreError):
    """The device holding the results store is full (or the quota is spent): nothing more can be written there."""


class SweepSupersededError(AcadpError):
    """A newer driver took over the sweep; a trial of the old driver stops without writing further."""


class AuditStateError(AcadpError):
    """A LiRA audit's saved files (keep matrix, shadows) do not fit its settings; the audit must start afresh."""


class InjectedFaultError(AcadpError):
    """A fault injected on purpose through ``ACADP_INJECT_FAULT`` (:mod:`acadp.trial.faults`), to test failure paths."""


class MixedNumericsError(AcadpError):
    """A sweep's results were (or would be) computed in more than one numerical environment (torch version, thread
    count, CPU instruction set, device), on which float results depend."""
