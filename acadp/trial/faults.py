"""Faults injected on purpose, so that tests can watch a sweep handle a trial that fails every attempt.

The variable (declared in :mod:`acadp.environment`, read here only):

``ACADP_INJECT_FAULT`` (str, unset by default; for tests): comma-separated ``<trial key prefix>@<epochs>`` entries.
A trial whose key starts with a prefix raises :class:`~acadp.errors.InjectedFaultError` whenever it is about to train
an epoch with at least ``<epochs>`` epochs already finished — in every attempt, since a retried attempt resumes
from its checkpoint. ``<epochs>`` 0 fails before any training. Ray workers started by a local driver inherit it.
"""

from __future__ import annotations

from acadp.environment import INJECT_FAULT
from acadp.errors import InjectedFaultError, SpecError

FAULT_VARIABLE = INJECT_FAULT.name


def _entries(value: str) -> list[tuple[str, int]]:
    """(key prefix, epochs) of each entry of the variable's ``value``."""
    entries = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        prefix, _, epochs = item.partition("@")
        if not prefix or not epochs.isdigit():
            raise SpecError(f"{FAULT_VARIABLE}: {item!r} is not <trial key prefix>@<epochs>, e.g. 3f9a0c@1; unset it")
        entries.append((prefix, int(epochs)))
    return entries


def inject_fault(trial_key: str, *, epochs_done: int) -> None:
    """Raise :class:`InjectedFaultError` when ``ACADP_INJECT_FAULT`` names this trial at ``epochs_done`` or fewer
    finished epochs; otherwise nothing."""
    value = INJECT_FAULT.get()
    if not value:
        return
    for prefix, epochs in _entries(value):
        if trial_key.startswith(prefix) and epochs_done >= epochs:
            raise InjectedFaultError(
                f"fault injected by {FAULT_VARIABLE} into trial {trial_key} after {epochs_done} finished epochs"
            )
