"""One grid point as a sweep sees it: its config, its state and, once completed, its result.

The sweep service builds records from the run store (:mod:`acadp.sweep.status`); the reducer reads them
(:mod:`acadp.reduce.collect`). Both import this module, which imports neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from acadp.config.trial import TrialConfig
from acadp.trial.result import TrialResult

TrialStatus = Literal["completed", "running", "retrying", "pending", "failed"]
STATES: tuple[str, ...] = get_args(TrialStatus)


@dataclass(frozen=True)
class TrialRecord:
    """One grid point as the sweep sees it now: its config, state, and result once completed.

    ``status``: ``completed`` (a valid result.json exists), ``running`` (a live driver is training it), ``retrying``
    (an attempt failed, e.g. its node was lost, and the live driver will start it again from its last checkpoint;
    ``error`` says why), ``pending`` (not started, or interrupted after ``epochs_done`` checkpointed epochs, or its
    result.json is unreadable: then ``error`` says why and that it will be re-run), ``failed`` (its last attempt
    raised ``error``, with no retry left).
    """

    key: str
    config: TrialConfig
    status: TrialStatus
    result: TrialResult | None = None
    error: str | None = None
    epochs_done: int = 0
